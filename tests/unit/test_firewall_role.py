"""Role firewall: its preflight rules, its openings and its ruleset, rendered here."""

from __future__ import annotations

import pytest
from role_files import assert_defaults_match_specs, preflight_problems, render, templar, trusted

# The play's connection as jitsi_sovereign.core.state reads it (connection: true).
CONN = {"ssh": True, "client": "198.51.100.1", "server_port": 22, "user": "debian", "uid": 1000,
        "groups": ["debian", "sudo"], "authorized_keys": 1}


def problems(conn: dict | None = None, **settings) -> list[str]:
    read = {"connection": {**CONN, **(conn or {})}}
    return preflight_problems("firewall", _firewall_connection=read, **settings)


def test_defaults_match_argument_specs():
    assert_defaults_match_specs("firewall")


def test_preflight_accepts_the_defaults():
    assert problems() == []


def test_preflight_accepts_a_play_without_ssh():
    assert problems({"ssh": False, "client": "", "server_port": 0},
                    firewall_admin_cidrs=["192.0.2.0/24"]) == []


@pytest.mark.parametrize(("settings", "message"), [
    ({"firewall_ssh_port": 0}, "firewall_ssh_port must be a port (1-65535), not 0."),
    ({"firewall_ssh_port": "70000", "firewall_admin_cidrs": ["0.0.0.0/0"]},
     "firewall_ssh_port must be a port (1-65535), not 70000."),
    ({"firewall_admin_cidrs": ["198.51.100.1/24"]},
     "Invalid address or network in firewall_admin_cidrs: 198.51.100.1/24 has host bits set"),
    ({"firewall_extra_rules": [{"proto": "tcp", "port": 22, "sources": ["10.0.0.0/8", "bad"]}]},
     "Invalid address or network in the sources of firewall_extra_rules: "
     "'bad' does not appear to be an IPv4 or IPv6 network"),
    ({"firewall_extra_rules": [{"proto": "tcp", "port": "8000:8100"}]},
     'Every firewall_extra_rules entry needs a port, 8443 or "8000-8100" (not 8000:8100).'),
    ({"firewall_extra_rules": [{"proto": "udp"}]},
     'Every firewall_extra_rules entry needs a port, 8443 or "8000-8100" (not ).'),
    ({"firewall_rollback_seconds": "50"},
     "firewall_rollback_seconds (50) must exceed firewall_connection_check_timeout (30) by 30 s "
     "or more."),
])
def test_preflight_names_each_bad_setting(settings, message):
    # Without an SSH connection: only the setting's own rule can fail.
    assert problems({"ssh": False}, **settings) == [message]


def test_preflight_refuses_to_close_ssh_to_everyone():
    assert problems({"ssh": False}, firewall_admin_cidrs=[]) == [
        "firewall_admin_cidrs must not be empty (SSH would be closed to everyone)."]


@pytest.mark.parametrize(("conn", "settings", "fix"), [
    ({}, {"firewall_admin_cidrs": ["192.0.2.0/24"]}, "(now 192.0.2.0/24)."),
    ({"server_port": 2222}, {},
     "(now 0.0.0.0/0, ::/0), and make firewall_ssh_port (now 22) the port this play uses."),
    ({"client": "2001:db8::7"}, {"firewall_admin_cidrs": ["0.0.0.0/0"]}, "(now 0.0.0.0/0)."),
])
def test_preflight_refuses_a_ruleset_that_cuts_this_connection(conn, settings, fix):
    client, port = conn.get("client", CONN["client"]), conn.get("server_port", 22)
    assert problems(conn, **settings) == [
        f"This play connects from {client} to SSH port {port}, and the new ruleset would not "
        f"admit it: the firewall would cut this connection and every next one. Add {client} (or "
        f"its network) to firewall_admin_cidrs {fix}"]


@pytest.mark.parametrize(("conn", "settings"), [
    ({"server_port": 2222}, {"firewall_ssh_port": "2222"}),
    ({"server_port": 2222}, {"firewall_extra_rules": [{"proto": "tcp", "port": "2200-2299"}]}),
    ({}, {"firewall_admin_cidrs": ["192.0.2.0/24"],
          "firewall_extra_rules": [{"proto": "tcp", "port": 22, "sources": ["198.51.100.0/24"]}]}),
    ({"client": "2001:db8::7"}, {"firewall_admin_cidrs": ["198.51.100.0/24", "2001:db8::/32"]}),
])
def test_preflight_admits_the_connection_through_any_opening(conn, settings):
    assert problems(conn, **settings) == []


def test_preflight_reports_every_problem_at_once():
    found = problems({"server_port": 2222}, firewall_rollback_seconds=10,
                     firewall_admin_cidrs=["10.0.0.1/8"],
                     facts={"distribution": "Ubuntu", "distribution_version": "24.04",
                            "distribution_major_version": "24"})
    assert len(found) == 4
    assert found[0] == "The firewall role supports Debian 12 and 13; this host runs Ubuntu 24.04."


# ------------------------------------------------------------------ openings and ruleset


def test_openings_ssh_first_then_each_enabled_service():
    t = templar("firewall", {"firewall_turn_enabled": "false",
                             "firewall_extra_rules": [{"proto": "udp", "port": "8000-8100"}]})
    openings = t.template(trusted("{{ _firewall_open }}"))
    assert [(o["comment"], o["proto"], o["port"]) for o in openings] == [
        ("ssh", "tcp", 22), ("web", "tcp", 80), ("web", "tcp", 443), ("jvb", "udp", 10000),
        ("extra", "udp", "8000-8100")]


def test_ruleset_splits_sources_by_family():
    t = templar("firewall", {"firewall_admin_cidrs": ["198.51.100.0/24", "2001:db8::/32"],
                             "firewall_extra_rules": [
                                 {"proto": "tcp", "port": 8443, "sources": ["192.0.2.0/24", "::/0"],
                                  "comment": "admin"}]})
    text = render(t, "firewall", "etc/nftables.conf.j2")
    assert "elements = { 198.51.100.0/24 }" in text and "elements = { 2001:db8::/32 }" in text
    assert '\t\tip saddr { 192.0.2.0/24 } tcp dport 8443 counter accept comment "admin"\n' in text
    assert '\t\tmeta nfproto ipv6 tcp dport 8443 counter accept comment "admin"\n' in text
    assert '\t\tudp dport 10000 counter accept comment "jvb"\n' in text
    assert "flush ruleset" not in text.replace('"flush ruleset"', "")
