"""confcheck/hocon.py (jicofo.conf, jvb.conf) and the role filter that uses it."""

from __future__ import annotations

import pytest
from role_files import plugin

from jitsi_sovereign.confcheck import hocon

JVB = """\
# Ansible managed
videobridge {
  apis.xmpp-client.configs.shard {
    HOSTNAME = "127.0.0.1"
    PASSWORD = "s3cretValue"
    MUC_JIDS = "jvbbrewery@internal.auth.meet.example.org"
  }
  http-servers { private { host = 127.0.0.1, port = 8080 } }
  entity-expiration {
    timeout = 1 minute, check-interval = ${videobridge.entity-expiration.timeout}
  }
}
ice4j.harvest.mapping {
  stun.addresses = [ "meet.example.org:3478" ]
  static-mappings = [ { local-address = "10.0.0.5", public-address = "203.0.113.10" } ]
}
"""


def _filter_module():
    module = plugin("filter", "hocon")
    return module.FilterModule().filters()


# ------------------------------------------------------------------ valid files


def test_parse_valid_to_plain_data():
    tree = hocon.parse(JVB, "jvb.conf")
    assert type(tree) is dict
    assert hocon.get(tree, "videobridge.apis.xmpp-client.configs.shard.HOSTNAME") == "127.0.0.1"
    assert hocon.get(tree, "videobridge.http-servers.private.port") == 8080
    assert hocon.get(tree, "ice4j.harvest.mapping.stun.addresses") == ["meet.example.org:3478"]
    mapping = "ice4j.harvest.mapping.static-mappings.0"
    assert hocon.get(tree, f"{mapping}.public-address") == "203.0.113.10"
    assert type(hocon.get(tree, "ice4j.harvest.mapping.static-mappings.0")) is dict


def test_durations_are_text():
    tree = hocon.parse("a = 15 seconds\nb = 500 ms\n", "d.conf")
    assert tree == {"a": "15 seconds", "b": "500 milliseconds"}


def test_null_and_booleans():
    assert hocon.parse("a = null\nb = true\nc = false\n", "x") == {"a": None, "b": True, "c": False}


def test_get_missing():
    tree = hocon.parse("a.b = 1", "x")
    assert hocon.get(tree, "a.c", None) is None
    assert hocon.get(tree, "a.b.c", hocon.MISSING) is hocon.MISSING
    with pytest.raises(KeyError):
        hocon.get(tree, "nope")


# ------------------------------------------------------------------ substitutions


def test_substitution_inside_the_file():
    tree = hocon.parse(JVB, "jvb.conf")
    assert hocon.get(tree, "videobridge.entity-expiration.check-interval") == "60 seconds"


def test_substitution_never_from_the_controller_environment(monkeypatch):
    monkeypatch.setenv("JSOV_TEST_SECRET", "from-the-controller")
    with pytest.raises(hocon.HoconError) as err:
        hocon.parse("a = ${JSOV_TEST_SECRET}\n", "x.conf")
    assert "${JSOV_TEST_SECRET} does not resolve inside the file" in str(err.value)
    assert err.value.line == 1
    # an optional one is left out, as with an empty environment
    assert hocon.parse("a = ${?JSOV_TEST_SECRET}\n", "x.conf") == {}


def test_substitution_from_a_given_environment():
    assert hocon.parse("a = ${X}\n", "x", env={"X": "v"}) == {"a": "v"}


def test_environment_restored_after_parse(monkeypatch):
    import os

    from pyhocon import config_parser

    monkeypatch.setenv("JSOV_TEST_VAR", "1")
    hocon.parse("a = 1", "x")
    assert config_parser.os is os
    with pytest.raises(hocon.HoconError):
        hocon.parse("a = {", "x")
    assert config_parser.os is os


# ------------------------------------------------------------------ invalid files


@pytest.mark.parametrize(("text", "line", "col"), [
    ("a {\n  b = 1\n", 3, 1),
    ("a = [1,\n", 2, 1),
    ('a { b: "x }\n', 1, 8),
])
def test_invalid_names_file_line_column(text, line, col):
    with pytest.raises(hocon.HoconError) as err:
        hocon.parse(text, "/etc/jitsi/jicofo/jicofo.conf")
    message = str(err.value)
    assert message.startswith("/etc/jitsi/jicofo/jicofo.conf: not valid HOCON at line")
    assert (err.value.line, err.value.col) == (line, col)
    assert "Expected" in err.value.reason


def test_parse_error_never_quotes_the_text():
    text = 'jicofo.xmpp.client { password = "Sup3rS3cret" \n  hostname = @@@ }\n'
    with pytest.raises(hocon.HoconError) as err:
        hocon.parse(text, "jicofo.conf")
    assert "Sup3rS3cret" not in str(err.value)
    assert "@@@" not in str(err.value)


def test_include_refused():
    with pytest.raises(hocon.HoconError) as err:
        hocon.parse('a = 1\ninclude file("/etc/passwd")\n', "j.conf")
    assert "include is not supported" in str(err.value) and err.value.line == 2


