"""The daemons' systemd sandboxes: the drop-in each role renders (jitsi_sovereign.confcheck.
sandbox through the collection's filters), the overrides' rule every preflight runs, the
state recorded for verify, the exposure parser, and the files module's drop-in check."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from role_files import ROOT, plugin, preflight_problems, role_yaml, templar, trusted

from jitsi_sovereign.confcheck import sandbox

PROFILE = {"unit": "coturn.service", "target": 4.0,
           "settings": {"RestrictAddressFamilies": ["AF_INET", "AF_UNIX"],
                        "ReadWritePaths": ["-/var/lib/turn"], "Restart": "on-failure"}}
# Roles and the variable holding their profile(s).
PROFILES = {"prosody": ["_prosody_sandbox"], "coturn": ["_coturn_sandbox"],
            "nginx": ["_nginx_sandbox"], "jicofo": ["_jicofo_sandbox"],
            "videobridge": ["_videobridge_sandbox"], "tls": ["_tls_sandbox"],
            "os_hardening": ["_os_hardening_fail2ban_sandbox",
                             "_os_hardening_unattended_upgrades_sandbox",
                             "_os_hardening_apt_upgrade_sandbox"]}


def _lines(text):
    return [ln for ln in text.splitlines() if ln and not ln.startswith("#")]


def test_dropin_is_baseline_then_profile():
    lines = _lines(sandbox.sandbox_dropin(PROFILE))
    assert lines[0] == "[Service]"
    for line in ("ProtectSystem=strict", "NoNewPrivileges=yes", "MemoryDenyWriteExecute=yes",
                 "SystemCallFilter=@system-service", "Restart=on-failure", "UMask=0027"):
        assert line in lines
    # Lists systemd merges are reset first: the drop-in's list is the whole list.
    i = lines.index("RestrictAddressFamilies=")
    assert lines[i + 1] == "RestrictAddressFamilies=AF_INET AF_UNIX"
    # No capability: the empty assignment alone (systemd: the empty set).
    assert "CapabilityBoundingSet=" in lines
    assert not [ln for ln in lines if ln.startswith("CapabilityBoundingSet=CAP")]


def test_user_override_loosens_and_is_marked():
    over = {"coturn.service": {"MemoryDenyWriteExecute": False, "ProtectProc": None}}
    text = sandbox.sandbox_dropin(PROFILE, over)
    assert "MemoryDenyWriteExecute=no" in _lines(text)
    assert not [ln for ln in _lines(text) if ln.startswith("ProtectProc=")]
    assert "# set by jitsi_sovereign_sandbox_overrides\nMemoryDenyWriteExecute=no" in text
    assert "Left out by jitsi_sovereign_sandbox_overrides: ProtectProc" in text
    # Another unit's overrides do not apply.
    assert sandbox.sandbox_dropin(PROFILE, {"nginx": {"PrivateTmp": False}}) == \
        sandbox.sandbox_dropin(PROFILE)


def test_state_records_target_and_what_the_user_changed():
    state = sandbox.sandbox_state(PROFILE, {"coturn": {"MemoryDenyWriteExecute": False}})
    assert state["unit"] == "coturn.service" and state["target"] == 4.0
    assert state["restart"] == "on-failure"
    assert state["dropin"] == "/etc/systemd/system/coturn.service.d/jitsi-sovereign-sandbox.conf"
    assert state["overrides"] == {"MemoryDenyWriteExecute": {"set": False, "instead_of": True}}


def test_rule_refuses_an_unknown_unit_naming_it_and_the_known_ones():
    rule = sandbox.sandbox_rule({"cotrun": {"PrivateTmp": False}})
    assert not rule["ok"]
    assert "'cotrun'" in rule["msg"]
    for name in sandbox.UNITS:
        assert name in rule["msg"]


@pytest.mark.parametrize("overrides", [
    None, {}, {"coturn": {"MemoryDenyWriteExecute": False}},
    {"nginx.service": {"ProtectSystem": "full", "ReadWritePaths": ["/srv"], "ProtectHome": None}},
])
def test_rule_accepts_loosened_or_disabled_settings(overrides):
    assert sandbox.sandbox_rule(overrides) == {"ok": True, "msg": ""}


@pytest.mark.parametrize(("overrides", "named"), [
    (["coturn"], "must be a mapping"),
    ({"coturn": "off"}, "a mapping of systemd settings"),
    ({"coturn": {"protect system": "yes"}}, "not a systemd setting name"),
    ({"coturn": {"ReadWritePaths": {"a": 1}}}, "coturn.ReadWritePaths"),
])
def test_rule_refuses_malformed_overrides(overrides, named):
    rule = sandbox.sandbox_rule(overrides)
    assert not rule["ok"] and named in rule["msg"]


RULE = "jitsi_sovereign_sandbox_overrides | default({}) | jitsi_sovereign.core.sandbox_rule"


@pytest.mark.parametrize("role", sorted(PROFILES))
def test_every_preflight_has_the_rule(role):
    assert RULE in (ROOT / "roles" / role / "tasks" / "preflight.yml").read_text()


# os_hardening's and tls's preflights read the host first (state, probe): run the others.
@pytest.mark.parametrize("role", ["coturn", "jicofo", "nginx", "prosody", "videobridge"])
def test_preflight_refuses_an_unknown_unit(role):
    problems = preflight_problems(role, jitsi_sovereign_sandbox_overrides={"ngnix": {}})
    assert any("unknown unit 'ngnix'" in p and "nginx" in p for p in problems), problems
    loosened = {"nginx": {"PrivateTmp": False}}
    ok = preflight_problems(role, jitsi_sovereign_sandbox_overrides=loosened)
    assert not any("sandbox" in p for p in ok), ok


def test_every_profile_is_a_known_unit_of_its_role():
    seen = set()
    for role, names in PROFILES.items():
        variables = role_yaml(role, "vars", "main.yml")
        for name in names:
            unit = variables[name]["unit"]
            key = unit.removesuffix(".service")
            assert sandbox.UNITS[key][0] == role, (role, unit)
            seen.add(key)
    assert seen == set(sandbox.UNITS)


def _profile(role, var, **extra):
    t = templar(role, extra)
    return t.template(trusted("{{ " + var + " }}"))


def test_coturn_gets_cap_net_bind_service_only_for_a_low_port():
    default = sandbox.sandbox_settings(_profile("coturn", "_coturn_sandbox"))
    assert default["CapabilityBoundingSet"] == [] and default["AmbientCapabilities"] == []
    low = sandbox.sandbox_settings(_profile("coturn", "_coturn_sandbox", coturn_tls_443=True,
                                            coturn_listening_ips=["192.0.2.10"]))
    assert low["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert low["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]


@pytest.mark.parametrize("role", ["jicofo", "videobridge"])
def test_jvm_units_keep_their_jit(role):
    settings = sandbox.sandbox_settings(_profile(role, f"_{role}_sandbox"))
    assert settings["MemoryDenyWriteExecute"] is False
    assert settings["ProtectSystem"] == "strict"


def test_upgrades_are_sandboxed_lightly():
    for var in ("_os_hardening_unattended_upgrades_sandbox", "_os_hardening_apt_upgrade_sandbox"):
        settings = sandbox.sandbox_settings(_profile("os_hardening", var))
        # dpkg writes everywhere and installs setuid files: none of these.
        for key in ("ProtectSystem", "RestrictSUIDSGID", "CapabilityBoundingSet",
                    "SystemCallFilter", "PrivateTmp", "ProtectKernelModules"):
            assert key not in settings, (var, key)
        assert settings["LockPersonality"] is True


# systemd 257's text (Debian 13); 252's has the same "Overall" line (Debian 12).
SECURITY_TEXT = """\
  NAME                                 DESCRIPTION                               EXPOSURE
