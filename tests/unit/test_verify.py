"""Unit tests of the verify runner and of the checks' parsers and probes (no remote host).

Network tests use real sockets on 127.0.0.1 only: a TCP listener, a closed port, UDP
sockets, and a small paramiko SSH server (to prove unknown host keys are refused
before any credential is sent).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
import socket
import textwrap
import threading
from pathlib import Path

import paramiko
import pytest
from rich.console import Console

from jitsi_sovereign.checks import parsers, probes
from jitsi_sovereign.checks.target import ConnectionFailed, Target
from jitsi_sovereign.inventory import HostSpec
from jitsi_sovereign.verify import (
    FAILED,
    NAME_COLUMN,
    NAME_INDENT,
    PASSED,
    SKIPPED,
    TEXT_INDENT,
    CheckResult,
    Report,
    ResultCollector,
    check_id,
    lab_password,
    print_host,
    print_summary,
    run_session,
    split_check,
    wrap_check_name,
    wrap_text,
)

# ------------------------------------------------------------------ sshd -T

SSHD_T = """\
port 22
addressfamily any
hostkey /etc/ssh/ssh_host_ed25519_key
hostkey /etc/ssh/ssh_host_rsa_key
passwordauthentication no
permitrootlogin without-password
loglevel VERBOSE
ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com
kexalgorithms mlkem768x25519-sha256,curve25519-sha256@libssh.org
authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2
"""


def test_parse_sshd_t_values_and_repeats():
    cfg = parsers.parse_sshd_t(SSHD_T)
    assert cfg.value("PasswordAuthentication") == "no"  # keyword case does not matter
    assert cfg.value("LogLevel") == "VERBOSE"
    assert cfg["hostkey"] == ["/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_rsa_key"]
    assert cfg.value("authorizedkeysfile") == ".ssh/authorized_keys .ssh/authorized_keys2"
    assert cfg.value("X11Forwarding") is None


def test_parse_sshd_t_algorithms():
    cfg = parsers.parse_sshd_t(SSHD_T)
    assert cfg.algorithms("Ciphers") == ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"]
    assert cfg.algorithms("KexAlgorithms")[0] == "mlkem768x25519-sha256"
    assert cfg.algorithms("MACs") == []


# ------------------------------------------------------------------ nftables

# `nft -j list ruleset` of a lab host after the firewall role (counters kept, as nft prints
# them), plus fail2ban's table.
def _rule(chain, handle, *expr, table="jitsi_sovereign"):
    return {"rule": {"family": "inet", "table": table, "chain": chain, "handle": handle,
                     "expr": [*expr, {"counter": {"packets": 0, "bytes": 0}}]}}


def _m(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


def _dport(proto, value):
    return _m({"payload": {"protocol": proto, "field": "dport"}}, value)


def _saddr(family, value):
    return _m({"payload": {"protocol": family, "field": "saddr"}}, value)


ACCEPT = {"accept": None}
ICMP = _m({"payload": {"protocol": "ip", "field": "protocol"}}, "icmp")
ICMP6 = _m({"payload": {"protocol": "ip6", "field": "nexthdr"}}, "ipv6-icmp")

ROLE_RULESET = {"nftables": [
    {"metainfo": {"version": "1.1.3", "json_schema_version": 1}},
    {"table": {"family": "inet", "name": "jitsi_sovereign", "handle": 1}},
    {"chain": {"family": "inet", "table": "jitsi_sovereign", "name": "input", "handle": 1,
               "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
    {"chain": {"family": "inet", "table": "jitsi_sovereign", "name": "forward", "handle": 2,
               "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
    {"chain": {"family": "inet", "table": "jitsi_sovereign", "name": "output", "handle": 3,
               "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}},
    {"set": {"family": "inet", "name": "admin_v4", "table": "jitsi_sovereign",
             "type": "ipv4_addr", "handle": 4, "flags": ["interval"],
             "elem": [{"prefix": {"addr": "198.51.100.0", "len": 24}}, "192.0.2.7"]}},
    {"set": {"family": "inet", "name": "admin_v6", "table": "jitsi_sovereign",
             "type": "ipv6_addr", "handle": 5, "flags": ["interval"],
             "elem": [{"prefix": {"addr": "2001:db8::", "len": 32}}]}},
    _rule("input", 6, _m({"ct": {"key": "state"}}, ["established", "related"], "in"), ACCEPT),
    _rule("input", 7, _m({"ct": {"key": "state"}}, "invalid", "in"), {"drop": None}),
    _rule("input", 8, _m({"meta": {"key": "iif"}}, "lo"), ACCEPT),
    _rule("input", 9, ICMP, _m({"payload": {"protocol": "icmp", "field": "type"}},
                               "echo-request"), {"limit": {"rate": 10, "per": "second"}}, ACCEPT),
    _rule("input", 10, ICMP6, _m({"payload": {"protocol": "ip6", "field": "hoplimit"}}, 255),
          _m({"payload": {"protocol": "icmpv6", "field": "type"}},
             {"set": ["nd-neighbor-solicit", "nd-neighbor-advert"]}), ACCEPT),
    _rule("input", 11, _saddr("ip", "@admin_v4"), _dport("tcp", 22), ACCEPT),
    _rule("input", 12, _saddr("ip6", "@admin_v6"), _dport("tcp", 22), ACCEPT),
    _rule("input", 13, _dport("tcp", 80), ACCEPT),
    _rule("input", 14, _dport("tcp", 443), ACCEPT),
    _rule("input", 15, _m({"meta": {"key": "nfproto"}}, "ipv4"), _dport("udp", 10000), ACCEPT),
    _rule("input", 16, _dport("udp", {"range": [3478, 3479]}), ACCEPT),
    _rule("input", 17),
    {"table": {"family": "inet", "name": "f2b-table", "handle": 9}},
    {"set": {"family": "inet", "name": "addr-set-sshd", "table": "f2b-table", "type": "ipv4_addr",
             "handle": 2, "elem": ["192.0.2.99"]}},
]}


def _accepts(data):
    rs = parsers.parse_nft_json(data)
    return rs, parsers.accept_rules(rs, "inet", "jitsi_sovereign", "input")


def test_nft_tables_chains_policies():
    rs = parsers.parse_nft_json(ROLE_RULESET)
    assert ("inet", "jitsi_sovereign") in rs.tables and ("inet", "f2b-table") in rs.tables
    assert [c.policy for c in rs.base_chains("inet", "jitsi_sovereign", "input")] == ["drop"]
    assert [c.policy for c in rs.base_chains("inet", "jitsi_sovereign", "forward")] == ["drop"]
    assert rs.sets[("inet", "f2b-table", "addr-set-sshd")] == ["192.0.2.99"]


def test_nft_open_ports_and_harmless_rules():
    _, rules = _accepts(ROLE_RULESET)
    harmless = {r.harmless for r in rules if r.harmless}
    assert harmless == {"established/related connections", "loopback interface", "ICMP"}
    assert not any(r.opens_everything for r in rules)
    # Ports open to anyone: SSH is limited to the admin sets, so it is not among them.
    assert parsers.open_ports(rules) == {"tcp": {80, 443}, "udp": {10000, 3478, 3479}}


def test_nft_ssh_sources_from_named_sets():
    _, rules = _accepts(ROLE_RULESET)
    sources = parsers.port_sources(rules, "tcp", 22)
    assert sorted(map(str, sources)) == ["192.0.2.7/32", "198.51.100.0/24", "2001:db8::/32"]
    assert parsers.port_sources(rules, "tcp", 443) is None  # anyone
    assert parsers.port_sources(rules, "tcp", 8080) == []  # no one


def test_nft_rule_without_port_opens_everything():
    data = json.loads(json.dumps(ROLE_RULESET))
    data["nftables"].append(_rule("input", 30, _saddr("ip", "203.0.113.5"), ACCEPT))
    data["nftables"].append(_rule("input", 31, ACCEPT))
    _, rules = _accepts(data)
    wide = [r for r in rules if r.opens_everything]
    assert [r.handle for r in wide] == [30, 31]
    assert parsers.port_sources(rules, "tcp", 5222) is None  # rule 31 lets anyone in


def test_nft_jump_and_vmap_are_followed():
    data = {"nftables": [
        {"table": {"family": "inet", "name": "t"}},
        {"chain": {"family": "inet", "table": "t", "name": "input", "hook": "input",
                   "policy": "drop"}},
        {"chain": {"family": "inet", "table": "t", "name": "web"}},
        {"rule": {"family": "inet", "table": "t", "chain": "input", "handle": 1, "expr": [
            {"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}},
                      "data": {"set": [[22, {"accept": None}],
                                       [8443, {"jump": {"target": "web"}}]]}}}]}},
        {"rule": {"family": "inet", "table": "t", "chain": "input", "handle": 2, "expr": [
            _saddr("ip", {"prefix": {"addr": "10.0.0.0", "len": 8}}),
            {"jump": {"target": "web"}}]}},
        {"rule": {"family": "inet", "table": "t", "chain": "web", "handle": 3,
                  "expr": [_dport("tcp", {"set": [80, 443]}), ACCEPT]}},
    ]}
    rs = parsers.parse_nft_json(data)
    rules = parsers.accept_rules(rs, "inet", "t", "input")
    by_handle = {(r.handle, tuple(sorted(r.ports or []))): r for r in rules}
    assert (1, (22,)) in by_handle
    # vmap 8443 -> jump web (dport 80,443): both conditions cannot hold, nothing opens.
    assert by_handle[(3, ())].ports == set()
    # saddr 10/8 -> jump web: ports 80/443 from 10/8 only.
    jumped = by_handle[(3, (80, 443))]
    assert [str(n) for n in jumped.sources] == ["10.0.0.0/8"]
    assert parsers.open_ports(rules) == {"tcp": {22}, "udp": set()}


def test_promised_ports_public_only():
    from jitsi_sovereign.checks.helpers import promised_ports

    state = {"open": [
        {"proto": "tcp", "port": 22, "sources": ["198.51.100.0/24"]},
        {"proto": "tcp", "port": 443, "sources": ["0.0.0.0/0", "::/0"]},
        {"proto": "tcp", "port": 8443, "sources": ["192.0.2.0/24"]},
        {"proto": "udp", "port": "20000-20002", "sources": ["0.0.0.0/0", "::/0"]},
    ]}
    assert promised_ports(state, "tcp") == {22, 443, 8443}
    assert promised_ports(state, "tcp", public_only=True) == {443}
    assert promised_ports(state, "udp") == {20000, 20001, 20002}


def test_compress_ports():
    assert parsers.compress_ports({22, 80, 10000, 10001, 10002, 5}) == "5, 22, 80, 10000-10002"
    assert parsers.compress_ports(set()) == "none"


# ------------------------------------------------------------------ other parsers


def test_parse_sysctl_skips_unknown_and_normalises():
    out = "net.ipv4.ip_forward = 0\nnet.ipv4.ip_local_port_range = 32768\t60999\n"
    assert parsers.parse_sysctl(out) == {"net.ipv4.ip_forward": "0",
                                         "net.ipv4.ip_local_port_range": "32768 60999"}


def test_parse_stat_and_systemctl_show():
    st = parsers.parse_stat("/etc/shadow|640|root|shadow|regular file\n"
                            "/etc/ssh|755|root|root|directory\n")
    assert st["/etc/shadow"] == parsers.FileStat("/etc/shadow", 0o640, "root", "shadow",
                                                 "regular file")
    units = parsers.parse_systemctl_show(
        "Id=nftables.service\nActiveState=active\nUnitFileState=enabled\n\n"
        "Id=fail2ban.service\nActiveState=failed\nUnitFileState=enabled\n")
    assert units["nftables.service"]["ActiveState"] == "active"
    assert units["fail2ban.service"]["ActiveState"] == "failed"


def test_parse_ss_listeners_ignores_loopback():
    out = textwrap.dedent("""\
        UNCONN 0 0 127.0.0.53%lo:53 0.0.0.0:*
        UNCONN 0 0 0.0.0.0:68 0.0.0.0:*
        UNCONN 0 0 [::1]:323 [::]:*
        UNCONN 0 0 [::]:10000 [::]:*
        UNCONN 0 0 *:5353 *:*
        """)
    assert parsers.parse_ss_listeners(out) == {68, 10000, 5353}


def test_parse_apt_config_dump_lists_and_values():
    out = textwrap.dedent("""\
        APT::Periodic::Update-Package-Lists "1";
        APT::Periodic::Unattended-Upgrade "1";
        Unattended-Upgrade::Origins-Pattern "";
        Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=trixie-security";
        Unattended-Upgrade::Origins-Pattern:: "origin=Debian,label=Debian-Security";
        """)
    cfg = parsers.parse_apt_config_dump(out)
    assert cfg["APT::Periodic::Unattended-Upgrade"] == ["1"]
    assert cfg["Unattended-Upgrade::Origins-Pattern"][1:] == [
        "origin=Debian,codename=trixie-security", "origin=Debian,label=Debian-Security"]


def test_parse_systemd_conf_last_assignment_wins():
    out = textwrap.dedent("""\
        # /etc/systemd/journald.conf
        [Journal]
        #Storage=auto
        SystemMaxUse=4G

        # /etc/systemd/journald.conf.d/50-jitsi-sovereign.conf
        [Journal]
        Storage=persistent
        SystemMaxUse=1G
        MaxRetentionSec=30day
        """)
    assert parsers.parse_systemd_conf(out, "Journal") == {
        "Storage": "persistent", "SystemMaxUse": "1G", "MaxRetentionSec": "30day"}


@pytest.mark.parametrize(("text", "seconds"), [
    ("30day", 30 * 86400), ("2week", 14 * 86400), ("1h 30min", 5400), ("45", 45),
    ("1month", 2629800),
])
def test_parse_timespan(text, seconds):
    assert parsers.parse_timespan(text) == seconds


def test_parse_timespan_and_size_reject_garbage():
    with pytest.raises(ValueError):
        parsers.parse_timespan("30 parsecs")
    with pytest.raises(ValueError):
        parsers.parse_size("lots")
    assert parsers.parse_size("1G") == 1024**3 and parsers.parse_size("512M") == 512 * 1024**2


@pytest.mark.parametrize(("match", "covered"), [
    ("_SYSTEMD_UNIT=ssh.service + _COMM=sshd", True),  # "+" is OR: the unit term matches
    ("_SYSTEMD_UNIT=ssh.service _COMM=sshd", False),  # AND: sshd-session is not sshd
    ("_SYSTEMD_UNIT=ssh.service _COMM=sshd _COMM=sshd-session", True),  # same field: OR
    ("_COMM=sshd", False),
    ("_COMM=sshd + _COMM=sshd-session", True),
    ("", True),
])
def test_journal_match_covers(match, covered):
    entry = {"_SYSTEMD_UNIT": "ssh.service", "_COMM": "sshd-session"}
    assert parsers.journal_match_covers(match, entry) is covered


# ------------------------------------------------------------------ port probes (127.0.0.1)


def _free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_probe_open_and_closed():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert probes.probe_tcp("127.0.0.1", port, timeout=1).status == "open"
    assert probes.probe_tcp("127.0.0.1", _free_port(), timeout=1).status == "closed"


def test_tcp_probe_timeout_is_filtered(monkeypatch):
    class Dropping(socket.socket):
        def connect(self, addr):
            raise TimeoutError("timed out")

    monkeypatch.setattr(probes.socket, "socket", Dropping)
    p = probes.probe_tcp("127.0.0.1", 9, timeout=0.2)
    assert (p.status, p.detail) == ("filtered", "no answer within 0.2 s")


def test_udp_probe_closed_port_gets_icmp():
    p = probes.probe_udp("127.0.0.1", _free_port(socket.SOCK_DGRAM), timeout=1)
    assert p.status == "closed", p


def test_udp_probe_answering_and_silent_listeners():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as echo, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:
        echo.bind(("127.0.0.1", 0))
        mute.bind(("127.0.0.1", 0))

        def answer():
            data, peer = echo.recvfrom(64)
            echo.sendto(data, peer)

        threading.Thread(target=answer, daemon=True).start()
        assert probes.probe_udp("127.0.0.1", echo.getsockname()[1], timeout=1).status == "answered"
        silent = probes.probe_udp("127.0.0.1", mute.getsockname()[1], timeout=0.3)
        assert silent.status == "silent"


def test_probe_many_runs_in_parallel():
    closed = [("tcp", _free_port()) for _ in range(3)] + [("udp", _free_port(socket.SOCK_DGRAM))]
    result = probes.probe_many("127.0.0.1", closed, timeout=1)
    assert {p.status for p in result.values()} == {"closed"}
    assert set(result) == set(closed)


# ------------------------------------------------------------------ SSH host keys (127.0.0.1)


class _Server(paramiko.ServerInterface):
    def __init__(self, client_key):
        self.client_key = client_key
        self.auth_attempts: list[str] = []
        self.commands: list[bytes] = []

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_none(self, username):
        self.auth_attempts.append("none")
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username, password):
        self.auth_attempts.append("password")
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        self.auth_attempts.append("publickey")
        return paramiko.AUTH_SUCCESSFUL if key == self.client_key else paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel, command):
        self.commands.append(command)

        def reply():
            channel.sendall(b"hello\n")
            channel.send_exit_status(0)
            channel.close()

        # After paramiko has confirmed the exec request (as sshd does).
        threading.Timer(0.05, reply).start()
        return True


@pytest.fixture
def ssh_server(tmp_path):
    """A paramiko SSH server on 127.0.0.1 that accepts only the test key (publickey)."""
    host_key = paramiko.Ed25519Key.from_private_key_file(_keygen(tmp_path / "host"))
    client_path = _keygen(tmp_path / "client")
    iface = _Server(paramiko.Ed25519Key.from_private_key_file(client_path))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()
    transports = []

    listener.settimeout(0.2)

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # listener closed at teardown
                return
            threading.Thread(target=handshake, args=(conn,), daemon=True).start()

    def handshake(conn):
        # One thread per client: a client that drops the handshake (a refused host key)
        # must not stop the server for the next one.
        t = paramiko.Transport(conn)
        t.add_server_key(host_key)
        transports.append(t)
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
            t.start_server(server=iface)

    threading.Thread(target=serve, daemon=True).start()
    yield {"port": listener.getsockname()[1], "host_key": host_key, "client_key": client_path,
           "iface": iface, "tmp": tmp_path}
    stop.set()
    for t in transports:
        t.close()
    listener.close()


def _keygen(path: Path) -> Path:
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def _known_hosts(srv, key) -> Path:
    path = srv["tmp"] / "known_hosts"
    path.write_text(f"[127.0.0.1]:{srv['port']} {key.get_name()} {key.get_base64()}\n")
    return path


def _spec(srv, known_hosts, become=True) -> HostSpec:
    return HostSpec(name="t1", address="127.0.0.1", port=srv["port"], user="debian",
                    key_file=srv["client_key"], become=become, known_hosts=known_hosts, vars={})


def test_verified_transport_and_auth_outcomes(ssh_server):
    known = _known_hosts(ssh_server, ssh_server["host_key"])
    key = probes.load_private_key(ssh_server["client_key"])
    for kwargs, accepted in (({}, False), ({"password": "wrong"}, False), ({"key": key}, True)):
        t = probes.verified_transport("127.0.0.1", ssh_server["port"], known, timeout=5)
        try:
            outcome = probes.try_auth(t, "debian", **kwargs)
        finally:
            t.close()
        assert outcome.accepted is accepted
        if not accepted:
            assert outcome.allowed == ["publickey"]
    assert probes.public_key_line(key).startswith("ssh-ed25519 AAAA")


def test_unknown_host_refused_before_connecting(ssh_server):
    empty = ssh_server["tmp"] / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(probes.HostKeyError, match="no host key"):
        probes.verified_transport("127.0.0.1", ssh_server["port"], empty, timeout=5)
    target = Target(_spec(ssh_server, empty), connect_timeout=5)
    with pytest.raises(ConnectionFailed, match="host key not verified"):
        target.connect()
    assert ssh_server["iface"].auth_attempts == []


def test_wrong_host_key_refused_before_any_credential(ssh_server, tmp_path):
    other = paramiko.Ed25519Key.from_private_key_file(_keygen(tmp_path / "other"))
    known = _known_hosts(ssh_server, other)
    with pytest.raises(probes.HostKeyError, match="does not match"):
        probes.verified_transport("127.0.0.1", ssh_server["port"], known, timeout=5)
    target = Target(_spec(ssh_server, known), connect_timeout=5)
    with pytest.raises(ConnectionFailed, match="does not match known_hosts"):
        target.connect()
    with pytest.raises(ConnectionFailed):  # remembered: no second attempt
        target.run("true")
    assert ssh_server["iface"].auth_attempts == []


def test_target_runs_commands_with_sudo_and_caches(ssh_server):
    known = _known_hosts(ssh_server, ssh_server["host_key"])
    target = Target(_spec(ssh_server, known, become=True), connect_timeout=5)
    try:
        first = target.run("sshd -T")
        second = target.run("sshd -T")
    finally:
        target.close()
    assert first.stdout == "hello\n" and first.rc == 0 and second is first
    [command] = ssh_server["iface"].commands  # cached: sent once
    assert command.startswith(b"sudo -n /bin/sh -c ")
    assert b"sshd -T" in command and b"LC_ALL=C" in command


def test_target_as_root_does_not_use_sudo(ssh_server):
    known = _known_hosts(ssh_server, ssh_server["host_key"])
    spec = _spec(ssh_server, known, become=True)
    spec.user = "root"
    target = Target(spec, connect_timeout=5)
    try:
        target.run("true")
    finally:
        target.close()
    assert not ssh_server["iface"].commands[0].startswith(b"sudo")


# ------------------------------------------------------------------ through a jump host


class _JumpServer(_Server):
    """A bastion: public-key login, then direct-tcpip channels forwarded where asked."""

    def __init__(self, client_key):
        super().__init__(client_key)
        self.forwards: list[tuple[str, int]] = []

    def check_channel_direct_tcpip_request(self, chanid, origin, destination):
        self.forwards.append(destination)
        return paramiko.OPEN_SUCCEEDED


def _pump(a, b) -> None:
    with contextlib.suppress(OSError, EOFError):
        while data := a.recv(65536):
            b.sendall(data)
    with contextlib.suppress(OSError, EOFError):
        b.close()


@pytest.fixture
def jump_server(ssh_server):
    """A second paramiko SSH server on 127.0.0.1 that forwards to any address it is asked."""
    tmp = ssh_server["tmp"]
    host_key = paramiko.Ed25519Key.from_private_key_file(_keygen(tmp / "jump_host"))
    iface = _JumpServer(paramiko.Ed25519Key.from_private_key_file(ssh_server["client_key"]))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    transports = []

    def serve():
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                t = paramiko.Transport(conn)
                t.add_server_key(host_key)
                transports.append(t)
                with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
                    t.start_server(server=iface)
                threading.Thread(target=forward, args=(t,), daemon=True).start()

    def forward(t):
        while (chan := t.accept(5)) is not None:
            out = socket.create_connection(iface.forwards[-1], timeout=5)
            threading.Thread(target=_pump, args=(chan, out), daemon=True).start()
            threading.Thread(target=_pump, args=(out, chan), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield {"port": listener.getsockname()[1], "host_key": host_key, "iface": iface}
    for t in transports:
        t.close()
    listener.close()


def _jump_route(srv, jump, known_hosts: Path) -> HostSpec:
    """A HostSpec as the inventory loader makes it for ProxyJump: the target's address is
    one only the jump host would resolve; both hops checked against ``known_hosts``."""
    from jitsi_sovereign.sshroute import Hop

    bastion = Hop(alias="bastion", hostname="127.0.0.1", port=jump["port"], user="ops",
                  identity_files=(srv["client_key"],), identities_only=True,
                  known_hosts=(known_hosts,))
    target = Hop(alias="t1", hostname="127.0.0.1", port=srv["port"], user="debian",
                 identity_files=(srv["client_key"],), identities_only=True,
                 known_hosts=(known_hosts,), via=bastion)
    return HostSpec(name="t1", address="127.0.0.1", port=srv["port"], user="debian",
                    key_file=srv["client_key"], become=False, known_hosts=known_hosts,
                    route=target)


def test_target_reached_through_a_jump_host(ssh_server, jump_server):
    known = _known_hosts(ssh_server, ssh_server["host_key"])
    key = jump_server["host_key"]
    with known.open("a") as fh:
        fh.write(f"[127.0.0.1]:{jump_server['port']} {key.get_name()} {key.get_base64()}\n")
    target = Target(_jump_route(ssh_server, jump_server, known), connect_timeout=5)
    try:
        assert target.run("true").stdout == "hello\n"
        assert target.route.through == f"through jump host ops@127.0.0.1:{jump_server['port']}"
        probe = target.route.transport()  # the outside SSH checks: same way, shared bastion
        probe.close()
    finally:
        target.close()
    assert jump_server["iface"].forwards == [("127.0.0.1", ssh_server["port"])] * 2
    assert jump_server["iface"].auth_attempts == ["publickey"]  # one bastion login for both


def test_unknown_jump_host_key_stops_before_any_credential(ssh_server, jump_server):
    known = _known_hosts(ssh_server, ssh_server["host_key"])  # the target's key only
    target = Target(_jump_route(ssh_server, jump_server, known), connect_timeout=5)
    with pytest.raises(ConnectionFailed) as excinfo:
        target.connect()
    assert str(excinfo.value).startswith(
        f"jump host bastion (ops@127.0.0.1:{jump_server['port']}): host key not verified: no "
        f"host key for [127.0.0.1]:{jump_server['port']}")
    assert jump_server["iface"].auth_attempts == [] == ssh_server["iface"].auth_attempts


def test_jump_host_that_cannot_forward_is_named(ssh_server, jump_server):
    known = _known_hosts(ssh_server, ssh_server["host_key"])
    key = jump_server["host_key"]
    with known.open("a") as fh:
        fh.write(f"[127.0.0.1]:{jump_server['port']} {key.get_name()} {key.get_base64()}\n")
    jump_server["iface"].check_channel_direct_tcpip_request = (
        lambda *a: paramiko.OPEN_FAILED_CONNECT_FAILED)
    target = Target(_jump_route(ssh_server, jump_server, known), connect_timeout=5)
    with pytest.raises(ConnectionFailed, match="jump host bastion could not open a connection "
                                              f"to 127.0.0.1:{ssh_server['port']}"):
        target.connect()
    target.close()


def test_proxy_command_carries_the_connection(ssh_server, tmp_path):
    """ProxyCommand: run by the shell, its stdin/stdout are the connection (here: python
    relaying to the test server, as `nc %h %p` would)."""
    import sys

    from jitsi_sovereign.sshroute import Hop

    relay = tmp_path / "relay.py"
    relay.write_text(textwrap.dedent("""\
        import socket, sys, threading
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
        def up():
            while data := sys.stdin.buffer.read1(65536):
                s.sendall(data)
        threading.Thread(target=up, daemon=True).start()
        while data := s.recv(65536):
            sys.stdout.buffer.write(data); sys.stdout.buffer.flush()
        """))
    known = _known_hosts(ssh_server, ssh_server["host_key"])
    hop = Hop(alias="t1", hostname="127.0.0.1", port=ssh_server["port"], user="debian",
              identity_files=(ssh_server["client_key"],), identities_only=True,
              known_hosts=(known,),
              proxy_command=f"{sys.executable} {relay} 127.0.0.1 {ssh_server['port']}")
    spec = _spec(ssh_server, known, become=False)
    spec.route = hop
    target = Target(spec, connect_timeout=5)
    try:
        assert target.run("true").stdout == "hello\n"
        assert target.route.through.startswith("through ProxyCommand")
    finally:
        target.close()


# ------------------------------------------------------------------ collector and report

DEMO_CHECKS = {
    "conftest.py": """
        import pytest

        @pytest.fixture
        def broken():
            pytest.fail("role demo has not run on this host", pytrace=False)
    """,
    "test_demo.py": '''
        import pytest

        def test_ok():
            """Something holds."""
            assert 1 + 1 == 2

        def test_message():
            """A value is right."""
            value = 3
            assert value == 2, f"value is {value}, wants 2"

        def test_bare_assert():
            assert [1] == [2]

        def test_skip():
            pytest.skip("read-only /proc/sys inside a container")

        def test_setup_fails(broken):
            """Needs the role."""

        @pytest.mark.parametrize("key", ["a", "b"])
        def test_param(key):
            """Per key."""
            assert key == "a", f"{key} is wrong"
    ''',
    "test_broken.py": "import does_not_exist_anywhere\n",
}


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory):
    d = tmp_path_factory.mktemp("checks")
    for name, text in DEMO_CHECKS.items():
        (d / name).write_text(textwrap.dedent(text))
    collector = ResultCollector("demo1")
    code = run_session(collector, checks_dir=d)
    return code, {r.check: r for r in collector.results}


def test_collector_statuses_and_reasons(demo_results):
    code, r = demo_results
    assert code == 1
    ok = r["demo.ok"]
    assert (ok.status, ok.title, ok.reason) == (PASSED, "Something holds", "")
    assert (r["demo.message"].status, r["demo.message"].reason) == (FAILED, "value is 3, wants 2")
    assert r["demo.bare_assert"].status == FAILED
    assert r["demo.bare_assert"].reason.startswith("assert [1] == [2]")
    assert (r["demo.skip"].status, r["demo.skip"].reason) == (
        SKIPPED, "read-only /proc/sys inside a container")
    assert (r["demo.setup_fails"].status, r["demo.setup_fails"].reason) == (
        FAILED, "[setup] role demo has not run on this host")
    assert r["demo.param[a]"].status == PASSED and r["demo.param[a]"].title == "Per key (a)"
    assert (r["demo.param[b]"].status, r["demo.param[b]"].reason) == (FAILED, "b is wrong")
    assert all(x.host == "demo1" for x in r.values())


def test_collection_error_is_a_failure_and_others_still_run(demo_results):
    _, r = demo_results
    broken = [x for k, x in r.items() if k.startswith("collect:")]
    assert len(broken) == 1 and broken[0].status == FAILED
    assert "does_not_exist_anywhere" in broken[0].reason
    assert "demo.ok" in r


def test_empty_session_fails(tmp_path):
    collector = ResultCollector("h")
    run_session(collector, checks_dir=tmp_path)
    assert [(x.check, x.status) for x in collector.results] == [("verify.session", FAILED)]


def test_check_id():
    assert check_id("jitsi_sovereign.checks.test_ssh", "test_option", "X11Forwarding") == (
        "ssh.option[X11Forwarding]")
    assert check_id("test_firewall", "test_table", None) == "firewall.table"


def _report() -> Report:
    report = Report(hosts={"h1": {"address": "198.51.100.11", "duration": 3.2,
                                  "connection_error": None},
                           "h2": {"address": "198.51.100.12", "duration": 1.0,
                                  "connection_error": None}},
                    duration=4.5)
    report.results = [
        CheckResult("h1", "ssh.option[X11Forwarding]", "sshd option", PASSED, "", 0.01),
        CheckResult("h1", "firewall.table", "table loaded", FAILED,
                    "no table inet jitsi_sovereign", 0.02),
        CheckResult("h2", "auditd.service", "auditd runs", SKIPPED, "no audit socket", 0.0),
    ]
    return report


def test_report_counts_and_exit_code():
    report = _report()
    assert (report.passed, report.failed, report.skipped, report.exit_code) == (1, 1, 1, 1)
    report.results = [r for r in report.results if r.status != FAILED]
    assert report.exit_code == 0
    assert Report().exit_code == 1  # nothing ran: not a success


def test_report_json_shape(tmp_path):
    """verify --json writes the shared report (schema report-v1): one finding per check."""
    path = tmp_path / "out" / "report.json"
    _report().write_json(path)
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1 and data["kind"] == "verify"
    assert data["hosts"]["h1"] == {"address": "198.51.100.11", "duration": 3.2,
                                   "connection_error": None}
    assert data["summary"]["total"] == {"passed": 1, "failed": 1, "skipped": 1}
    assert data["summary"]["areas"] == {"ssh": {"passed": 1, "failed": 0, "skipped": 0},
                                        "firewall": {"passed": 0, "failed": 1, "skipped": 0},
                                        "auditd": {"passed": 0, "failed": 0, "skipped": 1}}
    assert data["exit_code"] == 1 and data["duration"] == 4.5
    failed = data["findings"][1]
    assert {k: failed[k] for k in ("id", "area", "host", "title", "status", "severity",
                                   "reason", "duration")} == {
        "id": "verify:firewall.table", "area": "firewall", "host": "h1",
        "title": "table loaded", "status": "failed", "severity": "high",
        "reason": "no table inet jitsi_sovereign", "duration": 0.02}
    assert failed["evidence"][0] == "check firewall.table on h1 (198.51.100.11)"


def test_report_exit_code_is_verify_s():
    """Every verify finding is high: the shared exit code is verify's (1 on any failure)."""
    report = _report()
    assert report.to_report().exit_code == report.exit_code == 1
    report.results = [r for r in report.results if r.status != FAILED]
    assert report.to_report().exit_code == report.exit_code == 0
    assert Report().to_report().exit_code == 1