def test_top_level_must_be_an_object():
    with pytest.raises(hocon.HoconError, match="top level is not an object"):
        hocon.parse("[1, 2]", "x")


def test_not_text():
    with pytest.raises(hocon.HoconError, match="expected text"):
        hocon.parse(None, "x")  # type: ignore[arg-type]


# ------------------------------------------------------------------ key-by-key helpers


def test_mismatches_hide_secrets():
    tree = hocon.parse(JVB, "jvb.conf")
    prefix = "videobridge.apis.xmpp-client.configs.shard"
    wrong = hocon.mismatches(tree, {
        f"{prefix}.PASSWORD": "other",
        f"{prefix}.HOSTNAME": "0.0.0.0",
        "videobridge.http-servers.public.port": 9090,
        f"{prefix}.MUC_JIDS": "jvbbrewery@internal.auth.meet.example.org",
    }, "jvb.conf")
    assert wrong == [
        f"jvb.conf: {prefix}.PASSWORD not the expected value",
        f"jvb.conf: {prefix}.HOSTNAME is '127.0.0.1', expected '0.0.0.0'",
        "jvb.conf: videobridge.http-servers.public.port is missing, expected 9090",
    ]
    assert not any("s3cretValue" in w for w in wrong)


def test_secret_keys():
    assert hocon.is_secret_key("jicofo.xmpp.client.password")
    assert hocon.is_secret_key("a.PASSWORD") and hocon.is_secret_key("x.jwt-secret")
    assert not hocon.is_secret_key("videobridge.websockets.domain")
    assert not hocon.is_secret_key("jicofo.bridge.brewery-jid")


def test_find_strings():
    text = 's.addresses = ["meet-jit-si-turnrelay.jitsi.net:443", "meet.example.org:3478"]'
    tree = hocon.parse(text, "jvb.conf")
    assert hocon.find_strings(tree, ["jitsi.net"]) == ["s.addresses.0"]
    assert hocon.find_strings(tree, ["8x8.vc"]) == []


# ------------------------------------------------------------------ the role filter


def test_filter_report_holds_no_value():
    filters = _filter_module()
    report = filters["hocon_check"](
        JVB, "jvb.conf",
        {"videobridge.apis.xmpp-client.configs.shard.HOSTNAME": "127.0.0.1"},
        required=["videobridge.apis.xmpp-client.configs.shard.PASSWORD"], forbidden=["jitsi.net"])
    assert report["file"] == "jvb.conf" and report["parser"].startswith("pyhocon")
    assert "s3cretValue" not in repr(report)
    assert len(report["keys_checked"]) == 2


def test_filter_fails_with_every_problem():
    from ansible.errors import AnsibleFilterError

    filters = _filter_module()
    text = JVB.replace("meet.example.org:3478", "meet-jit-si-turnrelay.jitsi.net:443")
    with pytest.raises(AnsibleFilterError) as err:
        filters["hocon_check"](
            text, "jvb.conf", {"videobridge.http-servers.private.host": "0.0.0.0"},
            required=["videobridge.apis.xmpp-client.configs.shard.NOPE"], forbidden=["jitsi.net"])
    message = str(err.value)
    assert "videobridge.http-servers.private.host is '127.0.0.1', expected '0.0.0.0'" in message
    assert "shard.NOPE is missing or empty" in message
    assert "ice4j.harvest.mapping.stun.addresses.0" in message and "jitsi.net" in message
    assert "s3cretValue" not in message


def test_filter_parse_error_names_the_file():
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match=r"^jicofo.conf: not valid HOCON at line 1"):
        _filter_module()["hocon_check"]("jicofo {", "jicofo.conf")


def test_durations_are_the_same_text_with_or_without_dateutil():
    """pyhocon returns a dateutil relativedelta for '15 seconds' when python-dateutil is
    installed (the cloud extras bring it), a timedelta otherwise: both read the same."""
    import datetime

    from jitsi_sovereign.confcheck.hocon import _plain

    class relativedelta:  # dateutil's class name, as pyhocon hands it over
        def __init__(self, **kw):
            for unit in ("years", "months", "days", "hours", "minutes", "seconds",
                         "microseconds"):
                setattr(self, unit, kw.get(unit, 0))

    assert _plain(relativedelta(seconds=15)) == _plain(datetime.timedelta(seconds=15)) \
        == "15 seconds"
    assert _plain(relativedelta(minutes=2)) == "120 seconds"
    assert _plain(relativedelta(months=2)) == "2 months"


def test_durations_are_text_with_python_dateutil_too():
    """pyhocon returns dateutil's relativedelta for durations when python-dateutil is
    installed (the scaleway extra brings it): the same text as without it."""
    rd = pytest.importorskip("dateutil.relativedelta",
                             reason="python-dateutil is not installed").relativedelta
    from jitsi_sovereign.confcheck.hocon import _plain

    assert _plain(rd(minutes=1)) == "60 seconds"
    assert _plain(rd(seconds=15)) == "15 seconds"
    assert _plain(rd(months=1)) == "1 months"  # no fixed length: counted as given
