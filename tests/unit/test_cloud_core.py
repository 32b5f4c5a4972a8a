"""The cloud core: regions, the security group from the firewall role, cloud-init, the
state file, and the engine's create/destroy/status against an in-memory provider."""

from __future__ import annotations

import json
import shutil
import socket
import stat
from pathlib import Path

import pytest
import yaml
from fake_provider import FakeProvider, private_key_file, register
from role_files import ROOT

from jitsi_sovereign.cloud import cloudinit, engine, regions
from jitsi_sovereign.cloud.model import CreateRequest, Rule, merge_rules
from jitsi_sovereign.cloud.provider import public_key_problem
from jitsi_sovereign.cloud.rules import role_openings, security_group_rules
from jitsi_sovereign.cloud.state import State
from jitsi_sovereign.errors import UserError, ValidationErrors

PUB = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBfVdW5dI0DbMsqmsg6Qp0XUBF1Mv1ZvmxFdUyHBv2Lj "
       "admin@laptop")
KEY = private_key_file()


def request(**over) -> CreateRequest:
    values = {"provider": "fake", "region": "fake-1", "domain": "visio.example.org",
              "ssh_public_key": PUB, "ssh_key_path": KEY,
              "admin_cidrs": ["192.0.2.0/24"]}
    return CreateRequest(**{**values, **over})


def no_wait() -> engine.Waits:
    return engine.Waits(ssh_timeout=0, dns_timeout=0, banner=lambda h, p: "SSH-2.0-Fake",
                        resolve=lambda name: {"127.0.0.1"}, sleep=lambda s: None)


# ---- regions ----------------------------------------------------------------------------

@pytest.mark.parametrize(("provider", "code"), [
    ("scaleway", "nl-ams-1"), ("scaleway", "pl-waw-1"), ("ovh", "DE1"), ("ovh", "UK1"),
    ("ovh", "BHS5"), ("outscale", "us-east-2"), ("outscale", "ap-northeast-1")])
def test_a_region_outside_france_is_refused_naming_the_allowed_ones(provider, code):
    with pytest.raises(UserError) as err:
        regions.region(provider, code)
    assert code in err.value.message
    assert all(allowed in err.value.fix for allowed in regions.REGIONS[provider])


def test_every_allowed_region_is_in_france_with_its_jurisdiction():
    assert set(regions.REGIONS["scaleway"]) == {"fr-par-1", "fr-par-2", "fr-par-3"}
    assert {"GRA1", "GRA11", "SBG5", "SBG7"} <= set(regions.REGIONS["ovh"])
    assert regions.REGIONS["outscale"]["cloudgouv-eu-west-1"].certification == "SecNumCloud"
    for table in regions.REGIONS.values():
        for region in table.values():
            assert region.country == "FR" and "droit français" in region.jurisdiction


# ---- security group = the firewall role's openings ---------------------------------------

def test_rules_are_the_firewall_roles_openings():
    rules = security_group_rules(["192.0.2.0/24", "2001:db8::/48"])
    openings = role_openings({"firewall_admin_cidrs": ["192.0.2.0/24", "2001:db8::/48"]})
    assert rules == merge_rules(Rule(o["proto"], int(o["port"]), int(o["port"]),
                                     tuple(o["sources"])) for o in openings)
    everyone = ("0.0.0.0/0", "::/0")
    assert Rule("tcp", 22, 22, ("192.0.2.0/24", "2001:db8::/48")) in rules
    for proto, port in [("tcp", 80), ("tcp", 443), ("udp", 10000), ("udp", 3478),
                        ("tcp", 3478), ("tcp", 5349)]:
        assert Rule(proto, port, port, everyone) in rules


def test_rules_follow_a_changed_role_default(tmp_path):
    roles = tmp_path / "roles"
    shutil.copytree(ROOT / "roles" / "firewall", roles / "firewall")
    defaults = roles / "firewall" / "defaults" / "main.yml"
    text = defaults.read_text()
    assert "firewall_jvb_udp_port: 10000" in text
    defaults.write_text(text.replace("firewall_jvb_udp_port: 10000",
                                     "firewall_jvb_udp_port: 10443")
                        .replace("firewall_turn_enabled: true", "firewall_turn_enabled: false"))
    rules = security_group_rules(["192.0.2.0/24"], roles_dir=roles)
    ports = {(r.proto, r.port_from) for r in rules}
    assert ("udp", 10443) in ports and ("udp", 10000) not in ports
    assert not {("udp", 3478), ("tcp", 5349)} & ports


