"""The LDAP check's parsers (no host): URL -> endpoint, libldap's option precedence,
openssl s_client's brief output."""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks import test_ldap as ldap_check


@pytest.mark.parametrize(("url", "starttls", "want"), [
    ("ldaps://ldap.example.org", False, ("ldap.example.org", 636, False, False)),
    ("ldaps://ldap.example.org:1636/", False, ("ldap.example.org", 1636, False, False)),
    ("ldap://ldap.example.org", True, ("ldap.example.org", 389, True, False)),
    ("ldaps://192.0.2.10", False, ("192.0.2.10", 636, False, True)),
    ("ldaps://[2001:db8::1]:636", False, ("2001:db8::1", 636, False, True)),
])
def test_endpoint(url, starttls, want):
    ep = ldap_check.ldap_endpoint(url, starttls)
    assert (ep.host, ep.port, ep.starttls, ep.is_ip) == want


def test_endpoint_connect_brackets_ipv6():
    assert ldap_check.ldap_endpoint("ldaps://[2001:db8::1]", False).connect == "[2001:db8::1]:636"
    assert ldap_check.ldap_endpoint("ldaps://dir.lab", False).connect == "dir.lab:636"


@pytest.mark.parametrize(("url", "starttls", "message"), [
    ("ldap://ldap.example.org", False, "clear text"),
    ("http://ldap.example.org", True, "not an ldaps://"),
    ("ldaps://", False, "names no directory host"),
    ("ldaps://host:99999", False, "Port out of range"),
])
def test_endpoint_refused(url, starttls, message):
    with pytest.raises(ValueError, match=message):
        ldap_check.ldap_endpoint(url, starttls)


CONF = """# Debian's ldap.conf
#TLS_REQCERT never
BASE dc=example,dc=org
TLS_CACERT\t/etc/ssl/certs/ca-certificates.crt
tls_reqcert allow
"""


def test_parse_ldap_conf():
    opts = ldap_check.parse_ldap_conf(CONF)
    assert opts["TLS_CACERT"] == "/etc/ssl/certs/ca-certificates.crt"
    assert opts["TLS_REQCERT"] == "allow"
    assert "#TLS_REQCERT" not in opts


def test_environment_overrides_files():
    env = {"LDAPTLS_REQCERT": "demand", "LDAPTLS_CACERT": "/etc/prosody/certs/ca.pem"}
    files = [("/etc/ldap/ldap.conf", CONF)]
    assert ldap_check.effective_tls_option("REQCERT", env, files)[0] == "demand"
    assert ldap_check.effective_tls_option("CACERT", env, files)[0] == "/etc/prosody/certs/ca.pem"


def test_later_file_wins_and_default():
    files = [("/etc/ldap/ldap.conf", "TLS_REQCERT demand\n"),
             ("/var/lib/prosody/.ldaprc", "TLS_REQCERT never\n")]
    assert ldap_check.effective_tls_option("REQCERT", {}, files) == (
        "never", "/var/lib/prosody/.ldaprc")
    assert ldap_check.effective_tls_option("CACERTDIR", {}, files) == (
        None, "libldap's default")


def test_parse_environ():
    env = ldap_check.parse_environ("HOME=/var/lib/prosody\nLDAPTLS_CACERT=/x=y.pem\nnoise\n")
    assert env == {"HOME": "/var/lib/prosody", "LDAPTLS_CACERT": "/x=y.pem"}


BRIEF_OK = """CONNECTION ESTABLISHED
Protocol version: TLSv1.3
Ciphersuite: TLS_AES_256_GCM_SHA384
Peer certificate: CN = molldap-2.lab.test
Verification: OK
Verified peername: molldap-2.lab.test
DONE
"""
BRIEF_BAD = """depth=0 CN = molldap-2.lab.test
verify error:num=20:unable to get local issuer certificate
40A7E1B8F87F0000:error:0A000086:SSL routines::certificate verify failed
"""


def test_parse_s_client():
    ok = ldap_check.parse_s_client_brief(BRIEF_OK)
    assert ok == {"protocol": "TLSv1.3", "verification": "OK", "verify_error": None}
    bad = ldap_check.parse_s_client_brief(BRIEF_BAD)
    assert bad["verification"] is None and bad["protocol"] is None
    assert bad["verify_error"] == "num=20:unable to get local issuer certificate"
