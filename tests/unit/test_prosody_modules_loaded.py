"""The prosody role's module-load probe (roles/prosody/files/modules_loaded.py): what the
configuration enables, what prosody says it loaded, what is missing (issue 10, N2)."""

from __future__ import annotations

from role_files import load_source

M = load_source("roles/prosody/files/modules_loaded.py", "jsov_modules_loaded")

MAIN = """
-- global settings
modules_enabled = {
\t"disco";
\t"admin_shell"; -- "commented";
}
modules_disabled = { "s2s"; "offline"; }
-- modules_enabled = { "never" }
"""
SITE = """
component_admins_as_room_owners = true
VirtualHost "meet.example.fr"
\tauthentication = "token"
\tmodules_enabled = {
\t\t"external_services";
\t\t"offline";
\t}
-- Component "polls.meet.example.fr" "polls_component" (a postinst marker)
Component "conference.meet.example.fr" "muc"
\tmodules_enabled = { "muc_hide_all"; }
Component "focus.meet.example.fr" "client_proxy"
"""
SHELL = """prosody> | Global:
|     admin_shell
|     http
| Result: nil
prosody> | meet.example.fr:
|     auth_token
|     disco
|     external_services
| Result: nil
prosody> | conference.meet.example.fr:
|     muc
| Result: nil
prosody> | focus.meet.example.fr:
|     client_proxy
| Result: nil
"""


def test_expected_modules_per_host_from_the_configuration():
    want, disabled = M.expected([MAIN, SITE])
    assert want == {"*": {"disco", "admin_shell"},
                    "meet.example.fr": {"auth_token", "external_services", "offline"},
                    "conference.meet.example.fr": {"muc", "muc_hide_all"},
                    "focus.meet.example.fr": {"client_proxy"}}
    assert disabled == {"s2s", "offline"}


def test_loaded_modules_from_the_console():
    have = M.loaded(SHELL)
    assert have["*"] == {"admin_shell", "http"}
    assert have["meet.example.fr"] == {"auth_token", "disco", "external_services"}
    assert have["focus.meet.example.fr"] == {"client_proxy"}


def test_a_module_that_did_not_load_is_missing_and_named_by_host():
    want, disabled = M.expected([MAIN, SITE])
    # muc_hide_all did not load on the conference host; globals count where they run.
    assert M.missing(want, disabled, M.loaded(SHELL)) == {
        "conference.meet.example.fr": ["muc_hide_all"]}
    have = M.loaded(SHELL.replace("|     auth_token\n", ""))
    assert M.missing(want, disabled, have)["meet.example.fr"] == ["auth_token"]
    # Everything there: nothing missing.
    have = M.loaded(SHELL.replace("|     muc\n", "|     muc\n|     muc_hide_all\n"))
    assert M.missing(want, disabled, have) == {}


def test_the_errors_quoted_are_the_missing_modules_own(tmp_path):
    log = tmp_path / "prosody.err"
    log.write_text("Dec 04 modulemanager\terror\tUnable to load module 'auth_token': "
                   "module 'basexx' not found\nDec 04 other\terror\tsomething else\n")
    assert M._errors({"auth_token"}, [str(log), str(tmp_path / "absent.log")]) == [
        "Dec 04 modulemanager\terror\tUnable to load module 'auth_token': "
        "module 'basexx' not found"]
    assert M._errors(set(), [str(log)]) == []


def test_a_module_missing_for_a_recorded_reason_is_listed_apart(monkeypatch, capsys):
    """Token mode without Jitsi's mod_auth_token (the lab): the main domain refuses every
    login on purpose; auth_token is 'unavailable', not 'missing'. Anything else still is."""
    import json
    import subprocess

    monkeypatch.setattr(M, "CONFIG", "/nonexistent")
    monkeypatch.setattr(M.glob, "glob", lambda pattern: [])
    real = M.expected
    monkeypatch.setattr(M, "expected", lambda texts: real([MAIN, SITE]))
    answer = SHELL.replace("|     auth_token\n", "")
    monkeypatch.setattr(M.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, stdout=answer, stderr=""))
    monkeypatch.setattr("sys.argv", ["x", json.dumps({"unavailable": {"auth_token": "why"}})])
    M.main()
    out = json.loads(capsys.readouterr().out)
    assert out["unavailable"] == {"meet.example.fr": ["auth_token"]}
    assert out["missing"] == {"conference.meet.example.fr": ["muc_hide_all"]}