@pytest.mark.parametrize("width", [80, 160])
def test_table_and_summary(width):
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None)
    report = _report()
    print_host(console, report, "h1")
    print_host(console, report, "h2")
    print_summary(console, report)
    text = out.getvalue()
    assert "h1 (198.51.100.11)" in text and "FAILED" in text and "skipped" in text
    assert "no table inet jitsi_sovereign" in text and "no audit socket" in text
    assert "h1: 1 passed, 1 failed, 0 skipped in 3.2 s" in text
    assert "verify FAILED: 2 host(s), 1 passed, 1 failed, 1 skipped in 4.5 s" in text
    assert ("sshd option" in text) is (width >= 120)  # titles of passed checks: wide only



# ------------------------------------------------------------------ display of a host's checks

SEPARATORS = "._-/,[:="
LONG_PATH = ("/etc/jitsi/videobridge/sip-communicator.properties.d/"
             "99-jitsi-sovereign-overrides.properties")
X11_REASON = ("X11Forwarding is yes in `sshd -T`, wants no: a drop-in under "
              "/etc/ssh/sshd_config.d sorts before 50-jitsi-sovereign.conf and sets it first "
              "(cloud-init writes one on some images)")
SYSCTL_REASON = ("read-only /proc/sys inside a container: the lab host is an LXC container "
                 "whose kernel parameters are the host's (see [sysctl] in the lab notes)")


