"""The audit's shared fetches (context.py, configread.py) and its sovereignty area, against
a loopback HTTPS site (tests/unit/audit_site.py): --connect-to 127.0.0.1:PORT, --cafile."""

from __future__ import annotations

import shutil

import pytest
from audit_site import GOOD_CONFIG, JS, serve

from jitsi_sovereign.audit import configread, context, sovereignty
from jitsi_sovereign.confcheck.configjs import ConfigJsError


def by_id(findings):
    return {f.id: f for f in findings}


@pytest.fixture
def site(tmp_path):
    with serve(tmp_path) as s:
        yield s.jitsi()


# ------------------------------------------------------------------ reading config.js

PACKAGED = """/* eslint-disable comma-dangle, no-unused-vars, no-var, prefer-template */
var subdir = '<!--# echo var="subdir" default="" -->';
var subdomain = '<!--# echo var="subdomain" default="" -->';
if (subdomain) {
    subdomain = subdomain.substring(0, subdomain.length - 1).split('.').join('_') + '.';
}
var config = {
    hosts: {
        domain: 'meet.test',
        muc: 'conference.' + subdomain + 'meet.test',
    },
    bosh: 'https://meet.test/' + subdir + 'http-bind',
    websocket: `wss://meet.test/${subdir}xmpp-websocket`,
    p2p: {stunServers: [{urls: 'stun:meet-jit-si-turnrelay.jitsi.net:443'}]},
    startAudioMuted: 10 + 0,
    flag: !0,
    computed: location.hostname,
};
config.gravatar = {baseUrl: 'https://www.gravatar.com/avatar/'};
config.analytics = {disabled: true};
"""


def test_packaged_config_reads_like_a_browser_gets_it():
    read = configread.read(PACKAGED)
    c = read.config
    assert c["hosts"]["muc"] == "conference.meet.test"
    assert c["bosh"] == "https://meet.test/http-bind"
    assert c["websocket"] == "wss://meet.test/xmpp-websocket"
    assert c["startAudioMuted"] == 10 and c["flag"] is True
    assert c["computed"] is None and read.computed == ["computed"]
    assert c["gravatar"] == {"baseUrl": "https://www.gravatar.com/avatar/"}
    assert read.hosts["www.gravatar.com"] == ["gravatar.baseUrl"]
    assert read.hosts["meet-jit-si-turnrelay.jitsi.net"] == ["p2p.stunServers[0].urls"]


@pytest.mark.parametrize("jaas", ["false", "true"])
def test_if_with_a_known_condition(jaas):
    """Jitsi's packaged file sets JaaS values under `if (enableJaaS)`: read only when
    that branch runs."""
    read = configread.read(f"var enableJaaS = {jaas};\nvar config = {{a: 1}};\n"
                           "if (enableJaaS) {\n"
                           "    config.dialInNumbersUrl = 'https://mapper.jitsi.net/dids';\n"
                           "} else { config.b = 2; }\n"
                           "if (window.x) { config.c = 3; }\n")
    if jaas == "true":
        assert read.config == {"a": 1, "dialInNumbersUrl": "https://mapper.jitsi.net/dids"}
        assert read.hosts == {"mapper.jitsi.net": ["dialInNumbersUrl"]}
    else:
        assert read.config == {"a": 1, "b": 2}
        assert read.hosts == {}


def test_strings_outside_the_object_are_hosts_too():
    read = configread.read("var config = {};\nvar x = 'https://tracker.example.com/t.js';\n")
    assert read.hosts == {"tracker.example.com": ["line 2"]}


@pytest.mark.parametrize("text", ["var config = {a: 1,,};", "var config = {", "<html>"])
def test_syntax_error_is_a_configjs_error(text):
    with pytest.raises(ConfigJsError, match="syntax error"):
        configread.read(text)


def test_no_config_object():
    assert configread.read("var other = {a: 1};").config is None


# ------------------------------------------------------------------ the served file


def test_good_config_passes(site):
    found = by_id(sovereignty.run(site.context()))
    failed = {k: f.reason for k, f in found.items() if f.status == "failed"}
    assert failed == {}
    assert found["sovereignty.jitsi"].status == "passed"
    assert found["sovereignty.interface_config"].status == "skipped"
    assert "not served" in found["sovereignty.interface_config"].reason
    for f in found.values():
        assert f.texts["fr"]["title"], f.id


