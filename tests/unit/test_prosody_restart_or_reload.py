"""Restart or reload prosody after a deploy rewrote its configuration (issue 14, faults
survived on purpose): the filter jitsi_sovereign.core.reload_suffices (plugins/filter/
service.py) and the prosody role's use of it (vars/main.yml "restart or reload",
handlers/main.yml). A reload only when the running prosody (its PID) loaded exactly the
configuration this deploy renders; a first deploy, another configuration (a guest host
added, another auth mode), a prosody started since, a changed unit drop-in or Lua link:
restart."""

from __future__ import annotations

import base64
import json

import pytest
from role_files import plugin, role_yaml, templar, trusted
from test_prosody_conformance import LDAP, _templar

svc = plugin("filter", "service")
DIGEST = "a" * 64


def _record(digest=DIGEST, pid="4242"):
    return svc.loaded_record(digest, pid)


def test_the_record_names_the_configuration_and_the_process():
    assert json.loads(_record()) == {"config": DIGEST, "pid": 4242}
    assert json.loads(svc.loaded_record(DIGEST, None)) == {"config": DIGEST, "pid": None}
    assert _record().endswith("\n")


def test_a_reload_when_the_running_prosody_loaded_this_configuration():
    assert svc.reload_suffices(_record(), DIGEST, "4242\n", "active") is True


@pytest.mark.parametrize(("record", "digest", "pid", "active", "why"), [
    (None, DIGEST, "4242", "active", "no record: a first deploy"),
    ("", DIGEST, "4242", "active", "an empty record"),
    ("{not json", DIGEST, "4242", "active", "a broken record"),
    ("[1]", DIGEST, "4242", "active", "a record of another shape"),
    (_record("b" * 64), DIGEST, "4242", "active", "another configuration"),
    (_record(), DIGEST, "4243", "active", "a prosody started since (reboot, by hand)"),
    (_record(), DIGEST, None, "active", "no pid file"),
    (svc.loaded_record(DIGEST, None), DIGEST, None, "active", "no PID recorded nor running"),
    (_record(), DIGEST, "4242", "inactive", "prosody does not run"),
    (_record(), DIGEST, "4242", "failed", "prosody failed"),
    (_record(), "", "4242", "active", "no configuration rendered"),
])
def test_otherwise_a_restart(record, digest, pid, active, why):
    assert svc.reload_suffices(record, digest, pid, active) is False, why


def _restart_needed(reload, unit=False, lua=False, mode="internal"):
    t = _templar(mode, True, "13", **(LDAP if mode == "ldap" else {}))
    t.available_variables = {
        **t.available_variables,
        "_prosody_todo": {"reload": reload},
        "_prosody_unit_written": {"changed": unit},
        "_prosody_lua_linked": {"changed": lua}}
    return t.template(trusted("{{ _prosody_restart_needed | bool }}"))


@pytest.mark.parametrize("mode", ["internal", "token", "ldap"])
def test_the_role_reloads_only_when_a_reload_suffices_and_nothing_else_changed(mode):
    assert _restart_needed(True, mode=mode) is False
    assert _restart_needed(False, mode=mode) is True
    # the LDAP trust (a systemd drop-in) and the token mode's Lua links need a restart
    assert _restart_needed(True, unit=True, mode=mode) is True
    assert _restart_needed(True, lua=True, mode=mode) is True


def test_restart_needed_without_the_registered_results():
    """--tags prosody_service: the configure tasks did not run (their results undefined)."""
    t = _templar("internal", True)
    t.available_variables = {**t.available_variables, "_prosody_todo": {"reload": True}}
    assert t.template(trusted("{{ _prosody_restart_needed | bool }}")) is False


def _digest(mode="internal", **extra):
    t = _templar(mode, True, "13", **extra)
    return t.template(trusted("{{ _prosody_config_digest }}"))


