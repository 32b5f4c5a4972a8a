"""Role os_hardening: its preflight rules, the sysctl split and the state it records."""

from __future__ import annotations

import json

import pytest
from role_files import assert_defaults_match_specs, preflight_problems, render, templar, trusted

# The play's connection as jitsi_sovereign.core.state reads it (connection: true, and the
# host keys under files: null when missing, sha1 null when only root may read them).
CONN = {"ssh": True, "client": "198.51.100.1", "server_port": 22, "user": "debian", "uid": 1000,
        "groups": ["debian", "sudo"], "authorized_keys": 1}
KEY = "/etc/ssh/ssh_host_ed25519_key"
PRIVATE = {"sha1": None, "mode": "0600", "uid": 0, "gid": 0}


def problems(conn: dict | None = None, keys: dict | None = None, **settings) -> list[str]:
    read = {"connection": {**CONN, **(conn or {})}, "files": keys or {KEY: PRIVATE}}
    return preflight_problems("os_hardening", _os_hardening_connection=read, **settings)


def test_defaults_match_argument_specs():
    assert_defaults_match_specs("os_hardening")


def test_preflight_accepts_the_defaults():
    assert problems() == []


def test_preflight_without_the_ssh_area_reads_nothing():
    # The read is skipped (no connection, no files): only the system is checked.
    assert preflight_problems("os_hardening", os_hardening_ssh_enabled="false",
                              _os_hardening_connection={"skipped": True}) == []


@pytest.mark.parametrize(("conn", "keys", "settings", "message"), [
    ({"uid": 0, "user": "root", "groups": ["root"]}, None, {},
     'This play connects as root and os_hardening_ssh_permit_root_login is "no": the next '
     "connection would be refused. Either create a user with sudo rights and an authorized key, "
     "and connect as that user (ansible_user, ansible_become: true), or set "
     "os_hardening_ssh_permit_root_login: prohibit-password (root with a key only)."),
    ({"authorized_keys": 0}, None, {},
     "User debian has no key in ~debian/.ssh/authorized_keys, and sshd will accept public keys "
     "only (AuthenticationMethods publickey, AuthorizedKeysFile .ssh/authorized_keys): the next "
     "connection would be refused. Install your public key for that user first (ssh-copy-id), "
     "then re-run."),
    ({}, None, {"os_hardening_ssh_allow_users": ["admin"]},
     "User debian would not be allowed by AllowUsers ['admin'] (os_hardening_ssh_allow_users): "
     "the next connection would be refused. Add the user."),
    ({}, None, {"os_hardening_ssh_allow_groups": ["wheel"]},
     "User debian (groups: debian, sudo) would not be allowed by AllowGroups ['wheel'] "
     "(os_hardening_ssh_allow_groups): the next connection would be refused. Add one of its "
     "groups."),
    ({"server_port": 2222}, None, {},
     "This play connects to SSH port 2222 but os_hardening_ssh_port is 22: after the reload sshd "
     "would no longer listen where Ansible connects. Keep os_hardening_ssh_port at 2222; moving "
     "SSH to another port is not done by this role in one run."),
    ({}, {KEY: PRIVATE, "/etc/ssh/ssh_host_rsa_key": None},
     {"os_hardening_ssh_host_keys": [KEY, "/etc/ssh/ssh_host_rsa_key"]},
     "These host keys in os_hardening_ssh_host_keys do not exist: /etc/ssh/ssh_host_rsa_key. "
     "Generate them (ssh-keygen -A, or ssh-keygen -t ed25519 -f PATH -N '') or remove them from "
     "the list."),
])
def test_preflight_names_each_lockout(conn, keys, settings, message):
    assert problems(conn, keys, **settings) == [message]


