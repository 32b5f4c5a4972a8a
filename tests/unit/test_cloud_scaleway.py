"""Contract tests of the Scaleway provider: the real SDK (scaleway, pinned) sends real HTTP
to a loopback fake (fake_scaleway.py) that checks every request against a table derived
from the SDK's recorded cassettes and marshalling, and keeps the resources in memory.

What they prove: the requests' shapes and order, the security group equal to the firewall
role's openings, the cleanup after any failure, destroy's exactness and idempotence, the
refusals before any creating call, no secret outside the auth header. What they cannot
prove (only a real account does): that the VM boots, that cloud-init runs the user-data,
that UDP reaches the videobridge, real quotas, prices and error codes.
"""

from __future__ import annotations

import json
import re
import socket
import threading

import pytest

pytest.importorskip("scaleway", reason="the scaleway SDK is not installed "
                                        "(pip install 'jitsi-sovereign[scaleway]')")

from fake_provider import PRIVATE, private_key_file
from fake_scaleway import (
    PROJECT,
    ROUTES,
    SECRET,
    ZONES,
    FakeScaleway,
    cassette_interactions,
    check_request,
)

from jitsi_sovereign.cloud import engine
from jitsi_sovereign.cloud.model import CreateRequest, Rule
from jitsi_sovereign.cloud.scaleway import ScalewayDns, ScalewayProvider
from jitsi_sovereign.cloud.state import State
from jitsi_sovereign.errors import UserError, ValidationErrors

PUB = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBfVdW5dI0DbMsqmsg6Qp0XUBF1Mv1ZvmxFdUyHBv2Lj "
       "admin@laptop")
KEY = private_key_file()


# ---- fixtures ------------------------------------------------------------------------------

class Banner:
    """An SSH identification line on loopback addresses 127.0.0.2-9, one port for all (the
    fake hands out its public IPs from 127.0.0.2): create's SSH wait talks real TCP."""

    def __init__(self) -> None:
        self.socks = []
        first = socket.create_server(("127.0.0.2", 0))
        self.port = first.getsockname()[1]
        self.socks.append(first)
        for n in range(3, 10):
            self.socks.append(socket.create_server((f"127.0.0.{n}", self.port)))
        self.stop = False
        for sock in self.socks:
            sock.settimeout(0.2)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock) -> None:
        while not self.stop:
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_10.0p2 Debian-5\r\n")

    def close(self) -> None:
        self.stop = True
        for sock in self.socks:
            sock.close()


@pytest.fixture
def banner():
    b = Banner()
    yield b
    b.close()


@pytest.fixture
def fake(monkeypatch, tmp_path):
    with FakeScaleway() as f:
        monkeypatch.setenv("HOME", str(tmp_path / "home"))   # no scw config file
        for key in ("SCW_PROFILE", "SCW_CONFIG_PATH", "SCW_DEFAULT_ZONE",
                    "SCW_DEFAULT_REGION", "SCW_DEFAULT_ORGANIZATION_ID"):
            monkeypatch.delenv(key, raising=False)
        for key, value in f.env().items():
            monkeypatch.setenv(key, value)
        yield f
        assert f.violations == [], f.violations


def provider(**kw) -> ScalewayProvider:
    return ScalewayProvider(sleep=lambda s: None, poll_interval=0, **kw)


def dns() -> ScalewayDns:
    return ScalewayDns(sleep=lambda s: None)


def request(**over) -> CreateRequest:
    values = {"provider": "scaleway", "region": "fr-par-2", "domain": "visio.example.org",
              "ssh_public_key": PUB, "ssh_key_path": KEY,
              "admin_cidrs": ["192.0.2.0/24"], "dns": "scaleway"}
    return CreateRequest(**{**values, **over})


def waits(fake, banner) -> engine.Waits:
    return engine.Waits(ssh_port=banner.port, ssh_timeout=5, dns_timeout=0, interval=0,
                        resolve=fake.resolve, sleep=lambda s: None)


def create(fake, banner, tmp_path, req=None, dns_provider="default", out=None):
    lines: list[str] = []
    result = engine.create(provider(), req or request(), out or tmp_path / "out",
                           dns=dns() if dns_provider == "default" else dns_provider,
                           waits=waits(fake, banner), echo=lines.append)
    return result, lines


