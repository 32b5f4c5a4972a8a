"""Role jicofo: its preflight rules (one message per problem, every problem at once), the
domain it configures and the authentication mode it reads (token or not)."""

from __future__ import annotations

import json

import pytest
from role_files import DOMAIN, preflight_problems, templar, trusted


def test_preflight_accepts_the_defaults():
    assert preflight_problems("jicofo") == []


def test_preflight_follows_prosody_through_the_project_variables():
    # prosody's defaults, as site.yml's play holds them: the same project-wide values.
    prosody = {"prosody_domain": trusted("{{ jitsi_sovereign_domain }}"),
               "prosody_auth": trusted("{{ jitsi_sovereign_auth | default('internal') }}")}
    assert preflight_problems("jicofo", **prosody) == []
    assert preflight_problems("jicofo", jitsi_sovereign_auth="token", **prosody) == []
    # Host names are case-insensitive.
    assert preflight_problems("jicofo", jicofo_domain=DOMAIN.upper(), prosody_domain=DOMAIN) == []


@pytest.mark.parametrize(("settings", "words"), [
    ({"jicofo_domain": "203.0.113.7"},
     "jicofo_domain must be the meeting's host name (is 203.0.113.7): set jitsi_sovereign_domain"),
    ({"jicofo_domain": ""}, "jicofo_domain must be the meeting's host name (is not set): set"),
    ({"prosody_domain": "chat.example.org"},
     f"prosody serves chat.example.org but jicofo_domain is {DOMAIN}: focus could not log in"),
    ({"prosody_auth": "token"},
     "prosody authenticates with 'token' but jicofo_auth is 'internal': users could not open"),
    ({"jicofo_auth": "ldap", "prosody_auth": "internal"},
     "Set jitsi_sovereign_auth once (both follow it) instead of prosody_auth or jicofo_auth."),
    ({"jicofo_rest_port": "70000"},
     "jicofo_rest_port (is 70000) and jicofo_xmpp_port (is 5222) must be ports (1-65535)."),
    ({"jicofo_xmpp_port": 0}, "jicofo_xmpp_port (is 0) must be ports"),
])
def test_preflight_names_each_bad_setting(settings, words):
    (problem,) = preflight_problems("jicofo", **settings)
    assert words in problem


def test_preflight_without_a_domain_says_which_variable_to_set():
    """A role run on its own, with no jitsi_sovereign_domain in the inventory."""
    problems = preflight_problems("jicofo", jitsi_sovereign_domain=trusted("{{ no_such_var }}"))
    assert problems == ["jicofo_domain must be the meeting's host name (is not set): set "
                        "jitsi_sovereign_domain (e.g. meet.example.org) in the inventory "
                        "(group_vars/all.yml), or jicofo_domain."]


def test_preflight_reports_every_problem_at_once():
    problems = preflight_problems("jicofo", jicofo_domain="meet", prosody_domain=DOMAIN,
                                  prosody_auth="ldap", jicofo_rest_port=-1)
    assert len(problems) == 4  # the domain twice: not a host name, not prosody's


@pytest.mark.parametrize(("mode", "enabled", "kind"), [("internal", True, "XMPP"),
                                                       ("ldap", True, "XMPP"),
                                                       ("token", False, "NONE")])
def test_only_token_turns_jicofos_authentication_off(mode, enabled, kind):
    t = templar("jicofo", {"jicofo_auth": mode})
    assert t.template(trusted("{{ _jicofo_auth_enabled | bool }}")) is enabled
    assert t.template(trusted("{{ _jicofo_auth_type }}")) == kind


def test_state_file_records_the_domain_it_configured():
    t = templar("jicofo", {"jicofo_domain": "visio.example.org", "_jicofo_current": {
        "uids": {"jicofo": None}}})
    state = json.loads(t.template(trusted("{{ _jicofo_state_json }}")))
    assert state["domain"] == "visio.example.org"
    assert state["keys"]["jicofo.xmpp.client.xmpp-domain"] == "visio.example.org"
    assert state["brewery"] == "jvbbrewery@internal.auth.visio.example.org"
