"""Helpers of the shipped checks: cached reads that fail or skip with a clear reason."""

from __future__ import annotations

import functools
import ssl
import threading
from pathlib import Path

import pytest

from jitsi_sovereign.checks import parsers, probes, tlsscan, turnprobe
from jitsi_sovereign.checks.target import ConnectionFailed, Target

# Ports that a Jitsi server must never expose (XMPP c2s/s2s/BOSH/component, JVB and
# jicofo private HTTP, other common services), probed from outside: they must time out.
TCP_MUST_BE_FILTERED = [25, 111, 3306, 5222, 5269, 5280, 5347, 8080, 8888, 9090]
UDP_MUST_BE_FILTERED = [53, 111, 123, 161, 5353]
PROBE_TIMEOUT = 1.5
# Inventory variable: a PEM file on the controller holding the CA root(s) the outside TLS
# checks trust for this host instead of the public stores (the lab sets pebble's root).
TRUST_STORE_VAR = "jitsi_sovereign_tls_trust_store"
TLS_SCAN_TIMEOUT = 60.0

# Where `jitsi-sovereign verify` (or a plain pytest run, see conftest) puts the Target
# of the session: one pytest session verifies one host.
TARGET_KEY = pytest.StashKey[Target]()


def session_target(config: pytest.Config) -> Target | None:
    return config.stash.get(TARGET_KEY, None)


def run_ok(target: Target, command: str, *args: str, what: str | None = None) -> str:
    """stdout of a command that must succeed; a failure fails the check with stderr."""
    try:
        result = target.run(command, *args)
    except ConnectionFailed as exc:
        pytest.fail(f"not run: {exc}", pytrace=False)
    if result.rc != 0:
        err = (result.stderr or result.stdout).strip().splitlines()
        hint = ("" if target.privileged else
                f" (the checks ran as {target.spec.user} without sudo: they need root, "
                "set ansible_become: true)")
        pytest.fail(f"{what or result.command} failed (rc={result.rc}): "
                    f"{err[-1] if err else 'no output'}{hint}", pytrace=False)
    return result.stdout


def require_state(target: Target, role: str) -> dict:
    try:
        state = target.read_state(role)
    except ConnectionFailed as exc:
        pytest.fail(f"not run: {exc}", pytrace=False)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    if state is None:
        pytest.fail(f"role {role} has not run on this host "
                    f"(/etc/jitsi-sovereign/state/{role}.json is missing)", pytrace=False)
    return state


NO_DOMAIN = "no jitsi_sovereign_domain: TLS and nginx are not deployed on this host"


def require_web_state(target: Target, role: str) -> dict:
    """tls.json / nginx.json: skipped when the inventory gives the host no domain (site.yml
    then runs neither role), a failure when it does and the file is missing."""
    if not (target.spec.vars or {}).get("jitsi_sovereign_domain"):
        pytest.skip(NO_DOMAIN)
    return require_state(target, role)


# The key under which each role's state file records the domain it configured; the
# others (prosody, jicofo, videobridge, jitsi_web) write `domain`.
_DOMAIN_KEYS = {"nginx": "server_name", "tls": "domains", "coturn": "realm"}


def domain_of(target: Target, role: str) -> str:
    """The meeting FQDN as `role` configured it, from its state file: the one place the
    checks take a domain from (a role's own domain variable may differ from
    jitsi_sovereign_domain). Skipped when the inventory deploys no meeting on the host."""
    if not (target.spec.vars or {}).get("jitsi_sovereign_domain"):
        pytest.skip(NO_DOMAIN)
    key = _DOMAIN_KEYS.get(role, "domain")
    value = require_state(target, role).get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    names = str(value or "").split()
    if not names:
        pytest.fail(f"{role}.json records no domain ({key}): was it written by an older "
                    "role? Deploy again", pytrace=False)
    return names[0]


def require_area(os_state: dict, area: str) -> dict:
    """Skip with the role's reason when the os_hardening area was not applied."""
    info = (os_state.get("areas") or {}).get(area)
    if info is None:
        pytest.fail(f"os_hardening state file says nothing about area {area!r}",
                    pytrace=False)
    if not info.get("applied"):
        pytest.skip(f"os_hardening did not apply {area}: "
                    f"{info.get('skipped_reason') or 'no reason given'}")
    return info


