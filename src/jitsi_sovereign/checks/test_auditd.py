"""auditd: installed, running, keeps its logs (not in a container: no audit socket)."""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks.helpers import packages, require_area, run_ok, units


@pytest.fixture(scope="module")
def auditd_state(os_state, container):
    if container:
        pytest.skip(f"no audit socket inside a container (systemd-detect-virt: {container}): "
                    "auditd cannot run")
    require_area(os_state, "auditd")
    return os_state.get("auditd") or {}


def test_installed(auditd_state, target):
    """the auditd package is installed."""
    assert packages(target, "auditd")["auditd"], "auditd is not installed"


def test_service(auditd_state, target):
    """auditd.service is enabled and active."""
    unit = units(target, "auditd.service").get("auditd.service", {})
    assert unit.get("UnitFileState") == "enabled", (
        f"auditd.service is {unit.get('UnitFileState') or 'missing'}, not enabled")
    assert unit.get("ActiveState") == "active", f"auditd.service is {unit.get('ActiveState')}"


def test_keep_logs(auditd_state, target):
    """auditd keeps full log files (max_log_file_action = keep_logs)."""
    conf = run_ok(target, "cat /etc/audit/auditd.conf", what="reading /etc/audit/auditd.conf")
    values = {k.strip().lower(): v.strip().lower() for k, _, v in
              (line.partition("=") for line in conf.splitlines() if "=" in line)}
    assert values.get("max_log_file_action") == "keep_logs", (
        f"max_log_file_action = {values.get('max_log_file_action', 'unset')}, wants keep_logs")