def test_the_digest_covers_what_a_reload_does_not_apply():
    base = _digest()
    assert len(base) == 64 and base == _digest()
    assert _digest(prosody_guests_enabled=False) != base  # the guest VirtualHost
    assert _digest("token") != base  # the main host's authentication
    assert _digest("ldap", **LDAP) != base
    assert _digest(prosody_features=["polls"]) != base  # the components
    assert _digest(prosody_turn_ttl=3600) != base  # an option a module read once


def test_the_handlers_restart_or_reload_on_the_same_notifications():
    handlers = {h["name"]: h for h in role_yaml("prosody", "handlers", "main.yml")}
    restart = handlers["Restart prosody"]
    reload = handlers["Reload prosody (it already runs this configuration)"]
    assert restart["ansible.builtin.systemd_service"]["state"] == "restarted"
    assert reload["ansible.builtin.systemd_service"]["state"] == "reloaded"
    assert sorted(restart["listen"]) == sorted(reload["listen"])
    assert "_prosody_restart_needed | bool" in restart["when"]
    assert "not _prosody_restart_needed | bool" in reload["when"]
    # the check first, then one of the two, then the modules are read (both cases)
    names = list(handlers)
    assert names.index("Check the prosody configuration") < names.index("Restart prosody")
    assert names.index("Restart prosody") < names.index("Read which modules prosody loaded")
    assert names.index(reload["name"]) < names.index("Read which modules prosody loaded")


def test_the_digest_is_keyed():
    """The record is world-readable (a state file); the configuration holds secrets a user
    chose (LDAP bind password): no plain checksum to try passwords against."""
    text = 'ldap_password = "hunter2"'
    assert svc.keyed_digest(text, "k1") != svc.keyed_digest(text, "k2")
    assert svc.keyed_digest(text, "k1") == svc.keyed_digest(text, "k1")
    assert svc.keyed_digest(text, "k1") != __import__("hashlib").sha256(text.encode()).hexdigest()
    with pytest.raises(ValueError, match="needs a key"):
        svc.keyed_digest(text, "")
    assert _digest(_prosody_turn_secret="anotherTurnSecret012345") != _digest()


def test_the_record_is_a_state_file_read_with_the_state():
    tasks = {t["name"]: t for t in role_yaml("prosody", "tasks", "main.yml")}
    (rec,) = [t for n, t in tasks.items() if n.startswith("Record which configuration")]
    (item,) = rec["jitsi_sovereign.core.files"]["files"]
    assert item["mode"] == "0644"  # the state files' mode (checks/test_permissions.py)
    t = templar("prosody", {"prosody_auth": "internal"})
    read = role_yaml("prosody", "tasks", "read_state.yml")[0]["jitsi_sovereign.core.state"]
    assert t.template(trusted(read["texts"])) == [
        "/etc/jitsi-sovereign/state/prosody-loaded.json", "/run/prosody/prosody.pid"]


def _loaded_pid(**registered):
    t = _templar("internal", True)
    t.available_variables = {
        **t.available_variables,
        "_prosody_current": {"texts": {"/run/prosody/prosody.pid": "100"}}, **registered}
    return t.template(trusted("{{ _prosody_loaded_pid }}"))


def test_the_recorded_pid_is_the_one_running_after_the_deploy():
    # nothing (re)started prosody: the PID read at the start
    assert str(_loaded_pid()).strip() == "100"
    assert str(_loaded_pid(_prosody_new_pid={"skipped": True})).strip() == "100"
    # (re)started (handlers, service tasks or the sandbox role): the pid file read after
    new = {"content": base64.b64encode(b"200\n").decode()}
    assert str(_loaded_pid(_prosody_new_pid=new)).strip() == "200"
    # read failed: none (the next deploy restarts)
    assert str(_loaded_pid(_prosody_new_pid={"failed": False, "msg": "no file"})).strip() == ""
    tasks = {t["name"]: t for t in role_yaml("prosody", "tasks", "main.yml")}
    read = tasks["Read the PID of the prosody started or restarted by this deploy"]
    when = " ".join(read["when"])
    for registered in ("_prosody_restarted", "_prosody_started", "_sandbox_restarted"):
        assert registered in when
