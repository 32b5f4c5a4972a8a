"""``jitsi-sovereign init``: the inventory it writes loads with Ansible's own inventory
loader and passes the project's inventory check; bad inputs are refused (exit 2) with
the value and its fix, and nothing is written; ``--force`` touches only init's files; the
questions produce the same files as the flags. No network: name lookups are replaced."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from jitsi_sovereign import cli, initcli, initinv
from jitsi_sovereign import inventory as inv_mod
from jitsi_sovereign.errors import ValidationErrors
from jitsi_sovereign.initinv import InventorySettings

JURISDICTION = "droit français (Union européenne)"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Names do not resolve (no DNS here); the admin network is not detected."""
    monkeypatch.setattr(initinv, "resolves", lambda name, timeout=3.0: None)
    monkeypatch.setattr(initcli, "detected_admin_cidr", lambda host, port=22: None)
    inv_mod.role_specs.cache_clear()


@pytest.fixture
def key(tmp_path) -> Path:
    path = tmp_path / "keys" / "id_ed25519"
    path.parent.mkdir()
    path.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
                    "-----END OPENSSH PRIVATE KEY-----\n")
    path.chmod(0o600)
    (path.parent / "id_ed25519.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA test\n")
    return path


def flags(directory: Path, key: Path, *extra: str) -> list[str]:
    return ["init", str(directory), "--non-interactive", "--domain", "meet.example.fr",
            "--host", "203.0.113.10", "--user", "debian", "--port", "22", "--key", str(key),
            "--admin-cidr", "198.51.100.0/24", "--auth", "internal", "--guests",
            "--provider", "Scaleway", "--region", "fr-par-2", "--country", "France",
            "--jurisdiction", JURISDICTION, "--tls", "acme", *extra]


