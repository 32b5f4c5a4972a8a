"""roles/meeting_packages: its settings, and site.yml's wiring of the roles' own lists."""

from __future__ import annotations

import re

import yaml
from role_files import ROOT, assert_defaults_match_specs, role_yaml, site_roles


def test_defaults_match_argument_specs():
    assert_defaults_match_specs("meeting_packages")


def test_site_lists_each_role_once_and_checks_them_all_first():
    names = [name for name, _ in site_roles()]
    # roles/sandbox is not a step of the play: the roles that run a daemon include it.
    helpers = {"sandbox"}
    assert len(names) == len(set(names)) == len(list((ROOT / "roles").iterdir())) - len(helpers)
    assert not helpers & set(names)
    (play,) = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    (preflight,) = [t for t in play["pre_tasks"] if "ansible.builtin.include_role" in t]
    assert preflight["loop"] == "{{ ansible_play_role_names }}"
    assert preflight["ansible.builtin.include_role"]["tasks_from"] == "preflight"
    for name in names:  # each has a preflight, checked against its own argument spec
        assert (ROOT / "roles" / name / "tasks" / "preflight.yml").is_file(), name
        specs = role_yaml(name, "meta", "argument_specs.yml")["argument_specs"]
        assert specs["preflight"]["options"] == specs["main"]["options"], name


def test_site_passes_each_meeting_role_its_own_package_list():
    """One source per list: site.yml names each role's package list, which exists, and
    coturn (started at once by its package) is masked before its first install."""
    roles = site_roles()
    names = [name for name, _ in roles]
    entry = roles[names.index("meeting_packages")][1]
    # After the firewall, before the roles whose packages it installs.
    assert names.index("firewall") < names.index("meeting_packages") < names.index("tls")
    listed = re.findall(r"\b_?(\w+?)_packages\b", entry["vars"]["meeting_packages_names"])
    assert listed == ["tls", "nginx", "prosody", "coturn"]
    for role in listed:
        where = {**role_yaml(role, "defaults", "main.yml"), **role_yaml(role, "vars", "main.yml")}
        assert f"{role}_packages" in where or f"_{role}_packages" in where, role
    assert entry["vars"]["meeting_packages_mask_before_install"] == {"coturn": "coturn.service"}


def test_the_install_starts_no_service():
    tasks = role_yaml("meeting_packages", "tasks", "main.yml")
    (apt,) = [t for t in tasks if "jitsi_sovereign.core.apt" in t]
    assert apt["jitsi_sovereign.core.apt"]["policy_rc_d"] == 101