def test_rules_follow_overrides_and_extra_rules():
    rules = security_group_rules(["198.51.100.7/32"], {
        "os_hardening_ssh_port": 2222, "firewall_web_enabled": False,
        "firewall_extra_rules": [{"proto": "udp", "port": "8000-8100",
                                  "sources": ["203.0.113.0/24"]}]})
    assert Rule("tcp", 2222, 2222, ("198.51.100.7/32",)) in rules
    assert Rule("udp", 8000, 8100, ("203.0.113.0/24",)) in rules
    assert not [r for r in rules if r.port_from in (22, 80, 443)]


def test_rule_is_normalised_and_sorted():
    assert Rule("TCP", 22, 22, ("::/0", "0.0.0.0/0")) == Rule("tcp", 22, 22, ("0.0.0.0/0", "::/0"))
    with pytest.raises(ValueError):
        Rule("icmp", 1, 1, ())
    with pytest.raises(ValueError):
        Rule("tcp", 10, 5, ())


# ---- cloud-init ---------------------------------------------------------------------------

def test_cloud_init_is_minimal_and_valid_yaml():
    text = cloudinit.user_data("debian", PUB)
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    assert set(doc) == set(cloudinit.KEYS)
    (user,) = doc["users"]
    assert user["name"] == "debian" and user["ssh_authorized_keys"] == [PUB]
    assert user["sudo"] == "ALL=(ALL) NOPASSWD:ALL" and user["lock_passwd"] is True
    assert doc["ssh_pwauth"] is False and doc["disable_root"] is True
    assert "passwd" not in user and "packages" not in doc


SCHEMA_PATHS = [Path("/var/cache/jitsi-sovereign/cloud-init/schema-cloud-config-v1.json"),
                Path("/usr/lib/python3/dist-packages/cloudinit/config/schemas/"
                     "schema-cloud-config-v1.json")]


def cloud_init_schema() -> dict:
    """cloud-init's own #cloud-config schema: $JSOV_CLOUD_INIT_SCHEMA (./run test fetches it
    with apt-get download, without installing cloud-init) or the installed package's."""
    import os

    paths = [Path(os.environ["JSOV_CLOUD_INIT_SCHEMA"])] if os.environ.get(
        "JSOV_CLOUD_INIT_SCHEMA") else SCHEMA_PATHS
    for path in paths:
        if path.is_file():
            return json.loads(path.read_text())
    pytest.skip("cloud-init's schema is not here: set JSOV_CLOUD_INIT_SCHEMA to "
                "schema-cloud-config-v1.json (./run test fetches it: apt-get download "
                "cloud-init; dpkg-deb -x), or install cloud-init")


def _schema_keys(schema: dict) -> set[str]:
    keys: set[str] = set()
    for definition in [schema, *schema.get("$defs", {}).values()]:
        keys |= set(definition.get("properties", {}))
    return keys


def test_cloud_init_passes_cloud_inits_own_schema():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (dev extra) missing")
    schema = cloud_init_schema()
    validator = jsonschema.Draft4Validator(schema)
    doc = yaml.safe_load(cloudinit.user_data("debian", PUB))
    assert [e.message for e in validator.iter_errors(doc)] == []
    # The schema leaves unknown top-level keys alone: each of ours must be one it names.
    assert set(doc) <= _schema_keys(schema)
    # and the validator bites: a wrong type in a user entry is refused
    bad = {**doc, "users": [{**doc["users"][0], "lock_passwd": "yes", "sudo": 3}]}
    assert list(validator.iter_errors(bad))


# ---- keys ---------------------------------------------------------------------------------

def test_a_private_key_is_refused_as_public():
    private = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n" \
              "-----END OPENSSH PRIVATE KEY-----\n"
    assert "PRIVATE" in public_key_problem(private)
    assert public_key_problem(PUB) is None
    assert public_key_problem("ssh-ed25519 bm90IGEga2V5") is not None


# ---- plan ---------------------------------------------------------------------------------

def test_plan_describes_resources_rules_and_cloud_init(monkeypatch):
    register(monkeypatch)
    lines = "\n".join(engine.plan(request()).describe())
    assert "fake-1 (Paris, FR)" in lines and "size F-4G" in lines
    assert "security_group" in lines and "10000/udp from 0.0.0.0/0, ::/0" in lines
    assert "22/tcp from 192.0.2.0/24" in lines and "#cloud-config" in lines
    assert "you create the A record of visio.example.org, and AAAA where" in lines


# ---- state --------------------------------------------------------------------------------

def test_state_file_is_0600_and_appended_after_each_creation(monkeypatch, tmp_path):
    register(monkeypatch)
    seen = []
    prov = FakeProvider()
    original = prov._make

    def spy(kind, region, record):
        res = original(kind, region, record)
        data = json.loads((tmp_path / "cloud-state.json").read_text())
        seen.append([r["kind"] for r in data["resources"]])
        return res

    prov._make = spy
    engine.create(prov, request(), tmp_path, waits=no_wait(), echo=lambda s: None)
    assert seen == [["security_group"], ["security_group", "ip"],
                    ["security_group", "ip", "server"]]
    path = tmp_path / "cloud-state.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    state = State.load(path)
    assert state.status == "created" and state.server["public_ipv4"] == "127.0.0.1"
    assert (tmp_path / "hosts.yml").is_file()