def units(target: Target, *names: str) -> dict[str, dict[str, str]]:
    """systemd properties of units, one call for all of them (cached)."""
    out = run_ok(target, "systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState "
                 + " ".join(names), what="systemctl show")
    return parsers.parse_systemctl_show(out)


def packages(target: Target, *names: str) -> dict[str, bool]:
    """{package: installed} with one dpkg-query call."""
    result = target.run("dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n' "
                        + " ".join(names))
    installed = {n: False for n in names}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in installed:
            installed[parts[0]] = parts[1].startswith("ii")
    return installed


def stats(target: Target, *paths: str) -> dict[str, parsers.FileStat]:
    """Mode, owner, group, kind of files, one stat call (missing files are absent)."""
    result = target.run("stat -c '%n|%a|%U|%G|%F' " + " ".join(paths) + " 2>/dev/null; true")
    return parsers.parse_stat(result.stdout)


def outside_ports(config: pytest.Config) -> dict:
    """The ports the outside checks probe, decided once per session.

    The promised openings come from firewall.json (read at collection time, so that
    each port is its own check); a sample port that the firewall promises open is left
    out of the "must be filtered" sample.
    """
    t = session_target(config)
    if t is None:
        return {"error": "no host"}
    cached = t.extra.get("outside_ports")
    if cached is None:
        cached = {"error": None, "tcp_open": [], "udp_open": [],
                  "tcp_filtered": list(TCP_MUST_BE_FILTERED),
                  "udp_filtered": list(UDP_MUST_BE_FILTERED)}
        try:
            state = t.read_state("firewall")
        except Exception as exc:  # at collection time: report it in the checks, go on
            state, cached["error"] = None, str(exc)
        if state is None and cached["error"] is None:
            cached["error"] = ("role firewall has not run on this host "
                               "(/etc/jitsi-sovereign/state/firewall.json is missing)")
        if state is not None:
            ssh_port = int(state.get("ssh_port", t.port))
            for proto in ("tcp", "udp"):
                promised = promised_ports(state, proto)
                # Only openings for everyone must answer here: one limited to source
                # networks may rightly drop the controller.
                public = promised_ports(state, proto, public_only=True)
                cached[f"{proto}_open"] = sorted(p for p in public if p != ssh_port)[:64]
                cached[f"{proto}_filtered"] = [p for p in cached[f"{proto}_filtered"]
                                               if p not in promised]
        t.extra["outside_ports"] = cached
    return cached


def no_direct_route(t: Target, config: pytest.Config) -> str | None:
    """Why what the internet sees cannot be probed from this machine, or None.

    Only for a host that deploy reaches through jump hosts or a ProxyCommand: one TCP
    connection straight to its address, on a port the firewall opens to everyone (else its
    SSH port), tells whether this machine has a route of its own. Without one, a port
    probe or a TLS scan would judge the route, not the host: the outside checks that go
    straight to the address are skipped with this reason (the SSH ones take deploy's
    route and still run)."""
    if "no_direct_route" not in t.extra:
        problem = None
        through = t.route.through
        if through:
            port = (outside_ports(config).get("tcp_open") or [t.port])[0]
            p = probes.probe_tcp(t.address, port, timeout=2.0)
            if p.status not in ("open", "closed"):
                problem = (f"{t.name} is reached {through}, and this machine has no direct "
                           f"route to {t.address} (tcp/{port}: {p.status}, {p.detail}): what "
                           "the internet sees cannot be probed from here. Run verify from a "
                           "machine that reaches the address, or `jitsi-sovereign audit "
                           "https://<domain>` from outside")
        t.extra["no_direct_route"] = problem
    return t.extra["no_direct_route"]


def promised_ports(fw_state: dict, proto: str, public_only: bool = False) -> set[int]:
    """Ports of firewall.json's ``open`` list for a protocol (ranges expanded).

    ``public_only``: only openings to every address (a source network of length 0).
    """
    ports: set[int] = set()
    for entry in fw_state.get("open") or []:
        if entry.get("proto") != proto:
            continue
        if public_only and not any(str(s).endswith("/0") for s in entry.get("sources") or []):
            continue
        low, _, high = str(entry.get("port")).partition("-")
        ports.update(range(int(low), int(high or low) + 1))
    return ports