def _long_report() -> Report:
    """One host, long names and reasons, ssh checks before and after the other areas."""
    def r(check, title, status, reason=""):
        return CheckResult("meet1", check, title, status, reason, 0.01)

    report = Report(hosts={"meet1": {"address": "198.51.100.11", "duration": 41.3,
                                     "connection_error": None}}, duration=41.9)
    report.results = [
        r("ssh.option[PasswordAuthentication]", "Sshd option is hardened", PASSED),
        r("ssh.option[X11Forwarding]", "Forwarding of X11 is off", FAILED, X11_REASON),
        r("firewall.policy_drop[input]", "Base chain drops by default", PASSED),
        r("outside_tls.cipher_suites[TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]",
          "Cipher suite is a Mozilla intermediate one", PASSED),
        r("permissions.private_file[/etc/prosody/certs/meet.example.fr.key]",
          "Private key is mode 0600", PASSED),
        r(f"permissions.mode[{LONG_PATH}]", "File mode and owner as expected", PASSED),
        r("sysctl.value[net.ipv4.conf.all.accept_redirects]", "Kernel parameter hardened",
          SKIPPED, SYSCTL_REASON),
        r("ssh.host_keys", "Only ed25519 and rsa host keys", PASSED),
    ]
    return report


def _render(report: Report, width: int) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=False, color_system=None)
    for host in report.hosts:
        print_host(console, report, host)
    print_summary(console, report)
    return out.getvalue().splitlines()


