"""tls preflight: a VM behind 1:1 NAT with no public/private pair declared stops the run
(issue 10, D13: the bridge would advertise its private address)."""

from __future__ import annotations

import pytest
from role_files import templar, trusted


def nat(host_addresses, from_host, from_controller, **extra):
    answers = {
        "_tls_dns_host_answer": {"addresses": host_addresses,
                                 "resolved": {"meet.example.fr": from_host}},
        "_tls_dns_controller_answer": {"addresses": [],
                                       "resolved": {"meet.example.fr": from_controller}},
        "_tls_domains": ["meet.example.fr"],
        **extra,
    }
    return templar("tls", answers).template(trusted("{{ _tls_nat_undeclared }}"))


def test_private_interface_and_a_record_elsewhere_is_undeclared_nat():
    assert nat(["10.0.0.5"], [], ["51.91.0.10"]) == {
        "private": "10.0.0.5", "public": "51.91.0.10", "domain": "meet.example.fr"}
    # Carrier-grade NAT space counts as private too.
    assert nat(["100.64.3.4", "fd00::5"], ["51.91.0.10"], [])["private"] == "100.64.3.4"


@pytest.mark.parametrize("addresses,host,ctrl,extra", [
    (["10.0.0.5"], [], ["51.91.0.10"], {"jitsi_sovereign_public_ip": "51.91.0.10"}),  # declared
    (["51.91.0.10"], [], ["51.91.0.10"], {}),           # the VM has its public address
    (["10.0.0.5", "51.91.0.10"], [], ["51.91.0.10"], {}),  # a public address on an interface
    (["10.0.0.5"], ["10.0.0.5"], [], {}),                # the name points at the VM itself
    (["10.0.0.5"], [], [], {}),                          # no record: the DNS check says so
    (["10.0.0.5"], [], ["10.9.9.9"], {}),                # only private answers: an internal lab
    (["198.51.100.11"], [], ["198.51.100.11"], {}),      # the project's lab hosts
])
def test_everything_else_passes(addresses, host, ctrl, extra):
    assert nat(addresses, host, ctrl, **extra) == {}


def test_the_probe_check_reports_it_with_the_fix():
    from role_files import role_yaml

    (task,) = [t for t in role_yaml("tls", "tasks", "preflight.yml")
               if t["name"].startswith("Check what the probes found")]
    v = task["vars"]
    assert "_tls_nat_undeclared" in v["_nat"] and "tls_acme_preflight_dns" in v["_nat"]
    assert "[_msg_nat]" in v["_tls_probe_errors"]
    assert "jitsi_sovereign_public_ip: {{ _nat.public" in v["_msg_nat"]
    assert "jitsi_sovereign_private_ip:" in v["_msg_nat"]
