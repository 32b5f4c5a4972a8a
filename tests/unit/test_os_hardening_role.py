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
                                  "auditd", "umask", "login_defs", "modules", "banner",
                                  "needrestart"])
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


# ------------------------------------------------------------------ ANSSI BP-028 items

VM_FACTS = {**FACTS, "virtualization_type": "kvm", "virtualization_tech_guest": ["kvm"]}
# Debian 12's /etc/login.defs as shipped (the keys that matter), with a key given twice.
LOGIN_DEFS_12 = ("# comment\nPASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\nPASS_WARN_AGE\t7\n"
                 "#ENCRYPT_METHOD DES\nENCRYPT_METHOD SHA512\nENV_PATH\tPATH=/usr/bin:/bin\n"
                 "PASS_MIN_DAYS 1\n")


def _with_login_defs(text: str, **settings):
    return templar("os_hardening", {"ansible_facts": VM_FACTS, **settings,
                                    "_os_hardening_current": {"texts": {"/etc/login.defs": text}}})


def test_login_defs_only_the_keys_that_differ_are_written():
    t = _with_login_defs(LOGIN_DEFS_12)
    found = t.template(trusted("{{ _os_hardening_login_defs_found }}"))
    # the last line of a key wins (PASS_MIN_DAYS 1), a commented key is not read
    assert found["PASS_MIN_DAYS"] == "1" and found["ENCRYPT_METHOD"] == "SHA512"
    assert found["ENV_PATH"] == "PATH=/usr/bin:/bin"
    assert t.template(trusted("{{ _os_hardening_login_defs_todo }}")) == [
        "ENCRYPT_METHOD=YESCRYPT", "YESCRYPT_COST_FACTOR=5", "PASS_WARN_AGE=14"]


def test_login_defs_nothing_to_write_once_applied():
    done = ("ENCRYPT_METHOD YESCRYPT\nYESCRYPT_COST_FACTOR 7\nPASS_MAX_DAYS 99999\n"
            "PASS_MIN_DAYS 1\nPASS_WARN_AGE 14\n")
    t = _with_login_defs(done, os_hardening_login_defs_yescrypt_cost_factor="7")  # -e: a string
    assert t.template(trusted("{{ _os_hardening_login_defs_todo }}")) == []
    state = json.loads(t.template(trusted("{{ _os_hardening_state_json }}")))
    assert state["login_defs"]["keys"]["YESCRYPT_COST_FACTOR"] == "7"


def test_banner_reaches_sshd_and_both_files():
    t = templar("os_hardening", {"ansible_facts": VM_FACTS})
    text = render(t, "os_hardening", "etc/ssh/sshd_config.j2")
    assert "\nBanner /etc/issue.net\n" in text and "\nPrintLastLog yes\n" in text
    assert "\nMaxSessions 2\n" in text and "\nClientAliveCountMax 2\n" in text
    content = t.template(trusted("{{ _os_hardening_banner_content }}"))
    assert content.startswith("Accès réservé aux personnes autorisées.") and content.endswith(".\n")
    files = t.template(trusted("{{ _os_hardening_files }}"))
    assert [f["dest"] for f in files if f.get("content") == content] == ["/etc/issue.net",
                                                                         "/etc/issue"]
    off = templar("os_hardening", {"ansible_facts": VM_FACTS, "os_hardening_banner_enabled": False})
    assert "\nBanner none\n" in render(off, "os_hardening", "etc/ssh/sshd_config.j2")


def test_module_blacklist_file_refuses_each_module():
    t = templar("os_hardening", {"ansible_facts": VM_FACTS,
                                 "os_hardening_modules_blacklist": ["dccp", "usb-storage"]})
    text = render(t, "os_hardening", "etc/modprobe.d/jitsi-sovereign-blacklist.conf.j2")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert lines == ["install dccp /bin/false", "blacklist dccp",
                     "install usb-storage /bin/false", "blacklist usb-storage"]


def test_umask_file_and_state():
    t = templar("os_hardening", {"ansible_facts": VM_FACTS, "os_hardening_umask": "077"})
    text = render(t, "os_hardening", "etc/profile.d/jitsi-sovereign-umask.sh.j2")
    assert "\numask 0077\n" in text
    state = json.loads(t.template(trusted("{{ _os_hardening_state_json }}")))
    assert state["umask"]["value"] == "0077"


def test_needrestart_settings_file():
    t = templar("os_hardening", {"ansible_facts": VM_FACTS,
                                 "os_hardening_needrestart_restart": "l"})
    text = render(t, "os_hardening", "etc/needrestart/conf.d/jitsi-sovereign.conf.j2")
    assert text.startswith("#") and "$nrconf{restart} = 'l';" in text
    assert "$nrconf{kernelhints} = -1;" in text


@pytest.mark.parametrize(("settings", "start"), [
    ({"os_hardening_umask": 23}, "os_hardening_umask is 23: write a three-digit octal umask"),
    ({"os_hardening_umask": "002"}, "os_hardening_umask is 002: write a three-digit octal umask"),
    ({"os_hardening_login_defs_yescrypt_cost_factor": 12},
     "os_hardening_login_defs_yescrypt_cost_factor is 12: yescrypt takes 3 to 11"),
    ({"os_hardening_login_defs_pass_min_days": 30, "os_hardening_login_defs_pass_max_days": 7},
     "Password ages: os_hardening_login_defs_pass_min_days (30) must be between 0 and"),
    ({"os_hardening_modules_blacklist": ["dccp", "../x"]},
     "These names in os_hardening_modules_blacklist are not kernel module names: ../x."),
    ({"os_hardening_banner_text": "Acc\\u00e8s \\l"},
     "os_hardening_banner_text must be a non-empty text without a backslash"),
    ({"os_hardening_banner_text": "  \n"},
     "os_hardening_banner_text must be a non-empty text without a backslash"),
])
def test_preflight_names_each_bad_base_setting(settings, start):
    found = problems(**settings)
    assert len(found) == 1 and found[0].startswith(start), found


@pytest.mark.parametrize("settings", [
    {"os_hardening_umask": "077"}, {"os_hardening_umask": "0027"},
    {"os_hardening_umask": 23, "os_hardening_umask_enabled": False},
    {"os_hardening_login_defs_pass_max_days": 365, "os_hardening_login_defs_pass_min_days": "7"},
])
def test_preflight_accepts_good_base_settings(settings):
    assert problems(**settings) == []