def _name_lines(lines: list[str], label: str, name: str) -> list[str]:
    """The pieces of ``name`` printed after ``label`` at its first occurrence: the rest
    of the status line, then the continuation lines (indented under the name)."""
    cont = " " * (NAME_COLUMN + NAME_INDENT)
    for i, line in enumerate(lines):
        head, rest = line[:NAME_COLUMN], line[NAME_COLUMN:]
        if head.strip() != label or not rest or not name.startswith(rest.split("  ")[0]):
            continue
        pieces = [rest.split("  ")[0]]
        for nxt in lines[i + 1:]:
            if len("".join(pieces)) >= len(name) or not nxt.startswith(cont):
                break
            pieces.append(nxt[len(cont):])
        if "".join(pieces) == name:
            return pieces
    raise AssertionError(f"{label} {name} not found in:\n" + "\n".join(lines))


def _label(status: str) -> str:
    return {PASSED: "passed", FAILED: "FAILED", SKIPPED: "skipped"}[status]


@pytest.mark.parametrize("width", [60, 72, 80, 100, 119, 120, 160])
def test_host_section_fits_and_breaks_names_only_at_separators(width):
    report = _long_report()
    lines = _render(report, width)
    too_long = [line for line in lines if len(line) > width]
    assert too_long == []
    room = width - NAME_COLUMN
    for r in report.results:
        _, name = split_check(r.check)
        pieces = _name_lines(lines, _label(r.status), name)
        if len(name) <= room:
            assert pieces == [name]  # whole, on the status line
        else:
            assert len(pieces) > 1
            for piece, following in itertools.pairwise(pieces):
                assert piece[-1] in SEPARATORS or following.startswith("]"), (piece, following)
    # The failure is listed again with its whole id (area included) at the end.
    assert _name_lines(lines, "FAILED", "ssh.option[X11Forwarding]") == [
        "ssh.option[X11Forwarding]"]
    # The long path (104 characters) is wrapped exactly when it does not fit.
    long_name = f"mode[{LONG_PATH}]"
    assert (len(_name_lines(lines, "passed", long_name)) > 1) is (len(long_name) > room)


