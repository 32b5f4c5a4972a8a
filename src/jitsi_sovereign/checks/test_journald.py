"""journald: persistent, bounded in size and in age (entries hold client IP addresses)."""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks import parsers
from jitsi_sovereign.checks.helpers import require_area, run_ok, stats


@pytest.fixture(scope="module")
def journald_state(os_state):
    require_area(os_state, "journald")
    return os_state.get("journald") or {}


@pytest.fixture(scope="module")
def effective(target) -> dict[str, str]:
    """[Journal] settings after every drop-in, as systemd reads them."""
    out = run_ok(target, "systemd-analyze cat-config systemd/journald.conf",
                 what="systemd-analyze cat-config systemd/journald.conf")
    return parsers.parse_systemd_conf(out, "Journal")


def test_storage_persistent(journald_state, effective, target):
    """the journal is kept on disk (Storage=persistent and /var/log/journal exists)."""
    assert effective.get("Storage") == "persistent", (
        f"Storage={effective.get('Storage', 'auto (default)')}, wants persistent")
    assert "/var/log/journal" in stats(target, "/var/log/journal"), (
        "/var/log/journal does not exist: journald keeps the journal in memory only")


def test_size_bounded(journald_state, effective):
    """SystemMaxUse is set to the promised size."""
    value = effective.get("SystemMaxUse")
    assert value, "SystemMaxUse is not set (journald default: 10% of the file system)"
    promised = journald_state.get("system_max_use")
    assert promised, "os_hardening.json promises no journald.system_max_use"
    assert parsers.parse_size(value) == parsers.parse_size(str(promised)), (
        f"SystemMaxUse={value}, promised {promised}")


def test_retention(journald_state, effective):
    """MaxRetentionSec is set to the promised age (old entries with IP addresses go)."""
    value = effective.get("MaxRetentionSec")
    assert value and value != "0", "MaxRetentionSec is not set: entries are kept forever"
    promised = journald_state.get("max_retention")
    assert promised, "os_hardening.json promises no journald.max_retention"
    assert parsers.parse_timespan(value) == parsers.parse_timespan(str(promised)), (
        f"MaxRetentionSec={value}, promised {promised}")


def test_writes_to_disk(journald_state, effective, target):
    """journald writes its active system journal to /var/log/journal, not to memory: after
    /var/log was full it moves to /run/log/journal (lost at the next boot) and stays there,
    space or not, until asked to flush (found by tests/faults, issue 14)."""
    if effective.get("Storage") != "persistent":
        pytest.skip(f"Storage={effective.get('Storage', 'auto (default)')}: "
                    "test_storage_persistent reports it")
    out = run_ok(target, "for d in /var/log/journal /run/log/journal; do "
                 "ls $d/*/system.journal 2>/dev/null; done; true",
                 what="listing the active system journals")
    active = [line for line in out.split() if line.endswith("/system.journal")]
    assert any(p.startswith("/var/log/journal/") for p in active), (
        "journald writes its system journal to memory "
        f"({', '.join(active) or 'no active system journal at all'}), not to "
        "/var/log/journal: those entries are lost at the next boot. It does so after "
        "/var/log was full and stays so; free space in /var/log (df -h /var/log), then "
        "journalctl --flush")
