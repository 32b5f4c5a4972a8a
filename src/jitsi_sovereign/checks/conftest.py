"""Fixtures of the shipped checks.

``jitsi-sovereign verify`` runs one pytest session per host and hands it a
``Target`` (in ``config.stash[TARGET_KEY]``, set by its result collector). For
debugging, the checks also run under plain pytest (give the directory, not --pyargs:
this conftest must be loaded before the options are parsed):

    pytest "$(python -c 'import jitsi_sovereign.checks as c; print(c.__path__[0])')" \
        -p no:cacheprovider --jsov-inventory inventory.yml --jsov-host lab1 -k ssh

Every read is done once per host (session-scoped fixtures over cached commands):
one ``sshd -T``, one ``nft -j list ruleset``, one ``sysctl`` call for all keys...
A missing state file fails the checks of its role with "role X has not run on this
host"; an area the role did not apply (disabled, or impossible in a container)
skips its checks with the role's own reason.
"""

from __future__ import annotations

import json

import pytest

from jitsi_sovereign.checks import parsers, probes, tlsparse, tlsscan
from jitsi_sovereign.checks.helpers import (
    TARGET_KEY,
    TLS_SCAN_TIMEOUT,
    background_result,
    no_direct_route,
    outside_ports,
    require_state,
    require_web_state,
    run_ok,
    session_target,
    start_port_probes,
    start_tls_scan,
    start_turn_tls_scan,
)
from jitsi_sovereign.checks.target import ConnectionFailed, Target

# ------------------------------------------------------------------ session wiring


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jitsi-sovereign")
    group.addoption("--jsov-inventory", help="inventory to verify (plain pytest runs)")
    group.addoption("--jsov-host", help="host of that inventory to verify")


def pytest_configure(config: pytest.Config) -> None:
    """Plain pytest run: build the Target from --jsov-inventory/--jsov-host."""
    inventory = config.getoption("--jsov-inventory", default=None)
    if session_target(config) is not None or not inventory:
        return
    from jitsi_sovereign.inventory import load_and_validate

    inv = load_and_validate(inventory, limit=config.getoption("--jsov-host"), own_ssh=True)
    if len(inv.hosts) != 1:
        raise pytest.UsageError(
            f"--jsov-host must select exactly one host ({len(inv.hosts)} selected)")
    spec = inv.hosts[0]
    target = Target(spec, password=spec.vars.get("jitsi_sovereign_lab_password"))
    config.stash[TARGET_KEY] = target
    config.add_cleanup(target.close)


def pytest_collection_modifyitems(session, config, items) -> None:
    """Outside checks last: their failed login attempts must not disturb the inside ones,
    and the scans they wait for (started at collection, in the background) have the whole
    inside run to finish."""
    items.sort(key=lambda item: _is_outside(item))


def _is_outside(item) -> bool:
    """test_outside (SSH, ports) and test_outside_tls (HTTPS) run from the controller, and
    so do the test_outside_* checks of a component's module (e.g. coturn's TURN probes)."""
    return (item.module.__name__.rsplit(".", 1)[-1].startswith("test_outside")
            or item.name.startswith("test_outside"))


@pytest.fixture(autouse=True)
def _direct_route(request: pytest.FixtureRequest) -> None:
    """Outside checks that go straight to the host's address are skipped, with the
    reason, when deploy reaches the host through a jump host and this machine cannot
    reach the address itself (helpers.no_direct_route); the SSH ones take deploy's route."""
    item = request.node
    if not _is_outside(item) or getattr(item, "originalname", item.name).startswith("test_ssh_"):
        return
    t = session_target(request.config)
    problem = no_direct_route(t, request.config) if t is not None else None
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    t = session_target(request.config)
    if t is None:
        pytest.fail("no host to verify: run `jitsi-sovereign verify -i INVENTORY`, or give "
                    "--jsov-inventory and --jsov-host to pytest", pytrace=False)
    return t


@pytest.fixture(scope="session")
def host(target: Target):
    """testinfra's Host on the verified SSH connection (replaces testinfra's fixture)."""
    try:
        return target.host
    except ConnectionFailed as exc:
        pytest.fail(f"not run: {exc}", pytrace=False)