def test_host_section_area_counts_in_order():
    lines = _render(_long_report(), 80)
    header = lines.index(next(line for line in lines if line.split() == [
        "area", "passed", "failed", "skipped"]))
    rows = []
    for line in lines[header + 2:]:
        if not line.strip():
            break
        rows.append(line.split())
    assert rows == [["ssh", "2", "1", "0"], ["firewall", "1", "0", "0"],
                    ["outside_tls", "1", "0", "0"], ["permissions", "2", "0", "0"],
                    ["sysctl", "0", "0", "1"]]
    # Area headings in the same order; ssh.host_keys (run last) is under ssh.
    expected = ["ssh  1 FAILED", "firewall", "outside_tls", "permissions", "sysctl"]
    assert [line for line in lines if line in expected] == expected
    ssh = lines.index("ssh  1 FAILED")
    assert lines.index("  passed  host_keys") < lines.index("firewall")
    assert lines.index("  passed  host_keys") > ssh


def test_host_section_failed_first_with_reason_and_recap():
    lines = _render(_long_report(), 80)
    text_col = " " * (NAME_COLUMN + TEXT_INDENT)
    ssh = lines.index("ssh  1 FAILED")
    # Failed checks come first in their area, their reason wrapped under the name.
    assert lines[ssh + 1] == "  FAILED  option[X11Forwarding]"
    reason = []
    for line in lines[ssh + 2:]:
        if not line.startswith(text_col):
            break
        reason.append(line[len(text_col):])
    assert len(reason) > 1 and " ".join(reason) == X11_REASON
    assert lines[ssh + 2 + len(reason)] == "  passed  option[PasswordAuthentication]"
    # The skipped check's reason too (its markup-like "[sysctl]" printed as is).
    skipped = lines.index("  skipped value[net.ipv4.conf.all.accept_redirects]")
    following = " ".join(line.strip() for line in lines[skipped + 1:skipped + 4])
    assert following.startswith(SYSCTL_REASON)
    # Recap of the failures right above the host's summary line.
    recap = lines.index("meet1: 1 failed check")
    assert lines[recap + 1] == "  FAILED  ssh.option[X11Forwarding]"
    assert " ".join(line.strip() for line in lines[recap + 2:recap + 2 + len(reason)]) == (
        X11_REASON)
    assert lines[recap + 2 + len(reason)] == "meet1: 6 passed, 1 failed, 1 skipped in 41.3 s"
    assert lines[-1] == "verify FAILED: 1 host(s), 6 passed, 1 failed, 1 skipped in 41.9 s"
    # Narrow console: no titles at all.
    assert not any("Sshd option is hardened" in line or "Forwarding of X11 is off" in line
                   for line in lines)