def writes(fake) -> list[str]:
    """The creating and deleting calls, in order, ids replaced by {id}."""
    out = []
    for e in fake.log:
        if e["method"] == "GET":
            continue
        path = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", e["path"])
        extra = ""
        if e["method"] == "POST" and path.endswith("/action"):
            extra = " " + json.loads(e["raw"])["action"]
        out.append(f"{e['method']} {path}{extra}")
    return out


def body(fake, method, pattern) -> object:
    (entry,) = [e for e in fake.log if e["method"] == method and re.search(pattern, e["path"])]
    return json.loads(entry["raw"])


# ---- the table agrees with the recorded traffic ------------------------------------------

def test_every_recorded_cassette_request_passes_its_row():
    checked = set()
    for item in cassette_interactions():
        req = item["request"]
        from urllib.parse import parse_qs, urlsplit
        split = urlsplit(req["uri"])
        route = next((r for r in ROUTES if r.match(req["method"], split.path)), None)
        if route is None:   # calls this provider never makes (attach/detach volume, ...)
            continue
        raw = req.get("body") or ""
        payload = raw if route.raw_body else (json.loads(raw) if raw else {})
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        assert check_request(route, query, payload) == [], (item["file"], req["uri"])
        checked.add(route.handler)
    recorded = {r.handler for r in ROUTES if r.source.startswith("SDK cassettes")}
    assert recorded <= checked, recorded - checked


def test_the_table_refuses_a_wrong_body():
    (route,) = [r for r in ROUTES if r.handler == "create_sg"]
    assert check_request(route, {}, {"name": "x", "description": "d", "stateful": "yes",
                                     "project": PROJECT, "colour": 1}) == [
        f"POST {route.path}: stateful is str, not bool",
        f"POST {route.path}: unknown field colour"]


# ---- create ---------------------------------------------------------------------------------

def test_create_sends_the_expected_requests_in_order(fake, banner, tmp_path, capsys):
    result, lines = create(fake, banner, tmp_path)
    z = "/instance/v1/zones/fr-par-2"
    assert writes(fake) == [
        f"POST {z}/security_groups", f"PUT {z}/security_groups/{{id}}/rules",
        f"POST {z}/ips", f"POST {z}/servers", f"PATCH {z}/servers/{{id}}/user_data/cloud-init",
        f"POST {z}/servers/{{id}}/action poweron",
        "PATCH /domain/v2beta1/dns-zones/example.org/records"]
    sg = body(fake, "POST", r"/security_groups$")
    assert sg["inbound_default_policy"] == "drop" and sg["stateful"] is True
    assert sg["outbound_default_policy"] == "accept"
    assert sg["tags"] == ["jitsi-sovereign=jsov-visio-example-org"]
    ip = body(fake, "POST", r"/ips$")
    assert ip["type"] == "routed_ipv4" and ip["project"] == PROJECT
    server = body(fake, "POST", r"/servers$")
    (sg_id,) = fake.sgs
    (ip_id,) = fake.ips
    assert server["security_group"] == sg_id and server["public_ips"] == [ip_id]
    assert server["routed_ip_enabled"] is True and server["dynamic_ip_required"] is False
    assert server["commercial_type"] == "DEV1-M"
    assert server["image"] == next(i["id"] for i in fake.h_local_images(
        None, {"zone": "fr-par-2", "image_label": "debian_trixie"})[1]["local_images"]
        if "DEV1-M" in i["compatible_commercial_types"])
    (server_id,) = fake.servers
    assert fake.user_data[(server_id, "cloud-init")].decode() == \
        engine.plan(request()).cloud_init
    assert fake.servers[server_id]["state"] == "running"
    record = body(fake, "PATCH", r"/records$")["changes"][0]["add"]["records"][0]
    assert (record["name"], record["type"], record["data"]) == \
        ("visio", "A", fake.ips[ip_id]["address"])
    # the state: every id, in creation order
    state = json.loads((tmp_path / "out" / "cloud-state.json").read_text())
    assert [(r["kind"], r["id"]) for r in state["resources"]] == [
        ("security_group", sg_id), ("ip", ip_id), ("server", server_id),
        ("dns_record", fake.records["example.org"][0]["id"])]
    assert state["status"] == "created"
    assert state["resources"][2]["info"]["volumes"][0]["volume_type"] == "l_ssd"
    # the inventory deploy uses
    assert result.server.public_ipv4 == fake.ips[ip_id]["address"]
    assert result.inventory.is_file()
    assert fake.ips[ip_id]["address"] in result.inventory.read_text()
    assert result.warnings == []
    assert any(line.startswith("  SSH-2.0-") for line in lines)