def run_main(monkeypatch, capsys, args: list[str], stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["jitsi-sovereign", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as exc:
        cli.main()
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def files_under(directory: Path) -> dict[str, str]:
    if not directory.exists():
        return {}
    return {str(p.relative_to(directory)): p.read_text()
            for p in sorted(directory.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ the good path


def test_flags_write_an_inventory_that_deploy_accepts(tmp_path, key, monkeypatch, capsys):
    directory = tmp_path / "inv"
    code, out, err = run_main(monkeypatch, capsys, flags(directory, key))
    assert code == 0, err
    assert set(files_under(directory)) == {"hosts.yml", "group_vars/all.yml", ".gitignore"}
    assert f"jitsi-sovereign deploy -i {directory}/hosts.yml" in out.replace("\n", " ")
    assert "does not resolve (yet)" in err  # the DNS record is for later: a warning

    # Ansible's own inventory loader: group_vars/all.yml is read next to hosts.yml.
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[str(directory / "hosts.yml")])
    host = manager.get_host("meet.example.fr")
    hv = VariableManager(loader=loader, inventory=manager).get_vars(host=host)
    assert hv["ansible_host"] == "203.0.113.10"
    assert hv["ansible_user"] == "debian"
    assert hv["ansible_ssh_private_key_file"] == str(key)
    assert hv["ansible_ssh_common_args"] == "-o IdentitiesOnly=yes"
    assert hv["jitsi_sovereign_domain"] == "meet.example.fr"
    assert hv["firewall_admin_cidrs"] == ["198.51.100.0/24"]
    assert hv["tls_mode"] == "acme"
    assert hv["jitsi_sovereign_hosting"] == {"provider": "Scaleway", "region": "fr-par-2",
                                             "country": "France",
                                             "jurisdiction": JURISDICTION}
    assert "os_hardening_ssh_port" not in hv  # 22: the default stays commented

    # The project's own check, as deploy and verify run it.
    for own_ssh in (False, True):
        inv = inv_mod.load_and_validate(directory / "hosts.yml", own_ssh=own_ssh)
        assert [h.name for h in inv.hosts] == ["meet.example.fr"]
        assert inv.hosts[0].port == 22 and inv.hosts[0].user == "debian"

    assert (directory / "group_vars" / "all.yml").stat().st_mode & 0o777 == 0o600
    assert ".secrets/" in (directory / ".gitignore").read_text()


def test_group_vars_keep_the_example_comments(tmp_path, key, monkeypatch, capsys):
    directory = tmp_path / "inv"
    assert run_main(monkeypatch, capsys, flags(directory, key))[0] == 0
    written = (directory / "group_vars" / "all.yml").read_text()
    example = (initinv.paths.example_inventory_dir() / "group_vars" / "all.yml").read_text()
    # every commented setting of the example that init did not set is still there
    for line in example.splitlines():
        if line.startswith("# os_hardening_") or line.startswith("# nginx_"):
            assert line in written
    set_lines = [ln for ln in written.splitlines() if ln and not ln.startswith(("#", " "))]
    assert set_lines == ["---", "firewall_admin_cidrs:", "jitsi_sovereign_domain: meet.example.fr",
                         "jitsi_sovereign_auth: internal", "jitsi_sovereign_guests: true",
                         "jitsi_sovereign_hosting:", "tls_mode: acme"]
    assert "meet.example.org" not in "\n".join(set_lines)  # no example value left set


def test_port_known_hosts_ca_and_set(tmp_path, key, monkeypatch, capsys):
    directory = tmp_path / "inv"
    known = tmp_path / "known_hosts"
    known.write_text("")
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    args = flags(directory, key, "--known-hosts", str(known), "--acme-directory",
                 "https://acme.example.fr/dir", "--acme-ca", str(ca), "--trust-ca", str(ca),
                 "--set", "jitsi_packages_required=false", "--set", "nginx_access_log=anonymized")
    args[args.index("--port") + 1] = "2222"
    code, _out, err = run_main(monkeypatch, capsys, args)
    assert code == 0, err
    inv = inv_mod.load_and_validate(directory / "hosts.yml", own_ssh=True)
    spec = inv.hosts[0]
    assert spec.port == 2222 and spec.known_hosts == known
    hv = spec.vars
    assert hv["os_hardening_ssh_port"] == 2222  # sshd's port is the port Ansible uses
    assert "StrictHostKeyChecking=yes" in hv["ansible_ssh_common_args"]
    assert hv["tls_acme_directory_url"] == "https://acme.example.fr/dir"
    assert hv["tls_acme_ca_bundle"] == str(ca)
    assert hv["jitsi_sovereign_tls_trust_store"] == str(ca)
    assert hv["jitsi_packages_required"] is False
    assert hv["nginx_access_log"] == "anonymized"


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("change", "message"), [
    ({"--domain": "meet"}, "domain 'meet' is not a fully qualified name"),
    ({"--domain": "-bad-.example.fr"}, "invalid label"),
    ({"--domain": "192.0.2.1"}, "is an IP address"),
    ({"--host": "nowhere.invalid"}, "host 'nowhere.invalid' does not resolve"),
    ({"--key": "PUB"}, "is a public key"),
    ({"--key": "MISSING"}, "does not exist"),
    ({"--admin-cidr": "198.51.100.7/24"}, "did you mean 198.51.100.0/24?"),
    ({"--admin-cidr": "office"}, "'office' is not a network"),
    ({"--auth": "kerberos"}, "auth mode 'kerberos' is unknown"),
    ({"--auth": "ldap"}, "auth ldap needs the directory's URL"),
    ({"--port": "70000"}, "is not a TCP port"),
    ({"--user": "root"}, "root login off"),
    ({"--tls": "letsencrypt"}, "TLS mode 'letsencrypt' is unknown"),
])
def test_bad_input_exit_2_nothing_written(tmp_path, key, monkeypatch, capsys, change, message):
    directory = tmp_path / "inv"
    args = flags(directory, key)
    for flag, value in change.items():
        value = {"PUB": f"{key}.pub", "MISSING": str(tmp_path / "nokey")}.get(value, value)
        args[args.index(flag) + 1] = value
    code, _out, err = run_main(monkeypatch, capsys, args)
    assert code == 2
    assert message in err
    assert "fix:" in err
    assert not directory.exists()


def test_world_readable_key(tmp_path, key, monkeypatch, capsys):
    key.chmod(0o644)
    directory = tmp_path / "inv"
    code, _out, err = run_main(monkeypatch, capsys, flags(directory, key))
    assert code == 2
    assert "can be read by others (mode 0644)" in err
    assert f"chmod 600 {key}" in err
    assert not directory.exists()


def test_a_file_that_is_not_a_key(tmp_path, key, monkeypatch, capsys):
    key.write_text("hello\n")
    code, _out, err = run_main(monkeypatch, capsys, flags(tmp_path / "inv", key))
    assert code == 2 and "is not a private key" in err


def test_every_problem_at_once(tmp_path, key, monkeypatch, capsys):
    args = flags(tmp_path / "inv", key, "--private-ip", "10.0.0.5", "--set", "nginx_acess_log=off")
    args[args.index("--domain") + 1] = "meet"
    args[args.index("--auth") + 1] = "kerberos"
    code, _out, err = run_main(monkeypatch, capsys, args)
    assert code == 2
    assert "3 problem(s)" in err
    assert "domain 'meet'" in err and "kerberos" in err and "--public-ip together" in err


def test_set_is_checked_against_the_role_specs(tmp_path, key, monkeypatch, capsys):
    directory = tmp_path / "inv"
    code, _out, err = run_main(monkeypatch, capsys,
                               flags(directory, key, "--set", "nginx_acess_log=off"))
    assert code == 2
    assert "unknown variable nginx_acess_log" in err and "nginx_access_log" in err
    code, _out, err = run_main(monkeypatch, capsys,
                               flags(directory, key, "--set", "tls_mode=selfsigned"))
    assert code == 2 and "use --tls instead" in err
    assert not directory.exists()


def test_existing_directory_refused_without_force(tmp_path, key, monkeypatch, capsys):
    directory = tmp_path / "inv"
    directory.mkdir()
    (directory / "notes.txt").write_text("mine\n")
    code, _out, err = run_main(monkeypatch, capsys, flags(directory, key))
    assert code == 2
    assert "exists and is not empty" in err and "--force" in err
    assert files_under(directory) == {"notes.txt": "mine\n"}


def test_non_interactive_missing_flag(tmp_path, key, monkeypatch, capsys):
    directory = tmp_path / "inv"
    args = flags(directory, key)
    i = args.index("--host")
    del args[i:i + 2]
    code, _out, err = run_main(monkeypatch, capsys, args)
    assert code == 2
    assert "--host is required with --non-interactive" in err
    assert not directory.exists()


def test_force_overwrites_only_its_own_files(tmp_path, key, monkeypatch, capsys):
    directory = tmp_path / "inv"
    (directory / "group_vars").mkdir(parents=True)
    (directory / "notes.txt").write_text("mine\n")
    (directory / "group_vars" / "vault.yml").write_text("vault_x: 1\n")
    (directory / "hosts.yml").write_text("old: true\n")
    code, _out, err = run_main(monkeypatch, capsys, flags(directory, key, "--force"))
    assert code == 0, err
    files = files_under(directory)
    assert files["notes.txt"] == "mine\n"
    assert files["group_vars/vault.yml"] == "vault_x: 1\n"
    assert "old: true" not in files["hosts.yml"]
    assert set(files) == {"notes.txt", "group_vars/vault.yml", "hosts.yml",
                          "group_vars/all.yml", ".gitignore"}


# ------------------------------------------------------------------ interactive


def test_interactive_answers_give_the_same_files(tmp_path, key, monkeypatch, capsys):
    by_flags = tmp_path / "flags"
    assert run_main(monkeypatch, capsys, flags(by_flags, key))[0] == 0
    answers = [
        "meet",                 # a bad domain: asked again
        "meet.example.fr",
        "203.0.113.10",
        "",                     # user: debian
        "",                     # port: 22
        f"{key}.pub",           # a public key: asked again
        str(key),
        "198.51.100.7/24",      # host bits: asked again
        "198.51.100.0/24",
        "",                     # auth: internal
        "",                     # guests: yes
        "",                     # certificate: acme
        "",                     # ACME directory: Let's Encrypt
        "",                     # e-mail: none
        "Scaleway", "fr-par-2",
        "", "",                 # country, jurisdiction: the French defaults
        "",                     # certification: none
        "",                     # NAT: no
        "",                     # write: yes
    ]
    by_prompts = tmp_path / "prompts"
    result = CliRunner().invoke(cli.app, ["init", str(by_prompts), "--interactive"],
                                input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "is not a fully qualified name" in result.output
    assert "is a public key" in result.output
    assert files_under(by_prompts) == files_under(by_flags)


def test_interactive_stdin_closed_writes_nothing(tmp_path, monkeypatch):
    directory = tmp_path / "inv"
    result = CliRunner().invoke(cli.app, ["init", str(directory), "--interactive"],
                                input="meet.example.fr\n")
    assert result.exit_code != 0
    assert "stdin closed" in str(result.exception)
    assert not directory.exists()


# ------------------------------------------------------------------ the API cloud create uses


def test_api_validate_and_write(tmp_path, key):
    settings = InventorySettings(domain="meet.example.fr", host="203.0.113.10", key=key,
                                 admin_cidrs=["198.51.100.0/24"], auth="ldap",
                                 ldap_url="ldap://annuaire.example.fr",
                                 ldap_base="ou=people,dc=example,dc=fr",
                                 private_ip="10.0.0.5", public_ip="51.91.0.10",
                                 hosting={"provider": "OVHcloud", "region": "GRA"})
    assert initinv.validate_settings(settings) == []
    written = initinv.write_inventory(settings, tmp_path / "inv")
    assert [p.name for p in written] == ["hosts.yml", "all.yml", ".gitignore"]
    hv = inv_mod.load_and_validate(tmp_path / "inv" / "hosts.yml").hosts[0].vars
    assert hv["prosody_ldap_starttls"] is True  # ldap:// needs StartTLS (the role's rule)
    assert hv["jitsi_sovereign_public_ip"] == "51.91.0.10"
    assert hv["jitsi_sovereign_private_ip"] == "10.0.0.5"
    with pytest.raises(ValidationErrors) as exc:
        initinv.write_inventory(settings, tmp_path / "inv")
    assert "not empty" in str(exc.value)
    bad = InventorySettings(domain="x", host="", key=tmp_path / "none",
                            hosting={"provder": "x"})
    messages = [e.message for e in initinv.validate_settings(bad)]
    assert len(messages) == 4, messages


def test_detected_admin_cidr_rules(monkeypatch):
    monkeypatch.undo()  # the real function, with the routing lookup replaced
    cases = {("198.51.100.1", "198.51.100.12"): "198.51.100.1/32",  # same private network
             ("192.168.1.20", "51.159.0.10"): None,                  # behind NAT: unknown
             ("80.67.169.12", "51.159.0.10"): "80.67.169.12/32",     # public itself
             ("2001:db8::5", "2001:db8::9"): "2001:db8::5/128"}
    for (local, target), expected in cases.items():
        monkeypatch.setattr(initcli, "source_address", lambda h, p, r=(local, target): r)
        assert initcli.detected_admin_cidr(target) == expected, (local, target)


def test_no_secret_mode_leak(tmp_path, key):
    """The files init writes never hold a key's text, only its path."""
    settings = InventorySettings(domain="meet.example.fr", host="203.0.113.10", key=key)
    written = initinv.write_inventory(settings, tmp_path / "inv")
    for path in written:
        assert "PRIVATE KEY" not in path.read_text()
    assert os.stat(tmp_path / "inv" / "group_vars" / "all.yml").st_mode & 0o077 == 0


def test_written_yaml_is_plain(tmp_path, key):
    settings = InventorySettings(domain="Meet.Example.FR.", host="203.0.113.10", key=key,
                                 hosting={"notes": "a: b # c"})
    initinv.write_inventory(settings, tmp_path / "inv")
    data = yaml.safe_load((tmp_path / "inv" / "group_vars" / "all.yml").read_text())
    assert data["jitsi_sovereign_domain"] == "meet.example.fr"
    assert data["jitsi_sovereign_hosting"] == {"notes": "a: b # c"}
    hosts = yaml.safe_load((tmp_path / "inv" / "hosts.yml").read_text())
    assert "meet.example.fr" in hosts["all"]["children"]["meet"]["hosts"]