def test_host_section_wide_console_shows_titles():
    lines = _render(_long_report(), 120)
    assert max(map(len, lines)) <= 120
    # Passed: title on the name's line (lined up within the area), when it fits.
    password = next(line for line in lines if "option[PasswordAuthentication]" in line)
    assert password.split("  ")[-1] == "Sshd option is hardened"
    host_keys = next(line for line in lines if line.startswith("  passed  host_keys "))
    assert host_keys.index("Only ed25519") == password.index("Sshd option")
    # Failed: title, then reason, under the name.
    failed = lines.index("  FAILED  option[X11Forwarding]")
    assert lines[failed + 1].strip() == "Forwarding of X11 is off"
    assert lines[failed + 2].strip().startswith("X11Forwarding is yes")
    skipped = lines.index("  skipped value[net.ipv4.conf.all.accept_redirects]")
    assert lines[skipped + 1].strip() == "Kernel parameter hardened"


def test_host_section_connection_error_line():
    report = _long_report()
    report.hosts["meet1"]["connection_error"] = "host key not verified: no host key in known_hosts"
    lines = _render(report, 80)
    assert "meet1: SSH connection failed: host key not verified: no host key in known_hosts" in (
        lines)


@pytest.mark.parametrize(("check", "parts"), [
    ("ssh.option[X11Forwarding]", ("ssh", "option[X11Forwarding]")),
    ("jitsi_web.baseline_value[p2p.enabled]", ("jitsi_web", "baseline_value[p2p.enabled]")),
    ("verify.session", ("verify", "session")),
    ("collect:test_broken.py", ("collect", "test_broken.py")),
    ("odd[a.b]", ("other", "odd[a.b]")),
])
def test_split_check(check, parts):
    assert split_check(check) == parts


