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


def test_known_hosts_taken_from_ssh_args(roles, tmp_path):
    path = write_inv(tmp_path, group_vars={
        "ansible_ssh_common_args": "-o UserKnownHostsFile=/srv/kh -o StrictHostKeyChecking=yes"})
    (h,) = inv_mod.load_and_validate(path).hosts
    assert h.known_hosts == Path("/srv/kh")


def test_shipped_roles_declare_their_variables():
    """Every role that ships declares an argument spec the validator can read."""
    inv_mod.role_specs.cache_clear()
    specs = inv_mod.role_specs()
    inv_mod.role_specs.cache_clear()
    for role in ("os_hardening", "firewall"):
        assert specs.get(role), f"role {role} has no meta/argument_specs.yml options"
        assert all(name.startswith(role + "_") for name in specs[role])


# ------------------------------------------------------------------ the meeting's settings

STACK = {"jitsi_sovereign_domain": "meet.example.org"}


@pytest.mark.parametrize(("extra", "expected", "fix"), [
    ({"jitsi_sovereign_auth": "oauth"}, "jitsi_sovereign_auth='oauth' is not an authentication",
     "internal, token, ldap"),
    ({"jitsi_sovereign_guest_domain": "meet.example.org"}, "is the main domain",
     "guest.meet.example.org"),
    ({"jitsi_sovereign_private_ip": "10.0.0.5"}, "without jitsi_sovereign_public_ip",
     "public (floating) address"),
    ({"jitsi_sovereign_public_ip": "10.0.0.5", "jitsi_sovereign_private_ip": "10.0.0.6"},
     "'10.0.0.5' is not a public address", "reach from the Internet"),
    ({"jitsi_sovereign_public_ip": "203.0.113.300", "jitsi_sovereign_private_ip": "10.0.0.5"},
     "is not an IP address", "203.0.113.10"),
    ({"jitsi_sovereign_public_ip": "51.91.0.10"}, "without jitsi_sovereign_private_ip",
     "add jitsi_sovereign_private_ip"),
    ({"jitsi_sovereign_auth": "ldap", "prosody_ldap_url": "ldap://dir.example.org"},
     "sends passwords in clear text", "prosody_ldap_starttls: true"),
    ({"jitsi_sovereign_auth": "ldap"}, "without prosody_ldap_url", "ldaps://"),
    ({"jitsi_sovereign_auth": "token", "prosody_jwt_secret": "short"},
     "prosody_jwt_secret is 5 characters long (at least 32)", "generated"),
    ({"jitsi_sovereign_gest_domain": "g.example.org"}, "unknown variable jitsi_sovereign_gest",
     "did you mean jitsi_sovereign_guest_domain?"),
])
def test_stack_settings_refused_before_any_host(roles, tmp_path, extra, expected, fix):
    path = write_inv(tmp_path, group_vars={**STACK, **extra})
    with pytest.raises(ValidationErrors) as excinfo:
        inv_mod.load_and_validate(path)
    text = messages(excinfo)
    assert expected in text
    assert fix in text


def test_stack_settings_that_hold_together_pass(roles, tmp_path):
    path = write_inv(tmp_path, group_vars={
        **STACK, "jitsi_sovereign_auth": "ldap", "prosody_ldap_url": "ldap://dir.example.org",
        "prosody_ldap_starttls": True, "jitsi_sovereign_public_ip": "51.91.0.10",
        "jitsi_sovereign_private_ip": "10.0.0.5",
        "prosody_jwt_secret": "{{ vault_jwt_secret }}"})
    (h,) = inv_mod.load_and_validate(path).hosts
    assert h.vars["jitsi_sovereign_auth"] == "ldap"
