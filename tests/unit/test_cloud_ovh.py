"""Contract tests of the OVHcloud provider: the real openstacksdk/keystoneauth code path
sends real HTTP to a loopback OpenStack (fake_openstack.py: Keystone, Nova, Neutron,
Glance) that records every request and keeps state, so "the fake ends empty" means
nothing is left.

What this proves: the requests' methods, paths and bodies, their order, the one group
on the port, the cleanup after each failure, destroy's idempotence, the residue check.
What only a real OVHcloud account proves: that the VM boots, that Debian 13 is named so,
that UDP 10000 reaches the videobridge, quotas and prices (README, `cloud create --live`).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import yaml

pytest.importorskip("openstack", reason="openstacksdk missing: pip install -e '.[dev]'")

from fake_openstack import (
    APP_CRED_ID,
    APP_CRED_SECRET,
    PASSWORD,
    PROJECT_ID,
    USER,
    FakeOpenStack,
)
from fake_ovhapi import APP_KEY, APP_SECRET, CONSUMER_KEY, FakeOvhApi
from fake_provider import private_key_file

from jitsi_sovereign.cloud import engine
from jitsi_sovereign.cloud.model import CreateRequest, Resource, Rule, Server
from jitsi_sovereign.cloud.ovh import (
    OvhDns,
    OvhProvider,
    neutron_rules,
    rules_from_neutron,
    zone_of,
)
from jitsi_sovereign.cloud.state import State
from jitsi_sovereign.errors import UserError, ValidationErrors

PUB = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBfVdW5dI0DbMsqmsg6Qp0XUBF1Mv1ZvmxFdUyHBv2Lj "
       "admin@laptop")
KEY = private_key_file()        # the inventory create writes names it (mode 0600, a stand-in)
ADMIN = "192.0.2.0/24"
ANY = ("0.0.0.0/0", "::/0")
# The firewall role's openings (roles/firewall/defaults/main.yml), as Neutron rules: the
# core's rules.py parses the role; here they are written out to check the requests.
EXPECTED_INGRESS = sorted(
    [("tcp", 22, 22, ADMIN)]
    + [(p, lo, hi, src) for (p, lo, hi) in [("tcp", 80, 80), ("tcp", 443, 443),
                                            ("udp", 10000, 10000), ("udp", 3478, 3478),
                                            ("tcp", 3478, 3478), ("tcp", 5349, 5349)]
       for src in ANY])


@pytest.fixture
def fake(monkeypatch, tmp_path):
    cloud = FakeOpenStack().start()
    for var in list(os.environ):
        if var.startswith(("OS_", "OPENSTACK_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "no-clouds.yaml"))
    monkeypatch.setenv("OS_AUTH_URL", cloud.auth_url)
    monkeypatch.setenv("OS_USERNAME", USER)
    monkeypatch.setenv("OS_PASSWORD", PASSWORD)
    monkeypatch.setenv("OS_PROJECT_ID", PROJECT_ID)
    monkeypatch.setenv("OS_USER_DOMAIN_NAME", "Default")
    monkeypatch.setenv("OS_IDENTITY_API_VERSION", "3")
    monkeypatch.setenv("OS_REGION_NAME", "SBG5")   # --region wins over it
    yield cloud
    cloud.stop()
    assert cloud.unknown == [], f"requests the fake does not serve: {cloud.unknown}"


def provider() -> OvhProvider:
    return OvhProvider(poll_interval=0.01, wait_timeout=5, in_use_timeout=0.1, retries=3,
                       retry_delay=0.01)


def request(**over) -> CreateRequest:
    values = {"provider": "ovh", "region": "GRA11", "domain": "visio.mairie.fr",
              "ssh_public_key": PUB, "ssh_key_path": KEY,
              "admin_cidrs": [ADMIN], "name": "jsov-visio"}
    return CreateRequest(**{**values, **over})


def waits(cloud: FakeOpenStack) -> engine.Waits:
    def addresses(_name):
        return {ip["ip_address"] for p in cloud.ports.values() for ip in p["fixed_ips"]}
    return engine.Waits(ssh_timeout=0, dns_timeout=0, banner=lambda h, p: "SSH-2.0-Fake",
                        resolve=addresses, sleep=lambda s: None)


def create(cloud, tmp_path, req=None, echo=None):
    lines: list[str] = []
    result = engine.create(provider(), req or request(), tmp_path, waits=waits(cloud),
                           echo=echo or lines.append)
    return result, lines


def bodies(cloud, method, path_end):
    return [c.body for c in cloud.calls if c.method == method and c.path.endswith(path_end)]


# ---- create -------------------------------------------------------------------------------

def test_create_sends_the_expected_requests_in_order(fake, tmp_path):
    result, lines = create(fake, tmp_path)
    n = len(EXPECTED_INGRESS)
    assert fake.writes() == (
        ["POST GRA11/network/v2.0/security-groups"]
        + ["POST GRA11/network/v2.0/security-group-rules"] * n
        + ["POST GRA11/network/v2.0/ports", "POST GRA11/compute/v2.1/servers"])
    # every call went to the region asked (not OS_REGION_NAME's SBG5), which stays as it was
    assert {c.region for c in fake.calls if c.service != "identity"} == {"GRA11"}
    assert os.environ["OS_REGION_NAME"] == "SBG5"

    (sg_body,) = bodies(fake, "POST", "/security-groups")
    assert sg_body == {"security_group": {
        "name": "jsov-visio",
        "description": "jitsi-sovereign=jsov-visio: the meeting server's openings"}}
    sg_id = result.state.resources[0].id
    rules = [b["security_group_rule"] for b in bodies(fake, "POST", "/security-group-rules")]
    assert all(r["security_group_id"] == sg_id and r["direction"] == "ingress"
               for r in rules)
    assert all(r["ethertype"] == ("IPv6" if ":" in r["remote_ip_prefix"] else "IPv4")
               for r in rules)
    assert sorted((r["protocol"], r["port_range_min"], r["port_range_max"],
                   r["remote_ip_prefix"]) for r in rules) == EXPECTED_INGRESS

    (port_body,) = bodies(fake, "POST", "/ports")
    assert port_body == {"port": {"name": "jsov-visio", "description": "jitsi-sovereign=jsov-visio",
                                  "network_id": "net-ext", "security_groups": [sg_id]}}
    (srv_body,) = bodies(fake, "POST", "/servers")
    srv = srv_body["server"]
    port_id = result.state.resources[1].id
    assert srv["networks"] == [{"port": port_id}]
    assert srv["flavorRef"] == "fl-b3-8"          # the default size, found in the list
    assert srv["imageRef"] == "img-deb13"         # the newest image named "Debian 13"
    assert srv["metadata"] == {"jitsi-sovereign": "jsov-visio"}
    user_data = base64.b64decode(srv["user_data"]).decode()
    assert user_data == engine.plan(request()).cloud_init and PUB in user_data
    # no keypair, no security_groups by name (that would attach groups to the port again)
    assert set(srv) == {"name", "flavorRef", "imageRef", "networks", "metadata", "user_data"}

    # OVHcloud's "default" group (everything in) is attached to nothing we made
    assert fake.ports[port_id]["security_groups"] == [sg_id]
    assert fake.default_sg_id not in str([c.body for c in fake.calls])

    assert [(r.kind, r.region) for r in result.state.resources] == [
        ("security_group", "GRA11"), ("port", "GRA11"), ("server", "GRA11")]
    assert result.server.public_ipv4 == fake.ports[port_id]["fixed_ips"][0]["ip_address"]
    assert result.server.public_ipv6.startswith("2001:41d0:")
    assert result.state.status == "created"
    text = Path(result.state.path).read_text() + "\n".join(lines)
    assert PASSWORD not in text and USER not in text


def test_create_with_an_application_credential(fake, tmp_path, monkeypatch):
    for var in ("OS_USERNAME", "OS_PASSWORD", "OS_USER_DOMAIN_NAME", "OS_PROJECT_ID"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("OS_AUTH_TYPE", "v3applicationcredential")
    monkeypatch.setenv("OS_APPLICATION_CREDENTIAL_ID", APP_CRED_ID)
    monkeypatch.setenv("OS_APPLICATION_CREDENTIAL_SECRET", APP_CRED_SECRET)
    result, _ = create(fake, tmp_path)
    assert result.state.status == "created"
    (auth,) = bodies(fake, "POST", "/auth/tokens")
    assert auth["auth"]["identity"]["methods"] == ["application_credential"]


def test_status_compares_live_rules_and_groups(fake, tmp_path):
    result, _ = create(fake, tmp_path)
    state = State.load(result.state.path)
    report = engine.status(provider(), state)
    assert report["findings"] == []
    assert report["server"]["state"] == "ACTIVE"
    assert report["server"]["public_ipv4"] == result.server.public_ipv4
    assert report["groups"] == [state.resources[0].id]

    writes = len(fake.writes())
    sg_id, port_id = state.resources[0].id, state.resources[1].id
    fake._new_rule(sg_id, protocol="tcp", port_range_min=8080, port_range_max=8080,
                   remote_ip_prefix="0.0.0.0/0")
    gone = next(r for r in fake.rules.values() if r["security_group_id"] == sg_id
                and r["protocol"] == "udp" and r["port_range_min"] == 10000
                and r["ethertype"] == "IPv4")
    del fake.rules[gone["id"]]
    fake.ports[port_id]["security_groups"].append(fake.default_sg_id)
    report = engine.status(provider(), state)
    assert "extra rule: 8080/tcp from 0.0.0.0/0" in report["findings"]
    assert "missing rule: 10000/udp from 0.0.0.0/0" in report["findings"]
    assert f"extra security group attached: {fake.default_sg_id}" in report["findings"]
    assert len(fake.writes()) == writes        # status only reads

    # our group detached (the default one stays): none of the planned openings is in effect
    fake.ports[port_id]["security_groups"] = [fake.default_sg_id]
    fake._new_rule(sg_id, protocol="icmp", ethertype="IPv4")
    live = provider().status(state)
    assert live["rules"] == [] and live["groups"] == [fake.default_sg_id]
    assert live["findings"] == [
        f"our security group {sg_id} is not attached to the server",
        "rule the plan does not have: ingress icmp from 0.0.0.0/0 (IPv4)"]
    report = engine.status(provider(), state)
    assert "missing rule: 22/tcp from 192.0.2.0/24" in report["findings"]


def test_the_default_group_reads_as_every_port_open():
    live = [{"direction": "ingress", "ethertype": "IPv4", "protocol": None,
             "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None},
            {"direction": "egress", "ethertype": "IPv4", "protocol": None}]
    rules, other = rules_from_neutron(live)
    assert rules == [Rule("tcp", 1, 65535, ("0.0.0.0/0",)), Rule("udp", 1, 65535, ("0.0.0.0/0",))]
    assert other == ["ingress any protocol from 0.0.0.0/0 (ICMP and every port included)"]
    assert rules_from_neutron(neutron_rules(rules)) == (rules, [])


# ---- destroy / residue ------------------------------------------------------------------------

def test_destroy_removes_exactly_the_state_in_reverse_and_twice_is_a_no_op(fake, tmp_path):
    result, _ = create(fake, tmp_path)
    ours = fake.ours()
    # something of the user's, not in the state: destroy must not touch it
    other = fake._new_sg("my-other-group", "not ours", region="GRA11")
    state = State.load(result.state.path)
    ids = [r.id for r in state.resources]
    before = len(fake.calls)
    left = engine.destroy(provider(), state, echo=lambda s: None)
    assert left == []
    deletes = [str(c) for c in fake.calls[before:] if c.method == "DELETE"]
    assert deletes == [f"DELETE GRA11/compute/v2.1/servers/{ids[2]}",
                       f"DELETE GRA11/network/v2.0/ports/{ids[1]}",
                       f"DELETE GRA11/network/v2.0/security-groups/{ids[0]}"]
    assert ours["servers"] and fake.ours() == {"servers": [], "ports": [],
                                               "security_groups": [other["id"]]}
    assert State.load(result.state.path).resources == []

    before = len(fake.calls)
    assert engine.destroy(provider(), State.load(result.state.path), echo=lambda s: None) == []
    assert [str(c) for c in fake.calls[before:]
            if c.method != "GET" and c.service != "identity"] == []
    # deleting by id what is already gone is fine too (a state file written before a crash)
    prov = provider()
    for kind, rid in zip(("security_group", "port", "server"), ids, strict=True):
        prov.delete(Resource(kind, rid, "GRA11"))
    assert "DELETE" not in {c.method for c in fake.calls[before:]
                            if c.service == "compute"}


def test_residue_finds_what_carries_the_name(fake, tmp_path):
    result, _ = create(fake, tmp_path)
    state = result.state
    found = provider().residue("jsov-visio")
    assert [(r.kind, r.id) for r in found] == [(r.kind, r.id) for r in state.resources]
    assert provider().residue("jsov-other") == []
    # a leftover the state does not list (e.g. a crash before the state was written)
    stray = fake._new_sg("jsov-visio", "jitsi-sovereign=jsov-visio: the meeting server's "
                         "openings", region="SBG5")
    engine.destroy(provider(), State.load(state.path), echo=lambda s: None)
    assert [(r.kind, r.id, r.region) for r in provider().residue("jsov-visio")] == [
        ("security_group", stray["id"], "SBG5")]


# ---- failures during create -----------------------------------------------------------------

QUOTA = {"forbidden": {"code": 403, "message": "Quota exceeded for instances: Requested 1, "
                       "but already used 10 of 10 instances"}}


@pytest.mark.parametrize(("method", "path", "status", "body", "after", "says"), [
    ("POST", "security-groups$", 409, {"NeutronError": {"type": "Conflict",
                                                        "message": "busy"}}, False, "409"),
    ("POST", "security-group-rules$", 500, None, False, "500"),
    ("POST", "ports$", 500, None, False, "500"),
    ("POST", "servers$", 403, QUOTA, False, "Quota exceeded"),
    ("POST", "servers$", 409, {"conflictingRequest": {"code": 409, "message": "busy"}},
     False, "409"),
    # the server is made but the answer is lost: found by its metadata and removed
    ("POST", "servers$", 0, None, True, "creating the server"),
    ("GET", r"ports/port-[0-9a-f]+$", 500, None, False, "500"),
])
def test_a_failure_removes_everything_created(fake, tmp_path, method, path, status, body,
                                              after, says):
    fake.fail(method, path, status, body, after=after)
    with pytest.raises(UserError) as err:
        create(fake, tmp_path)
    assert says in str(err.value)
    if "Quota" in says:
        assert "quota" in err.value.fix.lower()
    assert fake.ours() == {"servers": [], "ports": [], "security_groups": []}
    state = State.load(tmp_path / "cloud-state.json")
    assert state.status == "failed" and state.resources == []
    assert PASSWORD not in str(err.value)


def test_a_rate_limit_is_waited_out(fake, tmp_path):
    fake.fail("POST", "ports$", 429, {"message": "Rate limit exceeded"}, times=2)
    fake.fail("POST", "servers$", 503, None, times=1)
    result, _ = create(fake, tmp_path)
    assert result.state.status == "created"
    assert fake.writes().count("POST GRA11/network/v2.0/ports") == 3
    assert fake.writes().count("POST GRA11/compute/v2.1/servers") == 2
    assert len(fake.ours()["ports"]) == 1 and len(fake.ours()["servers"]) == 1


def test_a_rate_limit_that_lasts_fails_and_cleans_up(fake, tmp_path):
    fake.fail("POST", "ports$", 429, {"message": "Rate limit exceeded"}, times=10)
    with pytest.raises(UserError) as err:
        create(fake, tmp_path)
    assert "429" in str(err.value)
    assert fake.writes().count("POST GRA11/network/v2.0/ports") == 4    # 1 + 3 retries
    assert fake.ours() == {"servers": [], "ports": [], "security_groups": []}


def test_a_server_in_error_is_removed(fake, tmp_path):
    fake.build_ends = "ERROR"
    with pytest.raises(UserError):
        create(fake, tmp_path)
    assert fake.ours() == {"servers": [], "ports": [], "security_groups": []}


def test_a_crash_half_way_removes_what_was_created(fake, tmp_path):
    def echo(line):
        if line.startswith("  created port"):
            raise KeyboardInterrupt     # Ctrl-C, or the process killed between two calls
    with pytest.raises(KeyboardInterrupt):
        create(fake, tmp_path, echo=echo)
    assert fake.ours() == {"servers": [], "ports": [], "security_groups": []}
    assert "POST GRA11/compute/v2.1/servers" not in fake.writes()


def test_what_cleanup_could_not_delete_stays_in_the_state_for_destroy(fake, tmp_path):
    fake.fail("POST", "servers$", 500)
    fake.fail("DELETE", "ports/", 500)
    with pytest.raises(UserError) as err:
        create(fake, tmp_path)
    assert "could not be deleted" in str(err.value)
    state = State.load(tmp_path / "cloud-state.json")
    assert [r.kind for r in state.resources] == ["security_group", "port"]
    engine.destroy(provider(), state, echo=lambda s: None)
    assert fake.ours() == {"servers": [], "ports": [], "security_groups": []}


# ---- refused before any creating call ---------------------------------------------------------

def refused(fake, tmp_path, req) -> str:
    with pytest.raises(ValidationErrors) as err:
        create(fake, tmp_path, req)
    assert fake.writes() == [], "a creating call was made"
    assert fake.ours() == {"servers": [], "ports": [], "security_groups": []}
    return str(err.value)


@pytest.mark.parametrize("region", ["DE1", "BHS5", "UK1", "WAW1"])
def test_a_region_outside_france_is_refused(fake, tmp_path, region):
    with pytest.raises(UserError) as err:
        create(fake, tmp_path, request(region=region))
    assert region in str(err.value) and "GRA11" in err.value.fix
    assert fake.calls == []


def test_a_french_region_missing_from_the_catalog_is_refused(fake, tmp_path):
    text = refused(fake, tmp_path, request(region="GRA7"))
    assert "'GRA7' is not in this project's catalog" in text and "GRA11, SBG5" in text


@pytest.mark.parametrize(("size", "says"), [
    ("x9-999", "--size 'x9-999' is not a flavor of GRA11"),
    ("d2-2", "--size 'd2-2' has 2048 MB of memory"),
])
def test_an_unknown_or_small_flavor_is_refused(fake, tmp_path, size, says):
    text = refused(fake, tmp_path, request(size=size))
    assert says in text and "d2-4, b3-8" in text     # the choices offered: >= 4 GB only
    assert "d2-2, " not in text


def test_a_4_gb_flavor_is_accepted(fake, tmp_path):
    result, _ = create(fake, tmp_path, request(size="d2-4"))
    assert bodies(fake, "POST", "/servers")[0]["server"]["flavorRef"] == "fl-d2-4"
    assert result.state.status == "created"


def test_no_public_network_is_refused(fake, tmp_path):
    fake.ext_net["name"] = "public"
    assert "no public network 'Ext-Net' in GRA11" in refused(fake, tmp_path, request())


def test_no_debian_13_image_is_refused(fake, tmp_path):
    fake.images = [i for i in fake.images if i["name"] != "Debian 13"]
    assert "no image named 'Debian 13' in GRA11" in refused(fake, tmp_path, request())


@pytest.mark.parametrize("unset", [("OS_AUTH_URL",), ("OS_PASSWORD",),
                                   ("OS_USERNAME", "OS_PASSWORD"), ("OS_PROJECT_ID",)])
def test_missing_credentials_are_refused_naming_the_variables(fake, tmp_path, monkeypatch,
                                                              unset):
    for var in unset:
        monkeypatch.delenv(var)
    text = refused(fake, tmp_path, request())
    assert all(var in text for var in unset) and "OS_CLOUD" in text
    assert fake.calls == []        # not even a token request


def test_wrong_credentials_are_refused_without_echoing_them(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("OS_PASSWORD", "wrong-password-123")
    text = refused(fake, tmp_path, request())
    assert "refused the credentials (401)" in text and "OS_USERNAME" in text
    assert "wrong-password-123" not in text


def test_a_missing_clouds_yaml_entry_is_refused(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("OS_CLOUD", "ovh-gra")
    text = refused(fake, tmp_path, request())
    assert "ovh-gra" in text and "clouds.yaml" in text


def test_a_name_already_used_is_refused(fake, tmp_path):
    create(fake, tmp_path / "first")
    writes = len(fake.writes())
    with pytest.raises(ValidationErrors) as err:
        create(fake, tmp_path / "second")
    assert "the name 'jsov-visio' is already used in GRA11" in str(err.value)
    assert len(fake.writes()) == writes


def test_a_private_key_is_refused(fake, tmp_path):
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n" \
          "-----END OPENSSH PRIVATE KEY-----\n"
    assert "PRIVATE key" in refused(fake, tmp_path, request(ssh_public_key=key))


# ---- DNS in an OVH zone (OvhDns through python-ovh, signed requests checked) --------------

@pytest.fixture
def ovhapi(monkeypatch, tmp_path):
    ovh_client = pytest.importorskip("ovh.client", reason="ovh missing: pip install -e '.[dev]'")
    api = FakeOvhApi().start()
    monkeypatch.setitem(ovh_client.ENDPOINTS, "loopback-test", api.endpoint)
    monkeypatch.chdir(tmp_path)                 # no ./ovh.conf
    monkeypatch.setenv("HOME", str(tmp_path))   # no ~/.ovh.conf
    monkeypatch.setattr("ovh.config.CONFIG_PATH", [])
    monkeypatch.setenv("OVH_ENDPOINT", "loopback-test")
    monkeypatch.setenv("OVH_APPLICATION_KEY", APP_KEY)
    monkeypatch.setenv("OVH_APPLICATION_SECRET", APP_SECRET)
    monkeypatch.setenv("OVH_CONSUMER_KEY", CONSUMER_KEY)
    yield api
    api.stop()
    assert api.bad_signatures == []


def test_zone_of_takes_the_longest_zone():
    assert zone_of("visio.mairie.fr", ["fr", "mairie.fr", "x.fr"]) == "mairie.fr"
    assert zone_of("mairie.fr.", ["mairie.fr"]) == "mairie.fr"
    assert zone_of("visio.mairie.fr", ["airie.fr", "example.org"]) is None


def test_dns_record_created_checked_and_deleted_twice(ovhapi):
    dns = OvhDns()
    req = request()
    assert dns.check(req) == []
    assert ovhapi.writes() == []
    res = dns.create_record(req, Server("srv", "51.75.12.11", "2001:41d0:304:200::b"))
    posts = [c.body for c in ovhapi.calls if c.method == "POST" and c.path.endswith("/record")]
    assert posts == [{"fieldType": "A", "subDomain": "visio", "target": "51.75.12.11",
                      "ttl": 60},
                     {"fieldType": "AAAA", "subDomain": "visio",
                      "target": "2001:41d0:304:200::b", "ttl": 60}]
    assert ovhapi.refreshes == ["mairie.fr"]
    assert ovhapi.records() == [("mairie.fr", "A", "visio", "51.75.12.11"),
                                ("mairie.fr", "AAAA", "visio", "2001:41d0:304:200::b")]
    assert (res.kind, res.region, res.info["zone"]) == ("dns_record", "mairie.fr", "mairie.fr")
    assert [r["type"] for r in dns.status(res)["records"]] == ["A", "AAAA"]
    assert APP_SECRET not in str(res.to_dict()) and CONSUMER_KEY not in str(res.to_dict())

    dns.delete(res)
    assert ovhapi.records() == [] and ovhapi.refreshes == ["mairie.fr", "mairie.fr"]
    writes = len(ovhapi.writes())
    dns.delete(res)                       # already gone: nothing changes, no refresh
    assert [w for w in ovhapi.writes()[writes:] if not w.startswith("DELETE")] == []
    assert ovhapi.refreshes == ["mairie.fr", "mairie.fr"]
    assert all(r.get("missing") for r in dns.status(res)["records"])


def test_dns_refusals_before_any_write(ovhapi, monkeypatch):
    dns = OvhDns()
    (err,) = dns.check(request(domain="visio.ville.fr"))
    assert "holds no DNS zone for visio.ville.fr" in str(err) and "mairie.fr" in str(err)
    ovhapi.add_record("mairie.fr", "A", "visio", "192.0.2.7")
    (err,) = OvhDns().check(request())
    assert "already has DNS records" in str(err) and "A 192.0.2.7" in str(err)
    monkeypatch.setenv("OVH_CONSUMER_KEY", "someone-elses-key")
    (err,) = OvhDns().check(request(domain="meet.example.org"))
    assert "refused the credentials" in str(err) and "OVH_CONSUMER_KEY" in err.fix
    assert "someone-elses-key" not in str(err)
    for var in ("OVH_ENDPOINT", "OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET",
                "OVH_CONSUMER_KEY"):
        monkeypatch.delenv(var)
    (err,) = OvhDns().check(request(domain="meet.example.org"))
    assert "no usable OVH API credentials" in str(err) and "OVH_ENDPOINT" in err.fix
    assert ovhapi.writes() == []


def test_a_wrong_application_secret_is_refused(ovhapi, monkeypatch):
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "not-the-secret")
    (err,) = OvhDns().check(request())
    assert "refused the request signature" in str(err) and "OVH_APPLICATION_SECRET" in err.fix
    assert "not-the-secret" not in str(err)
    ovhapi.bad_signatures.clear()       # expected here


def test_create_and_destroy_with_ovh_dns(fake, ovhapi, tmp_path):
    result = engine.create(provider(), request(dns="ovh"), tmp_path, dns=OvhDns(),
                           waits=waits(fake), echo=lambda s: None)
    assert [r.kind for r in result.state.resources] == [
        "security_group", "port", "server", "dns_record"]
    assert ovhapi.records() == [("mairie.fr", "A", "visio", result.server.public_ipv4),
                                ("mairie.fr", "AAAA", "visio", result.server.public_ipv6)]
    state = State.load(result.state.path)
    report = engine.status(provider(), state, dns=OvhDns())
    assert report["findings"] == [] and len(report["dns"][0]["records"]) == 2
    engine.destroy(provider(), state, dns=OvhDns(), echo=lambda s: None)
    assert ovhapi.records() == []
    assert fake.ours() == {"servers": [], "ports": [], "security_groups": []}


def test_a_dns_failure_removes_the_record_and_the_vm(fake, ovhapi, tmp_path):
    ovhapi.fail("POST", r"/refresh$", 500)
    with pytest.raises(UserError) as err:
        engine.create(provider(), request(dns="ovh"), tmp_path, dns=OvhDns(),
                      waits=waits(fake), echo=lambda s: None)
    assert "refreshing the zone" in str(err.value)
    assert ovhapi.records() == []
    assert fake.ours() == {"servers": [], "ports": [], "security_groups": []}


# ---- the CLI's status and destroy on a state file; clouds.yaml ------------------------------

def test_cli_status_and_destroy_from_the_state_file(fake, tmp_path, monkeypatch):
    from typer.testing import CliRunner
    # the CLI builds the provider with its defaults: poll the fake faster than a real cloud
    monkeypatch.setitem(OvhProvider.__init__.__kwdefaults__, "poll_interval", 0.01)

    from jitsi_sovereign.cli import app
    result, _ = create(fake, tmp_path)
    state_file = str(result.state.path)
    out = CliRunner().invoke(app, ["cloud", "status", "--state", state_file, "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["findings"] == [] and report["server"]["state"] == "ACTIVE"

    sg_id = result.state.resources[0].id
    fake._new_rule(sg_id, protocol=None, ethertype="IPv4")     # "any protocol" added by hand
    fake._new_rule(sg_id, protocol="udp", ethertype="IPv6")    # every UDP port, from anywhere
    out = CliRunner().invoke(app, ["cloud", "status", "--state", state_file])
    assert out.exit_code == 1
    assert "extra rule: 1-65535/tcp from 0.0.0.0/0" in out.output
    assert "extra rule: 1-65535/udp from 0.0.0.0/0" in out.output
    assert "extra rule: 1-65535/udp from ::/0" in out.output

    out = CliRunner().invoke(app, ["cloud", "destroy", "--state", state_file])
    assert out.exit_code == 0, out.output
    assert "nothing tagged jitsi-sovereign=jsov-visio is left at ovh" in out.output
    assert fake.ours() == {"servers": [], "ports": [], "security_groups": []}
    assert PASSWORD not in out.output

    out = CliRunner().invoke(app, ["cloud", "status", "--state", state_file])
    assert out.exit_code == 1 and "the server is gone" in out.output


def test_credentials_from_clouds_yaml(fake, tmp_path, monkeypatch):
    for var in ("OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_ID",
                "OS_USER_DOMAIN_NAME", "OS_REGION_NAME"):
        monkeypatch.delenv(var)
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"ovh-test": {
        "auth": {"auth_url": fake.auth_url, "username": USER, "password": PASSWORD,
                 "project_id": PROJECT_ID, "user_domain_name": "Default"},
        "region_name": "SBG5", "identity_api_version": 3}}}))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    monkeypatch.setenv("OS_CLOUD", "ovh-test")
    result, lines = create(fake, tmp_path / "out")
    assert result.state.status == "created"
    assert {c.region for c in fake.calls if c.service != "identity"} == {"GRA11"}
    assert PASSWORD not in Path(result.state.path).read_text() + "\n".join(lines)
