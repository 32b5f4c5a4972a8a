"""config.js read with esprima (confcheck/configjs.py) and the filter plugin around it."""

from __future__ import annotations

import pytest
from role_files import plugin

from jitsi_sovereign.confcheck import configjs

DOMAIN = "meet.example.org"


def good(**over: str) -> str:
    """A config.js that keeps every baseline value and the default promises."""
    parts = {
        "hosts": f"{{ domain: '{DOMAIN}', anonymousdomain: 'guest.{DOMAIN}', "
                 f"muc: 'conference.{DOMAIN}' }}",
        "bosh": f"'//{DOMAIN}/http-bind'",
        "websocket": f"'wss://{DOMAIN}/xmpp-websocket'",
        "disableThirdPartyRequests": "true",
        "gravatar": "{ disabled: true }",
        "analytics": "{ disabled: true, rtcstatsEnabled: false, watchRTCEnabled: false }",
        "doNotStoreRoom": "true",
        "enableCalendarIntegration": "false",
        "giphy": "{ enabled: false }",
        "whiteboard": "{ enabled: false }",
        "recordingService": "{ enabled: false }",
        "transcription": "{ enabled: false }",
        "liveStreaming": f"{{ enabled: false, helpLink: 'https://{DOMAIN}/' }}",
        "deeplinking": "{ disabled: true }",
        "p2p": f"{{ enabled: true, stunServers: [ {{ urls: 'stun:{DOMAIN}:3478' }} ] }}",
        "prejoinConfig": "{ enabled: true, hideExtraJoinButtons: ['by-phone'] }",
        "requireDisplayName": "true",
        "lobby": "{ autoKnock: false, enableChat: true }",
        "securityUi": "{ hideLobbyButton: false }",
        "e2ee": "{ disabled: false }",
        "defaultLanguage": "'fr'",
        "toolbarButtons": "['camera', 'chat', 'microphone', 'hangup']",
    }
    parts.update(over)
    body = ",\n".join(f"    {k}: {v}" for k, v in parts.items() if v is not None)
    return f"// managed\nvar config = {{\n{body},\n}};\n"


PROMISES = configjs.expected(DOMAIN, guest_domain=f"guest.{DOMAIN}", e2ee="available",
                             language="fr")


def test_parse_to_plain_dict():
    parsed = configjs.parse(good())
    assert parsed.config["hosts"]["muc"] == f"conference.{DOMAIN}"
    assert parsed.config["p2p"]["stunServers"] == [{"urls": f"stun:{DOMAIN}:3478"}]
    assert parsed.config["toolbarButtons"][0] == "camera"
    assert configjs.get(parsed.config, "analytics.disabled") is True
    assert configjs.get(parsed.config, "analytics.scriptURLs") is configjs.ABSENT


def test_good_file_passes_check():
    parsed = configjs.check(good(), DOMAIN, PROMISES)
    assert configjs.foreign_hosts(parsed.hosts, DOMAIN) == []
    assert {DOMAIN, f"guest.{DOMAIN}", f"conference.{DOMAIN}"} <= set(parsed.hosts)


@pytest.mark.parametrize(("text", "host"), [
    ("https://www.gravatar.com/avatar/", "www.gravatar.com"),
    ("//cdn.example.net/lib.js", "cdn.example.net"),
    ("wss://rtcstats-server.jitsi.net/", "rtcstats-server.jitsi.net"),
    ("stun:meet-jit-si-turnrelay.jitsi.net:443", "meet-jit-si-turnrelay.jitsi.net"),
    ("turns:turn.example.com:5349?transport=tcp", "turn.example.com"),
    ("focus@auth.other.org", "auth.other.org"),
    ("conference.other.org", "conference.other.org"),
    ("see https://jitsi.org/live for help", "jitsi.org"),
    ("stun:192.0.2.7:3478", "192.0.2.7"),
])
def test_hosts_in(text, host):
    assert host in configjs.hosts_in(text)


@pytest.mark.parametrize("text", ["fr", "participants-pane", "by-phone", "text/xml", "1.5",
                                  "e.g."])
def test_hosts_in_ignores_plain_words(text):
    assert configjs.hosts_in(text) == set()


def test_foreign_hosts():
    hosts = {DOMAIN: [], f"guest.{DOMAIN}": [], f"evil{DOMAIN}": [], "jitsi.net": []}
    assert configjs.foreign_hosts(hosts, DOMAIN) == ["evil" + DOMAIN, "jitsi.net"]


def test_jitsi_default_stun_is_detected():
    text = good(p2p="{ enabled: true, stunServers: [ { urls: "
                    "'stun:meet-jit-si-turnrelay.jitsi.net:443' } ] }")
    with pytest.raises(configjs.ConfigJsError) as exc:
        configjs.check(text, DOMAIN, PROMISES)
    assert "meet-jit-si-turnrelay.jitsi.net (in config.p2p.stunServers[0].urls)" in str(exc.value)
    assert "p2p.stunServers" in str(exc.value)


def test_protocol_relative_foreign_host_detected():
    text = good(bosh="'//xmpp.other.org/http-bind'")
    with pytest.raises(configjs.ConfigJsError, match=r"xmpp\.other\.org \(in config\.bosh\)"):
        configjs.check(text, DOMAIN, PROMISES)


