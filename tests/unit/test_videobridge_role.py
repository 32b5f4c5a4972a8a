"""Role videobridge: its preflight rules (one message per problem, every problem at once;
the NAT pair rules have their one home here) and the domain it configures."""

from __future__ import annotations

import json

import pytest
from role_files import DOMAIN, preflight_problems, templar, trusted

NAT = {"videobridge_private_ip": "10.0.0.5", "videobridge_public_ip": "51.91.0.10"}


def test_preflight_accepts_the_defaults():
    assert preflight_problems("videobridge") == []


@pytest.mark.parametrize("settings", [
    NAT,
    {"videobridge_private_ip": "192.168.1.20", "videobridge_public_ip": "198.51.99.7"},
    {"prosody_domain": trusted("{{ jitsi_sovereign_domain }}")},
    {"videobridge_stun_addresses": [f"turn.{DOMAIN}:3478", "192.0.2.1:3478",
                                    f"{DOMAIN.upper()}:65535"]},
    {"nginx_https_port": 8443},
    {"firewall_jvb_enabled": False, "videobridge_udp_port": 10001},
])
def test_preflight_accepts_good_settings(settings):
    assert preflight_problems("videobridge", **settings) == []


@pytest.mark.parametrize(("settings", "words"), [
    ({"videobridge_domain": "meet"},
     "videobridge_domain must be the meeting's host name (is meet): set jitsi_sovereign_domain"),
    ({"prosody_domain": "chat.example.org"},
     f"prosody serves chat.example.org but videobridge_domain is {DOMAIN}: the bridge could not"),
    # The NAT pair: the Python CLI's messages (inventory.check_stack), now said here only.
    ({"videobridge_private_ip": "10.0.0.5"},
     "jitsi_sovereign_private_ip (videobridge_private_ip) is 10.0.0.5 (behind NAT) but no public "
     "address is set: the videobridge and coturn could not tell clients where to send media. "
     "Set jitsi_sovereign_public_ip to the VM's public (floating) address"),
    ({"videobridge_public_ip": "51.91.0.10"},
     "jitsi_sovereign_public_ip (videobridge_public_ip) is 51.91.0.10 but no private address is "
     "set: the NAT mapping needs both addresses. Set jitsi_sovereign_private_ip to the address"),
    ({**NAT, "videobridge_public_ip": "203.0.113.300"},
     "must be IPv4 addresses such as 10.0.0.5 (are '10.0.0.5' and '203.0.113.300')"),
    ({**NAT, "videobridge_private_ip": "fd00::5"}, "(are 'fd00::5' and '51.91.0.10')"),
    ({**NAT, "videobridge_private_ip": "127.0.0.1"},
     "jitsi_sovereign_private_ip (videobridge_private_ip) is 127.0.0.1: a loopback, link-local"),
    ({**NAT, "videobridge_private_ip": "169.254.0.9"}, "is 169.254.0.9: a loopback, link-local"),
    ({**NAT, "videobridge_public_ip": "10.0.0.6"},
     "jitsi_sovereign_public_ip (videobridge_public_ip) is 10.0.0.6: not a public address"),
    ({**NAT, "videobridge_public_ip": "100.64.0.1"}, "is 100.64.0.1: not a public address"),
    ({**NAT, "videobridge_public_ip": "172.31.0.1"}, "is 172.31.0.1: not a public address"),
    ({**NAT, "videobridge_public_ip": "203.0.113.10"}, "your host's panel shows it"),
    ({**NAT, "videobridge_public_ip": "224.0.0.1"}, "is 224.0.0.1: not a public address"),
    ({"videobridge_stun_addresses": ["meet-jit-si-turnrelay.jitsi.net:443", f"{DOMAIN}:3478"]},
     f"own STUN server (coturn: the meeting domain {DOMAIN}, a subdomain of it, or an IP "
     "address): meet-jit-si-turnrelay.jitsi.net:443. A third-party STUN server"),
    ({"videobridge_stun_addresses": [f"{DOMAIN}:0", f"stun.8x8.{DOMAIN}:3478", DOMAIN]},
     f"IP address): {DOMAIN}:0, stun.8x8.{DOMAIN}:3478, {DOMAIN}. A third-party"),
    ({"videobridge_stun_addresses": []}, "the list is empty"),
    ({"firewall_jvb_udp_port": 10001},
     "videobridge_udp_port is 10000 but the firewall opens UDP 10001 (firewall_jvb_udp_port)"),
    ({"videobridge_udp_port": "80", "firewall_jvb_udp_port": 80},
     "videobridge_udp_port must be a port from 1024 to 65535 (is 80)."),
    ({"videobridge_public_http_port": 8080},
     "videobridge_private_http_port (is 8080) and videobridge_public_http_port (is 8080) must be "
     "two different ports (1-65535)."),
    ({"videobridge_private_http_port": 70000}, "must be two different ports"),
    ({"videobridge_websockets_domain": "meet example"},
     "videobridge_websockets_domain must be a host name with an optional :port (is meet example)"),
    ({"videobridge_muc_nickname": "a b"}, "videobridge_muc_nickname (is a b) may hold letters"),
])
def test_preflight_names_each_bad_setting(settings, words):
    (problem,) = preflight_problems("videobridge", **settings)
    assert words in problem


def test_preflight_same_addresses_and_not_public_both_said():
    problems = preflight_problems("videobridge", videobridge_private_ip="10.0.0.5",
                                  videobridge_public_ip="10.0.0.5")
    assert len(problems) == 2
    assert problems[1].startswith(
        "jitsi_sovereign_private_ip (videobridge_private_ip) and jitsi_sovereign_public_ip "
        "(videobridge_public_ip) are the same address (10.0.0.5): remove "
        "jitsi_sovereign_private_ip")


def test_preflight_without_a_domain_says_which_variable_to_set():
    """A role run on its own, with no jitsi_sovereign_domain: one message, no error from the
    rules that derive from the domain."""
    problems = preflight_problems("videobridge", jitsi_sovereign_domain=trusted("{{ nope }}"))
    assert problems == ["videobridge_domain must be the meeting's host name (is not set): set "
                        "jitsi_sovereign_domain (e.g. meet.example.org) in the inventory "
                        "(group_vars/all.yml), or videobridge_domain."]


def test_preflight_reports_every_problem_at_once():
    problems = preflight_problems("videobridge", videobridge_public_ip="10.1.2.3",
                                  firewall_jvb_udp_port=9999, videobridge_muc_nickname="x y")
    assert len(problems) == 4


def test_the_domain_reaches_every_name_and_the_state_file():
    t = templar("videobridge", {"videobridge_domain": "visio.example.org",
                                "inventory_hostname": "m1",
                                "_videobridge_current": {"uids": {"jvb": None}}})
    state = json.loads(t.template(trusted("{{ _videobridge_state_json }}")))
    assert state["domain"] == "visio.example.org"
    assert state["xmpp"]["domain"] == "auth.visio.example.org"
    assert state["brewery"] == "jvbbrewery@internal.auth.visio.example.org"
    assert state["stun_addresses"] == ["visio.example.org:3478"]
    assert state["websockets"]["domain"] == "visio.example.org"
