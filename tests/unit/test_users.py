"""`jitsi-sovereign users`: names, passwords on stdin only, clear errors, nothing changed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jitsi_sovereign import cli, users
from jitsi_sovereign.errors import UserError

DOMAIN = "meet.example.org"
ACCOUNTS = "/var/lib/prosody/meet%2eexample%2eorg/accounts"


class FakeHost:
    """Records every command; answers like a host with prosody and the given accounts."""

    def __init__(self, accounts=("alice",), rc=0, auth="internal", **state):
        self.accounts = list(accounts)
        self.calls: list[tuple[str, bytes | None]] = []
        self.rc = rc
        self.state = json.dumps({"domain": DOMAIN, "auth": auth, **state})

    def __call__(self, command: str, stdin: bytes | None):
        self.calls.append((command, stdin))
        if command.startswith("cat "):
            return 0, self.state, ""
        if ACCOUNTS in command:
            return 0, "".join(f"{users.storage_name(a)}.dat\n" for a in self.accounts), ""
        return self.rc, "", "Error: boom" if self.rc else ""

    def mutations(self):
        return [c for c in self.calls if "prosodyctl" in c[0]]


def test_storage_names_round_trip():
    assert users.storage_name(DOMAIN) == "meet%2eexample%2eorg"
    assert users.decode_storage_name(users.storage_name("a.b-c_d")) == "a.b-c_d"


@pytest.mark.parametrize("name", ["Alice", "a b", "a@b", "", "-x", "x" * 65, "a;rm"])
def test_bad_user_names(name):
    with pytest.raises(UserError):
        users.check_user(name)


@pytest.mark.parametrize("password", ["short", "two\nlines", "cr\rhere"])
def test_bad_passwords(password):
    with pytest.raises(UserError):
        users.check_password(password)


def test_add_passes_the_password_on_stdin_only():
    fake = FakeHost(accounts=[])
    users.UserHost("h", fake).add("bob", "correct horse")
    [(command, stdin)] = fake.mutations()
    assert command == f"timeout 30 prosodyctl adduser bob@{DOMAIN}"
    assert stdin == b"correct horse\ncorrect horse\n"
    assert all("correct horse" not in c for c, _ in fake.calls)


def test_add_existing_user_changes_nothing():
    fake = FakeHost(accounts=["bob"])
    with pytest.raises(UserError, match=rf"user bob already exists on {DOMAIN}"):
        users.UserHost("h", fake).add("bob", "correct horse")
    assert fake.mutations() == []


@pytest.mark.parametrize("verb", ["remove", "passwd"])
def test_unknown_user_changes_nothing(verb):
    fake = FakeHost(accounts=["alice"])
    host = users.UserHost("h", fake)
    with pytest.raises(UserError, match=f"no user carol on {DOMAIN}"):
        host.remove("carol") if verb == "remove" else host.passwd("carol", "correct horse")
    assert fake.mutations() == []


def test_remove_and_list():
    fake = FakeHost(accounts=["bob", "alice"])
    host = users.UserHost("h", fake)
    assert host.list() == ["alice", "bob"]
    host.remove("bob")
    [(command, stdin)] = fake.mutations()
    assert command == f"timeout 30 prosodyctl deluser bob@{DOMAIN}" and stdin is None


def test_prosodyctl_failure_is_reported():
    fake = FakeHost(accounts=[], rc=1)
    with pytest.raises(UserError,
                       match=r"prosodyctl adduser bob@meet\.example\.org failed: Error: boom"):
        users.UserHost("h", fake).add("bob", "correct horse")


@pytest.mark.parametrize(("auth", "extra", "where"), [
    ("token", {"jwt_app_id": "meet-app"}, r"token issuer \(JWT app_id meet-app\)"),
    ("ldap", {"ldap_url": "ldaps://ldap.example.org"}, "directory ldaps://ldap.example.org"),
])
@pytest.mark.parametrize("verb", ["list", "add", "passwd", "remove"])
def test_token_and_ldap_modes_are_refused(auth, extra, where, verb):
    """accounts live in the token issuer / the directory: every command refuses, and
    nothing runs on the host but reading the state file."""
    fake = FakeHost(auth=auth, **extra)
    host = users.UserHost("h", fake)
    with pytest.raises(UserError, match=where) as info:
        if verb == "list":
            host.list()
        elif verb == "remove":
            host.remove("bob")
        else:
            getattr(host, verb)("bob", "correct horse")
    assert info.value.exit_code == 2
    assert "could not log in" in str(info.value)
    assert [c for c, _ in fake.calls] == [f"cat {users.STATE_FILE}"]


def test_cli_refuses_in_token_mode(monkeypatch):
    fake = FakeHost(auth="token")
    _patch_hosts(monkeypatch, fake)
    with pytest.raises(UserError) as info:
        CliRunner().invoke(cli.app, ["users", "add", "-i", "inv", "--password-stdin", "bob"],
                           input="correct horse\n", catch_exceptions=False)
    assert info.value.exit_code == 2
    assert "token issuer" in str(info.value)
    assert fake.mutations() == []


def test_cli_refuses_in_ldap_mode_before_asking_a_password(monkeypatch):
    fake = FakeHost(auth="ldap", ldap_url="ldaps://dir.example.org")
    _patch_hosts(monkeypatch, fake)
    asked = []
    monkeypatch.setattr(cli, "_read_password", lambda from_stdin: asked.append(1) or "x" * 12)
    with pytest.raises(UserError) as info:
        CliRunner().invoke(cli.app, ["users", "passwd", "-i", "inv", "alice"],
                           catch_exceptions=False)
    assert "directory ldaps://dir.example.org" in str(info.value)
    assert asked == []  # the mode is read before the prompt: nobody types a password in vain
    assert fake.mutations() == []


def test_unknown_auth_mode_is_refused():
    fake = FakeHost(auth="kerberos")
    with pytest.raises(UserError, match="prosody_auth is 'kerberos'"):
        users.UserHost("h", fake).list()


def _patch_hosts(monkeypatch, fake):
    monkeypatch.setattr(cli, "_user_hosts",
                        lambda inventory, limit: [(users.UserHost("h", fake), lambda: None)])


def test_cli_add_reads_stdin(monkeypatch):
    fake = FakeHost(accounts=[])
    _patch_hosts(monkeypatch, fake)
    result = CliRunner().invoke(cli.app, ["users", "add", "-i", "inv", "--password-stdin", "bob"],
                                input="correct horse\n")
    assert result.exit_code == 0, result.output
    assert fake.mutations()[0][1] == b"correct horse\ncorrect horse\n"
    assert "correct horse" not in result.output


def test_cli_has_no_password_option():
    result = CliRunner().invoke(cli.app, ["users", "add", "-i", "inv", "--password", "x", "bob"])
    assert result.exit_code != 0


def test_cli_remove_unknown_user_exit_2(monkeypatch):
    fake = FakeHost(accounts=["alice"])
    _patch_hosts(monkeypatch, fake)
    with pytest.raises(UserError) as info:
        CliRunner().invoke(cli.app, ["users", "remove", "-i", "inv", "carol"],
                           catch_exceptions=False)
    assert info.value.exit_code == 2
    assert str(info.value).startswith(f"no user carol on {DOMAIN}")
    assert fake.mutations() == []
