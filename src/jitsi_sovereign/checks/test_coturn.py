"""coturn, the deployment's own STUN/TURN server (role coturn): inside and outside.

Inside: /etc/turnserver.conf holds every baseline setting (parsed), its mode, the
service, the listeners. Outside (from the controller, a small TURN client, see
turnprobe): Allocate succeeds with TURN REST credentials derived from the shared secret
and fails with a wrong one; permissions to this host's loopback (127.0.0.1, 0.0.0.0)
and to the controller's own address when it lies in a denied range (the lab's bridge
198.51.100.1) are refused with 403; TLS 1.0/1.1 refused on the TLS port (sslyze).
CreatePermission sends nothing to the peer; the checks aim only at the host itself
and at the controller.

The secret is read on the host from turnserver.conf (as root, like every inside
check) and never printed. Skipped as a whole while the host has no coturn.json (the
role is not deployed there).
"""

from __future__ import annotations

import ipaddress
import ssl

import pytest

from jitsi_sovereign.checks import coturnconf, parsers, tlsparse, tlsscan, turnprobe
from jitsi_sovereign.checks.helpers import (
    OLD_TLS_VERSIONS,
    TLS_SCAN_TIMEOUT,
    background_result,
    require_state,
    run_ok,
    start_turn_tls_scan,
    stats,
    turn_tls_target,
    units,
)
from jitsi_sovereign.checks.target import Target

NO_TURN = "no jitsi_sovereign_domain: TURN is not deployed on this host"
# Peers that are this host itself, whatever its network: always refused.
LOOPBACK_PEERS = ["127.0.0.1", "0.0.0.0"]


@pytest.fixture(scope="session")
def coturn_state(target: Target) -> dict:
    # site.yml deploys coturn with the domain: without one, nothing to check; with one, a
    # missing coturn.json is a failure (the role did not run).
    if not (target.spec.vars or {}).get("jitsi_sovereign_domain"):
        pytest.skip(NO_TURN)
    return require_state(target, "coturn")


@pytest.fixture(scope="session")
def turn_conf(target: Target, coturn_state: dict) -> coturnconf.TurnConf:
    path = coturn_state.get("conf") or coturnconf.CONF_PATH
    # the output holds the secret: never part of a failure message
    result = target.run("cat %s", path)
    if result.rc != 0:
        pytest.fail(f"cannot read {path} (rc={result.rc})", pytrace=False)
    return coturnconf.parse(result.stdout)


@pytest.fixture(scope="session")
def turn_secret(turn_conf: coturnconf.TurnConf) -> coturnconf.Secret:
    secret = turn_conf.secret
    if secret is None:
        pytest.fail("turnserver.conf has no static-auth-secret", pytrace=False)
    return secret


@pytest.fixture(scope="session")
def turn_allocation(target: Target, coturn_state: dict, turn_secret):
    """One allocation with valid credentials, kept for the permission checks."""
    port = int(coturn_state.get("listening_port") or 3478)
    username, password = turnprobe.rest_credentials(str(turn_secret))
    client = turnprobe.TurnClient(target.address, port)
    answer = client.allocate(username, password)
    yield client, answer
    try:
        if client.relayed is not None:
            client.refresh(0)
    finally:
        client.close()


@pytest.fixture(scope="session")
def turn_tls_scan(target: Target, coturn_state: dict) -> tlsscan.TlsScan:
    """sslyze on the TURN TLS port (started in the background at collection, see
    tlsscan.scan_turn for what it covers)."""
    start_turn_tls_scan(target)
    scan = background_result(target, "turn_tls_scan", TLS_SCAN_TIMEOUT, "TURN TLS scan")
    if scan.error:
        pytest.fail(f"not run: {scan.error}", pytrace=False)
    return scan


# ------------------------------------------------------------------ inside


def test_conf_file(target, coturn_state):
    """turnserver.conf is 0640 root:turnserver (it holds the secret)."""
    path = coturn_state.get("conf") or coturnconf.CONF_PATH
    found = stats(target, path)
    assert path in found, f"{path} is missing"
    st = found[path]
    assert (st.mode, st.owner, st.group) == (0o640, "root", "turnserver"), (
        f"{path} is {st.mode:04o} {st.owner}:{st.group}, wants 0640 root:turnserver")


def test_auth(target, turn_conf, turn_secret, coturn_state):
    """TURN REST API auth: use-auth-secret, a secret of 32+ characters, the promised realm."""
    assert turn_conf.has("use-auth-secret"), "use-auth-secret is not set"
    long_enough = len(turn_secret) >= coturnconf.MIN_SECRET_LENGTH
    assert long_enough, (
        f"static-auth-secret is shorter than {coturnconf.MIN_SECRET_LENGTH} characters")
    realm = turn_conf.value("realm")
    assert realm == coturn_state.get("realm"), (
        f"realm {realm} differs from coturn.json's {coturn_state.get('realm')}")