def test_config_js_fetched_once(site):
    ctx = site.context()
    assert ctx.config_js() is ctx.config_js()
    assert site.requests.count("https /config.js") == 1


def test_gravatar_url_fails(site):
    site.jitsi(GOOD_CONFIG.replace("gravatar: {disabled: true},",
                                   "gravatar: {baseUrl: 'https://www.gravatar.com/avatar/'},"))
    found = by_id(sovereignty.run(site.context()))
    g = found["sovereignty.gravatar"]
    assert g.status == "failed" and g.severity == "high"
    assert "www.gravatar.com" in g.reason
    h = found["sovereignty.hosts"]
    assert h.status == "failed" and h.severity == "high"
    assert h.params["third_parties"] == ["www.gravatar.com"]
    assert any("gravatar.baseUrl" in e for e in h.evidence)
    assert "Gravatar" in g.texts["fr"]["reason"]


def test_gravatar_not_disabled_fails(site):
    site.jitsi(GOOD_CONFIG.replace("gravatar: {disabled: true},", "")
               .replace("disableThirdPartyRequests: true,", ""))
    found = by_id(sovereignty.run(site.context()))
    assert found["sovereignty.gravatar"].status == "failed"
    assert found["sovereignty.third_party_requests"].status == "failed"


def test_jitsi_relay_as_stun_fails(site):
    site.jitsi(GOOD_CONFIG.replace("stun:meet.test:3478",
                                   "stun:meet-jit-si-turnrelay.jitsi.net:443"))
    s = by_id(sovereignty.run(site.context()))["sovereignty.stun"]
    assert s.status == "failed" and s.severity == "high"
    assert "meet-jit-si-turnrelay.jitsi.net" in s.reason


def test_stun_of_the_same_organisation_passes(site):
    site.jitsi(GOOD_CONFIG.replace("stun:meet.test:3478", "stun:turn.test:3478")
               .replace("domain: 'meet.test'", "domain: 'meet.example.fr'")
               .replace("stun:turn.test", "stun:turn.example.fr"))
    found = by_id(sovereignty.run(site.context()))
    assert found["sovereignty.stun"].status == "passed", found["sovereignty.stun"].reason


def test_stun_at_the_server_address_is_its_own(site):
    site.jitsi(GOOD_CONFIG.replace("stun:meet.test:3478", "stun:127.0.0.1:3478"))
    found = by_id(sovereignty.run(site.context()))
    assert found["sovereignty.stun"].status == "passed", found["sovereignty.stun"].reason
    assert found["sovereignty.hosts"].status == "passed"


def test_unknown_outside_host_is_medium(site):
    site.jitsi(GOOD_CONFIG.replace("doNotStoreRoom: true,",
                                   "doNotStoreRoom: true, legalUrls: {privacy: "
                                   "'https://www.other-org.example/privacy'},"))
    h = by_id(sovereignty.run(site.context()))["sovereignty.hosts"]
    assert (h.status, h.severity) == ("failed", "medium")
    assert h.params["other_hosts"] == ["www.other-org.example"]


def test_analytics_and_services(site):
    site.jitsi(GOOD_CONFIG.replace("analytics: {disabled: true, rtcstatsEnabled: false},",
                                   "analytics: {amplitudeAPPKey: 'k'},")
               .replace("giphy: {enabled: false},", "giphy: {enabled: true},"))
    found = by_id(sovereignty.run(site.context()))
    assert found["sovereignty.analytics"].status == "failed"
    assert "amplitudeAPPKey" in found["sovereignty.analytics"].reason
    assert found["sovereignty.services"].status == "failed"
    assert "GIPHY" in found["sovereignty.services"].reason


def test_e2ee_and_rooms(site):
    site.jitsi(GOOD_CONFIG.replace("e2ee: {disabled: false},", "e2ee: {disabled: true},")
               .replace("doNotStoreRoom: true,", ""))
    found = by_id(sovereignty.run(site.context()))
    assert (found["sovereignty.e2ee"].status, found["sovereignty.e2ee"].severity) == \
        ("failed", "low")
    assert found["sovereignty.rooms"].status == "failed"
    assert found["sovereignty.welcome_page"].status == "passed"