def test_syntax_error_reported():
    with pytest.raises(configjs.ConfigJsError, match="syntax error: Line 3"):
        configjs.parse("var config = {\n  a: 1,\n  b: ,\n};")


@pytest.mark.parametrize(("value", "kind"), [("'a' + 'b'", "BinaryExpression"),
                                              ("function () {}", "FunctionExpression"),
                                              ("window.x", "MemberExpression")])
def test_computed_values_refused(value, kind):
    with pytest.raises(configjs.ConfigJsError, match=f"config.bosh is a {kind}"):
        configjs.parse(good(bosh=value))


def test_other_statements_refused():
    with pytest.raises(configjs.ConfigJsError, match="line 2: a ExpressionStatement"):
        configjs.parse("var config = {};\nconfig.analytics = {};\n")


def test_duplicate_key_refused():
    with pytest.raises(configjs.ConfigJsError, match=r"config\.a is set twice"):
        configjs.parse("var config = { a: 1, a: 2 };")


@pytest.mark.parametrize(("override", "needle"), [
    ({"disableThirdPartyRequests": "false"}, "disableThirdPartyRequests is False"),
    ({"gravatar": None}, "gravatar.disabled is not set"),
    ({"analytics": "{ disabled: true, rtcstatsEnabled: false, watchRTCEnabled: false, "
                   "scriptURLs: ['libs/analytics-ga.min.js'] }"}, "analytics.scriptURLs is set"),
    ({"deploymentUrls": "{ userDocumentationURL: '/docs' }"}, "deploymentUrls is set"),
    ({"callStatsID": "'x'"}, "callStatsID is set"),
    ({"prejoinConfig": "{ enabled: false }"}, "prejoinConfig.enabled is False"),
    ({"requireDisplayName": None}, "requireDisplayName is not set"),
    ({"toolbarButtons": "['camera', 'sharedvideo']"}, "toolbarButtons has ['sharedvideo']"),
    ({"toolbarButtons": None}, "toolbarButtons is not set"),
    ({"defaultLanguage": "'en'"}, "defaultLanguage is 'en', promised 'fr'"),
    ({"e2ee": "{ disabled: true }"}, "e2ee.disabled is True, promised False"),
])
def test_problems_name_the_key(override, needle):
    parsed = configjs.parse(good(**override))
    assert any(needle in p for p in configjs.problems(parsed.config, PROMISES)), \
        configjs.problems(parsed.config, PROMISES)


def test_e2ee_forbidden_promises():
    promises = configjs.expected(DOMAIN, guest_domain=None, e2ee="forbidden", language="fr")
    text = good(e2ee="{ disabled: true }", testing="{ disableE2EE: true }",
                hosts=f"{{ domain: '{DOMAIN}', muc: 'conference.{DOMAIN}' }}")
    configjs.check(text, DOMAIN, promises)
    with pytest.raises(configjs.ConfigJsError, match=r"hosts\.anonymousdomain is 'guest"):
        configjs.check(good(e2ee="{ disabled: true }", testing="{ disableE2EE: true }"),
                       DOMAIN, promises)


def test_promises_from_state_round_trip():
    state = {"domain": DOMAIN, "guest_domain": f"guest.{DOMAIN}", "e2ee": "available",
             "default_language": "fr", "stun_port": 3478, "lobby_chat": True}
    assert configjs.promises_from_state(state) == PROMISES


def _filter_module():
    return plugin("filter", "configjs")


def test_filter_plugin():
    module = _filter_module()
    filters = module.FilterModule().filters()
    check = filters["configjs_check"]
    promises = {"guest_domain": f"guest.{DOMAIN}", "e2ee": "available",
                "default_language": "fr", "stun_port": "3478", "lobby_chat": True}
    text = good()
    assert check(text, DOMAIN, promises) == text
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match=r"gravatar\.disabled"):
        check(good(gravatar="{ disabled: false }"), DOMAIN, promises)
    objcheck = filters["js_object_check"]
    ok = f"var o = {{ SUPPORT_URL: 'https://{DOMAIN}/' }};"
    assert objcheck(ok, DOMAIN, "o") == ok
    with pytest.raises(AnsibleFilterError, match=r"community\.jitsi\.org"):
        objcheck("var o = { SUPPORT_URL: 'https://community.jitsi.org/' };", DOMAIN, "o")


def test_node_check_filter_runs_node_on_the_text(monkeypatch):
    """`node --check` through the filter: a syntax error fails the task with node's words;
    without node on the controller the text passes unchanged (esprima checked it)."""
    import shutil

    from ansible.errors import AnsibleFilterError

    module = _filter_module()
    if shutil.which("node") is None:
        pytest.skip("node is not installed on this machine (./run installs it)")
    assert module.node_check("var config = {};\n") == "var config = {};\n"
    refused = r"node --check refuses config\.js: .*SyntaxError: Unexpected token"
    with pytest.raises(AnsibleFilterError, match=refused):
        module.node_check("var config = {;\n")
    assert module.controller_has("node") is True
    monkeypatch.setenv("PATH", "/nonexistent")
    assert module.controller_has("node") is False
    assert module.node_check("var config = {;\n") == "var config = {;\n"
