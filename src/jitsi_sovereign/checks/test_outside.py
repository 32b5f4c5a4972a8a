"""From outside: what an attacker or a browser sees at the host's address.

Run from the controller against the inventory address, not through the SSH
connection. Port probes run in parallel in the background while the inside checks
run (see conftest.start_port_probes); each port is its own check. The SSH checks open
their own connections to the sshd the way deploy reaches it (through the jump hosts or
the ProxyCommand of the inventory or the ssh configuration, when there are some).
"""

from __future__ import annotations

import secrets

import pytest

from jitsi_sovereign.checks import connect, probes
from jitsi_sovereign.checks.helpers import outside_ports, require_area, run_ok

NONE_PROMISED = "none"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    ports = outside_ports(metafunc.config)
    for argname, key in (("filtered_tcp", "tcp_filtered"), ("open_tcp", "tcp_open"),
                         ("filtered_udp", "udp_filtered"), ("open_udp", "udp_open")):
        if argname in metafunc.fixturenames:
            values = ports.get(key) or [NONE_PROMISED]
            metafunc.parametrize(argname, values, ids=[str(v) for v in values])


def _probe(port_probes, proto: str, port) -> probes.PortProbe:
    if port == NONE_PROMISED:
        pytest.skip(f"firewall.json promises no {proto} port open besides SSH")
    p = port_probes[(proto, port)]
    if p.status == "error":  # says nothing about the firewall: not a verdict on it
        pytest.fail(f"{proto}/{port} could not be probed from this machine: {p.detail}",
                    pytrace=False)
    return p


# ------------------------------------------------------------------ TCP


def test_tcp_filtered(filtered_tcp, port_probes):
    """TCP port that must not be reachable times out (dropped, not refused)."""
    p = _probe(port_probes, "tcp", filtered_tcp)
    assert p.status == "filtered", (
        f"tcp/{filtered_tcp} is {p.status} ({p.detail}): the firewall does not drop it")


def test_tcp_open(open_tcp, port_probes):
    """promised TCP port passes the firewall (connected or refused, no time-out)."""
    p = _probe(port_probes, "tcp", open_tcp)
    assert p.status in ("open", "closed"), (
        f"tcp/{open_tcp} is {p.status} ({p.detail}): the firewall does not let it through")


# ------------------------------------------------------------------ UDP


def test_udp_open(open_udp, port_probes, udp_listeners):
    """promised UDP port passes the firewall (ICMP port-unreachable or an answer)."""
    p = _probe(port_probes, "udp", open_udp)
    if p.status == "silent" and open_udp in udp_listeners:
        pytest.skip(f"a service listens on udp/{open_udp}; open/filtered cannot be told apart "
                    "over UDP without a protocol probe")
    assert p.status in ("closed", "answered"), (
        f"udp/{open_udp} is {p.status} ({p.detail}) and nothing listens on it: "
        "the firewall drops it")


def test_udp_filtered(filtered_udp, port_probes, udp_listeners):
    """UDP port that must not be reachable gets no answer at all."""
    p = _probe(port_probes, "udp", filtered_udp)
    if p.status == "silent" and filtered_udp in udp_listeners:
        pytest.skip(f"a service listens on udp/{filtered_udp}: its silence does not prove that "
                    "the firewall drops the port")
    assert p.status == "silent", (
        f"udp/{filtered_udp} is {p.status} ({p.detail}): the firewall does not drop it")


# ------------------------------------------------------------------ SSH


def _transport(target) -> probes.paramiko.Transport:
    """A new SSH connection to the host's sshd, host key verified, nothing sent yet; over
    the route deploy takes (straight, or through its jump hosts or ProxyCommand)."""
    try:
        return target.route.transport()
    except probes.HostKeyError as exc:
        pytest.fail(f"host key not verified: {exc}", pytrace=False)
    except connect.RouteError as exc:
        pytest.fail(str(exc), pytrace=False)
    except (OSError, EOFError, probes.paramiko.SSHException) as exc:
        pytest.fail(f"cannot reach SSH at {target.address}:{target.port}: {exc}",
                    pytrace=False)


