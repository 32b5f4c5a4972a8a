"""Unattended upgrades: security updates are installed automatically."""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks import parsers
from jitsi_sovereign.checks.helpers import packages, require_area, run_ok, units

PERIODIC = ["APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"]
TIMERS = ["apt-daily.timer", "apt-daily-upgrade.timer"]


@pytest.fixture(scope="module")
def uu_state(os_state):
    require_area(os_state, "unattended_upgrades")
    return os_state.get("unattended_upgrades") or {}


@pytest.fixture(scope="module")
def apt_config(target) -> dict[str, list[str]]:
    """The effective APT configuration (every apt.conf.d file merged)."""
    return parsers.parse_apt_config_dump(run_ok(target, "apt-config dump", what="apt-config dump"))


def test_installed(uu_state, target):
    """the unattended-upgrades package is installed."""
    assert packages(target, "unattended-upgrades")["unattended-upgrades"], (
        "unattended-upgrades is not installed")


@pytest.mark.parametrize("key", PERIODIC)
def test_periodic(key, uu_state, apt_config):
    """APT periodic job is on ("1")."""
    values = apt_config.get(key)
    assert values, f"{key} is not set"
    assert values[-1] == "1", f'{key} is "{values[-1]}", wants "1"'


def test_security_origin(uu_state, apt_config):
    """the Debian security suite is among the origins upgraded automatically."""
    origins = apt_config.get("Unattended-Upgrade::Origins-Pattern", [])
    security = [o for o in origins if "-security" in o or "label=Debian-Security" in o]
    assert security, f"no security origin in Unattended-Upgrade::Origins-Pattern: {origins}"


@pytest.mark.parametrize("timer", TIMERS)
def test_timer(timer, uu_state, target):
    """APT timer is enabled and active."""
    if not uu_state.get("timers_managed", True):
        pytest.skip("os_hardening_unattended_upgrades_timers is false: the apt timers are not "
                    "managed on this host (lab hosts mask them so they cannot take the dpkg "
                    "lock during a test)")
    unit = units(target, *TIMERS).get(timer, {})
    assert unit.get("UnitFileState") == "enabled", (
        f"{timer} is {unit.get('UnitFileState') or 'missing'}, not enabled")
    assert unit.get("ActiveState") == "active", f"{timer} is {unit.get('ActiveState')}"
