"""The coturn role's data and the coturn checks' config parsing (no host needed)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml
from role_files import assert_defaults_match_specs, preflight_problems

from jitsi_sovereign.checks import coturnconf

ROLE = Path(__file__).resolve().parents[2] / "roles" / "coturn"


def _vars() -> dict:
    return yaml.safe_load((ROLE / "vars" / "main.yml").read_text())


def test_denied_ranges_are_their_cidrs():
    # coturn 4.6.1 takes FIRST-LAST, not CIDR: each written range must be its CIDR exactly.
    for peer in _vars()["_coturn_denied_peers"]:
        net = ipaddress.ip_network(peer["cidr"])
        first, last = coturnconf.peer_range(peer["range"])
        assert (first, last) == (net[0], net[-1]), peer


def test_role_denies_every_baseline_range():
    ranges = [p["range"] for p in _vars()["_coturn_denied_peers"]]
    assert coturnconf.uncovered(coturnconf.DENIED_PEER_CIDRS, ranges) == []


def test_role_cipher_list_is_mozilla_intermediate():
    assert _vars()["_coturn_cipher_list"].strip().split(":") == coturnconf.MOZILLA_CIPHERS


def test_defaults_match_argument_specs():
    assert_defaults_match_specs("coturn")


def test_template_sets_every_baseline_flag_and_no_forbidden_option():
    text = (ROLE / "templates" / "etc" / "turnserver.conf.j2").read_text()
    lines = {line.split("=", 1)[0].strip() for line in text.splitlines()
             if line.strip() and not line.startswith(("#", "{"))}
    assert set(coturnconf.REQUIRED_FLAGS) <= lines
    assert not set(coturnconf.FORBIDDEN) & lines


SAMPLE = """
# comment
listening-port=3478
fingerprint
use-auth-secret
static-auth-secret=abcdefghijklmnopqrstuvwxyz0123456789
realm=meet.example.org
cipher-list="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
denied-peer-ip=10.0.0.0-10.255.255.255
denied-peer-ip=127.0.0.0/8
denied-peer-ip=::1
--no-cli
total-quota 100
"""


def test_parse():
    conf = coturnconf.parse(SAMPLE)
    assert conf.value("listening-port") == "3478"
    assert conf.has("fingerprint") and conf.has("no-cli")
    assert conf.value("cipher-list") == "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
    assert conf.values("denied-peer-ip") == ["10.0.0.0-10.255.255.255", "127.0.0.0/8", "::1"]
    assert conf.value("total-quota") == "100"
    assert not conf.has("web-admin")


def test_secret_never_shows():
    secret = coturnconf.parse(SAMPLE).secret
    assert secret == "abcdefghijklmnopqrstuvwxyz0123456789"
    assert "abcdef" not in repr(secret) and "abcdef" not in repr([secret])


def test_uncovered_and_in_ranges():
    denied = coturnconf.parse(SAMPLE).values("denied-peer-ip")
    assert coturnconf.uncovered(["10.0.0.0/8", "127.0.0.0/8", "::1/128"], denied) == []
    assert coturnconf.uncovered(["10.0.0.0/8", "172.16.0.0/12"], denied) == ["172.16.0.0/12"]
    # a range covering only part of a CIDR does not count
    assert coturnconf.uncovered(["10.0.0.0/8"], ["10.0.0.0-10.0.0.255"]) == ["10.0.0.0/8"]
    assert coturnconf.in_ranges("127.0.0.1", denied)
    assert coturnconf.in_ranges("198.51.100.1", ["198.51.100.0-198.51.100.255"])
    assert not coturnconf.in_ranges("8.8.8.8", denied)
    assert not coturnconf.in_ranges("::1", ["127.0.0.0/8"])


def test_peer_range_rejects_bad_values():
    import pytest

    for bad in ("10.0.0.9-10.0.0.1", "10.0.0.1-::1", "nope"):
        with pytest.raises(ValueError):
            coturnconf.peer_range(bad)


# ------------------------------------------------------------------ preflight


def test_preflight_accepts_the_defaults():
    assert preflight_problems("coturn") == []


@pytest.mark.parametrize(("settings", "words"), [
    ({"coturn_realm": "203.0.113.7"}, "coturn_realm must be the meeting's host name"),
    ({"coturn_listening_port": "5349"}, "coturn_tls_listening_port must differ"),
    ({"coturn_tls_listening_port": 70000}, "coturn_tls_listening_port must be ports"),
    ({"coturn_min_port": 100}, "The relay ports must be a range from 1024 to 65535"),
    ({"coturn_max_port": 40000}, "The relay ports must be a range from 1024 to 65535"),
    ({"coturn_relay_ips": ["10.0.0.0/8"]}, "coturn_listening_ips, coturn_relay_ips and"),
    ({"coturn_allowed_peer_ips": ["127.0.0.1"]}, "coturn_allowed_peer_ips must never allow"),
    ({"coturn_external_ip": "turn.example.org"}, "coturn_external_ip must be PUBLIC or"),
    ({"coturn_stale_nonce": 10}, "coturn_user_quota must be at least 1"),
    ({"coturn_pkey": "privkey.pem"}, "coturn_cert and coturn_pkey must be absolute paths"),
    ({"coturn_tls_443": True}, "coturn_tls_443 needs coturn_listening_ips"),
])
def test_preflight_names_each_bad_setting(settings, words):
    (problem,) = preflight_problems("coturn", **settings)
    assert words in problem


def test_preflight_reports_every_problem_at_once():
    problems = preflight_problems("coturn", coturn_min_port=100, coturn_tls_443=True,
                                  facts={"distribution": "Ubuntu", "distribution_version": "24.04",
                                         "distribution_major_version": "24"})
    assert len(problems) == 3
    assert problems[0] == "The coturn role supports Debian 12 and 13; this host runs Ubuntu 24.04."


def test_state_file_records_the_domain_it_serves():
    import json

    from role_files import templar, trusted

    t = templar("coturn", {"coturn_realm": "visio.example.org", "ansible_facts": {}})
    state = json.loads(t.template(trusted("{{ _coturn_state_json }}")))
    assert state["domain"] == state["realm"] == "visio.example.org"