@pytest.mark.parametrize("flag", coturnconf.REQUIRED_FLAGS)
def test_flag(turn_conf, flag):
    """a baseline flag of coturn is set."""
    assert turn_conf.has(flag), f"{flag} is not set in turnserver.conf"


@pytest.mark.parametrize("option", coturnconf.FORBIDDEN)
def test_forbidden(turn_conf, option):
    """an option that opens coturn up (or keeps IPs in a log file) is absent."""
    assert not turn_conf.has(option), f"{option} is set in turnserver.conf"


def test_tls_settings(turn_conf, coturn_state):
    """TLS port, certificate and key set; cipher-list = Mozilla intermediate."""
    assert turn_conf.value("tls-listening-port") == str(coturn_state.get("tls_listening_port")), (
        f"tls-listening-port {turn_conf.value('tls-listening-port')}, coturn.json says "
        f"{coturn_state.get('tls_listening_port')}")
    assert turn_conf.value("cert") and turn_conf.value("pkey"), "cert or pkey is not set"
    ciphers = (turn_conf.value("cipher-list") or "").split(":")
    assert ciphers == coturnconf.MOZILLA_CIPHERS, f"cipher-list is {':'.join(ciphers)}"


def test_denied_peers(turn_conf):
    """every baseline range is a denied peer (denied-peer-ip)."""
    missing = coturnconf.uncovered(coturnconf.DENIED_PEER_CIDRS, turn_conf.values("denied-peer-ip"))
    assert not missing, f"not denied as peers: {', '.join(missing)}"


def test_allowed_peers(turn_conf, coturn_state):
    """allowed-peer-ip holds exactly coturn.json's list, never loopback."""
    allowed = turn_conf.values("allowed-peer-ip")
    assert sorted(allowed) == sorted(coturn_state.get("allowed_peer_ips") or []), (
        f"allowed-peer-ip {allowed}, coturn.json says {coturn_state.get('allowed_peer_ips')}")
    bad = [v for v in allowed
           if any(coturnconf.in_ranges(ip, [v]) for ip in ("127.0.0.1", "0.0.0.0", "::1"))]
    assert not bad, f"allowed-peer-ip opens loopback: {bad}"


def test_quotas(turn_conf):
    """user-quota and total-quota are set (user-quota at least 1)."""
    user, total = turn_conf.value("user-quota"), turn_conf.value("total-quota")
    assert user and user.isdigit() and int(user) >= 1, f"user-quota is {user}"
    assert total is not None and total.isdigit(), f"total-quota is {total}"


def test_logs_to_journal(turn_conf):
    """logs go to the journal only (syslog, no file): IPs kept as long as journald keeps them."""
    assert turn_conf.has("syslog"), "syslog is not set: coturn writes a log file of client IPs"
    assert not turn_conf.has("log-file"), f"log-file is set ({turn_conf.value('log-file')})"


def test_service(target, coturn_state):
    """coturn.service is enabled and running."""
    props = units(target, "coturn.service").get("coturn.service") or {}
    state = (props.get("UnitFileState"), props.get("ActiveState"))
    assert state == ("enabled", "active"), f"coturn.service is {state[0]}, {state[1]}"


@pytest.mark.parametrize("proto,which", [("udp", "listening_port"), ("tcp", "listening_port"),
                                          ("tcp", "tls_listening_port")])
def test_listening(target, coturn_state, proto, which):
    """coturn listens on its port (not only on loopback)."""
    port = int(coturn_state.get(which) or 0)
    flag = "u" if proto == "udp" else "t"
    out = run_ok(target, f"ss -Hln{flag}p", what=f"ss -Hln{flag}p")
    lines = "\n".join(line for line in out.splitlines() if "turnserver" in line)
    assert port in parsers.parse_ss_listeners(lines), (
        f"turnserver does not listen on {port}/{proto}")


# ------------------------------------------------------------------ outside


def test_outside_allocate(turn_allocation):
    """from outside: Allocate succeeds with credentials derived from the secret."""
    _, answer = turn_allocation
    assert answer.ok, f"Allocate with valid TURN REST credentials: {answer}"


