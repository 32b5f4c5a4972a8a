"""Contract tests of `--dns gandi` (cloud/gandi.py's GandiDns): real HTTP from `requests`
to a loopback LiveDNS v5 (fake_gandi.py) that checks the Authorization header, the method,
path and body of every request, keeps the zones' rrsets, and injects failures.

What this proves: the requests' shapes and order, the refusals before any creating call,
the cleanup after a failure, delete's idempotence, the secret kept out of the state, the
inventory and the output. What only a real Gandi account proves: that the token's
permissions suffice, that Gandi's answers match its published reference, propagation time.
"""

from __future__ import annotations

import pytest

pytest.importorskip("requests", reason="requests missing: pip install -e '.[gandi]'")

from fake_gandi import API_KEY, PAT, PREFIX, FakeGandi
from test_cloud_ovh import fake, provider, request, waits  # noqa: F401  (fake: a fixture)

from jitsi_sovereign.cloud import engine
from jitsi_sovereign.cloud.gandi import DNS_TTL, GandiDns, zone_candidates
from jitsi_sovereign.cloud.model import Server
from jitsi_sovereign.cloud.provider import DNS_PROVIDERS, make_dns
from jitsi_sovereign.cloud.state import State
from jitsi_sovereign.errors import UserError, ValidationErrors

SERVER = Server("srv", "51.75.12.11", "2001:41d0:304:200::b")
NO_WRITES: list[str] = []


@pytest.fixture
def gandi(monkeypatch):
    api = FakeGandi().start()
    monkeypatch.setenv("GANDI_API_URL", api.url)
    monkeypatch.setenv("GANDI_PAT", PAT)
    monkeypatch.delenv("GANDI_API_KEY", raising=False)
    yield api
    api.stop()
    assert api.unknown == [], f"requests the fake does not serve: {api.unknown}"
    assert api.bad == [], f"malformed requests: {api.bad}"
    # every request carried the token, in one of LiveDNS's two schemes
    assert all(c.auth.startswith(("Bearer ", "Apikey ")) for c in api.calls)


def dns() -> GandiDns:
    return GandiDns(retries=3, retry_delay=0)


def test_registered_and_zone_candidates():
    assert DNS_PROVIDERS["gandi"][:2] == ("jitsi_sovereign.cloud.gandi", "GandiDns")
    assert zone_candidates("visio.ville.mairie.fr.") == ["visio.ville.mairie.fr",
                                                         "ville.mairie.fr", "mairie.fr"]
    assert DNS_TTL == 300       # Gandi's minimum


def test_record_created_checked_and_deleted_twice(gandi):
    d = make_dns("gandi", retries=0)
    assert isinstance(d, GandiDns)
    req = request(dns="gandi")
    assert d.check(req) == []
    assert gandi.writes() == NO_WRITES
    # the longest zone first: visio.mairie.fr is not a zone, mairie.fr is
    assert [str(c) for c in gandi.calls] == [
        f"GET {PREFIX}/domains/visio.mairie.fr", f"GET {PREFIX}/domains/mairie.fr",
        f"GET {PREFIX}/domains/mairie.fr/records/visio"]
    res = d.create_record(req, SERVER)
    posts = [(c.path, c.body) for c in gandi.calls if c.method == "POST"]
    assert posts == [
        (f"{PREFIX}/domains/mairie.fr/records/visio/A",
         {"rrset_values": ["51.75.12.11"], "rrset_ttl": 300}),
        (f"{PREFIX}/domains/mairie.fr/records/visio/AAAA",
         {"rrset_values": ["2001:41d0:304:200::b"], "rrset_ttl": 300})]
    assert all(c.auth == f"Bearer {PAT}" for c in gandi.calls)
    assert gandi.records() == [("mairie.fr", "visio", "A", ("51.75.12.11",), 300),
                               ("mairie.fr", "visio", "AAAA", ("2001:41d0:304:200::b",), 300)]
    assert (res.kind, res.id, res.region) == ("dns_record", "visio/A,visio/AAAA", "mairie.fr")
    assert PAT not in str(res.to_dict())
    st = d.status(res)
    assert [(r["type"], r["values"], r["ttl"]) for r in st["records"]] == [
        ("A", ["51.75.12.11"], 300), ("AAAA", ["2001:41d0:304:200::b"], 300)]

    d.delete(res)
    assert gandi.records() == []
    d.delete(res)                                 # already gone: 404 is done
    assert gandi.writes()[-2:] == [f"DELETE {PREFIX}/domains/mairie.fr/records/visio/A",
                                   f"DELETE {PREFIX}/domains/mairie.fr/records/visio/AAAA"]
    assert all(r.get("missing") for r in d.status(res)["records"])