✓ PrivateNetwork=                      Service has no access to the host's network
→ Overall exposure level for coturn.service: 1.5 OK 🙂
  NAME                                 DESCRIPTION                               EXPOSURE
→ Overall exposure level for nginx.service: 9.6 UNSAFE 😨
→ Overall exposure level for fail2ban.service: 10 UNSAFE :-{
"""


def test_parse_exposures():
    assert sandbox.parse_exposures(SECURITY_TEXT) == {
        "coturn.service": 1.5, "nginx.service": 9.6, "fail2ban.service": 10.0}
    assert sandbox.parse_exposures("") == {}


def test_unit_lists():
    assert "certbot.service" in sandbox.unit_names()
    assert "certbot.service" not in sandbox.long_running()
    assert "nginx.service" in sandbox.long_running()


# ---------------------------------------------------------------- files module, option unit

M = plugin("modules", "files")


def test_module_stand_in_is_the_checks_one():
    assert M.STAND_IN == sandbox.STAND_IN_UNIT


class FakeModule:
    def run_command(self, argv, environ_update=None):
        env = {**__import__("os").environ, **(environ_update or {})}
        res = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
        return res.returncode, res.stdout, res.stderr


NEEDS_ANALYZE = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="no systemd-analyze on this machine")
UNIT = "jsov-unit-test-not-installed.service"
DEST = f"/etc/systemd/system/{UNIT}.d/jitsi-sovereign-sandbox.conf"


@NEEDS_ANALYZE
def test_module_accepts_the_rendered_dropin_on_a_stand_in():
    M._validate_dropin(FakeModule(), UNIT, DEST,
                       sandbox.sandbox_dropin({**PROFILE, "unit": UNIT}).encode())


@NEEDS_ANALYZE
@pytest.mark.parametrize("bad", ["FooBar=1", "ProtectProc=invisibl",
                                 "RestrictAddressFamilies=AF_BOGUS"])
def test_module_refuses_what_systemd_would_ignore(bad):
    with pytest.raises(M.Failure) as info:
        M._validate_dropin(FakeModule(), UNIT, DEST, f"[Service]\n{bad}\n".encode())
    assert DEST in str(info.value) and "stand-in" in str(info.value)


def test_module_refuses_a_unit_that_is_not_a_name():
    with pytest.raises(M.Failure, match="unit must be a unit name"):
        M._validate_dropin(FakeModule(), "../x", DEST, b"[Service]\n")


def test_sandbox_role_is_documented():
    assert "## Sandboxes" in (ROOT / "docs" / "design.md").read_text()
