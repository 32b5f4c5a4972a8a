"""The XMPP probe's parsing (checks/xmpp.py) and the prosody role's files."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from role_files import assert_defaults_match_specs

from jitsi_sovereign.checks import xmpp

ROLE = Path(__file__).resolve().parents[2] / "roles" / "prosody"

FEATURES = (
    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>"
    "<mechanism>PLAIN</mechanism></mechanisms></stream:features>")


def test_mechanisms():
    assert xmpp.mechanisms_of(FEATURES) == ["SCRAM-SHA-1", "PLAIN"]
    assert xmpp.mechanisms_of("<stream:features/>") == []


def test_sasl_outcome():
    assert xmpp.sasl_outcome("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")["result"] \
        == "success"
    failure = ("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-mechanism/>"
               "</failure>")
    assert xmpp.sasl_outcome(failure) == {"result": "failure", "condition": "invalid-mechanism"}


def test_probe_is_standard_library_only():
    # It runs on the host with Debian's python3 and nothing else.
    source = Path(xmpp.__file__).read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "base64", "json", "re", "socket", "ssl", "sys", "time"}


def test_defaults_match_argument_specs():
    assert_defaults_match_specs("prosody")


def test_no_secret_in_state_or_defaults():
    text = (ROLE / "vars/main.yml").read_text()
    state = text.split("_prosody_state:")[1].split("_prosody_state_json")[0]
    assert "secret" not in state
    assert "secret" not in (ROLE / "defaults/main.yml").read_text().split("#")[0]


def test_secret_tasks_are_no_log():
    for path in (ROLE / "tasks").glob("*.yml"):
        for task in yaml.safe_load(path.read_text()) or []:
            text = yaml.safe_dump(task)
            if re.search(r"_prosody_turn_secret\b|site\.cfg\.lua\.j2|_prosody_component_passwords"
                         r"|_prosody_secret_lookups|_prosody_jwt_secret\b", text):
                assert task.get("no_log") is True, f"{path.name}: {task['name']}"


def test_stream_error_after_tls_is_parsed():
    text = ("<stream:stream xmlns='jabber:client' version='1.0'><stream:error>"
            "<undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>No stream features to proceed "
            "with</text></stream:error></stream:stream>")
    assert xmpp.stream_error_of(text) == {"condition": "undefined-condition",
                                          "text": "No stream features to proceed with"}
    assert xmpp.stream_error_of("<stream:features/>") is None


def _account_script():
    """The role's account script as a module (its template holds one Jinja line)."""
    import types

    source = (ROLE / "templates/usr/local/sbin/jitsi-sovereign-prosody-account.j2").read_text()
    source = "\n".join(line for line in source.splitlines() if "{{" not in line)
    module = types.ModuleType("account_script")
    exec(compile(source, "account_script", "exec"), module.__dict__)
    return module


def _prosody_account(tmp_path, password: str, algo: str = "sha1") -> Path:
    """An account file as prosody's internal_hashed writes it (SCRAM keys of the password)."""
    import hashlib
    import hmac

    salt, count = "9afee591-713d-46f7-9f05-a71cb6eea46b", 10000
    salted = hashlib.pbkdf2_hmac(algo, password.encode(), salt.encode(), count)
    stored = hashlib.new(algo, hmac.new(salted, b"Client Key", algo).digest()).hexdigest()
    path = tmp_path / "focus.dat"
    path.write_text(f'return {{\n\t["iteration_count"] = {count};\n\t["salt"] = "{salt}";\n'
                    f'\t["stored_key"] = "{stored}";\n\t["server_key"] = "00";\n}};\n')
    return path


def test_account_script_compares_scram_keys(tmp_path):
    script = _account_script()
    path = _prosody_account(tmp_path, "s3cret-password")
    assert script.matches(str(path), "s3cret-password") is True
    assert script.matches(str(path), "another-password") is False
    assert script.matches(str(tmp_path / "missing.dat"), "s3cret-password") is None
    sha256 = _prosody_account(tmp_path, "s3cret-password", "sha256")
    assert script.matches(str(sha256), "s3cret-password") is True
    assert script.storage_name("auth.meet.example.org") == "auth%2emeet%2eexample%2eorg"


def test_site_config_secrets_only_in_no_log_tasks():
    """the JWT secret and the LDAP bind password are only rendered into the hosts file."""
    template = (ROLE / "templates/etc/prosody/conf.avail/site.cfg.lua.j2").read_text()
    assert "_prosody_jwt_secret" in template and "prosody_ldap_bind_password" in template
    for path in (ROLE / "templates").rglob("*.j2"):
        if path.name != "site.cfg.lua.j2":
            text = path.read_text()
            assert "secret }}" not in text and "password }}" not in text, path.name


def test_account_script_takes_user_host_pairs(capsys, monkeypatch):
    """One call for several accounts: USER HOST pairs, one password line each, in order."""
    import io

    script = _account_script()
    seen = []
    monkeypatch.setattr(script, "ensure", lambda u, h, p: seen.append((u, h, p)) or "unchanged")
    monkeypatch.setattr("sys.stdin", io.StringIO("pw-focus\npw-jvb\n"))
    assert script.main(["acct", "focus", "auth.x", "jvb", "auth.x"]) == 0
    assert seen == [("focus", "auth.x", "pw-focus"), ("jvb", "auth.x", "pw-jvb")]
    assert capsys.readouterr().out == "unchanged\nunchanged\n"
    assert script.main(["acct", "focus"]) == 2  # not a pair
    monkeypatch.setattr("sys.stdin", io.StringIO("only-one\n"))
    assert script.main(["acct", "focus", "auth.x", "jvb", "auth.x"]) == 2  # a password missing
    assert "no password on stdin for jvb@auth.x" in capsys.readouterr().err


class _Result:
    def __init__(self, rc: int, stdout: str = "", stderr: str = ""):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


class _Target:
    """A host whose prosody runs lua5.4 and whose lua answers ``lua``."""

    def __init__(self, lua: _Result):
        self.lua, self.commands = lua, []

    def run(self, command: str, *args):
        self.commands.append((command, args))
        if command.startswith("head -n 1"):
            return _Result(0, "#!/usr/bin/env lua5.4\n")
        return self.lua


def test_token_lua_check_fails_with_luas_error():
    import pytest

    from jitsi_sovereign.checks import test_prosody

    state = {"auth": "token", "token_lua": "lua5.4"}
    error = "lua5.4: (command line):1: module 'basexx' not found:"
    target = _Target(_Result(1, "", error))
    with pytest.raises(AssertionError, match="module 'basexx' not found"):
        test_prosody.test_token_lua_libraries(target, state)
    assert target.commands[-1][1][0] == "lua5.4"
    test_prosody.test_token_lua_libraries(_Target(_Result(0, "ok\n")), state)
    with pytest.raises(pytest.skip.Exception, match="'internal'"):
        test_prosody.test_token_lua_libraries(_Target(_Result(0, "ok\n")), {"auth": "internal"})
