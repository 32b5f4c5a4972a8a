"""The daemons' sandboxes on a deployed lab host: ``pytest tests/lab --lab-host NAME``.

coturn listens on 3478 and 5349 by default: its sandbox grants it no capability at all,
and CAP_NET_BIND_SERVICE only when the inventory gives it a port below 1024 (TURN over
TLS on 443). "coturn without its CAP_NET_BIND_SERVICE" is then coturn told to listen on a
low port in the deployed sandbox: a test drop-in (``zz-jsov-lab-test.conf``, after the
role's) changes its command line only. It must not start (the sandbox holds: a daemon
cannot take a privileged port it was not given), and verify's coturn checks must fail;
with the capability the profile renders for a low port it listens there (the capability
is all it lacked). Then the test drop-in goes, coturn is restarted, the checks pass and
a deploy changes nothing.

A loosened sandbox is accepted: coturn deployed with jitsi_sovereign_sandbox_overrides
that turn most of its sandbox off is above its target, and verify's exposure check says
so naming the overrides; deployed again without them, the check passes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_DROPIN = "/etc/systemd/system/coturn.service.d/zz-jsov-lab-test.conf"
SANDBOX_DROPIN = "/etc/systemd/system/coturn.service.d/jitsi-sovereign-sandbox.conf"
LOW_PORT = 993
LOW = ("[Service]\nExecStart=\nExecStart=/usr/bin/turnserver -c /etc/turnserver.conf "
       f"--pidfile= --listening-port {LOW_PORT}\n")
# What the coturn role's profile renders for a port below 1024 (_coturn_sandbox).
GRANT = "AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"


def _sh(host, script: str, check: bool = True) -> subprocess.CompletedProcess:
    return host.sudo("sh", "-c", shlex.quote(script), check=check)


def _restart_coturn(host) -> bool:
    """daemon-reload, restart; True when coturn is active 2 s later."""
    _sh(host, "systemctl daemon-reload; systemctl reset-failed coturn; "
              "systemctl restart coturn", check=False)
    time.sleep(2)
    return _sh(host, "systemctl is-active --quiet coturn", check=False).returncode == 0


def _listens_low(host) -> bool:
    out = _sh(host, f"ss -Hlnu 'sport = :{LOW_PORT}'; ss -Hlnt 'sport = :{LOW_PORT}'").stdout
    return bool(out.strip())


def _checks(host, expr: str) -> subprocess.CompletedProcess:
    """The shipped checks selected by -k, against the host, as verify runs them."""
    checks = str(resources.files("jitsi_sovereign.checks"))
    return subprocess.run(
        [sys.executable, "-m", "pytest", checks, "-p", "no:cacheprovider", "-q", "-rfEs",
         "--jsov-inventory", str(host.inventory), "--jsov-host", host.name, "-k", expr],
        capture_output=True, text=True, timeout=300, check=False)


def _deploy(host, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    return subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(host.inventory),
         str(ROOT / "playbooks" / "site.yml"), "--limit", host.name, "--tags", "coturn", *extra],
        capture_output=True, text=True, timeout=900, check=False, cwd=ROOT, env=env)


def _changed(run: subprocess.CompletedProcess) -> int:
    found = re.search(r"changed=(\d+)", run.stdout)
    assert found and run.returncode == 0, run.stdout[-3000:]
    return int(found.group(1))


@pytest.fixture
def test_dropin(lab_host):
    """Removes the test drop-in and restarts coturn afterwards, whatever happened."""
    before = _sh(lab_host, f"cat {SANDBOX_DROPIN}").stdout
    yield
    _sh(lab_host, f"rm -f {TEST_DROPIN}")
    assert _restart_coturn(lab_host), "coturn did not come back without the test drop-in"
    assert _sh(lab_host, f"cat {SANDBOX_DROPIN}").stdout == before


def test_coturn_on_a_low_port_without_its_capability(lab_host, test_dropin):
    # The deployed sandbox has no capability: coturn's default ports are above 1024.
    sandbox = _sh(lab_host, f"cat {SANDBOX_DROPIN}").stdout
    assert "\nCapabilityBoundingSet=\n" in sandbox and "CAP_NET_BIND_SERVICE" not in sandbox

    _sh(lab_host, f"printf %s {shlex.quote(LOW)} > {TEST_DROPIN}")
    assert not _restart_coturn(lab_host), "coturn started on a low port without the capability"
    assert not _listens_low(lab_host)
    journal = _sh(lab_host, "journalctl -u coturn -n 60 --no-pager -o cat").stdout
    assert f"{LOW_PORT}>: errno=13" in journal or "Permission denied" in journal, journal[-1500:]
    broken = _checks(lab_host, "test_coturn and (service or listening)")
    assert broken.returncode != 0 and "failed" in broken.stdout, broken.stdout[-2000:]

    # The capability the profile grants for a low port is all coturn lacked.
    _sh(lab_host, f"printf %s {shlex.quote(LOW + GRANT)} > {TEST_DROPIN}")
    assert _restart_coturn(lab_host), "coturn did not start with CAP_NET_BIND_SERVICE"
    assert _listens_low(lab_host)


def test_coturn_restored_and_deploy_changes_nothing(lab_host):
    assert _sh(lab_host, f"test ! -e {TEST_DROPIN}", check=False).returncode == 0
    fine = _checks(lab_host, "test_coturn and (service or listening) or test_sandbox")
    assert fine.returncode == 0, fine.stdout[-2000:]
    assert _changed(_deploy(lab_host)) == 0


def test_loosened_sandbox_is_accepted_and_named_by_verify(lab_host, tmp_path):
    loose = {"coturn": {key: None for key in (
        "ProtectSystem", "ProtectHome", "PrivateDevices", "PrivateTmp", "SystemCallFilter",
        "RestrictAddressFamilies", "RestrictNamespaces", "ProtectKernelTunables",
        "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock",
        "ProtectHostname", "ProtectProc", "SystemCallArchitectures", "NoNewPrivileges")}}
    extra = tmp_path / "loose.json"
    extra.write_text(json.dumps({"jitsi_sovereign_sandbox_overrides": loose}))
    try:
        assert _changed(_deploy(lab_host, "-e", f"@{extra}")) > 0
        state = json.loads(_sh(lab_host, "cat /etc/jitsi-sovereign/state/coturn.json").stdout)
        assert state["sandbox"]["overrides"]["ProtectSystem"] == {"set": None,
                                                                  "instead_of": "strict"}
        named = _checks(lab_host, "test_sandbox and exposure and coturn")
        assert named.returncode != 0, named.stdout[-2000:]
        assert "coturn.service: exposure" in named.stdout and "above its target 4.0" in named.stdout
        assert "ProtectSystem left out (instead of strict)" in named.stdout, named.stdout[-2000:]
    finally:
        restored = _deploy(lab_host)
    assert restored.returncode == 0, restored.stdout[-3000:]
    fine = _checks(lab_host, "test_sandbox and coturn")
    assert fine.returncode == 0, fine.stdout[-2000:]
    assert _changed(_deploy(lab_host)) == 0
