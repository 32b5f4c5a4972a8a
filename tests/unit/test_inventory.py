"""Inventory validation: every bad input is named, with its fix, before any host is touched."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from jitsi_sovereign import inventory as inv_mod
from jitsi_sovereign.errors import UserError, ValidationErrors

SPECS = textwrap.dedent("""\
    argument_specs:
      main:
        short_description: test role
        options:
          firewall_admin_cidrs:
            type: list
            elements: str
            default: ["0.0.0.0/0"]
            description: admin networks
          firewall_web_enabled:
            type: bool
            default: true
            description: open 80 and 443
          firewall_rollback_seconds:
            type: int
            default: 60
            description: seconds
          firewall_extra_rules:
            type: list
            elements: dict
            default: []
            description: more rules
    """)


@pytest.fixture
def roles(tmp_path, monkeypatch):
    meta = tmp_path / "roles" / "firewall" / "meta"
    meta.mkdir(parents=True)
    (meta / "argument_specs.yml").write_text(SPECS)
    inv_mod.role_specs.cache_clear()
    monkeypatch.setattr(inv_mod.paths, "roles_dir", lambda: tmp_path / "roles")
    yield tmp_path
    inv_mod.role_specs.cache_clear()


def write_inv(tmp_path: Path, host_vars: dict | None = None, group_vars: dict | None = None,
              host: str = "meet1") -> Path:
    key = tmp_path / "id_test"
    key.write_text("not a real key\n")
    hv = {"ansible_host": "127.0.0.1", "ansible_ssh_private_key_file": str(key),
          **(host_vars or {})}
    data = {"all": {"children": {"meet": {"hosts": {host: hv}}},
                    "vars": {"ansible_user": "debian", **(group_vars or {})}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def messages(excinfo) -> str:
    return str(excinfo.value)


def test_valid_inventory_gives_connection_details(roles, tmp_path):
    path = write_inv(tmp_path, host_vars={"ansible_port": 2222, "ansible_become": True})
    inv = inv_mod.load_and_validate(path)
    (h,) = inv.hosts
    assert (h.name, h.address, h.port, h.user, h.become) == ("meet1", "127.0.0.1", 2222,
                                                              "debian", True)
    assert h.key_file == tmp_path / "id_test"


def test_missing_inventory_file(roles, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        inv_mod.load_and_validate(tmp_path / "nope.yml")


def test_inventory_without_hosts(roles, tmp_path):
    path = tmp_path / "empty.yml"
    path.write_text("all:\n  children:\n    meet: {}\n")
    with pytest.raises(UserError, match="has no host") as e:
        inv_mod.load_and_validate(path)
    assert "inventories/example" in e.value.fix


def test_limit_that_matches_nothing(roles, tmp_path):
    with pytest.raises(UserError, match="no host matching --limit other"):
        inv_mod.load_and_validate(write_inv(tmp_path), limit="other")


def test_unparseable_inventory(roles, tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("all:\n  hosts:\n    - listed\n")
    with pytest.raises(UserError, match="cannot be read") as e:
        inv_mod.load_and_validate(path)
    assert 'Invalid "hosts" entry' in str(e.value)


def test_unresolvable_address(roles, tmp_path):
    path = write_inv(tmp_path, host_vars={"ansible_host": "meet.does-not-exist.invalid"})
    with pytest.raises(ValidationErrors) as e:
        inv_mod.load_and_validate(path)
    assert "'meet.does-not-exist.invalid' does not resolve" in messages(e)
    assert "ansible_host" in messages(e)


def test_missing_key_file(roles, tmp_path):
    path = write_inv(tmp_path, host_vars={"ansible_ssh_private_key_file": f"{tmp_path}/gone"})
    with pytest.raises(ValidationErrors, match=f"SSH key file {tmp_path}/gone does not exist"):
        inv_mod.load_and_validate(path)


def test_typo_in_role_variable_names_the_right_one(roles, tmp_path):
    path = write_inv(tmp_path, group_vars={"firewall_admin_cidr": ["10.0.0.0/8"]})
    with pytest.raises(ValidationErrors) as e:
        inv_mod.load_and_validate(path)
    assert "unknown variable firewall_admin_cidr" in messages(e)
    assert "did you mean firewall_admin_cidrs?" in messages(e)


def test_wrong_type_is_named(roles, tmp_path):
    path = write_inv(tmp_path, group_vars={"firewall_rollback_seconds": "soon"})
    with pytest.raises(ValidationErrors) as e:
        inv_mod.load_and_validate(path)
    assert "firewall_rollback_seconds='soon' is not valid" in messages(e)
    assert "type int" in messages(e)


def test_bad_cidr_suggests_network(roles, tmp_path):
    path = write_inv(tmp_path, group_vars={"firewall_admin_cidrs": ["10.1.2.3/8", "nonsense"]})
    with pytest.raises(ValidationErrors) as e:
        inv_mod.load_and_validate(path)
    text = messages(e)
    assert "'10.1.2.3/8' is not a network address" in text
    assert "did you mean 10.0.0.0/8?" in text
    assert "'nonsense' is not a network address" in text


def test_extra_rule_sources_checked(roles, tmp_path):
    path = write_inv(tmp_path, group_vars={"firewall_extra_rules": [
        {"proto": "tcp", "port": 8443, "sources": ["192.0.2.1/24"]}]})
    with pytest.raises(ValidationErrors, match=r"firewall_extra_rules\[0\]\.sources"):
        inv_mod.load_and_validate(path)


def test_internal_variable_refused(roles, tmp_path):
    path = write_inv(tmp_path, group_vars={"_firewall_state": {}})
    with pytest.raises(ValidationErrors, match="internal to role firewall"):
        inv_mod.load_and_validate(path)


def test_extra_vars_are_validated_too(roles, tmp_path):
    with pytest.raises(ValidationErrors, match="firewall_web_enabled"):
        inv_mod.load_and_validate(write_inv(tmp_path),
                                  extra_vars={"firewall_web_enabled": "perhaps"})


def test_paramiko_connection_refused(roles, tmp_path):
    path = write_inv(tmp_path, host_vars={"ansible_connection": "paramiko"})
    with pytest.raises(ValidationErrors, match="paramiko is deprecated"):
        inv_mod.load_and_validate(path)


def test_all_problems_reported_at_once(roles, tmp_path):
    path = write_inv(tmp_path, host_vars={"ansible_port": 99999},
                     group_vars={"firewall_admin_cidrs": ["300.1.1.1/8"], "firewall_x": 1})
    with pytest.raises(ValidationErrors) as e:
        inv_mod.load_and_validate(path)
    assert len(e.value.errors) == 3


def test_shipped_roles_declare_their_variables():
    """Every role that ships declares an argument spec the validator can read."""
    inv_mod.role_specs.cache_clear()
    specs = inv_mod.role_specs()
    inv_mod.role_specs.cache_clear()
    for role in ("os_hardening", "firewall"):
        assert specs.get(role), f"role {role} has no meta/argument_specs.yml options"
        assert all(name.startswith(role + "_") for name in specs[role])


# ------------------------------------------------------------------ project-wide names


def test_unknown_project_variable_names_the_right_one(roles, tmp_path):
    path = write_inv(tmp_path, group_vars={"jitsi_sovereign_gest_domain": "g.example.org"})
    with pytest.raises(ValidationErrors) as excinfo:
        inv_mod.load_and_validate(path)
    assert "unknown variable jitsi_sovereign_gest_domain" in messages(excinfo)
    assert "did you mean jitsi_sovereign_guest_domain?" in messages(excinfo)


def test_settings_across_roles_are_left_to_the_preflights(roles, tmp_path):
    """Auth mode, guest domain, NAT pair, LDAP URL, JWT length: the roles' preflights check
    them on every run (with or without the CLI); the CLI does not write them a second time."""
    path = write_inv(tmp_path, group_vars={
        "jitsi_sovereign_domain": "meet.example.org", "jitsi_sovereign_auth": "oauth",
        "jitsi_sovereign_guest_domain": "meet.example.org",
        "jitsi_sovereign_private_ip": "10.0.0.5"})
    (h,) = inv_mod.load_and_validate(path).hosts
    assert h.vars["jitsi_sovereign_auth"] == "oauth"


# ------------------------------------------------------------------ how ssh reaches the host


def ssh_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "ssh_config"
    path.write_text(text)
    return str(path)


def test_ssh_command_is_the_one_ansible_runs(roles, tmp_path):
    """The options come from Ansible's ssh plugin settings, in _build_command's order."""
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader

    hv = {"inventory_hostname": "meet1", "ansible_host": "192.0.2.10", "ansible_port": 2222,
          "ansible_user": "debian", "ansible_ssh_common_args": "-o ProxyJump=ops@bastion",
          "ansible_ssh_extra_args": "-o HostKeyAlias=meet1",
          "ansible_control_path_dir": str(tmp_path / "cp")}
    key = tmp_path / "id_test"
    executable, args, host = inv_mod.ansible_ssh_command("meet1", hv, key)
    conn = connection_loader.get("ssh", PlayContext(), None)
    conn.set_options(var_options={**hv, "ansible_ssh_private_key_file": str(key)})
    theirs = [a.decode() for a in conn._build_command("ssh", "ssh")]
    at = theirs.index(next(a for a in theirs if a.startswith("ControlPath=")))
    del theirs[at - 1:at + 1]  # the ControlPath, which does not change where ssh connects
    assert [executable, *args] == theirs
    assert "-o" in args and "ProxyJump=ops@bastion" in args and f'IdentityFile="{key}"' in args
    assert host == "192.0.2.10"  # exec_command appends it (and the remote command)


def test_ssh_config_fills_what_the_inventory_leaves_out(roles, tmp_path):
    """Inventory values win over ~/.ssh/config (they are -o options on ssh's command line);
    the config gives HostName, IdentityFile... where the inventory says nothing."""
    key = tmp_path / "id_config"
    key.write_text("key\n")
    cfg = ssh_config(tmp_path, f"Host meet1\n  HostName 127.0.0.1\n  User fromconfig\n"
                               f"  Port 2200\n  IdentityFile {key}\n"
                               f"  UserKnownHostsFile {tmp_path}/kh_%h\n")
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": {"meet1": {
        "ansible_ssh_common_args": f"-F {cfg}"}}}}))
    (h,) = inv_mod.load_and_validate(path).hosts
    assert (h.address, h.port, h.user, h.key_file) == ("127.0.0.1", 2200, "fromconfig", key)
    assert h.known_hosts == tmp_path / "kh_127.0.0.1"
    path.write_text(yaml.safe_dump({"all": {"hosts": {"meet1": {
        "ansible_ssh_common_args": f"-F {cfg}", "ansible_user": "debian", "ansible_port": 22,
        "ansible_ssh_private_key_file": str(tmp_path / "id_test")}}}}))
    (tmp_path / "id_test").write_text("key\n")
    (h,) = inv_mod.load_and_validate(path).hosts
    assert (h.address, h.port, h.user, h.key_file) == ("127.0.0.1", 22, "debian",
                                                         tmp_path / "id_test")


def test_known_hosts_taken_from_ssh_args(roles, tmp_path):
    path = write_inv(tmp_path, group_vars={
        "ansible_ssh_common_args": "-o UserKnownHostsFile=/srv/kh -o StrictHostKeyChecking=yes"})
    (h,) = inv_mod.load_and_validate(path).hosts
    assert h.known_hosts == Path("/srv/kh")


def test_behind_a_jump_host_the_target_name_need_not_resolve_here(roles, tmp_path):
    """Only the first address this machine connects to must resolve: the jump host's."""
    cfg = ssh_config(tmp_path, "")
    path = write_inv(tmp_path, host_vars={
        "ansible_host": "meet.internal.invalid",
        "ansible_ssh_common_args": f"-F {cfg} -o ProxyJump=ops@127.0.0.1:2222"})
    (h,) = inv_mod.load_and_validate(path).hosts
    assert h.address == "meet.internal.invalid"
    assert h.route.via.describe() == "ops@127.0.0.1:2222"
    path = write_inv(tmp_path, host_vars={
        "ansible_ssh_common_args": f"-F {cfg} -J bastion.does-not-exist.invalid"})
    with pytest.raises(ValidationErrors) as e:
        inv_mod.load_and_validate(path)
    assert "jump host address 'bastion.does-not-exist.invalid' does not resolve" in messages(e)


def test_ssh_refusing_the_options_is_named(roles, tmp_path):
    path = write_inv(tmp_path, group_vars={"ansible_ssh_common_args": "-o NoSuchOption=1"})
    with pytest.raises(ValidationErrors) as e:
        inv_mod.load_and_validate(path)
    assert "meet1: ssh cannot tell how it would connect to 127.0.0.1" in messages(e)
    assert "ansible_ssh_common_args" in messages(e)


def test_what_the_cli_ssh_client_cannot_do_is_refused_for_verify_only(roles, tmp_path):
    cfg = ssh_config(tmp_path, "Host 127.0.0.1\n  PKCS11Provider /usr/lib/x.so\n")
    path = write_inv(tmp_path, host_vars={"ansible_ssh_common_args": f"-F {cfg}"})
    inv_mod.load_and_validate(path)  # deploy: OpenSSH does it
    with pytest.raises(ValidationErrors) as e:
        inv_mod.load_and_validate(path, own_ssh=True)  # verify, users: refused, with a fix
    assert "meet1: PKCS11Provider /usr/lib/x.so for 127.0.0.1" in messages(e)
    assert "ssh-add -s" in messages(e)


def test_non_ssh_connection_refused_for_verify(roles, tmp_path):
    path = write_inv(tmp_path, host_vars={"ansible_connection": "local"})
    (h,) = inv_mod.load_and_validate(path).hosts
    assert h.route is None
    with pytest.raises(ValidationErrors, match="ansible_connection=local: verify and users"):
        inv_mod.load_and_validate(path, own_ssh=True)


def test_lab_password_lookup_is_read_for_verify_only(roles, tmp_path):
    """The lab's inventory names the password file; verify gets the value, deploy never
    reads it."""
    from jitsi_sovereign.lab import files

    (tmp_path / "hosts" / "meet1").mkdir(parents=True)
    (tmp_path / "hosts" / "meet1" / "password").write_text("s3cret\n")
    path = write_inv(tmp_path, group_vars={
        files.LAB_PASSWORD_VAR: files.password_lookup(tmp_path / "hosts")})
    (h,) = inv_mod.load_and_validate(path, own_ssh=True).hosts
    assert h.vars[inv_mod.LAB_PASSWORD_VAR] == "s3cret"
    (h,) = inv_mod.load_and_validate(path).hosts
    assert "lookup(" in h.vars[inv_mod.LAB_PASSWORD_VAR]


def test_hosting_facts_are_a_known_variable(roles, tmp_path):
    """jitsi_sovereign_hosting: declared (no 'unknown variable'), templated like Ansible
    would, each key checked (a typo named with the key meant)."""
    path = write_inv(tmp_path, group_vars={"jitsi_sovereign_hosting": {
        "provider": "OVHcloud", "region": "GRA", "country": "{{ 'Fr' ~ 'ance' }}"}})
    (h,) = inv_mod.load_and_validate(path).hosts
    assert h.vars["jitsi_sovereign_hosting"] == {"provider": "OVHcloud", "region": "GRA",
                                                 "country": "France"}
    path = write_inv(tmp_path, group_vars={"jitsi_sovereign_hosting": {"contry": "France"}})
    with pytest.raises(ValidationErrors) as excinfo:
        inv_mod.load_and_validate(path)
    assert "jitsi_sovereign_hosting.contry is not a hosting fact" in messages(excinfo)
    assert "did you mean country?" in messages(excinfo)
