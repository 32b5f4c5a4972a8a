"""jicofo, the conference focus (role jicofo): its configuration and its service.

/etc/jitsi/jicofo/jicofo.conf is read from the host (as root: it holds focus's
password, which no message ever shows) and parsed with the same pyhocon reader the role
used before writing it (``confcheck/hocon.py``). Key by key: XMPP to prosody on
127.0.0.1, REST on loopback, the brewery MUC, the authentication type of the mode
jicofo.json records, no Jitsi (8x8) server anywhere, and every key the role promised;
the file is readable by the jicofo user only. The service checks (jicofo active, REST
listening on loopback only) need Jitsi's packages: skipped with jitsi_packages.json's
reason when they are not installed. Skipped as a whole when the inventory gives the
host no domain (site.yml then does not deploy jicofo).
"""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks.helpers import (
    LOOPBACK,
    THIRD_PARTY,
    assert_jitsi_service_active,
    assert_private_file,
    assert_promised_keys,
    domain_of,
    jitsi_service_skip,
    listeners,
    read_hocon,
    require_web_state,
)
from jitsi_sovereign.confcheck import hocon

CONF = "/etc/jitsi/jicofo/jicofo.conf"
LEGACY = "/etc/jitsi/jicofo/sip-communicator.properties"
# The authentication type each mode must give (Jitsi handbook: secure domain; token
# authentication: "The authentication must be disabled in jicofo.conf when the token
# authentication is active", prosody checks the tokens). NONE = authentication off.
AUTH_TYPES = {"internal": "XMPP", "ldap": "XMPP", "token": "NONE"}


@pytest.fixture(scope="module")
def jicofo_state(target) -> dict:
    return require_web_state(target, "jicofo")


@pytest.fixture(scope="module")
def jicofo_tree(target, jicofo_state) -> dict:
    return read_hocon(target, jicofo_state.get("conf") or CONF)


def _value(tree: dict, path: str):
    return hocon.get(tree, path, hocon.MISSING)


def test_parses(jicofo_tree):
    """jicofo.conf is valid HOCON (pyhocon) with a jicofo block."""
    assert isinstance(jicofo_tree.get("jicofo"), dict), "jicofo.conf has no jicofo { } block"


def test_promised_keys(jicofo_tree, jicofo_state):
    """every key jicofo.json promises has its value in jicofo.conf."""
    assert_promised_keys(jicofo_tree, jicofo_state, "jicofo")


def test_xmpp_to_loopback(jicofo_tree, target):
    """jicofo logs in to prosody on 127.0.0.1:5222 as focus@auth.<domain>."""
    domain = domain_of(target, "jicofo")
    want = {"jicofo.xmpp.client.hostname": "127.0.0.1",
            "jicofo.xmpp.client.port": 5222,
            "jicofo.xmpp.client.domain": f"auth.{domain}",
            "jicofo.xmpp.client.username": "focus"}
    wrong = hocon.mismatches(jicofo_tree, want)
    assert not wrong, "; ".join(wrong)


def test_password_set(jicofo_tree):
    """focus's password is set (its value is not shown)."""
    assert _value(jicofo_tree, "jicofo.xmpp.client.password") not in (hocon.MISSING, None, ""), (
        "jicofo.xmpp.client.password is missing or empty")


def test_rest_on_loopback(jicofo_tree):
    """the REST API is bound to a loopback address."""
    host = _value(jicofo_tree, "jicofo.rest.host")
    assert host in LOOPBACK, (
        f"jicofo.rest.host is {hocon.shown('host', host)}: jicofo's REST API must stay on loopback")


def test_brewery(jicofo_tree, target):
    """the bridges are found in jvbbrewery@internal.auth.<domain>."""
    want = f"jvbbrewery@internal.auth.{domain_of(target, 'jicofo')}"
    have = _value(jicofo_tree, "jicofo.bridge.brewery-jid")
    assert isinstance(have, str) and have.lower() == want, (
        f"jicofo.bridge.brewery-jid is {hocon.shown('jid', have)}, expected {want!r}")


def test_authentication(jicofo_tree, jicofo_state, target):
    """authentication is on with the type of the mode jicofo.json records (internal, ldap:
    XMPP), or off in token mode (prosody checks the tokens)."""
    mode = jicofo_state.get("auth")
    assert mode in AUTH_TYPES, f"jicofo.json records auth {mode!r}, not one of {sorted(AUTH_TYPES)}"
    if AUTH_TYPES[mode] == "NONE":
        enabled = _value(jicofo_tree, "jicofo.authentication.enabled")
        assert enabled in (False, hocon.MISSING), (
            f"auth mode {mode}: jicofo.authentication.enabled is {enabled!r}, must be off")
        want = {}
    else:
        want = {"jicofo.authentication.enabled": True,
                "jicofo.authentication.type": AUTH_TYPES[mode],
                "jicofo.authentication.login-url": domain_of(target, "jicofo")}
    wrong = hocon.mismatches(jicofo_tree, want)
    assert not wrong, f"auth mode {mode}: " + "; ".join(wrong)
    assert jicofo_state.get("auth_type") == AUTH_TYPES[mode], (
        f"jicofo.json records type {jicofo_state.get('auth_type')!r} for mode {mode}")


def test_no_third_party(jicofo_tree):
    """no key or value names Jitsi's (8x8's) servers."""
    found = hocon.find_strings(jicofo_tree, THIRD_PARTY)
    assert not found, f"{', '.join(found)} name a third party's server"


def test_legacy_properties_empty(target, jicofo_state):
    """no sip-communicator.properties sets a property (it would win over jicofo.conf)."""
    result = target.run("if test -e %s; then grep -Ev '^[[:space:]]*([#!]|$)' %s | "
                        "cut -d= -f1 | cut -d: -f1; fi; true", LEGACY, LEGACY)
    keys = [k.strip() for k in result.stdout.splitlines() if k.strip()]
    assert not keys, f"{LEGACY} sets {', '.join(keys)}: move them to jicofo.conf"


def test_file_private(target, jicofo_state):
    """jicofo.conf (a password) has the owner and mode jicofo.json records, no world access."""
    assert_private_file(target, jicofo_state, CONF, "jicofo", "the videobridge")


def test_service_active(target, jicofo_state):
    """jicofo is enabled and running."""
    assert_jitsi_service_active(target, jicofo_state, "jicofo.service")


def test_rest_listens_on_loopback_only(target, jicofo_state):
    """the REST port (8888) listens, on loopback only."""
    jitsi_service_skip(target, jicofo_state, "jicofo")
    port = int((jicofo_state.get("rest") or {}).get("port") or 8888)
    addresses = listeners(target, "t").get(port, set())
    assert addresses, f"nothing listens on TCP {port}: is jicofo running?"
    public = sorted(a for a in addresses if a not in LOOPBACK)
    assert not public, f"TCP {port} listens on {', '.join(public)}: loopback only"