@pytest.mark.parametrize(("conn", "settings"), [
    ({"uid": 0, "user": "root"}, {"os_hardening_ssh_permit_root_login": "prohibit-password"}),
    ({}, {"os_hardening_ssh_allow_users": ["admin", "debian"]}),
    ({}, {"os_hardening_ssh_allow_users": ["deb*"]}),            # a pattern: not judged here
    ({}, {"os_hardening_ssh_allow_users": ["debian@198.51.100.*"]}),
    ({}, {"os_hardening_ssh_allow_groups": ["sudo"]}),
    ({}, {"os_hardening_ssh_allow_groups": ["su?o"]}),
    ({"server_port": 2222}, {"os_hardening_ssh_port": "2222"}),  # -e gives a string
    ({"ssh": False, "server_port": 0}, {"os_hardening_ssh_port": 2222}),  # not over SSH
])
def test_preflight_accepts_what_keeps_the_connection(conn, settings):
    assert problems(conn, **settings) == []


def test_preflight_reports_every_problem_at_once():
    found = problems({"uid": 0, "user": "root", "authorized_keys": 0, "server_port": 2222},
                     facts={"distribution": "Debian", "distribution_version": "11.9",
                            "distribution_major_version": "11"})
    assert len(found) == 4
    assert found[0] == ("The os_hardening role supports Debian 12 and 13; "
                        "this host runs Debian 11.9.")


# ------------------------------------------------------------------ what it writes

FACTS = {"distribution": "Debian", "distribution_major_version": "13",
         "distribution_release": "trixie",
         "virtualization_type": "systemd-nspawn", "virtualization_role": "guest",
         "virtualization_tech_guest": ["container", "systemd-nspawn"]}


def test_sysctl_split_by_namespace():
    extra = {"net.core.rmem_max": 1, "kernel.unprivileged_userns_clone": None,
             "net.ipv6.conf.all.x": 2}
    t = templar("os_hardening", {"ansible_facts": FACTS, "os_hardening_sysctl_extra": extra})
    ns = t.template(trusted("{{ _os_hardening_sysctl_ns }}"))
    kernel = t.template(trusted("{{ _os_hardening_sysctl_global }}"))
    assert all(k.startswith(("net.ipv4.", "net.ipv6.")) for k in ns) and "net.ipv6.conf.all.x" in ns
    assert "net.core.rmem_max" in kernel and "kernel.unprivileged_userns_clone" not in kernel
    assert not any(k.startswith(("net.ipv4.", "net.ipv6.")) for k in kernel)
    # In a container only the per-namespace keys are applied.
    pairs = t.template(trusted("{{ _os_hardening_sysctl_pairs }}"))
    assert pairs == sorted(f"{k}={v}" for k, v in ns.items())
    text = render(t, "os_hardening", "etc/sysctl.d/90-jitsi-sovereign.conf.j2")
    assert "net.ipv6.conf.all.x = 2\n" in text and "net.core" not in text


@pytest.mark.parametrize("area", ["ssh", "sysctl", "unattended_upgrades", "fail2ban", "journald",
                                  "auditd"])
def test_each_area_switch_is_recorded(area):
    t = templar("os_hardening", {"ansible_facts": {**FACTS, "virtualization_type": "kvm",
                                                   "virtualization_tech_guest": ["kvm"]},
                                 f"os_hardening_{area}_enabled": "false"})
    state = json.loads(t.template(trusted("{{ _os_hardening_state_json }}")))
    names = [a for a in state["areas"] if a.startswith(area)]
    assert names
    for name in names:
        reason = f"disabled (os_hardening_{area}_enabled: false)"
        assert state["areas"][name] == {"enabled": False, "applied": False,
                                        "skipped_reason": reason}
    assert all(state["areas"][a]["applied"] for a in state["areas"] if a not in names)


def test_container_skips_are_explained():
    t = templar("os_hardening", {"ansible_facts": FACTS})
    areas = json.loads(t.template(trusted("{{ _os_hardening_state_json }}")))["areas"]
    reason = ("container (systemd-nspawn) shares the host's kernel: no audit socket, auditd "
              "cannot run")
    assert areas["auditd"]["skipped_reason"] == reason
    assert areas["sysctl_kernel"]["applied"] is False and areas["sysctl_net"]["applied"] is True