def start_background(t: Target, key: str, work) -> None:
    """Run ``work()`` once per host in a background thread while the inside checks run;
    ``background_result`` waits for it. An exception is kept and reported by each check
    that needs the result."""
    if key in t.extra:
        return
    box: dict = {}

    def run() -> None:
        try:
            box["result"] = work()
        except Exception as exc:
            box["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=run, name=f"{key}-{t.name}", daemon=True)
    thread.start()
    t.extra[key] = (thread, box)


def background_result(t: Target, key: str, timeout: float, what: str):
    """The result of a background job started with start_background (fails the check
    with the reason when it failed or did not finish in time)."""
    thread, box = t.extra[key]
    thread.join(timeout=timeout)
    if "error" in box:
        pytest.fail(f"{what} failed: {box['error']}", pytrace=False)
    if "result" not in box:
        pytest.fail(f"{what} did not finish within {timeout:g} s", pytrace=False)
    return box["result"]


def start_port_probes(t: Target, ports: dict) -> None:
    """Probe every port in the background while the inside checks run."""
    if ports.get("error"):
        return
    wanted = ([("tcp", p) for p in ports["tcp_open"] + ports["tcp_filtered"]]
              + [("udp", p) for p in ports["udp_open"] + ports["udp_filtered"]])
    start_background(t, "port_probes",
                     lambda: probes.probe_many(t.address, wanted, PROBE_TIMEOUT))


def state_or_empty(t: Target, role: str) -> dict:
    """A role's state file, or {} when it is missing or unreadable: for settings with a
    default (a port, a mode); the role's own checks report the missing file."""
    try:
        return t.read_state(role) or {}
    except Exception:
        return {}


def require_web_app(t: Target, nginx_state: dict) -> None:
    """Skip, with the jitsi_web role's reason, when the site serves no Jitsi web app
    (nginx.json: jitsi.web_app; jitsi-meet-web is not installed, e.g. in the lab)."""
    if not (nginx_state.get("jitsi") or {}).get("web_app"):
        app = state_or_empty(t, "jitsi_web").get("web_app") or {}
        pytest.skip("Jitsi Meet's web app is not served: "
                    f"{app.get('reason') or 'jitsi-meet-web is not installed'}")


def start_tls_scan(t: Target) -> None:
    """Scan the host's HTTPS front (sslyze + HTTP GETs) in the background."""
    if not (t.spec.vars or {}).get("jitsi_sovereign_domain"):
        return
    nginx = state_or_empty(t, "nginx")
    domain = (str(nginx.get("server_name") or "").split() or [None])[0]
    if not domain:  # nginx.json missing: its own checks say so
        return
    port = int(nginx.get("https_port") or 443)
    store = (t.spec.vars or {}).get(TRUST_STORE_VAR)
    start_background(t, "tls_scan", lambda: tlsscan.scan(
        t.address, str(domain), port, trust_store=Path(store) if store else None))


OLD_TLS_VERSIONS = ("TLSv1", "TLSv1_1")


def turn_tls_target(t: Target, coturn_state: dict) -> tuple[str, int]:
    """(SNI, port) of the TURN TLS listener that coturn.json promises."""
    return str(coturn_state.get("realm")), int(coturn_state.get("tls_listening_port") or 5349)


def start_turn_tls_scan(t: Target) -> None:
    """sslyze on coturn's TLS port in the background (its checks wait for it)."""
    if not (t.spec.vars or {}).get("jitsi_sovereign_domain"):
        return
    domain, port = turn_tls_target(t, state_or_empty(t, "coturn"))
    store = (t.spec.vars or {}).get(TRUST_STORE_VAR)
    start_background(t, "turn_tls_scan", lambda: tlsscan.scan_turn(
        t.address, domain, port, trust_store=Path(store) if store else None))
    # TLS 1.0 / 1.1: one handshake each, which coturn leaves unanswered (a 3 s timeout)
    for version in OLD_TLS_VERSIONS:
        start_background(t, f"turn_tls_old_{version}", functools.partial(
            turnprobe.tls_version_accepted, t.address, port, domain,
            getattr(ssl.TLSVersion, version)))


# ------------------------------------------------------------------ the Jitsi stack

LOOPBACK = ("127.0.0.1", "::1", "localhost")
# Names of Jitsi's (8x8's) own servers: a sovereign deployment never points at them.
THIRD_PARTY = ["jitsi.net", "8x8.vc", "8x8.com"]
# Jitsi's packages give jicofo and the videobridge the same primary group.
JITSI_SHARED_GROUP = "jitsi"


def jitsi_service_skip(target: Target, state: dict, what: str) -> None:
    """Skip a service check when Jitsi's packages are not installed (with their reason)."""
    packages = target.read_state("jitsi_packages")
    if packages is not None:
        if not packages.get("installed"):
            pytest.skip(f"{what}: Jitsi's packages are not installed: "
                        f"{packages.get('reason') or 'no reason given'}")
        return
    if not state.get("installed"):
        pytest.skip(f"{what}: {state.get('service') or 'Jitsi packages not installed'}")


def read_hocon(target: Target, path: str) -> dict:
    """A HOCON file of the host, parsed (pyhocon). It holds a password: its text is never
    part of a message."""
    from jitsi_sovereign.confcheck import hocon

    result = target.run("cat %s", path)
    if result.rc != 0:
        pytest.fail(f"cannot read {path} (rc={result.rc}): is the role deployed?", pytrace=False)
    try:
        return hocon.parse(result.stdout, name=path)
    except hocon.HoconError as exc:
        pytest.fail(str(exc), pytrace=False)


def listeners(target: Target, proto: str) -> dict[int, set[str]]:
    """{port: {address}} of the listening sockets (``ss -Hl<t|u>n``)."""
    out = run_ok(target, f"ss -Hl{proto}n", what=f"ss -Hl{proto}n")
    found: dict[int, set[str]] = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            address, _, port = fields[3].rpartition(":")
            if port.isdigit():
                found.setdefault(int(port), set()).add(address.strip("[]").split("%", 1)[0])
    return found


def assert_private_file(target: Target, state: dict, default_path: str, role: str,
                        other: str) -> None:
    """A Jitsi file holding a password: owner and mode as ``<role>.json`` records, no
    world access, and not readable through the group jicofo and the bridge share."""
    path = state.get("conf") or default_path
    found = stats(target, path)
    assert path in found, f"{path} is missing"
    st = found[path]
    want = state.get("file") or {}
    assert not st.mode & 0o007, f"{path} is {st.mode:04o}: readable by everyone"
    assert not (st.mode & 0o070 and st.group == JITSI_SHARED_GROUP), (
        f"{path} is {st.mode:04o} group {st.group}: {other} (group {JITSI_SHARED_GROUP}) "
        "could read its password")
    assert (st.owner, st.group, f"{st.mode:04o}") == (
        want.get("owner"), want.get("group"), want.get("mode")), (
        f"{path} is {st.owner}:{st.group} {st.mode:04o}, {role}.json records "
        f"{want.get('owner')}:{want.get('group')} {want.get('mode')}")


def assert_jitsi_service_active(target: Target, state: dict, default_unit: str) -> None:
    """A Jitsi service is enabled and running (skipped without Jitsi's packages)."""
    unit = state.get("unit") or default_unit
    jitsi_service_skip(target, state, unit.removesuffix(".service"))
    props = units(target, unit).get(unit) or {}
    assert props.get("ActiveState") == "active", (
        f"{unit} is {props.get('ActiveState') or 'unknown'} ({props.get('SubState', '?')})")
    assert props.get("UnitFileState") == "enabled", (
        f"{unit} is {props.get('UnitFileState') or 'unknown'}, wants enabled")


def assert_promised_keys(tree: dict, state: dict, role: str) -> None:
    """Every key ``<role>.json`` promises has its value in the parsed HOCON file."""
    from jitsi_sovereign.confcheck import hocon

    keys = state.get("keys") or {}
    assert keys, f"{role}.json lists no promised key"
    wrong = hocon.mismatches(tree, keys)
    assert not wrong, "; ".join(wrong)