def test_outside_allocate_wrong_secret(target, coturn_state):
    """from outside: Allocate with credentials from a wrong secret is refused (401)."""
    port = int(coturn_state.get("listening_port") or 3478)
    username, password = turnprobe.rest_credentials("not-the-secret-" + "x" * 32)
    with turnprobe.TurnClient(target.address, port) as client:
        answer = client.allocate(username, password)
    assert answer.code == 401, f"Allocate with a wrong secret: {answer}, wants error 401"


@pytest.mark.parametrize("peer", LOOPBACK_PEERS)
def test_outside_relay_to_host_refused(turn_allocation, peer):
    """from outside: a relay to the host itself (loopback, 0.0.0.0) is refused (403)."""
    client, answer = turn_allocation
    if not answer.ok:
        pytest.fail(f"not run: no allocation ({answer})", pytrace=False)
    result = client.create_permission(peer)
    assert result.code == 403, f"CreatePermission to {peer}: {result}, wants error 403"


def test_outside_relay_to_controller_refused(turn_allocation):
    """from outside: a relay to the controller's own address (in a denied range) is refused."""
    client, answer = turn_allocation
    if not answer.ok:
        pytest.fail(f"not run: no allocation ({answer})", pytrace=False)
    mapped = answer.message.get(turnprobe.XOR_MAPPED_ADDRESS) if answer.message else None
    if mapped is None:
        pytest.fail("the Allocate answer has no XOR-MAPPED-ADDRESS", pytrace=False)
    mine, _ = turnprobe.parse_xor_address(mapped, answer.message.txid)
    if not coturnconf.in_ranges(mine, coturnconf.DENIED_PEER_CIDRS):
        pytest.skip(f"the controller's address {mine} is public: not a denied peer to test")
    result = client.create_permission(mine)
    assert result.code == 403, (
        f"CreatePermission to {mine} (the controller): {result}, wants error 403")


def test_outside_allowed_peer(turn_allocation, coturn_state):
    """from outside: a permission to an allowed peer is granted (403s are not a general failure)."""
    client, answer = turn_allocation
    if not answer.ok:
        pytest.fail(f"not run: no allocation ({answer})", pytrace=False)
    singles = [v for v in coturn_state.get("allowed_peer_ips") or []
               if "-" not in v and "/" not in v and ipaddress.ip_address(v).version == 4]
    if not singles:
        pytest.skip("no allowed-peer-ip address in coturn.json")
    result = client.create_permission(singles[0])
    assert result.ok, f"CreatePermission to the allowed peer {singles[0]}: {result}"


def test_outside_sslv3_refused(turn_tls_scan):
    """from outside: TURN over TLS refuses SSLv3."""
    if "SSLv3" in turn_tls_scan.scan_errors:
        pytest.fail(f"the SSLv3 scan did not run: {turn_tls_scan.scan_errors['SSLv3']}",
                    pytrace=False)
    assert not turn_tls_scan.supported.get("SSLv3", False), "SSLv3 is accepted"


@pytest.mark.parametrize("version", OLD_TLS_VERSIONS)
def test_outside_tls_old_refused(target, coturn_state, version):
    """from outside: TURN over TLS refuses TLS 1.0 and 1.1 (one handshake offering only it)."""
    start_turn_tls_scan(target)  # the probes run in the background, started at collection
    accepted, detail = background_result(target, f"turn_tls_old_{version}", 10,
                                         f"{version} probe")
    if accepted is None:
        pytest.fail(f"not run: {detail}", pytrace=False)
    assert not accepted, f"{version} is accepted on the TURN TLS port ({detail})"


def test_outside_tls12(target, coturn_state, turn_tls_scan):
    """from outside: TURN over TLS offers TLS 1.2 with Mozilla intermediate suites only."""
    # the one-handshake probe of the old versions completes with TLS 1.2 (it can tell)
    domain, port = turn_tls_target(target, coturn_state)
    accepted, detail = turnprobe.tls_version_accepted(target.address, port, domain,
                                                      ssl.TLSVersion.TLSv1_2)
    assert accepted, f"a TLS 1.2 handshake fails on the TURN TLS port ({detail})"
    assert turn_tls_scan.supported.get("TLSv1.2"), "TLS 1.2 is not accepted on the TURN TLS port"
    bad = tlsparse.disallowed_suites("TLSv1.2", turn_tls_scan.accepted.get("TLSv1.2", []))
    assert not bad, "; ".join(bad)


def test_outside_tls_served_is_current(turn_tls_scan, tls_cert):
    """from outside: TURN over TLS serves the current certificate (restarted after a renewal)."""
    assert turn_tls_scan.leaf_serial == tls_cert.serial, (
        f"coturn serves serial {turn_tls_scan.leaf_serial:x}, the file holds "
        f"{tls_cert.serial:x}: coturn was not restarted after the certificate changed")