def test_interface_config_links(site):
    site.routes["/interface_config.js"] = (200, JS, "var interfaceConfig = {\n"
                                           "  JITSI_WATERMARK_LINK: 'https://jitsi.org',\n"
                                           "  APP_NAME: 'Jitsi Meet'};\n"
                                           "interfaceConfig.SUPPORT_URL = 'https://meet.test/';\n")
    f = by_id(sovereignty.run(site.context()))["sovereignty.interface_config"]
    assert (f.status, f.severity) == ("failed", "low")
    assert f.params["hosts"] == ["jitsi.org"]


# ------------------------------------------------------------------ bad input


def test_syntax_error_is_a_failed_finding_not_a_traceback(site):
    site.jitsi("var config = {\n  hosts: {domain: 'meet.test',,}\n};\n")
    ctx = site.context()
    with pytest.raises(context.Unreadable, match="cannot be read as JavaScript"):
        ctx.config_js()
    found = by_id(sovereignty.run(ctx))
    c = found["sovereignty.config_js"]
    assert (c.status, c.severity) == ("failed", "high")
    assert "line 2" in c.reason.lower()
    if shutil.which("node"):
        assert "node --check: SyntaxError" in c.reason
    assert found["sovereignty.gravatar"].status == "skipped"
    assert context.fatal_error(list(found.values())) is None  # it is Jitsi, just broken


def test_not_jitsi_when_no_config_js(tmp_path):
    with serve(tmp_path) as site:
        site.routes["/"] = (200, {"Content-Type": "text/html"}, "<!DOCTYPE html><p>a blog")
        ctx = site.context()
        with pytest.raises(context.NotJitsi):
            ctx.config_js()
        found = sovereignty.run(ctx)
    assert [f.id for f in found] == ["sovereignty.jitsi"]
    assert found[0].status == "failed" and "does not look like a Jitsi Meet" in found[0].reason
    assert context.fatal_error(found) == found[0].reason


def test_not_jitsi_when_config_js_is_the_html_page(tmp_path):
    with serve(tmp_path) as site:
        site.routes["/config.js"] = (200, {"Content-Type": "text/html"}, "<!doctype html><p>")
        with pytest.raises(context.NotJitsi, match="HTML page"):
            site.context().config_js()


def test_not_jitsi_when_config_js_declares_no_config(tmp_path):
    with serve(tmp_path) as site:
        site.routes["/config.js"] = (200, JS, "window.settings = {a: 1};")
        with pytest.raises(context.NotJitsi, match="declares no `config`"):
            site.context().config_js()


def test_rate_limited(tmp_path):
    with serve(tmp_path) as site:
        site.routes["/"] = (429, {"Retry-After": "60"}, "slow down")
        site.routes["/config.js"] = (429, {"Retry-After": "60"}, "slow down")
        found = sovereignty.run(site.context())
    assert {f.status for f in found} == {"skipped"}
    assert all("429" in f.reason for f in found)


def test_rate_limit_with_a_short_retry_after_is_retried_once(tmp_path):
    with serve(tmp_path) as site:
        site.routes["/config.js"] = (429, {"Retry-After": "0"}, "")
        ctx = site.context()
        with pytest.raises(context.RateLimited):
            ctx.config_js()
        assert site.requests.count("https /config.js") == 2


def test_unreachable_is_skipped_with_the_reason(tmp_path):
    import socket

    from jitsi_sovereign.audit.context import AuditContext
    from jitsi_sovereign.audit.target import parse_target

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = AuditContext(parse_target("https://meet.test", connect_to=f"127.0.0.1:{port}",
                                    timeout=1))
    assert "connection refused" in ctx.https_error()
    found = sovereignty.run(ctx)
    assert {f.status for f in found} == {"skipped"}
    assert "connection refused" in found[0].reason


def test_newer_syntax_is_skipped_not_failed(site):
    """Valid JavaScript the reader (ECMAScript 2017) cannot parse: no false failure."""
    import shutil

    if shutil.which("node") is None:
        pytest.skip("node is not installed: the syntax error cannot be confirmed or refuted")
    site.jitsi(GOOD_CONFIG + "var muc = config.hosts?.muc ?? 'x';\n")
    ctx = site.context()
    with pytest.raises(context.Unsupported, match="valid JavaScript"):
        ctx.config_js()
    found = by_id(sovereignty.run(ctx))
    assert found["sovereignty.jitsi"].status == "passed"
    assert found["sovereignty.config_js"].status == "skipped"
    assert "ECMAScript 2017" in found["sovereignty.hosts"].reason
