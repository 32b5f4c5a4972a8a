"""The VM's user-data: a minimal #cloud-config, nothing the roles do.

It creates the admin user the inventory names, with the given public key, passwordless
sudo (Ansible's become) and a locked password; password logins over SSH are off; root gets
no key (``disable_root``: cloud-init writes a "log in as ..." refusal into root's
authorized_keys). No provider needs root's key: their agents do not log in over SSH,
and the roles turn root login off anyway (os_hardening_ssh_permit_root_login: "no"), so a
root key would only be a second door until the first deploy.

python3: cloud-init is itself a Python 3 program, so every image that runs this file has
python3, which is all Ansible needs. A ``packages:`` entry would make cloud-init run an
apt update at boot for nothing; it is left out on purpose. Everything else (hardening,
firewall, packages, time) is the roles' work.
"""

from __future__ import annotations

import yaml

# The top-level keys this module writes (each one in cloud-init's schema, see the test).
KEYS = ("users", "ssh_pwauth", "disable_root", "disable_root_opts")


def user_data(login_user: str, public_key: str) -> str:
    doc = {
        "users": [{
            "name": login_user,
            "gecos": "jitsi-sovereign admin",
            "groups": ["sudo"],
            "shell": "/bin/bash",
            "sudo": "ALL=(ALL) NOPASSWD:ALL",
            "lock_passwd": True,
            "ssh_authorized_keys": [public_key.strip()],
        }],
        "ssh_pwauth": False,
        "disable_root": True,
        "disable_root_opts": (
            f'no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command="echo '
            f"'Log in as {login_user}, not root.'; sleep 5; exit 142\""),
    }
    return "#cloud-config\n" + yaml.safe_dump(doc, sort_keys=False, width=1000)