def _finish(transport, target) -> None:
    """Close a probe connection, after a key login when the server asked for nothing else.

    OpenSSH >= 9.8 penalises sources whose connections end without a real authentication
    attempt (PerSourcePenalties noauth; "none" does not count): verify must not look like
    a scanner to the host it checks.
    """
    try:
        if not transport.is_authenticated() and target.spec.key_file is not None:
            probes.try_auth(transport, target.spec.user,
                            key=probes.load_private_key(target.spec.key_file))
    except Exception:  # closing anyway; the check's own outcome is already decided
        pass
    finally:
        transport.close()


def _key(target) -> probes.paramiko.PKey:
    if target.spec.key_file is None:
        pytest.skip("the inventory names no key file (the SSH agent's keys are used)")
    return probes.load_private_key(target.spec.key_file)


def test_ssh_host_key(target):
    """the SSH server's host key is the one in known_hosts."""
    transport = _transport(target)  # fails unless the key matches known_hosts
    try:
        key = transport.get_remote_server_key()
    finally:
        _finish(transport, target)
    assert key.get_name(), "no host key received"


def test_ssh_banner(target):
    """the SSH version banner does not reveal the distribution patch level (DebianBanner no)."""
    transport = _transport(target)
    try:
        banner = transport.remote_version
    finally:
        _finish(transport, target)
    assert banner.startswith("SSH-2.0-"), f"unexpected SSH banner {banner!r}"
    software = banner.removeprefix("SSH-2.0-")
    assert " " not in software.strip(), (
        f"the SSH banner {banner!r} tells the distribution and its patch level")


def test_ssh_methods_offered(target):
    """the SSH server offers public-key authentication only."""
    transport = _transport(target)
    try:
        outcome = probes.try_auth(transport, target.spec.user)
    finally:
        _finish(transport, target)
    assert not outcome.accepted, f"{target.spec.user} logged in without any credential"
    assert outcome.allowed == ["publickey"], (
        f"server offers {outcome.allowed}, wants only ['publickey']")


def test_ssh_password_refused(target):
    """SSH login with a (wrong) password is refused: the method is not offered."""
    transport = _transport(target)
    try:
        outcome = probes.try_auth(transport, target.spec.user,
                                  password=secrets.token_urlsafe(18))
    finally:
        _finish(transport, target)
    assert not outcome.accepted, "a random password was accepted"
    assert outcome.allowed == ["publickey"], (
        f"password attempt answered '{outcome.detail}'; wants the method refused with only "
        "publickey allowed")


def test_ssh_real_password_refused(target):
    """SSH login with the user's real (lab) password is refused."""
    if not target.password:
        pytest.skip("no password known for this host (lab hosts have one; set "
                    "jitsi_sovereign_lab_password to try a real one)")
    transport = _transport(target)
    try:
        outcome = probes.try_auth(transport, target.spec.user, password=target.password)
    finally:
        _finish(transport, target)
    assert not outcome.accepted, f"{target.spec.user} logged in with a password"
    assert outcome.allowed == ["publickey"], (
        f"password attempt answered '{outcome.detail}'; wants only publickey allowed")


def test_ssh_key_login(target):
    """SSH login with the inventory's key works."""
    key = _key(target)
    transport = _transport(target)
    try:
        outcome = probes.try_auth(transport, target.spec.user, key=key)
    finally:
        transport.close()
    assert outcome.accepted, f"key login as {target.spec.user} failed: {outcome.detail}"


def test_ssh_root_login_refused(target, os_state, sshd):
    """SSH login as root with the inventory's key is refused (PermitRootLogin no)."""
    ssh_state = os_state.get("ssh") or {}
    require_area(os_state, "ssh")
    if ssh_state.get("permit_root_login", "no") != "no":
        pytest.skip(f"PermitRootLogin {ssh_state.get('permit_root_login')} was chosen: root "
                    "may log in with a key")
    key = _key(target)
    files = [f if f.startswith("/") else f"/root/{f}"
             for f in (sshd.value("AuthorizedKeysFile") or ".ssh/authorized_keys").split()
             if "%" not in f]
    authorized = run_ok(target, "cat " + " ".join(files) + " 2>/dev/null; true",
                        what="reading root's authorized_keys")
    if probes.public_key_line(key) not in authorized:
        pytest.skip("the inventory's key is not authorized for root: a refused root login "
                    "would prove nothing")
    transport = _transport(target)
    try:
        outcome = probes.try_auth(transport, "root", key=key)
    finally:
        transport.close()
    assert not outcome.accepted, "root logged in over SSH with the inventory's key"