def test_the_group_holds_exactly_the_firewall_roles_openings(fake, banner, tmp_path):
    create(fake, banner, tmp_path)
    sent = body(fake, "PUT", r"/rules$")["rules"]
    assert [r["position"] for r in sent] == list(range(1, len(sent) + 1))
    assert {(r["action"], r["direction"]) for r in sent} == {("accept", "inbound")}
    got = sorted(Rule(r["protocol"], r["dest_port_from"], r.get("dest_port_to") or
                      r["dest_port_from"], (r["ip_range"],)) for r in sent)
    want = sorted(Rule(r.proto, r.port_from, r.port_to, (s,))
                  for r in engine.plan(request()).rules for s in r.sources)
    assert got == want
    assert Rule("udp", 10000, 10000, ("0.0.0.0/0",)) in got
    assert Rule("tcp", 22, 22, ("192.0.2.0/24",)) in got
    assert not [r for r in got if r.port_from == 22 and r.sources != ("192.0.2.0/24",)]


def test_no_secret_leaves_the_auth_header(fake, banner, tmp_path, capsys):
    _, lines = create(fake, banner, tmp_path)
    assert all(e["token"] == SECRET for e in fake.log)
    assert not [e for e in fake.log if SECRET.encode() in e["raw"] or SECRET in str(e["query"])]
    for path in [tmp_path / "out" / "cloud-state.json", *(tmp_path / "out").rglob("*.yml")]:
        assert SECRET not in path.read_text()
    assert SECRET not in "\n".join(lines) + capsys.readouterr().out


def test_an_explicit_client_on_loopback_works_too(fake, banner, tmp_path):
    from scaleway import Client

    client = Client(access_key=fake.env()["SCW_ACCESS_KEY"], secret_key=SECRET,
                    default_project_id=PROJECT, api_url=fake.url)
    prov = ScalewayProvider(client, sleep=lambda s: None, poll_interval=0)
    engine.create(prov, request(dns="none"), tmp_path / "o", waits=waits(fake, banner),
                  echo=lambda s: None)
    assert len(fake.servers) == 1


def test_credentials_from_the_scw_config_file(fake, banner, tmp_path, monkeypatch):
    env = fake.env()
    for key in ("SCW_ACCESS_KEY", "SCW_SECRET_KEY", "SCW_DEFAULT_PROJECT_ID", "SCW_API_URL"):
        monkeypatch.delenv(key)
    config = tmp_path / "home" / ".config" / "scw" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(f"access_key: {env['SCW_ACCESS_KEY']}\nsecret_key: {SECRET}\n"
                      f"default_project_id: {PROJECT}\napi_url: {fake.url}\n")
    create(fake, banner, tmp_path, request(dns="none"))
    assert len(fake.servers) == 1
    assert SECRET not in (tmp_path / "out" / "cloud-state.json").read_text()


def test_a_silent_api_is_given_up_on(monkeypatch, tmp_path):
    """The SDK sets no timeout: every call runs with ours (bounded)."""
    import requests
    from scaleway import Client

    from jitsi_sovereign.cloud.scaleway import _Calls

    silent = socket.create_server(("127.0.0.1", 0))   # accepts, never answers
    try:
        client = Client(access_key="SCWABCDEFGHIJKLMNOPQ", secret_key=SECRET,
                        default_project_id=PROJECT,
                        api_url=f"http://127.0.0.1:{silent.getsockname()[1]}")
        prov = ScalewayProvider(client, sleep=lambda s: None)
        prov.call = _Calls(lambda s: None, attempts=2, timeout=(0.2, 0.2))
        with pytest.raises(requests.Timeout):
            prov.call(prov.instance.list_servers_types, zone="fr-par-1")
    finally:
        silent.close()


# ---- failures: everything created is removed -------------------------------------------------

def assert_cleaned(fake, tmp_path):
    assert fake.empty(), (fake.servers, fake.ips, fake.sgs, fake.volumes)
    state = State.load(tmp_path / "out" / "cloud-state.json")
    assert state.status == "failed" and state.resources == []


def test_429_is_retried_and_create_goes_on(fake, banner, tmp_path):
    fake.inject("POST", r"/security_groups$", 429, {"type": "too_many_requests",
                                                     "message": "slow down"},
                times=2, headers={"Retry-After": "1"})
    create(fake, banner, tmp_path)
    assert writes(fake)[:3] == ["POST /instance/v1/zones/fr-par-2/security_groups"] * 3
    assert len(fake.sgs) == 1 and len(fake.servers) == 1


