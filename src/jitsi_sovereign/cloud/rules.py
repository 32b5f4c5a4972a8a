"""The security group, derived from the firewall role: one source of truth.

The role's own list of openings (``_firewall_open`` in roles/firewall/vars/main.yml, built
with the collection's ``openings`` filter) is rendered with Ansible's templar over the
role's defaults/main.yml and vars/main.yml and the given overrides (firewall_admin_cidrs
from --admin-cidr, any other firewall_* or os_hardening_ssh_port value), exactly as a play
renders it. No port is written here: change a default of the role and the group follows.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from jitsi_sovereign import paths
from jitsi_sovereign.cloud.model import Rule, merge_rules
from jitsi_sovereign.errors import UserError


def _trusted(value: Any) -> Any:
    """Role files are trusted templates for Ansible (data loaded by PyYAML is not)."""
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def _collection_loader(collections: Path) -> None:
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    if not any(isinstance(f, _AnsibleCollectionFinder) for f in sys.meta_path):
        init_plugin_loader([str(collections)])


def role_openings(overrides: dict[str, Any] | None = None, *,
                  roles_dir: Path | None = None) -> list[dict]:
    """The firewall role's openings ({proto, port, sources, comment}) for its defaults and
    `overrides`, rendered as the role renders them."""
    import yaml
    from ansible.errors import AnsibleError
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    role = (roles_dir or paths.roles_dir()) / "firewall"
    variables = {
        **_trusted(yaml.safe_load((role / "defaults" / "main.yml").read_text())),
        **_trusted(yaml.safe_load((role / "vars" / "main.yml").read_text())),
        **(overrides or {}),
    }
    _collection_loader(paths.collections_dir())
    loader = DataLoader()
    loader.set_basedir(str(role))
    try:
        return Templar(loader=loader, variables=variables).template(
            _trusted("{{ _firewall_open }}"))
    except AnsibleError as exc:
        raise UserError(f"the firewall role's openings could not be rendered: {exc}",
                        "check the firewall_* values given") from None


def _ports(port) -> tuple[int, int]:
    low, _, high = str(port).partition("-")
    return int(low), int(high or low)


def security_group_rules(admin_cidrs: list[str], extra_vars: dict[str, Any] | None = None, *,
                         roles_dir: Path | None = None) -> list[Rule]:
    """The inbound rules of the VM's security group: the role's openings, SSH from the
    admin networks, merged and sorted (see model.merge_rules)."""
    overrides = {**(extra_vars or {}), "firewall_admin_cidrs": list(admin_cidrs)}
    rules = []
    for opening in role_openings(overrides, roles_dir=roles_dir):
        low, high = _ports(opening["port"])
        try:
            rules.append(Rule(opening["proto"], low, high, tuple(opening["sources"])))
        except ValueError as exc:
            raise UserError(f"firewall opening {opening!r}: {exc}",
                            "give networks as CIDRs, e.g. --admin-cidr 192.0.2.0/24") from None
    return merge_rules(rules)
