"""Unit tests of the lab's ACME server wiring: pebble config, argv, CA, inventory vars."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jitsi_sovereign.lab import acme, config, files


@pytest.fixture()
def cfg(tmp_path):
    return config.from_env(tmp_path / "lab", env={})


def test_pebble_config_binds_the_bridge_and_validates_on_real_ports(cfg, tmp_path):
    data = acme.pebble_config(cfg, tmp_path / "c.pem", tmp_path / "k.pem")["pebble"]
    assert data["listenAddress"] == "198.51.100.1:14000"
    assert data["managementListenAddress"] == "198.51.100.1:15000"
    assert (data["httpPort"], data["tlsPort"]) == (80, 443)
    assert data["certificate"] == str(tmp_path / "c.pem")
    assert data["certificateValidityPeriod"] == 90 * 86400
    json.dumps(data)  # serialisable as written


def test_argv_and_env(cfg):
    argv = acme.pebble_argv(cfg)
    assert argv[:2] == ["/usr/bin/pebble", "-config"]
    assert argv[2] == str(cfg.state_dir / "acme" / "pebble-config.json")
    assert argv[3:] == ["-dnsserver", "127.0.0.1:8053"]
    chall = acme.challtestsrv_argv()
    opts = dict(zip(chall[1::2], chall[2::2], strict=True))
    assert opts["-dns01"] == "127.0.0.1:8053" and opts["-management"] == "127.0.0.1:8055"
    assert opts["-http01"] == opts["-https01"] == opts["-tlsalpn01"] == ""
    assert "PEBBLE_VA_ALWAYS_VALID" not in acme.PEBBLE_ENV  # validation stays real
    assert acme.PEBBLE_ENV == {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
    assert acme.directory_url(cfg) == "https://198.51.100.1:14000/dir"
    assert acme.domain("acme1") == "acme1.lab.test"


def test_is_ours_needs_argv_and_marker(cfg):
    argv = [sys.executable, "-c", "import time; time.sleep(30)", ""]
    env = {acme.MARKER_VAR: str(cfg.state_dir)}
    proc = subprocess.Popen(argv, env=env)
    other = subprocess.Popen(argv, env={acme.MARKER_VAR: "/elsewhere"})
    try:
        assert acme._is_ours(proc.pid, argv, cfg)  # the empty argument is ignored
        assert not acme._is_ours(proc.pid, argv[:-2], cfg)
        assert not acme._is_ours(other.pid, argv, cfg)
        assert not acme._is_ours(None, argv, cfg)
    finally:
        for p in (proc, other):
            p.kill()
            p.wait()


def test_certificates_make_a_ca_once_and_a_server_cert_for_the_gateway(cfg):
    pytest.importorskip("cryptography")
    from cryptography import x509

    acme.acme_dir(cfg).mkdir(parents=True)
    acme.ensure_certificates(cfg)
    base = acme.acme_dir(cfg)
    ca_before = (base / "pebble-ca.pem").read_text()
    acme.ensure_certificates(cfg)
    assert (base / "pebble-ca.pem").read_text() == ca_before  # the CA is kept
    assert (base / "pebble-ca.key").stat().st_mode & 0o777 == 0o600
    assert (base / "pebble.key").stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate((base / "pebble.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["198.51.100.1"]
    # the server certificate verifies against the CA bundle given to certbot
    store = ssl.create_default_context(cafile=str(base / "pebble-ca.pem"))
    assert store.get_ca_certs()[0]["subject"][0][0][1] == "jitsi-sovereign lab ACME server CA"
    ca = x509.load_pem_x509_certificate(ca_before.encode())
    cert.verify_directly_issued_by(ca)


def test_inventory_with_acme_vars(cfg):
    info = acme.info(cfg)
    text = files.inventory_text({"acme1": "198.51.100.13"}, Path("/l/ssh/id"),
                                Path("/l/known_hosts"), acme=info)
    meet = yaml.safe_load(text)["all"]["children"]["meet"]
    assert meet["hosts"]["acme1"] == {"ansible_host": "198.51.100.13",
                                      "jitsi_sovereign_domain": "acme1.lab.test"}
    v = meet["vars"]
    assert v["tls_mode"] == "acme"
    assert v["tls_acme_directory_url"] == "https://198.51.100.1:14000/dir"
    assert v["tls_acme_ca_bundle"] == str(cfg.state_dir / "acme" / "pebble-ca.pem")
    assert v["tls_acme_renew_before_days"] == 30
    assert v["tls_acme_preflight_dns"] is False
    assert v["jitsi_sovereign_tls_trust_store"] == str(cfg.state_dir / "acme" / "root.pem")
    lines = text.splitlines()
    for key in ("tls_mode", "tls_acme_directory_url", "tls_acme_ca_bundle",
                "tls_acme_renew_before_days", "tls_acme_preflight_dns",
                "jitsi_sovereign_tls_trust_store"):
        at = next(i for i, ln in enumerate(lines) if ln.strip().startswith(key + ":"))
        assert lines[at - 1].strip().startswith("#"), f"{key} has no comment"


def test_inventory_without_acme_has_no_domain(cfg):
    text = files.inventory_text({"lab1": "198.51.100.11"}, Path("/k"), Path("/kh"))
    meet = yaml.safe_load(text)["all"]["children"]["meet"]
    assert "jitsi_sovereign_domain" not in meet["hosts"]["lab1"]
    assert not any(k.startswith("tls_") for k in meet["vars"])


def test_inventory_acme_vars_are_declared_by_the_tls_role(cfg):
    from jitsi_sovereign import paths
    from jitsi_sovereign.inventory import role_specs

    specs = role_specs(paths.roles_dir())
    if "tls" not in specs:
        pytest.skip("roles/tls is not in this checkout")
    text = files.inventory_text({"acme1": "198.51.100.13"}, Path("/k"), Path("/kh"),
                                acme=acme.info(cfg))
    group = yaml.safe_load(text)["all"]["children"]["meet"]["vars"]
    unknown = [k for k in group if k.startswith("tls_") and k not in specs["tls"]]
    assert not unknown, f"the tls role does not declare {unknown}"