def test_apex_and_ipv4_only(gandi):
    d = dns()
    req = request(domain="example.org", dns="gandi")
    assert d.check(req) == []
    res = d.create_record(req, Server("srv", "192.0.2.9"))
    assert gandi.records() == [("example.org", "@", "A", ("192.0.2.9",), 300)]
    d.delete(res)
    assert gandi.records() == []


def test_refusals_before_any_write(gandi, monkeypatch):
    (err,) = dns().check(request(domain="visio.ville.fr"))
    assert "holds no LiveDNS zone for visio.ville.fr" in str(err) and "--dns none" in err.fix
    gandi.add("mairie.fr", "visio", "CNAME", ["other.example.net."])
    (err,) = dns().check(request())
    assert "already has DNS records" in str(err) and "CNAME other.example.net." in str(err)
    gandi.zones["mairie.fr"].clear()
    gandi.add("mairie.fr", "visio", "TXT", ['"hello"'])     # a TXT record is no obstacle
    assert dns().check(request()) == []
    gandi.forbidden.add("mairie.fr")                    # the zone: another organisation's
    (err,) = dns().check(request())
    assert "holds no LiveDNS zone" in str(err) and "may not read mairie.fr (403)" in str(err)
    gandi.forbidden.clear()
    gandi.fail("GET", r"/records/visio$", 403)          # the zone, but not its records
    (err,) = dns().check(request())
    assert "may not" in str(err) and "403" in str(err) and "GANDI_PAT" in err.fix
    monkeypatch.setenv("GANDI_PAT", "someone-elses-token")
    (err,) = dns().check(request(domain="meet.example.org"))
    assert "refused the credentials" in str(err) and "GANDI_PAT" in err.fix
    assert "someone-elses-token" not in str(err) + err.fix
    monkeypatch.delenv("GANDI_PAT")
    calls = len(gandi.calls)
    (err,) = dns().check(request(domain="meet.example.org"))
    assert "GANDI_PAT is not set" in str(err) and len(gandi.calls) == calls   # no call
    assert gandi.writes() == NO_WRITES


def test_the_deprecated_api_key_when_no_pat(gandi, monkeypatch):
    monkeypatch.delenv("GANDI_PAT")
    monkeypatch.setenv("GANDI_API_KEY", API_KEY)
    assert dns().check(request()) == []
    assert {c.auth for c in gandi.calls} == {f"Apikey {API_KEY}"}


def test_429_and_500_retried_bounded(gandi):
    gandi.fail("GET", r"/domains/mairie\.fr$", 429, times=2)
    gandi.fail("POST", r"/visio/A$", 500, times=1)
    d = dns()
    assert d.check(request()) == []
    d.create_record(request(), SERVER)
    assert len(gandi.records()) == 2
    gandi.fail("GET", r"/domains/example\.org$", 429, times=10)
    (err,) = dns().check(request(domain="meet.example.org"))
    assert "429" in str(err)
    # 1 + 3 retries, then it stops
    assert sum(str(c) == f"GET {PREFIX}/domains/example.org" for c in gandi.calls) == 4


def test_a_failed_aaaa_removes_the_a_record(gandi):
    gandi.fail("POST", r"/visio/AAAA$", 500, times=10)
    d = dns()
    with pytest.raises(UserError) as err:
        d.create_record(request(), SERVER)
    assert "creating the AAAA record" in str(err.value) and "500" in str(err.value)
    assert gandi.records() == []
    assert gandi.writes()[-1] == f"DELETE {PREFIX}/domains/mairie.fr/records/visio/A"


def test_409_a_record_made_meanwhile_is_not_ours(gandi):
    d = dns()
    assert d.check(request()) == []
    gandi.add("mairie.fr", "visio", "AAAA", ["2001:db8::7"])     # someone else, after check
    with pytest.raises(UserError) as err:
        d.create_record(request(), SERVER)
    assert "409" in str(err.value) and "not ours" in str(err.value)
    # our A record removed, theirs kept
    assert gandi.records() == [("mairie.fr", "visio", "AAAA", ("2001:db8::7",), 10800)]