def test_wrap_check_name_keeps_a_name_that_fits():
    name = "outside_tls.cipher_suites[TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]"
    assert wrap_check_name(name, len(name)) == [name]
    assert wrap_check_name(name, 200) == [name]


def test_wrap_check_name_breaks_at_separators():
    name = "outside_tls.cipher_suites[TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]"
    assert wrap_check_name(name, 30) == ["outside_tls.cipher_suites[TLS_",
                                         "    ECDHE_RSA_WITH_AES_128_",
                                         "    GCM_SHA256]"]
    assert wrap_check_name("permissions.private_file[/etc/prosody/certs/meet.example.fr.key]",
                           40) == ["permissions.private_file[/etc/prosody/",
                                   "    certs/meet.example.fr.key]"]
    # Before "]" (and never inside the word before it).
    assert wrap_check_name("x." + "a" * 20 + "]", 22) == ["x." + "a" * 20, "    ]"]


def test_wrap_check_name_cuts_only_a_piece_wider_than_the_line():
    assert wrap_check_name("mode[" + "x" * 50 + "]", 20) == [
        "mode[", "    " + "x" * 16, "    " + "x" * 16, "    " + "x" * 16, "    xx]"]
    assert wrap_check_name("y" * 25, 10) == ["y" * 10, "y" * 10, "y" * 5]  # no room to indent