def test_429_without_end_gives_up_bounded_and_leaves_nothing(fake, banner, tmp_path):
    fake.inject("POST", r"/ips$", 429, times=100)
    with pytest.raises(UserError, match="429"):
        create(fake, banner, tmp_path)
    assert len([e for e in fake.log if e["path"].endswith("/ips")
                and e["method"] == "POST"]) == 5
    assert_cleaned(fake, tmp_path)


@pytest.mark.parametrize(("status", "payload", "message"), [
    (409, {"type": "conflict", "message": "resource already exists"}, "409"),
    (500, {"type": "internal_error", "message": "internal error"}, "500"),
    (403, {"type": "quotas_exceeded", "message": "Quotas exceeded: instances_dev1_m"},
     "quota exceeded"),
])
def test_an_error_on_the_server_creation_removes_group_and_ip(fake, banner, tmp_path,
                                                              status, payload, message):
    fake.inject("POST", r"/servers$", status, payload)
    with pytest.raises(UserError, match=message):
        create(fake, banner, tmp_path)
    assert_cleaned(fake, tmp_path)
    deletes = [w for w in writes(fake) if w.startswith("DELETE")]
    assert deletes == ["DELETE /instance/v1/zones/fr-par-2/ips/{id}",
                       "DELETE /instance/v1/zones/fr-par-2/security_groups/{id}"]


def test_a_crash_after_the_group_was_created_removes_it(fake, banner, tmp_path, monkeypatch):
    from scaleway.instance.v1.custom_api import InstanceUtilsV1API

    def crash(self, **kwargs):
        raise RuntimeError("crash between two calls")

    monkeypatch.setattr(InstanceUtilsV1API, "set_security_group_rules", crash)
    with pytest.raises(UserError, match="crash between two calls"):
        create(fake, banner, tmp_path)
    assert_cleaned(fake, tmp_path)


def test_a_failure_after_boot_terminates_the_server_and_its_volume(fake, banner, tmp_path):
    fake.inject("PATCH", r"/records$", 500)
    with pytest.raises(UserError, match="500"):
        create(fake, banner, tmp_path)
    assert_cleaned(fake, tmp_path)
    assert "POST /instance/v1/zones/fr-par-2/servers/{id}/action terminate" in writes(fake)


def test_a_failure_before_poweron_deletes_the_stopped_server_and_its_volume(fake, banner,
                                                                           tmp_path):
    fake.inject("PATCH", r"/user_data/", 500)
    with pytest.raises(UserError, match="500"):
        create(fake, banner, tmp_path)
    assert_cleaned(fake, tmp_path)
    z = "/instance/v1/zones/fr-par-2"
    assert [w for w in writes(fake) if w.startswith("DELETE")] == [
        f"DELETE {z}/servers/{{id}}", f"DELETE {z}/volumes/{{id}}", f"DELETE {z}/ips/{{id}}",
        f"DELETE {z}/security_groups/{{id}}"]


def test_ssh_never_answering_removes_everything(fake, tmp_path):
    class Silent:
        port = 9   # discard: nothing listens there on 127.0.0.x
    with pytest.raises(UserError, match="SSH did not answer"):
        engine.create(provider(), request(), tmp_path / "out", dns=dns(),
                      waits=engine.Waits(ssh_port=Silent.port, ssh_timeout=0, dns_timeout=0,
                                         interval=0, resolve=fake.resolve,
                                         sleep=lambda s: None), echo=lambda s: None)
    assert_cleaned(fake, tmp_path)


# ---- destroy, residue, status --------------------------------------------------------------

def test_destroy_removes_exactly_the_state_then_nothing(fake, banner, tmp_path):
    create(fake, banner, tmp_path)
    # a resource of the same project that is not ours
    fake.h_create_ip("fr-par-2", {"type": "routed_ipv4", "project": PROJECT,
                                  "tags": ["other"]}, {})
    fake.log.clear()
    state = State.load(tmp_path / "out" / "cloud-state.json")
    assert engine.destroy(provider(), state, dns=dns(), echo=lambda s: None) == []
    z = "/instance/v1/zones/fr-par-2"
    assert writes(fake) == [
        "PATCH /domain/v2beta1/dns-zones/example.org/records",
        f"POST {z}/servers/{{id}}/action terminate", f"DELETE {z}/volumes/{{id}}",
        f"DELETE {z}/ips/{{id}}", f"DELETE {z}/security_groups/{{id}}"]
    assert not fake.servers and not fake.sgs and not fake.volumes
    assert [ip["tags"] for ip in fake.ips.values()] == [["other"]]
    assert fake.records["example.org"] == []
    fake.log.clear()
    again = State.load(tmp_path / "out" / "cloud-state.json")
    assert again.status == "destroyed" and again.resources == []
    assert engine.destroy(provider(), again, dns=dns(), echo=lambda s: None) == []
    assert writes(fake) == []