# ------------------------------------------------------------------ cached reads


@pytest.fixture(scope="session")
def os_state(target: Target) -> dict:
    return require_state(target, "os_hardening")


@pytest.fixture(scope="session")
def fw_state(target: Target) -> dict:
    return require_state(target, "firewall")


@pytest.fixture(scope="session")
def tls_state(target: Target) -> dict:
    return require_web_state(target, "tls")


@pytest.fixture(scope="session")
def nginx_state(target: Target) -> dict:
    return require_web_state(target, "nginx")


@pytest.fixture(scope="session")
def tls_cert(target: Target, tls_state: dict) -> tlsparse.CertInfo:
    """The leaf of the certificate file that tls.json names (public: read as is)."""
    path = tls_state.get("cert_path") or tlsparse.CERT_PATH
    out = run_ok(target, "cat %s", path, what=f"reading {path}")
    try:
        return tlsparse.cert_info(out)
    except ValueError as exc:
        pytest.fail(f"{path}: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def nginx_conf(target: Target, nginx_state: dict) -> tlsparse.NginxConf:
    """The effective nginx configuration (``nginx -T``: it also tests the syntax)."""
    out = run_ok(target, "nginx -T", what="nginx -T")
    try:
        return tlsparse.parse_nginx_t(out)
    except ValueError as exc:
        pytest.fail(f"cannot parse `nginx -T`: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def nginx_version(target: Target, nginx_state: dict) -> tuple[int, ...]:
    out = run_ok(target, "nginx -v 2>&1", what="nginx -v")
    try:
        return tlsparse.version_tuple(out)
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def container(target: Target) -> str | None:
    """The container technology (``systemd-nspawn``, ``lxc``...) or None on a VM/metal."""
    try:
        result = target.run("systemd-detect-virt --container")
    except ConnectionFailed as exc:
        pytest.fail(f"not run: {exc}", pytrace=False)
    name = result.stdout.strip()
    return name if result.rc == 0 and name and name != "none" else None


@pytest.fixture(scope="session")
def sshd(target: Target) -> parsers.SshdConfig:
    return parsers.parse_sshd_t(run_ok(target, "sshd -T", what="sshd -T"))


@pytest.fixture(scope="session")
def nft(target: Target) -> parsers.NftRuleset:
    out = run_ok(target, "nft -j list ruleset", what="nft -j list ruleset")
    try:
        return parsers.parse_nft_json(json.loads(out))
    except (json.JSONDecodeError, KeyError) as exc:
        pytest.fail(f"cannot parse `nft -j list ruleset`: {exc}", pytrace=False)


# ------------------------------------------------------------------ outside probes


def pytest_collection_finish(session: pytest.Session) -> None:
    t = session_target(session.config)
    names = {i.module.__name__.rsplit(".", 1)[-1] for i in session.items}
    if t is not None and "test_outside" in names:
        start_port_probes(t, outside_ports(session.config))
    if t is not None and "test_outside_tls" in names:
        start_tls_scan(t)
    if t is not None and "test_coturn" in names:
        start_turn_tls_scan(t)


@pytest.fixture(scope="session")
def port_probes(target: Target, request) -> dict[tuple[str, int], probes.PortProbe]:
    ports = outside_ports(request.config)
    if ports.get("error"):
        pytest.fail(f"not run: {ports['error']}", pytrace=False)
    start_port_probes(target, ports)
    return background_result(target, "port_probes", 60, "port probes")


@pytest.fixture(scope="session")
def tls_scan(target: Target, tls_state: dict) -> tlsscan.TlsScan:
    """The outside scan of the HTTPS front (started in the background at collection)."""
    start_tls_scan(target)
    scan = background_result(target, "tls_scan", TLS_SCAN_TIMEOUT, "TLS scan")
    if scan.error:
        pytest.fail(f"not run: {scan.error}", pytrace=False)
    return scan


@pytest.fixture(scope="session")
def udp_listeners(target: Target) -> set[int]:
    """UDP ports something listens on from outside (``ss -Hlun``, loopback-only left out)."""
    return parsers.parse_ss_listeners(run_ok(target, "ss -Hlun", what="ss -Hlun"))
