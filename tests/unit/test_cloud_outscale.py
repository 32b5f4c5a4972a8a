"""Contract tests of the Outscale provider: the real osc-sdk-python code path (OSC_ENDPOINT_API
pointed at loopback) sends real, signed HTTP to fake_outscale.py, which validates every
request body against `<Action>Request` of the OpenAPI spec in the SDK's wheel and every
answer against `<Action>Response`, and keeps state: "the fake ends empty" means nothing is
left.

What this proves: the request shapes (as the published spec defines them), their order,
the one group on the VM, the cleanup after each failure, destroy's idempotence, the residue
check, the refusals before any creating call. What only a real Outscale account proves:
that a Debian 13 OMI is named Debian-13-* and published by "Outscale", that the VM boots
and runs cloud-init, that UDP 10000 reaches the videobridge through the NAT (and that its
STUN mapping finds the public address), the HTTP statuses of the errors, quotas, prices.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("osc_sdk_python", reason="osc-sdk-python missing: pip install -e '.[dev]'")
pytest.importorskip("jsonschema", reason="jsonschema missing: pip install -e '.[dev]'")

import requests
from fake_outscale import ACCESS, SECRET, FakeOutscale, code, gateway_errors, problems
from fake_provider import private_key_file

from jitsi_sovereign.cloud import engine
from jitsi_sovereign.cloud.model import CreateRequest, Resource, Rule
from jitsi_sovereign.cloud.outscale import (
    OutscaleProvider,
    group_rules,
    oapi_rules,
    rules_from_oapi,
    vm_type_memory,
)
from jitsi_sovereign.cloud.provider import make_provider
from jitsi_sovereign.cloud.state import State
from jitsi_sovereign.errors import UserError, ValidationErrors

PUB = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBfVdW5dI0DbMsqmsg6Qp0XUBF1Mv1ZvmxFdUyHBv2Lj "
       "admin@laptop")
KEY = private_key_file()
ADMIN = "192.0.2.0/24"
# The firewall role's openings (roles/firewall/defaults/main.yml) as OAPI rules, IPv4
# sources only (rules.py parses the role; here they are written out to check the requests).
EXPECTED = sorted([("tcp", 22, 22, ADMIN)] + [
    (p, lo, hi, "0.0.0.0/0") for (p, lo, hi) in [
        ("tcp", 80, 80), ("tcp", 443, 443), ("udp", 10000, 10000), ("udp", 3478, 3478),
        ("tcp", 3478, 3478), ("tcp", 5349, 5349)]])
CREATING = ("Create", "Link")


@pytest.fixture
def fake(monkeypatch, tmp_path):
    osc = FakeOutscale().start()
    for var in list(os.environ):
        if var.startswith("OSC_"):
            monkeypatch.delenv(var)
    # ~/.osc/config.json (the SDK computes the path at import): one in tmp_path
    import osc_sdk_python.credentials as osc_credentials
    monkeypatch.setattr(osc_credentials, "STD_PATH",
                        str(tmp_path / "home" / ".osc" / "config.json"))
    monkeypatch.setenv("OSC_ENDPOINT_API", osc.endpoint)
    monkeypatch.setenv("OSC_ACCESS_KEY", ACCESS)
    monkeypatch.setenv("OSC_SECRET_KEY", SECRET)
    monkeypatch.setenv("OSC_REGION", "us-east-2")           # --region wins over it
    yield osc
    osc.stop()
    assert osc.invalid == [], f"requests outside the spec: {osc.invalid}"
    assert osc.bad_answers == [], f"fake answers outside the spec: {osc.bad_answers}"
    assert osc.unknown == [], f"actions the fake does not serve: {osc.unknown}"
    assert osc.leaks == [], f"the secret key was sent in: {osc.leaks}"


def provider() -> OutscaleProvider:
    return OutscaleProvider(poll_interval=0.001, wait_timeout=5, in_use_timeout=0.05,
                            retries=2, retry_delay=0.001, retry_jitter=0, max_rate=10000,
                            api_timeout=5)


def request(**over) -> CreateRequest:
    values = {"provider": "outscale", "region": "eu-west-2", "domain": "visio.mairie.fr",
              "ssh_public_key": PUB, "ssh_key_path": KEY, "admin_cidrs": [ADMIN, "::/0"],
              "name": "jsov-visio"}
    return CreateRequest(**{**values, **over})


def waits() -> engine.Waits:
    return engine.Waits(ssh_timeout=0, dns_timeout=0, banner=lambda h, p: "SSH-2.0-Fake",
                        resolve=lambda name: set(), sleep=lambda s: None)


def create(tmp_path, req=None, prov=None, echo=None):
    lines: list[str] = []
    result = engine.create(prov or provider(), req or request(), tmp_path, waits=waits(),
                           echo=echo or lines.append)
    return result, lines


# ---- the fake's validation is real ------------------------------------------------------

def test_the_fake_rejects_a_body_outside_the_spec(fake):
    assert problems("CreateSecurityGroupRuleRequest", {
        "SecurityGroupId": "sg-1", "Flow": "Inbound", "FromPortRange": 22}) == []
    assert problems("CreateSecurityGroupRuleRequest", {
        "SecurityGroupId": "sg-1", "Flow": "Inbound", "FromPortRange": "22"})
    assert problems("CreateVmsRequest", {"ImageId": "ami-1", "Bogus": 1})   # additional
    assert problems("CreateVmsRequest", {"VmType": "tinav6.c2r4p2"})        # ImageId missing
    # over the wire: the SDK's raw() skips its own type check, the fake answers 400
    gw = provider()._gw("eu-west-2")
    with pytest.raises(requests.HTTPError) as err:
        gw.raw("CreateSecurityGroupRule", SecurityGroupId="sg-1", Flow="Inbound",
               FromPortRange="22", ToPortRange=22, IpProtocol="tcp", IpRange="0.0.0.0/0")
    assert err.value.response.status_code == 400
    assert fake.invalid and "FromPortRange" in fake.invalid[0]
    fake.invalid.clear()
    # and a wrong answer would be caught too
    assert problems("CreateSecurityGroupResponse", {"SecurityGroup": {"Surprise": 1}})


def test_error_codes_come_from_the_wheel():
    assert code("no-such-vm") == "5063" and code("too-many-cores") == "10029"
    assert gateway_errors()["busy"][1] == "ResourceConflict"


# ---- create -------------------------------------------------------------------------------

def test_create_sends_the_expected_requests_in_order(fake, tmp_path):
    result, lines = create(tmp_path)
    n = len(EXPECTED)
    assert fake.writes() == (["CreateSecurityGroup", "CreateTags"]
                             + ["CreateSecurityGroupRule"] * n
                             + ["CreateVms", "CreateTags", "CreatePublicIp", "CreateTags",
                                "LinkPublicIp"])
    # every check came first, read-only
    first_write = fake.actions().index("CreateSecurityGroup")
    assert set(fake.actions()[:first_write]) == {"ReadRegions", "ReadSubregions",
                                                 "ReadVmTypes", "ReadImages",
                                                 "ReadSecurityGroups", "ReadVms",
                                                 "ReadPublicIps"}
    (sg,) = fake.bodies("CreateSecurityGroup")
    assert sg == {"SecurityGroupName": "jsov-visio",
                  "Description": "jitsi-sovereign=jsov-visio: the meeting server's openings"}
    sg_id = result.state.resources[0].id
    rules = fake.bodies("CreateSecurityGroupRule")
    assert all(r["SecurityGroupId"] == sg_id and r["Flow"] == "Inbound" for r in rules)
    assert sorted((r["IpProtocol"], r["FromPortRange"], r["ToPortRange"], r["IpRange"])
                  for r in rules) == EXPECTED          # no IPv6: the OAPI has none

    (vm,) = fake.bodies("CreateVms")
    assert vm["ImageId"] == "ami-13000002"      # the newest Debian-13-* by Outscale
    assert vm["VmType"] == "tinav6.c2r4p2"      # the default, >= 4 GB
    assert vm["SecurityGroupIds"] == [sg_id]    # ours only
    assert vm["Placement"] == {"SubregionName": "eu-west-2a"}
    assert vm["ClientToken"].startswith("jsov-visio-")
    assert "KeypairName" not in vm               # the key goes through cloud-init
    user_data = base64.b64decode(vm["UserData"]).decode()
    assert user_data == engine.plan(request()).cloud_init and PUB in user_data
    vm_id, ip_id = result.state.resources[1].id, result.state.resources[2].id
    assert fake.vms[vm_id]["SecurityGroups"] == [{"SecurityGroupId": sg_id,
                                                  "SecurityGroupName": "jsov-visio"}]
    assert fake.bodies("LinkPublicIp") == [{"PublicIpId": ip_id, "VmId": vm_id}]
    tags = fake.bodies("CreateTags")
    assert [t["ResourceIds"] for t in tags] == [[sg_id], [vm_id], [ip_id]]
    assert all(t["Tags"] == [{"Key": "jitsi-sovereign", "Value": "jsov-visio"}] for t in tags)

    assert [r.kind for r in result.state.resources] == ["security_group", "server", "ip"]
    assert {r.region for r in result.state.resources} == {"eu-west-2"}
    # the NAT pair: the linked public IP and the VM's private one
    assert result.server.public_ipv4 == fake.ips[ip_id]["PublicIp"]
    assert result.server.private_ipv4 == fake.vms[vm_id]["PrivateIp"]
    assert result.server.public_ipv6 is None
    text = Path(result.state.path).read_text() + "\n".join(lines)
    hosts = Path(result.inventory).read_text()
    group_vars = (Path(result.inventory).parent / "group_vars" / "all.yml").read_text()
    assert SECRET not in text + hosts + group_vars and ACCESS not in text + hosts + group_vars
    assert f"jitsi_sovereign_public_ip: {result.server.public_ipv4}" in group_vars
    assert f"jitsi_sovereign_private_ip: {result.server.private_ipv4}" in group_vars
    assert "3DS Outscale" in group_vars


def test_the_secnumcloud_region_is_shown_with_its_jurisdiction(fake, tmp_path):
    fake.region = "cloudgouv-eu-west-1"
    result, _ = create(tmp_path, request(region="cloudgouv-eu-west-1"))
    assert fake.bodies("CreateVms")[0]["Placement"] == {"SubregionName": "cloudgouv-eu-west-1a"}
    plan = "\n".join(engine.plan(request(region="cloudgouv-eu-west-1")).describe())
    assert "cloudgouv-eu-west-1 (Paris, FR, SecNumCloud)" in plan
    assert "3DS Outscale SAS" in plan
    group_vars = (Path(result.inventory).parent / "group_vars" / "all.yml").read_text()
    assert "SecNumCloud" in group_vars


def test_credentials_from_the_config_file_profile(fake, tmp_path, monkeypatch):
    monkeypatch.delenv("OSC_ACCESS_KEY")
    monkeypatch.delenv("OSC_SECRET_KEY")
    config = tmp_path / "home" / ".osc" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"mairie": {"access_key": ACCESS, "secret_key": SECRET,
                                             "region": "eu-west-2"}}))
    monkeypatch.setenv("OSC_PROFILE", "mairie")
    result, lines = create(tmp_path)
    assert result.state.status == "created"
    assert SECRET not in Path(result.state.path).read_text() + "\n".join(lines)


# ---- status -------------------------------------------------------------------------------

def test_status_compares_live_rules_groups_and_the_ip(fake, tmp_path):
    result, _ = create(tmp_path)
    state = State.load(result.state.path)
    report = engine.status(provider(), state)
    assert report["findings"] == []
    assert report["server"]["state"] == "running"
    assert report["server"]["public_ipv4"] == result.server.public_ipv4
    assert report["server"]["private_ipv4"] == result.server.private_ipv4
    assert report["groups"] == [state.resources[0].id]

    writes = len(fake.writes())
    sg_id, vm_id = state.resources[0].id, state.resources[1].id
    group = fake.groups[sg_id]
    group["InboundRules"].append({"IpProtocol": "tcp", "FromPortRange": 8080,
                                  "ToPortRange": 8080, "IpRanges": ["0.0.0.0/0"]})
    group["InboundRules"] = [r for r in group["InboundRules"]
                             if not (r["IpProtocol"] == "udp" and r["FromPortRange"] == 10000)]
    fake.groups["sg-other"] = {"SecurityGroupId": "sg-other", "SecurityGroupName": "x",
                               "Description": "x", "InboundRules": [], "OutboundRules": []}
    fake.vms[vm_id]["SecurityGroups"].append({"SecurityGroupId": "sg-other",
                                              "SecurityGroupName": "x"})
    report = engine.status(provider(), state)
    assert "extra rule: 8080/tcp from 0.0.0.0/0" in report["findings"]
    assert "missing rule: 10000/udp from 0.0.0.0/0" in report["findings"]
    assert "extra security group attached: sg-other" in report["findings"]
    assert len(fake.writes()) == writes        # status only reads

    # our group detached, an ICMP rule, the IP unlinked
    fake.vms[vm_id]["SecurityGroups"] = [{"SecurityGroupId": "sg-other",
                                          "SecurityGroupName": "x"}]
    group["InboundRules"].append({"IpProtocol": "icmp", "FromPortRange": -1,
                                  "ToPortRange": -1, "IpRanges": ["0.0.0.0/0"]})
    for ip in fake.ips.values():
        ip.pop("VmId")
    live = provider().status(state)
    assert live["rules"] == [] and live["groups"] == ["sg-other"]
    assert f"our security group {sg_id} is not attached to the VM" in live["findings"]
    assert "rule the plan does not have: inbound icmp from 0.0.0.0/0" in live["findings"]
    assert any("is not linked to the VM" in f for f in live["findings"])
    report = engine.status(provider(), state)
    assert "missing rule: 22/tcp from 192.0.2.0/24" in report["findings"]


def test_live_rules_read_back():
    rules = group_rules([Rule("tcp", 22, 22, ("192.0.2.0/24", "2001:db8::/32")),
                         Rule("udp", 10000, 10000, ("::/0",))])
    assert rules == [Rule("tcp", 22, 22, ("192.0.2.0/24",))]
    live = [{"IpProtocol": b["IpProtocol"], "FromPortRange": b["FromPortRange"],
             "ToPortRange": b["ToPortRange"], "IpRanges": [b["IpRange"]]}
            for b in oapi_rules(rules)]
    assert rules_from_oapi(live) == (rules, [])
    every, other = rules_from_oapi([{"IpProtocol": "-1", "IpRanges": ["0.0.0.0/0"]}])
    assert every == [Rule("tcp", 1, 65535, ("0.0.0.0/0",)), Rule("udp", 1, 65535, ("0.0.0.0/0",))]
    assert other == ["inbound any protocol from 0.0.0.0/0 (ICMP and every port included)"]


# ---- destroy / residue --------------------------------------------------------------------

def test_destroy_removes_exactly_the_state_in_reverse_and_twice_is_a_no_op(fake, tmp_path):
    result, _ = create(tmp_path)
    fake.groups["sg-mine"] = {"SecurityGroupId": "sg-mine", "SecurityGroupName": "mine",
                              "Description": "the user's", "InboundRules": [],
                              "OutboundRules": []}
    state = State.load(result.state.path)
    sg_id, vm_id, ip_id = (r.id for r in state.resources)
    link = fake.ips[ip_id]["LinkPublicIpId"]
    before = len(fake.calls)
    assert engine.destroy(provider(), state, echo=lambda s: None) == []
    deletes = [(a, b) for a, b in fake.calls[before:] if not a.startswith("Read")]
    assert deletes == [("UnlinkPublicIp", {"LinkPublicIpId": link}),
                       ("DeletePublicIp", {"PublicIpId": ip_id}),
                       ("DeleteVms", {"VmIds": [vm_id]}),
                       ("DeleteSecurityGroup", {"SecurityGroupId": sg_id})]
    assert fake.live() == {"groups": ["sg-mine"], "vms": [], "ips": []}
    assert State.load(result.state.path).resources == []

    before = len(fake.calls)
    assert engine.destroy(provider(), State.load(result.state.path), echo=lambda s: None) == []
    assert [a for a, _ in fake.calls[before:] if not a.startswith("Read")] == []
    # deleting by id what is already gone is fine too
    prov = provider()
    for kind, rid in (("ip", ip_id), ("server", vm_id), ("security_group", sg_id)):
        prov.delete(Resource(kind, rid, "eu-west-2"))


def test_residue_finds_what_carries_the_tag(fake, tmp_path):
    result, _ = create(tmp_path)
    found = provider().residue("jsov-visio")
    assert [(r.kind, r.id) for r in found] == [(r.kind, r.id) for r in result.state.resources]
    assert provider().residue("jsov-other") == []
    # a leftover the state does not list: a tagged IP
    engine.destroy(provider(), State.load(result.state.path), echo=lambda s: None)
    fake.ips["eipalloc-stray"] = {"PublicIpId": "eipalloc-stray", "PublicIp": "80.247.0.9"}
    fake.tags["eipalloc-stray"] = [{"Key": "jitsi-sovereign", "Value": "jsov-visio"}]
    assert [(r.kind, r.id) for r in provider().residue("jsov-visio")] == [
        ("ip", "eipalloc-stray")]


def test_residue_without_a_region_in_use_skips_one_that_refuses_the_credentials(fake):
    # a second destroy: no call made yet; the fake serves cloudgouv-eu-west-1 only and
    # refuses a signature for eu-west-2 (401), as another region's API would
    fake.region = "cloudgouv-eu-west-1"
    fake.ips["eipalloc-stray"] = {"PublicIpId": "eipalloc-stray", "PublicIp": "80.247.0.9"}
    fake.tags["eipalloc-stray"] = [{"Key": "jitsi-sovereign", "Value": "jsov-visio"}]
    found = provider().residue("jsov-visio")
    assert [(r.kind, r.id, r.region) for r in found] == [
        ("ip", "eipalloc-stray", "cloudgouv-eu-west-1")]
    assert fake.unauthorized == ["ReadSecurityGroups"]     # the eu-west-2 try, refused
    del fake.ips["eipalloc-stray"]


def test_every_call_is_bounded_in_time(monkeypatch):
    import socket
    import time as _time
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)        # accepts, never answers
    try:
        for var in list(os.environ):
            if var.startswith("OSC_"):
                monkeypatch.delenv(var)
        monkeypatch.setenv("OSC_ENDPOINT_API",
                           f"http://127.0.0.1:{silent.getsockname()[1]}/api/v1")
        monkeypatch.setenv("OSC_ACCESS_KEY", ACCESS)
        monkeypatch.setenv("OSC_SECRET_KEY", SECRET)
        prov = OutscaleProvider(api_timeout=0.2, retries=0, max_rate=1000)
        started = _time.monotonic()
        with pytest.raises(UserError) as err:
            prov._call("eu-west-2", "ReadRegions", "listing the regions")
        assert _time.monotonic() - started < 5
        assert "Timeout" in str(err.value) and SECRET not in str(err.value)
    finally:
        silent.close()


# ---- failures during create ---------------------------------------------------------------

@pytest.mark.parametrize(("action", "status", "name", "skip", "says"), [
    ("CreateSecurityGroup", 409, "group-already-exists", 0, "9028"),
    ("CreateTags", 500, None, 0, "500"),
    ("CreateSecurityGroupRule", 500, None, 3, "500"),
    ("CreateSecurityGroupRule", 400, "too-many-sg-rules", 2, "10017"),
    ("CreateVms", 400, "too-many-cores", 0, "10029"),
    ("CreateVms", 409, "busy", 0, "9002"),
    ("CreatePublicIp", 400, "too-many-ips", 0, "10011"),
    ("LinkPublicIp", 409, "busy", 0, "9002"),
    ("ReadVms", 500, None, 3, "500"),       # one call's 3 tries, then cleanup reads again
])
def test_a_failure_removes_everything_created(fake, tmp_path, action, status, name, skip,
                                              says):
    fake.fail(action, status, name, times=3 if action.startswith("Read") else 10, skip=skip)
    with pytest.raises(UserError) as err:
        create(tmp_path)
    assert says in str(err.value)
    if name and name.startswith("too-many"):
        assert "quota" in err.value.fix.lower()
    assert fake.empty(), fake.live()
    state = State.load(tmp_path / "cloud-state.json")
    assert state.status == "failed" and state.resources == []
    assert SECRET not in str(err.value) + err.value.fix


def test_a_rate_limit_and_a_passing_500_are_retried(fake, tmp_path):
    fake.fail("CreateSecurityGroupRule", 429, times=2)
    fake.fail("CreatePublicIp", 503, times=1)
    result, _ = create(tmp_path)
    assert result.state.status == "created"
    assert fake.writes().count("CreatePublicIp") == 2
    assert len(fake.live()["ips"]) == 1 and len(fake.live()["vms"]) == 1


def test_a_rate_limit_that_lasts_fails_and_cleans_up(fake, tmp_path):
    fake.fail("CreateVms", 429, times=10)
    with pytest.raises(UserError) as err:
        create(tmp_path)
    assert "429" in str(err.value)
    assert fake.writes().count("CreateVms") == 3        # 1 + 2 retries
    assert fake.empty()


def test_a_lost_answer_of_create_vms_finds_the_vm_by_its_client_token(fake, tmp_path):
    fake.lose_answer("CreateVms")
    with pytest.raises(UserError) as err:
        create(tmp_path)
    assert "creating the VM" in str(err.value)
    # the retries carried the same ClientToken: one VM only, found, deleted
    tokens = {b["ClientToken"] for b in fake.bodies("CreateVms")}
    assert len(fake.bodies("CreateVms")) == 3 and len(tokens) == 1
    assert "DeleteVms" in fake.writes()
    assert fake.empty()


def test_a_lost_answer_of_create_security_group_finds_it_by_name(fake, tmp_path):
    fake.lose_answer("CreateSecurityGroup", times=1)
    # the SDK retries the lost answer: the second try meets the group made by the first
    with pytest.raises(UserError) as err:
        create(tmp_path)
    assert code("group-already-exists") in str(err.value)
    assert fake.writes()[-1] == "DeleteSecurityGroup"
    assert fake.empty()


def test_a_vm_given_another_group_is_not_kept(fake, tmp_path):
    real = fake._CreateVms

    def with_default(body):
        answer = real(body)
        vm = fake.vms[answer["Vms"][0]["VmId"]]
        vm["SecurityGroups"].append({"SecurityGroupId": "sg-default",
                                     "SecurityGroupName": "default"})
        return {"Vms": [fake._vm_out(vm)]}
    fake._CreateVms = with_default
    with pytest.raises(UserError) as err:
        create(tmp_path)
    assert "not only" in str(err.value)
    assert fake.empty()


def test_a_crash_half_way_removes_what_was_created(fake, tmp_path):
    def echo(line):
        if line.startswith("  created server"):
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        create(tmp_path, echo=echo)
    assert fake.empty()
    assert State.load(tmp_path / "cloud-state.json").resources == []


def test_a_vm_that_dies_while_starting_is_removed(fake, tmp_path):
    real = fake._advance

    def dies(vm):
        real(vm)
        if vm["State"] == "running" and not fake.ips:
            vm["State"] = "terminated"
    fake._advance = dies
    with pytest.raises(UserError) as err:
        create(tmp_path)
    assert "terminated" in str(err.value)
    assert fake.empty()


# ---- refused before any creating call -----------------------------------------------------

def refused(fake, tmp_path, req=None, prov=None) -> str:
    with pytest.raises((ValidationErrors, UserError)) as err:
        create(tmp_path, req, prov)
    assert [a for a in fake.actions() if a.startswith(CREATING)] == []
    return str(err.value) + " " + str(getattr(err.value, "fix", ""))


@pytest.mark.parametrize("region", ["us-east-2", "eu-west-1", "ap-northeast-1"])
def test_a_region_outside_france_is_refused(fake, tmp_path, region):
    # us-east-2 is in the spec's own region enum: only the allow-list stops it
    text = refused(fake, tmp_path, request(region=region))
    assert region in text and "eu-west-2" in text and "cloudgouv-eu-west-1" in text
    assert fake.calls == []


def test_a_french_region_the_api_does_not_list_is_refused(fake, tmp_path):
    fake.regions = ("eu-west-2",)
    fake.region = "cloudgouv-eu-west-1"
    text = refused(fake, tmp_path, request(region="cloudgouv-eu-west-1"))
    assert "not offered" in text and "eu-west-2" in text


@pytest.mark.parametrize(("size", "says"), [
    ("tinav6.c2r2p2", "2 GiB"), ("t2.small", "2 GiB"), ("huge.box", "not a VM type"),
    ("tinav6.c2r3p2", "3 GiB"),
])
def test_an_unknown_or_small_vm_type_is_refused(fake, tmp_path, size, says):
    text = refused(fake, tmp_path, request(size=size))
    assert says in text and "tinav6.c2r4p2" in text


def test_vm_type_memory():
    assert vm_type_memory("tinav6.c4r16p1", {}) == 16
    assert vm_type_memory("m4.large", {"m4.large": 8.0}) == 8
    assert vm_type_memory("m4.large", {}) is None


def test_a_listed_big_type_is_accepted(fake, tmp_path):
    create(tmp_path, request(size="m4.large"))
    assert fake.bodies("CreateVms")[0]["VmType"] == "m4.large"


def test_no_debian_13_image_is_refused_and_a_strangers_is_never_used(fake, tmp_path):
    fake.images = [i for i in fake.images if i[2] != "Outscale" or "Debian-12" in i[1]]
    text = refused(fake, tmp_path)
    assert "no Debian 13 image" in text and "ami-666" not in str(fake.calls[-1])


@pytest.mark.parametrize("missing", ["OSC_ACCESS_KEY", "OSC_SECRET_KEY"])
def test_missing_credentials_are_refused_naming_the_variables(fake, tmp_path, monkeypatch,
                                                              missing):
    monkeypatch.delenv(missing)
    text = refused(fake, tmp_path)
    assert missing in text and "~/.osc/config.json" in text and SECRET not in text
    assert fake.calls == []


def test_a_missing_profile_is_refused(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("OSC_PROFILE", "nope")
    text = refused(fake, tmp_path)
    assert "OSC_PROFILE" in text


def test_wrong_credentials_are_refused_without_echoing_them(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("OSC_ACCESS_KEY", "AKWRONG")
    text = refused(fake, tmp_path)
    assert "401" in text and "AKWRONG" not in text and "OSC_ACCESS_KEY" in text


def test_a_name_already_used_is_refused(fake, tmp_path):
    fake.groups["sg-old"] = {"SecurityGroupId": "sg-old", "SecurityGroupName": "jsov-visio",
                             "Description": "old", "InboundRules": [], "OutboundRules": []}
    text = refused(fake, tmp_path)
    assert "already used" in text and "sg-old" in text


def test_a_tagged_leftover_makes_the_name_taken(fake, tmp_path):
    fake.ips["eipalloc-old"] = {"PublicIpId": "eipalloc-old", "PublicIp": "80.247.0.8"}
    fake.tags["eipalloc-old"] = [{"Key": "jitsi-sovereign", "Value": "jsov-visio"}]
    assert "eipalloc-old" in refused(fake, tmp_path)
    del fake.ips["eipalloc-old"]


def test_a_private_key_as_public_key_is_refused(fake, tmp_path):
    text = refused(fake, tmp_path, request(ssh_public_key=KEY.read_text()))
    assert "PRIVATE key" in text


def test_ipv6_only_admin_networks_are_refused(fake, tmp_path):
    text = refused(fake, tmp_path, request(admin_cidrs=["2001:db8::/32"]))
    assert "IPv4 --admin-cidr" in text


# ---- CLI ----------------------------------------------------------------------------------

def test_registry_and_dry_run_need_no_network(fake, tmp_path):
    assert isinstance(make_provider("outscale"), OutscaleProvider)
    plan = engine.plan(request())
    assert [k for k, _ in plan.resources] == ["security_group", "server", "ip"]
    assert all(":" not in s for r in plan.rules for s in r.sources)
    assert plan.size == "tinav6.c2r4p2"
    assert fake.calls == []


def test_cli_create_status_destroy(fake, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from jitsi_sovereign.cloud import cli

    pub = Path(str(KEY) + ".pub")
    pub.write_text(PUB + "\n")
    monkeypatch.setattr(cli, "make_provider", lambda name: provider())
    quick = waits()
    monkeypatch.setattr(engine, "Waits", lambda: quick)
    runner = CliRunner()
    out = tmp_path / "vm"
    res = runner.invoke(cli.app, ["create", "--provider", "outscale", "--region", "eu-west-2",
                                  "--domain", "visio.mairie.fr", "--ssh-key", str(pub),
                                  "--admin-cidr", ADMIN, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert SECRET not in res.output and "next: jitsi-sovereign deploy" in res.output
    state = out / "cloud-state.json"
    res = runner.invoke(cli.app, ["status", "--state", str(state)])
    assert res.exit_code == 0, res.output
    assert "matches the firewall role" in res.output
    res = runner.invoke(cli.app, ["destroy", "--state", str(state)])
    assert res.exit_code == 0, res.output
    assert fake.empty()