def test_a_lost_post_answer_retried_finds_its_own_record(gandi):
    gandi.lose_answer.add(f"POST {PREFIX}/domains/mairie.fr/records/visio/A")
    d = dns()
    res = d.create_record(request(), SERVER)
    assert res.id == "visio/A,visio/AAAA" and len(gandi.records()) == 2
    assert gandi.writes().count(f"POST {PREFIX}/domains/mairie.fr/records/visio/A") == 2
    d.delete(res)
    assert gandi.records() == []


# ---- the engine: a whole create with --dns gandi (the OVHcloud fake as the provider) ----

def test_create_status_destroy_with_gandi_dns(fake, gandi, tmp_path):  # noqa: F811
    lines: list[str] = []
    result = engine.create(provider(), request(dns="gandi"), tmp_path, dns=dns(),
                           waits=waits(fake), echo=lines.append)
    assert [r.kind for r in result.state.resources] == [
        "security_group", "port", "server", "dns_record"]
    assert gandi.records() == [
        ("mairie.fr", "visio", "A", (result.server.public_ipv4,), 300),
        ("mairie.fr", "visio", "AAAA", (result.server.public_ipv6,), 300)]
    written = result.state.path.read_text() + (tmp_path / "hosts.yml").read_text() + \
        "".join(p.read_text() for p in tmp_path.rglob("*.yml")) + "\n".join(lines)
    assert PAT not in written

    state = State.load(result.state.path)
    assert state.dns == "gandi"
    report = engine.status(provider(), state, dns=dns())
    assert report["findings"] == [] and len(report["dns"][0]["records"]) == 2

    engine.destroy(provider(), state, dns=dns(), echo=lines.append)
    assert gandi.records() == []
    assert fake.ours() == {"servers": [], "ports": [], "security_groups": []}
    writes = len(gandi.writes())
    engine.destroy(provider(), State.load(result.state.path), dns=dns(), echo=lines.append)
    assert gandi.writes()[writes:] == NO_WRITES          # twice: nothing to do
    assert PAT not in "\n".join(lines)


def test_an_unheld_domain_is_refused_before_the_vm(fake, gandi, tmp_path):  # noqa: F811
    with pytest.raises(ValidationErrors) as err:
        engine.create(provider(), request(domain="visio.ville.fr", dns="gandi"), tmp_path,
                      dns=dns(), waits=waits(fake), echo=lambda s: None)
    assert "holds no LiveDNS zone" in str(err.value)
    assert fake.writes() == [] and gandi.writes() == NO_WRITES


def test_a_dns_failure_removes_the_records_and_the_vm(fake, gandi, tmp_path):  # noqa: F811
    gandi.fail("POST", r"/visio/AAAA$", 403, times=1)
    with pytest.raises(UserError) as err:
        engine.create(provider(), request(dns="gandi"), tmp_path, dns=dns(),
                      waits=waits(fake), echo=lambda s: None)
    assert "403" in str(err.value)
    assert gandi.records() == []
    assert fake.ours() == {"servers": [], "ports": [], "security_groups": []}


def test_cli_status_and_destroy_build_gandi_from_the_state(fake, gandi, tmp_path,  # noqa: F811
                                                           monkeypatch):
    from typer.testing import CliRunner

    from jitsi_sovereign.cli import app
    from jitsi_sovereign.cloud.ovh import OvhProvider
    monkeypatch.setitem(OvhProvider.__init__.__kwdefaults__, "poll_interval", 0.01)
    result = engine.create(provider(), request(dns="gandi"), tmp_path, dns=dns(),
                           waits=waits(fake), echo=lambda s: None)
    state_file = str(result.state.path)
    out = CliRunner().invoke(app, ["cloud", "status", "--state", state_file])
    assert out.exit_code == 0, out.output
    assert "visio/A" in out.output and result.server.public_ipv4 in out.output
    out = CliRunner().invoke(app, ["cloud", "destroy", "--state", state_file])
    assert out.exit_code == 0, out.output
    assert "deleted dns_record visio/A,visio/AAAA" in out.output
    assert gandi.records() == [] and PAT not in out.output
