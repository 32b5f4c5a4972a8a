"""Where the shipped Ansible content and checks live.

From a source checkout the playbooks and roles sit at the top of the
repository; in an installed wheel they are bundled under
``jitsi_sovereign/ansible``. Both layouts are looked up the same way.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKS_DIR = PACKAGE_DIR / "checks"


def ansible_dir() -> Path:
    """Directory holding ``playbooks/`` and ``roles/``."""
    bundled = PACKAGE_DIR / "ansible"
    if (bundled / "playbooks").is_dir():
        return bundled
    checkout = PACKAGE_DIR.parents[1]
    if (checkout / "playbooks").is_dir():
        return checkout
    raise FileNotFoundError(
        "jitsi-sovereign's playbooks were not found next to the package "
        f"({bundled} or {checkout}); reinstall the package"
    )


def playbook(name: str = "site.yml") -> Path:
    return ansible_dir() / "playbooks" / name


def roles_dir() -> Path:
    return ansible_dir() / "roles"


def collections_dir() -> Path:
    """The directory Ansible's collections_path names (holding ansible_collections/)."""
    return ansible_dir() / "collections"


def example_inventory_dir() -> Path:
    """``inventories/example``: the commented inventory ``init`` writes from."""
    return ansible_dir() / "inventories" / "example"
