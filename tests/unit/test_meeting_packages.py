"""roles/meeting_packages: its settings, and site.yml's wiring of the roles' own lists."""

from __future__ import annotations

import re

import yaml
from role_files import ROOT, assert_defaults_match_specs, role_yaml


def test_defaults_match_argument_specs():
    assert_defaults_match_specs("meeting_packages")


def test_site_passes_each_meeting_role_its_own_package_list():
    """One source per list: site.yml names each role's own list (`<role>_packages`, a
    public default, or `_<role>_packages` in its vars), which exists, and coturn (started
    at once by its package) is masked before its first install."""
    site = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    roles = site[0]["roles"]
    names = [r["role"] for r in roles]
    entry = roles[names.index("meeting_packages")]
    # After the firewall, before the roles whose packages it installs.
    assert names.index("firewall") < names.index("meeting_packages") < names.index("tls")
    listed = re.findall(r"\b(_?)(\w+?)_packages\b", entry["vars"]["meeting_packages_names"])
    assert [role for _, role in listed] == ["tls", "nginx", "prosody", "coturn"]
    for internal, role in listed:
        where = ("vars", "main.yml") if internal else ("defaults", "main.yml")
        assert f"{internal}{role}_packages" in role_yaml(role, *where), role
    assert entry["vars"]["meeting_packages_mask_before_install"] == {"coturn": "coturn.service"}


def test_the_install_starts_no_service():
    tasks = role_yaml("meeting_packages", "tasks", "main.yml")
    (apt,) = [t for t in tasks if "jitsi_sovereign.core.apt" in t]
    assert apt["jitsi_sovereign.core.apt"]["policy_rc_d"] == 101