def test_destroy_tolerates_what_is_already_gone(fake, banner, tmp_path):
    create(fake, banner, tmp_path)
    state = State.load(tmp_path / "out" / "cloud-state.json")
    ip = next(r for r in state.resources if r.kind == "ip")
    fake.ips[ip.id]["server"] = None
    del fake.ips[ip.id]     # removed by hand in the console
    assert engine.destroy(provider(), state, dns=dns(), echo=lambda s: None) == []
    assert fake.empty()


def test_residue_check_finds_a_resource_left_by_hand(fake, banner, tmp_path):
    create(fake, banner, tmp_path)
    left = fake.h_create_ip("fr-par-3", {"type": "routed_ipv4", "project": PROJECT,
                                         "tags": ["jitsi-sovereign=jsov-visio-example-org"]},
                            {})[1]["ip"]
    state = State.load(tmp_path / "out" / "cloud-state.json")
    residue = engine.destroy(provider(), state, dns=dns(), echo=lambda s: None)
    assert [(r.kind, r.id, r.region) for r in residue] == [("ip", left["id"], "fr-par-3")]


def test_status_compares_the_live_group_with_the_role(fake, banner, tmp_path):
    create(fake, banner, tmp_path)
    state = State.load(tmp_path / "out" / "cloud-state.json")
    result = engine.status(provider(), state, dns=dns())
    assert result["findings"] == []
    assert result["server"]["state"] == "running"
    assert result["dns"][0]["present"] is True
    (sg_id,) = fake.sgs
    rules = fake.rules[sg_id]
    fake.rules[sg_id] = [r for r in rules if r.get("dest_port_from") != 10000] + [
        {**rules[-1], "id": "x", "protocol": "TCP", "dest_port_from": 22, "dest_port_to": None,
         "ip_range": "0.0.0.0/0"}]
    fake.sgs[sg_id]["inbound_default_policy"] = "accept"
    (server_id,) = fake.servers
    fake.servers[server_id]["security_group"] = {"id": "default-sg", "name": "Default"}
    findings = engine.status(provider(), state, dns=dns())["findings"]
    assert "missing rule: 10000/udp from 0.0.0.0/0" in findings
    assert "extra rule: 22/tcp from 0.0.0.0/0" in findings
    assert "extra security group attached: default-sg" in findings
    assert "the security group's inbound policy is accept, not drop" in findings


# ---- refused before any creating call ---------------------------------------------------------

@pytest.mark.parametrize(("over", "message"), [
    ({"region": "nl-ams-1"}, "fr-par-1, fr-par-2, fr-par-3"),
    ({"size": "XL-9000"}, "'XL-9000' is not a server type of fr-par-2"),
    ({"size": "DEV1-S"}, "'DEV1-S' has 2 GB of memory"),
    ({"size": "START1-M"}, "end of service"),
    ({"ssh_public_key": PRIVATE}, "PRIVATE key"),
    ({"domain": "visio.other.net"}, "no DNS zone of this Scaleway project holds visio.other.net"),
])
def test_bad_input_is_refused_before_any_creating_call(fake, banner, tmp_path, over, message):
    with pytest.raises(UserError) as err:     # ValidationErrors, or the region's own
        create(fake, banner, tmp_path, request(**over))
    assert message in str(err.value)
    assert fake.creating_calls() == []


@pytest.mark.parametrize("missing", ["SCW_ACCESS_KEY", "SCW_SECRET_KEY",
                                     "SCW_DEFAULT_PROJECT_ID"])
def test_missing_credentials_are_named_and_nothing_is_called(fake, banner, tmp_path,
                                                             monkeypatch, missing):
    monkeypatch.delenv(missing)
    with pytest.raises(ValidationErrors) as err:
        create(fake, banner, tmp_path)
    assert f"Scaleway credentials missing: {missing}" in str(err.value)
    assert "SCW_ACCESS_KEY, SCW_SECRET_KEY and SCW_DEFAULT_PROJECT_ID" in str(err.value)
    assert fake.log == []


