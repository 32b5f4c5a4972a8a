"""Tests against a deployed lab host: ``pytest tests/lab --lab-host NAME`` (the audit, the
report, init) and ``pytest tests/faults --lab-host NAME`` (faults survived on purpose).

Shared here, one level above both, so that both reuse one ``lab_host`` fixture. The host
must be up (``jitsi-sovereign lab up``) and deployed (playbooks/site.yml). The
tests read it from the lab inventory; without ``--lab-host`` every test here is skipped,
and says so. ``LabHost.sudo`` runs a command on the host over the lab's own SSH (key and
known_hosts of the lab, host key checked), for the tests that weaken a setting on purpose
and put it back.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from jitsi_sovereign.lab import acme
from jitsi_sovereign.lab import config as lab_config


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--lab-host", default=None,
                     help="name of a deployed lab host (jitsi-sovereign lab up, then site.yml)")


@dataclass(frozen=True)
class LabHost:
    name: str
    address: str
    domain: str  # <name>.lab.test: the meeting's name, resolved by pebble's DNS only
    inventory: Path
    root_ca: Path  # the lab ACME server's issuing root: --cafile of an audit
    user: str
    key: Path
    known_hosts: Path

    def sudo(self, *argv: str, check: bool = True, stdin: str | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ``argv`` as root on the host (no shell on this side; the remote side gets
        the words joined, so pass a single ``sh -c`` script for pipes)."""
        ssh = ["ssh", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
               "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
               "-i", str(self.key), f"{self.user}@{self.address}", "sudo", "-n", "--", *argv]
        return subprocess.run(ssh, input=stdin, capture_output=True, text=True, check=check,
                              timeout=timeout)


@pytest.fixture(scope="session")
def lab_host(request: pytest.FixtureRequest) -> LabHost:
    name = request.config.getoption("--lab-host")
    if not name:
        pytest.skip("no lab host given: run with --lab-host NAME (a deployed lab host)")
    cfg = lab_config.from_env()
    inventory = cfg.state_dir / "inventory.yml"
    data = yaml.safe_load(inventory.read_text())
    group = data["all"]["children"]["meet"]
    host = (group.get("hosts") or {}).get(name)
    if host is None:
        pytest.fail(f"{name} is not in the lab inventory {inventory}: jitsi-sovereign lab up first")
    gvars = group.get("vars", {})
    info = acme.info(cfg)
    return LabHost(name=name, address=host["ansible_host"], domain=acme.domain(name),
                   inventory=inventory, root_ca=info.root, user=gvars["ansible_user"],
                   key=Path(gvars["ansible_ssh_private_key_file"]),
                   known_hosts=cfg.state_dir / "known_hosts")