# ---- engine -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["security_group", "ip", "server"])
def test_a_crash_half_way_removes_what_was_created_in_reverse(monkeypatch, tmp_path, kind):
    register(monkeypatch)
    prov = FakeProvider(fail_after=kind)
    with pytest.raises(UserError, match="injected crash"):
        engine.create(prov, request(), tmp_path, waits=no_wait(), echo=lambda s: None)
    assert prov.live == {}
    created = [c[1] for c in prov.calls if c[0] == "create"]
    deleted = [c[1] for c in prov.calls if c[0] == "delete"]
    assert deleted == [f"{k}-{i}" for i, k in reversed(list(enumerate(created, 1)))]
    state = State.load(tmp_path / "cloud-state.json")
    assert state.status == "failed" and state.resources == []


def test_ssh_never_answering_cleans_up(monkeypatch, tmp_path):
    register(monkeypatch)
    prov = FakeProvider()
    waits = no_wait()
    waits.banner = lambda h, p: None
    with pytest.raises(UserError, match="SSH did not answer"):
        engine.create(prov, request(), tmp_path, waits=waits, echo=lambda s: None)
    assert prov.live == {}


def test_bad_input_is_refused_before_any_creating_call(monkeypatch, tmp_path):
    register(monkeypatch)
    prov = FakeProvider()
    with pytest.raises(ValidationErrors) as err:
        engine.create(prov, request(ssh_public_key="-----BEGIN OPENSSH PRIVATE KEY-----",
                                    admin_cidrs=["10.1.2.3/8"]), tmp_path, waits=no_wait())
    assert len(err.value.errors) == 2
    assert not [c for c in prov.calls if c[0] == "create"]


def test_destroy_is_reverse_idempotent_and_checks_residue(monkeypatch, tmp_path):
    register(monkeypatch)
    prov = FakeProvider()
    engine.create(prov, request(), tmp_path, waits=no_wait(), echo=lambda s: None)
    state = State.load(tmp_path / "cloud-state.json")
    assert engine.destroy(prov, state, echo=lambda s: None) == []
    assert [c[1] for c in prov.calls if c[0] == "delete"] == ["server-3", "ip-2",
                                                               "security_group-1"]
    again = State.load(tmp_path / "cloud-state.json")
    prov.calls.clear()
    assert engine.destroy(prov, again, echo=lambda s: None) == []
    assert not [c for c in prov.calls if c[0] == "delete"]


def test_status_reports_extra_and_missing_rules_and_groups(monkeypatch, tmp_path):
    register(monkeypatch)
    prov = FakeProvider()
    engine.create(prov, request(), tmp_path, waits=no_wait(), echo=lambda s: None)
    state = State.load(tmp_path / "cloud-state.json")
    assert engine.status(prov, state)["findings"] == []
    prov.rules = [r for r in prov.rules if r.port_from != 10000]
    prov.rules.append(Rule("tcp", 22, 22, ("0.0.0.0/0",)))
    prov.groups.append("default-sg")
    findings = engine.status(prov, state)["findings"]
    assert "missing rule: 10000/udp from 0.0.0.0/0" in findings
    assert "missing rule: 10000/udp from ::/0" in findings
    assert "extra rule: 22/tcp from 0.0.0.0/0" in findings
    assert "extra security group attached: default-sg" in findings


# ---- CLI --------------------------------------------------------------------------------

def test_dry_run_makes_no_network_call(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from jitsi_sovereign.cli import app

    def refuse(*a, **k):
        raise AssertionError("network call during --dry-run")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    key = tmp_path / "id_ed25519.pub"
    key.write_text(PUB + "\n")
    result = CliRunner().invoke(app, [
        "cloud", "create", "--provider", "scaleway", "--region", "fr-par-2",
        "--domain", "visio.example.org", "--ssh-key", str(key), "--admin-cidr",
        "192.0.2.0/24", "--dry-run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "10000/udp" in result.output and "no network call" in result.output
    assert not (tmp_path / "jsov-visio-example-org").exists()


def test_regions_command_lists_france_only():
    from typer.testing import CliRunner

    from jitsi_sovereign.cli import app

    result = CliRunner().invoke(app, ["cloud", "regions"])
    assert result.exit_code == 0
    assert "fr-par-2" in result.output and "cloudgouv-eu-west-1" in result.output
    assert "nl-ams" not in result.output