def test_a_name_taken_is_refused(fake, banner, tmp_path):
    fake.h_create_sg("fr-par-2", {"name": "jsov-visio-example-org", "description": "x",
                                  "stateful": True, "project": PROJECT}, {})
    with pytest.raises(ValidationErrors, match="is taken at Scaleway"):
        create(fake, banner, tmp_path)
    assert fake.creating_calls() == []


def test_an_existing_a_record_is_refused(fake, banner, tmp_path):
    fake.records["example.org"].append({"id": "r1", "name": "visio", "type": "A",
                                        "data": "192.0.2.9", "ttl": 300, "priority": 0})
    with pytest.raises(ValidationErrors, match=r"already has an A record \(192.0.2.9\)"):
        create(fake, banner, tmp_path)
    assert fake.creating_calls() == []


# ---- the CLI against the fake ------------------------------------------------------------------

def test_cli_status_and_destroy(fake, banner, tmp_path):
    from typer.testing import CliRunner

    from jitsi_sovereign.cli import app

    fake.delete_polls = 0   # the CLI polls with its real interval: no wait needed here
    create(fake, banner, tmp_path)
    state = str(tmp_path / "out" / "cloud-state.json")
    result = CliRunner().invoke(app, ["cloud", "status", "--state", state])
    assert result.exit_code == 0, result.output
    assert "matches the firewall role" in result.output
    result = CliRunner().invoke(app, ["cloud", "destroy", "--state", state])
    assert result.exit_code == 0, result.output
    assert "nothing tagged jitsi-sovereign=jsov-visio-example-org is left" in result.output
    assert fake.empty()
    assert SECRET not in result.output


def test_zones_are_the_allowed_ones():
    from jitsi_sovereign.cloud.regions import REGIONS

    assert tuple(REGIONS["scaleway"]) == ZONES


def test_cli_create_end_to_end(fake, banner, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from jitsi_sovereign.cli import app

    fake.boot_polls = 0      # the CLI's provider polls with its real interval
    test_waits = waits(fake, banner)
    monkeypatch.setattr(engine, "Waits", lambda: test_waits)
    key = tmp_path / "id_ed25519"
    key.write_text(PRIVATE)
    key.chmod(0o600)
    (tmp_path / "id_ed25519.pub").write_text(PUB + "\n")
    out = tmp_path / "meet"
    result = CliRunner().invoke(app, [
        "cloud", "create", "--provider", "scaleway", "--region", "fr-par-1",
        "--domain", "visio.example.org", "--ssh-key", str(key), "--dns", "scaleway",
        "--admin-cidr", "192.0.2.0/24", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"inventory: {out / 'hosts.yml'}" in result.output
    assert "jitsi-sovereign deploy -i" in result.output
    assert str(key) in (out / "hosts.yml").read_text()          # the private key's path
    # deploy's own inventory check accepts it as it is
    from jitsi_sovereign.inventory import load_and_validate

    (host,) = load_and_validate(out / "hosts.yml").hosts
    assert (host.name, host.address, host.user) == ("visio.example.org", "127.0.0.2", "debian")
    import yaml
    group = yaml.safe_load((out / "group_vars" / "all.yml").read_text())
    assert group["jitsi_sovereign_hosting"]["provider"] == "Scaleway"
    assert group["jitsi_sovereign_hosting"]["region"] == "fr-par-1 (Paris)"
    assert group["firewall_admin_cidrs"] == ["192.0.2.0/24"]
    assert PRIVATE.splitlines()[1] not in json.dumps(fake.log, default=str)
    assert SECRET not in result.output
    assert len(fake.servers) == 1


def test_cli_refuses_a_private_key_without_its_pub(fake, tmp_path):
    from typer.testing import CliRunner

    from jitsi_sovereign.cli import app

    key = tmp_path / "id_ed25519"
    key.write_text(PRIVATE)
    result = CliRunner().invoke(app, [
        "cloud", "create", "--provider", "scaleway", "--region", "fr-par-1",
        "--domain", "visio.example.org", "--ssh-key", str(key)])
    assert isinstance(result.exception, UserError)
    assert "no public key" in result.exception.message and "ssh-keygen -y" in \
        result.exception.fix
    assert fake.log == []
