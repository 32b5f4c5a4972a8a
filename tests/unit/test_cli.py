"""The command line: bad input gives a short message and exit status 2, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jitsi_sovereign.cli import _parse_extra_vars
from jitsi_sovereign.errors import UserError


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jitsi_sovereign", *args],
                          capture_output=True, text=True, timeout=60)


def test_missing_inventory_is_a_clear_error(tmp_path):
    r = run_cli("deploy", "-i", str(tmp_path / "nowhere.yml"))
    assert r.returncode == 2
    assert "does not exist" in r.stderr
    assert "Traceback" not in r.stderr


def test_verify_inventory_without_hosts(tmp_path):
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  children:\n    meet: {}\n")
    r = run_cli("verify", "-i", str(inv))
    assert r.returncode == 2
    assert "has no host" in r.stderr


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("jitsi-sovereign ")


@pytest.mark.parametrize(("raw", "expected"), [
    ("firewall_web_enabled=false", {"firewall_web_enabled": False}),
    ("firewall_rollback_seconds=30", {"firewall_rollback_seconds": 30}),
    ('{"firewall_admin_cidrs": ["192.0.2.0/24"]}', {"firewall_admin_cidrs": ["192.0.2.0/24"]}),
    ("name=", {"name": ""}),
])
def test_extra_vars_forms(raw, expected):
    assert _parse_extra_vars([raw]) == expected


def test_extra_vars_file(tmp_path):
    f = tmp_path / "vars.yml"
    f.write_text("firewall_jvb_enabled: false\n")
    assert _parse_extra_vars([f"@{f}"]) == {"firewall_jvb_enabled": False}
    with pytest.raises(UserError, match="does not exist"):
        _parse_extra_vars([f"@{tmp_path}/missing.yml"])


def test_extra_vars_garbage():
    with pytest.raises(UserError, match="not key=value"):
        _parse_extra_vars(["justaword"])
