"""Role jitsi_web: its preflight rules (one message per problem, every problem at once) and
the domain its state file records. The toolbar rules: test_toolbar.py."""

from __future__ import annotations

import json

import pytest
from role_files import DOMAIN, preflight_problems, templar, trusted


def test_preflight_accepts_the_defaults():
    assert preflight_problems("jitsi_web") == []


@pytest.mark.parametrize("settings", [
    {"jitsi_web_guests": False, "jitsi_sovereign_guest_domain": DOMAIN},
    {"jitsi_sovereign_guest_domain": f"visitors.{DOMAIN}"},
    {"jitsi_web_default_language": "ptBR"},
    {"jitsi_web_e2ee": "forbidden", "jitsi_web_stun_port": "5349"},
    {"jitsi_web_legal_urls": {"helpCentre": f"https://help.{DOMAIN}/faq",
                              "privacy": f"https://{DOMAIN}/privacy", "terms": f"https://{DOMAIN}"}},
])
def test_preflight_accepts_good_settings(settings):
    assert preflight_problems("jitsi_web", **settings) == []


@pytest.mark.parametrize(("settings", "words"), [
    ({"jitsi_web_domain": "localhost"},
     "jitsi_web_domain must be the meeting's host name (is localhost): set jitsi_sovereign_domain "
     "(e.g. meet.example.org) in the inventory (group_vars/all.yml), or jitsi_web_domain."),
    ({"jitsi_web_e2ee": "required"},
     'jitsi_web_e2ee is "required", but Jitsi Meet\'s config.js has no key that turns'),
    ({"jitsi_sovereign_guest_domain": DOMAIN.upper()},
     f"jitsi_web_guest_domain (jitsi_sovereign_guest_domain) is the meeting domain {DOMAIN}: "
     f"guests would log in anonymously where rooms are opened. Use another name, e.g. "
     f"guest.{DOMAIN} (the default)."),
    ({"jitsi_sovereign_guest_domain": "guest.example.net"},
     f"must be a host name under {DOMAIN}, e.g. guest.{DOMAIN} (is guest.example.net)."),
    ({"jitsi_sovereign_guest_domain": f"guest_1.{DOMAIN}"}, f"(is guest_1.{DOMAIN})"),
    ({"jitsi_web_default_language": "French"},
     "jitsi_web_default_language must be a language code such as fr (is French)."),
    ({"jitsi_web_stun_port": 70000}, "jitsi_web_stun_port must be a port, 1-65535 (is 70000)."),
    ({"jitsi_web_toolbar_buttons": ["camera", "recording", "etherpad"]},
     "jitsi_web_toolbar_buttons has ['recording', 'etherpad'], which open a third-party service "
     "(the role refuses sharedvideo, download, help,"),
    ({"jitsi_web_legal_urls": {"helpCentre": "https://jitsi.org/faq",
                               "privacy": f"https://{DOMAIN}/", "terms": f"https://{DOMAIN}/"}},
     "jitsi_web_legal_urls must hold helpCentre, privacy and terms as https:// URLs on "
     f"{DOMAIN} or a subdomain (is {{'helpCentre': 'https://jitsi.org/faq',"),
    ({"jitsi_web_legal_urls": {"privacy": f"http://{DOMAIN}/"}}, "(is {'privacy': 'http://"),
    ({"jitsi_web_toolbar_buttons": ["camera", "chatt"]},
     'jitsi_web_toolbar_buttons has "chatt": not a toolbar button of Jitsi Meet 1.0.9365.'),
])
def test_preflight_names_each_bad_setting(settings, words):
    (problem,) = preflight_problems("jitsi_web", **settings)
    assert words in problem


def test_preflight_refuses_another_system():
    (problem,) = preflight_problems("jitsi_web", facts={
        "distribution": "Debian", "distribution_major_version": "11",
        "distribution_version": "11.9"})
    assert problem == "The jitsi_web role supports Debian 12 and 13; this host runs Debian 11.9."


def test_preflight_without_a_domain_says_which_variable_to_set():
    problems = preflight_problems("jitsi_web", jitsi_sovereign_domain=trusted("{{ nope }}"))
    assert problems == ["jitsi_web_domain must be the meeting's host name (is not set): set "
                        "jitsi_sovereign_domain (e.g. meet.example.org) in the inventory "
                        "(group_vars/all.yml), or jitsi_web_domain."]


def test_preflight_reports_every_problem_at_once():
    problems = preflight_problems("jitsi_web", jitsi_web_e2ee="required", jitsi_web_stun_port=0,
                                  jitsi_web_default_language="?", jitsi_sovereign_guest_domain="x")
    assert len(problems) == 4


def test_state_file_records_the_domain_it_configured():
    t = templar("jitsi_web", {"jitsi_web_domain": "visio.example.org", "_jitsi_web_current": {
        "versions": {"jitsi-meet-web": None}}})
    state = json.loads(t.template(trusted("{{ _jitsi_web_state_json }}")))
    assert state["domain"] == "visio.example.org"
    assert state["guest_domain"] == "guest.visio.example.org"
    assert state["config_js"] == "/etc/jitsi/meet/visio.example.org-config.js"
