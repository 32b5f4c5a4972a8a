"""The rules every role's preflight shares, written once in the collection: the supported
system (filter debian_rule) and the host-name rule (test hostname)."""

from __future__ import annotations

import pytest
from role_files import plugin, preflight_problems

debian_rule = plugin("filter", "system").FilterModule().filters()["debian_rule"]
hostname = plugin("test", "hostname").TestModule().tests()["hostname"]


def test_a_supported_debian_passes():
    facts = {"distribution": "Debian", "distribution_version": "13.2",
             "distribution_major_version": "13"}
    assert debian_rule(facts, "coturn")["ok"] is True


@pytest.mark.parametrize(("facts", "running"), [
    ({"distribution": "Debian", "distribution_version": "11.9",
      "distribution_major_version": "11"}, "Debian 11.9"),
    ({"distribution": "Ubuntu", "distribution_version": "24.04",
      "distribution_major_version": "24"}, "Ubuntu 24.04"),
])
def test_another_system_is_named(facts, running):
    rule = debian_rule(facts, "prosody")
    assert rule == {"ok": False, "msg": "The prosody role supports Debian 12 and 13; "
                                        f"this host runs {running}."}


def test_no_facts_says_to_gather_them():
    rule = debian_rule({}, "nginx")
    assert rule["ok"] is False
    assert "gathered none: leave gather_facts at true" in rule["msg"]


def test_a_role_without_facts_stops_in_its_preflight_with_that_message():
    problems = preflight_problems("coturn", facts={})
    assert any("The coturn role reads the host's facts" in p for p in problems)


@pytest.mark.parametrize(("name", "kwargs", "ok"), [
    ("meet.example.org", {}, True),
    ("MEET.Example.ORG", {}, True),
    ("meet", {}, False),
    ("meet_1.example.org", {}, False),
    ("192.0.2.1", {}, False),
    ("", {}, False),
    (None, {}, False),
    ("turn.example.org:443", {"port": True}, True),
    ("turn.example.org:70000", {"port": True}, False),
    ("*.example.org", {}, False),
    ("*.example.org", {"wildcard": True}, True),
])
def test_hostname(name, kwargs, ok):
    assert hostname(name, **kwargs) is ok


upstream_version = plugin("filter", "system").FilterModule().filters()["upstream_version"]


@pytest.mark.parametrize(("version", "upstream"), [
    ("1:13.0.1-1+deb13u2", "13.0.1"),
    ("0.12.3-1+deb12u1", "0.12.3"),
    ("1.26.3-3", "1.26.3"),
    ("1.22.1-9+deb12u2", "1.22.1"),
    ("2.0.10184-1", "2.0.10184"),
    ("13.0.1", "13.0.1"),
    ("1.0~rc1-2", "1.0"),
    ("", ""),
    (None, ""),
])
def test_upstream_version(version, upstream):
    assert upstream_version(version) == upstream
