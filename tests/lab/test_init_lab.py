"""``init`` then ``deploy`` then ``verify`` on a lab host, from the written inventory with no
edit: ``pytest tests/lab/test_init_lab.py --lab-host NAME`` (skipped, with the reason,
without a lab host).

init gets what a user would give for a VM reached over SSH whose certificate comes from a
private ACME server: the lab host's address, user and key (read from the lab, as
``lab_host`` has them), the meeting name ``<name>.lab.test``, the lab's known_hosts
(``--known-hosts``: strict host key checking, as the lab's own inventory does), the ACME
directory and the CA of its HTTPS API (``--acme-directory``, ``--acme-ca``), the CA that
issues the certificates (``--trust-ca``, for verify's outside TLS checks). Three settings
are the lab's own and are given with ``--set``, each for the reason the lab inventory
writes next to it: the <name>.lab.test names resolve only in the ACME server's DNS
(``tls_acme_preflight_dns=false``), Jitsi's apt repository is out of reach
(``jitsi_packages_required=false``: what needs Jitsi's packages is SKIPPED, with that
reason), the lab image masks the apt timers (``os_hardening_unattended_upgrades_timers``).
The admin network is left to init: it detects the address this machine reaches the host
from (the lab bridge's) and narrows SSH to it.

The host is put back as the lab inventory describes afterwards (deploy of the lab
inventory), since the other lab tests read the host through that inventory (its secrets
directory, its admin networks).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from jitsi_sovereign.lab import acme
from jitsi_sovereign.lab import config as lab_config

CLI = [sys.executable, "-m", "jitsi_sovereign"]
LAB_SETTINGS = ["tls_acme_preflight_dns=false", "jitsi_packages_required=false",
                "os_hardening_unattended_upgrades_timers=false"]


def run(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    print("$", " ".join(argv), flush=True)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"}, check=False)
    print(done.stdout[-6000:], done.stderr[-3000:], sep="\n", flush=True)
    return done


def digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file() and ".secrets" not in p.parts}


def test_init_then_deploy_and_verify(lab_host, tmp_path):
    info = acme.info(lab_config.from_env())
    directory = tmp_path / "inventory"
    argv = [*CLI, "init", str(directory), "--non-interactive",
            "--domain", lab_host.domain, "--host", lab_host.address,
            "--user", lab_host.user, "--key", str(lab_host.key),
            "--known-hosts", str(lab_host.known_hosts),
            "--acme-directory", info.directory_url, "--acme-ca", str(info.ca_bundle),
            "--trust-ca", str(lab_host.root_ca),
            "--provider", "jitsi-sovereign lab", "--country", "France"]
    for setting in LAB_SETTINGS:
        argv += ["--set", setting]
    done = run(argv, timeout=60)
    assert done.returncode == 0
    hosts = directory / "hosts.yml"
    written = digest(directory)
    assert set(written) == {"hosts.yml", "group_vars/all.yml", ".gitignore"}
    gvars = yaml.safe_load((directory / "group_vars" / "all.yml").read_text())
    # the address this machine reaches the host from: the lab bridge's
    assert gvars["firewall_admin_cidrs"] == [f"{lab_config.from_env().gateway}/32"]
    assert f"jitsi-sovereign deploy -i {hosts}" in done.stdout

    try:
        deployed = run([*CLI, "deploy", "-i", str(hosts)], timeout=1500)
        assert deployed.returncode == 0
        report = tmp_path / "verify.json"
        verified = run([*CLI, "verify", "-i", str(hosts), "--json", str(report)], timeout=600)
        assert verified.returncode == 0
        data = json.loads(report.read_text())
        assert data["summary"]["total"]["failed"] == 0
        assert data["summary"]["total"]["passed"] > 0
        # the hosting facts given to init reach the report
        assert "jitsi-sovereign lab" in json.dumps(data["hosting"])
        assert digest(directory) == written  # deployed from the inventory as written
    finally:
        restored = run([*CLI, "deploy", "-i", str(lab_host.inventory), "--limit", lab_host.name],
                       timeout=1500)
        assert restored.returncode == 0, "the host could not be put back as the lab has it"
