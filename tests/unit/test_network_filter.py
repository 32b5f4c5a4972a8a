"""The collection's network filters (plugins/filter/network.py: bad_networks, openings,
admitting) and the state reader's `connection` read (plugins/modules/state.py)."""

from __future__ import annotations

import json

import pytest
from role_files import COLLECTION, load_source, plugin

net = plugin("filter", "network")
EVERYONE = ["0.0.0.0/0", "::/0"]


@pytest.mark.parametrize(("value", "why"), [
    ("10.1.2.3/8", "10.1.2.3/8 has host bits set"),
    ("2001:db8::1/32", "2001:db8::1/32 has host bits set"),
    ("300.1.1.1", "'300.1.1.1' does not appear to be an IPv4 or IPv6 network"),
    ("10.0.0.0/33", "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network"),
    ("nonsense", "'nonsense' does not appear to be an IPv4 or IPv6 network"),
])
def test_bad_networks_say_why(value, why):
    assert net.bad_networks(["10.0.0.0/8", value, "::/0"]) == [why]


def test_good_networks_and_addresses_pass():
    assert net.bad_networks(["0.0.0.0/0", "::/0", "198.51.100.7", "2001:db8::/32", "fe80::1"]) == []
    assert net.bad_networks(None) == []


def test_ports_become_openings_for_everyone():
    assert net.openings([80, "443"], "tcp", "web") == [
        {"proto": "tcp", "port": 80, "sources": EVERYONE, "comment": "web"},
        {"proto": "tcp", "port": 443, "sources": EVERYONE, "comment": "web"}]


def test_rules_become_openings():
    rules = [{"proto": "udp", "port": "8000-8100", "sources": ["192.0.2.0/24"], "comment": "rtp"},
             {"proto": "tcp", "port": "8443", "sources": [], "comment": None},
             {"proto": "tcp", "port": 9000, "comment": 'say "hi"; drop'}]
    assert net.openings(rules, comment="extra") == [
        {"proto": "udp", "port": "8000-8100", "sources": ["192.0.2.0/24"], "comment": "rtp"},
        {"proto": "tcp", "port": 8443, "sources": EVERYONE, "comment": "extra"},
        {"proto": "tcp", "port": 9000, "sources": EVERYONE, "comment": "say hi drop"}]


@pytest.mark.parametrize(("length", "kept"), [(100, 100), (105, 105), (106, 100), (300, 100)])
def test_long_comments_are_cut_as_before(length, kept):
    (opening,) = net.openings([{"proto": "tcp", "port": 1, "comment": "x" * length}])
    assert len(opening["comment"]) == kept


ADMINS = ["198.51.100.0/24", "2001:db8::/32"]
OPEN = [{"proto": "tcp", "port": 22, "sources": ADMINS, "comment": "ssh"},
        {"proto": "tcp", "port": 443, "sources": EVERYONE, "comment": "web"},
        {"proto": "udp", "port": 10000, "sources": EVERYONE, "comment": "jvb"},
        {"proto": "tcp", "port": "2200-2299", "sources": ["203.0.113.0/24"], "comment": "extra"},
        {"proto": "tcp", "port": 2222, "sources": ["10.1.2.3/8"], "comment": "invalid"}]


@pytest.mark.parametrize(("client", "port", "comments"), [
    ("198.51.100.7", 22, ["ssh"]),
    ("2001:db8::5", 22, ["ssh"]),
    ("192.0.2.1", 22, []),                       # not an admin network
    ("198.51.100.7", 2222, []),                   # the only rule for 2222 is invalid
    ("203.0.113.9", 2222, ["extra"]),             # inside a port range
    ("203.0.113.9", 2300, []),
    ("192.0.2.1", 443, ["web"]),
    ("192.0.2.1", 10000, []),                     # udp only
    ("::ffff:198.51.100.7", 22, []),              # the reader gives the IPv4 form
    ("not an address", 22, []),
])
def test_admitting(client, port, comments):
    assert [o["comment"] for o in net.admitting(OPEN, client, port)] == comments


def test_admitting_an_empty_source_list_admits_nobody():
    assert net.admitting([{"proto": "tcp", "port": 22, "sources": []}], "192.0.2.1", 22) == []


# ------------------------------------------------------------------ the connection read

READER = COLLECTION / "plugins" / "modules" / "state.py"


@pytest.mark.parametrize(("ssh_connection", "client", "port"), [
    ("198.51.100.1 50022 198.51.100.13 22", "198.51.100.1", 22),
    ("::ffff:198.51.100.1 50022 ::ffff:198.51.100.13 2222", "198.51.100.1", 2222),
    ("fe80::1%eth0 50022 fe80::2%eth0 22", "fe80::1", 22),
    ("2001:db8::7 50022 2001:db8::1 22", "2001:db8::7", 22),
])
def test_connection_read(ssh_connection, client, port, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("SSH_CONNECTION", ssh_connection)
    monkeypatch.setattr("sys.argv", ["state", json.dumps({"connection": True})])
    load_source(READER, "state_connection").main()
    conn = json.loads(capsys.readouterr().out)["connection"]
    assert (conn["ssh"], conn["client"], conn["server_port"]) == (True, client, port)
    assert {"user", "uid", "groups", "authorized_keys"} <= set(conn)


def test_connection_read_without_ssh(monkeypatch, capsys):
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.setattr("sys.argv", ["state", json.dumps({"connection": True, "files": []})])
    load_source(READER, "state_connection").main()
    conn = json.loads(capsys.readouterr().out)["connection"]
    assert (conn["ssh"], conn["client"], conn["server_port"]) == (False, "", 0)


def test_authorized_keys_counted(monkeypatch, tmp_path):
    import os
    import pwd
    from types import SimpleNamespace

    reader = load_source(READER, "state_connection")
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "authorized_keys").write_text("# a\n\nssh-ed25519 AAAA a\nssh-rsa B b\n")
    me = pwd.getpwuid(os.getuid())
    fake = SimpleNamespace(pw_name=me.pw_name, pw_uid=me.pw_uid, pw_gid=me.pw_gid,
                           pw_dir=str(tmp_path))
    monkeypatch.setattr(reader.pwd, "getpwuid", lambda uid: fake)
    assert reader._connection()["authorized_keys"] == 2
    fake.pw_dir = str(tmp_path / "nowhere")
    assert reader._connection()["authorized_keys"] == 0


def test_files_a_private_file_exists_without_its_checksum(tmp_path, monkeypatch):
    """Read as a user (connection), a file it may not read is there, its checksum unknown."""
    import os

    reader = load_source(READER, "state_files")
    key = tmp_path / "key"
    key.write_text("private")
    key.chmod(0o600)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(reader, "open", denied, raising=False)
    assert reader._file(str(key)) == {"sha1": None, "mode": "0600", "uid": os.getuid(),
                                      "gid": os.getgid()}
    assert reader._file(str(tmp_path / "missing")) is None
    assert reader._file(str(tmp_path)) is None  # a directory is no file