@pytest.mark.parametrize("name", [
    "outside_tls.cipher_suites[TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]",
    f"permissions.mode[{LONG_PATH}]",
    "coturn.listening[tcp-tls_listening_port]",
    "jitsi_web.promised_value[constraints.video.height.ideal]",
    "collect:checks/test_broken.py",
])
def test_wrap_check_name_rejoins_at_every_width(name):
    longest = max(len(p) for p in re.split(r"(?<=[._\-/,\[:=])|(?=\])", name))
    for width in range(max(longest + NAME_INDENT, 10 + NAME_INDENT), len(name) + 2):
        lines = wrap_check_name(name, width)
        assert all(len(line) <= width for line in lines), (width, lines)
        assert all(line.startswith(" " * NAME_INDENT) for line in lines[1:])
        pieces = [lines[0]] + [line[NAME_INDENT:] for line in lines[1:]]
        assert "".join(pieces) == name
        for piece, following in itertools.pairwise(pieces):
            assert piece[-1] in SEPARATORS or following.startswith("]"), (width, lines)
        assert len(lines) == 1 or len(name) > width


def test_wrap_text_breaks_at_spaces():
    lines = wrap_text(X11_REASON, 40)
    assert len(lines) > 2 and all(len(line) <= 40 for line in lines)
    assert " ".join(lines) == X11_REASON
    assert wrap_text("first line\nsecond line", 80) == ["first line", "second line"]


def test_lab_password_comes_from_the_inventory_variable():
    with_var = HostSpec("a", "192.0.2.1", vars={"jitsi_sovereign_lab_password": "s3cret"})
    assert lab_password(with_var) == "s3cret"
    assert lab_password(HostSpec("b", "192.0.2.2")) is None  # not a lab inventory: no password


def test_verify_does_not_import_the_lab():
    """The production verify path finds the lab password in the inventory, not in the lab."""
    import ast

    import jitsi_sovereign.verify as verify_mod

    tree = ast.parse(Path(verify_mod.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
    assert not [m for m in imported if m and m.startswith("jitsi_sovereign.lab")]
