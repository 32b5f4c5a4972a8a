"""Unit tests of the TLS/nginx checks' pure logic: nginx -T, headers, CSP, suites, certs."""

from __future__ import annotations

import datetime
import textwrap

import pytest

from jitsi_sovereign.checks import tlsparse

NGINX_T = textwrap.dedent("""\
    # configuration file /etc/nginx/nginx.conf:
    user www-data;
    events { worker_connections 768; }
    http {
        server_tokens on;   # overridden below
        log_format anon '$remote_addr_anon - [$time_local] "$request" $status';
        access_log /var/log/nginx/access.log;
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
        include /etc/nginx/conf.d/*.conf;
        include sites-enabled/*;
    }

    # configuration file /etc/nginx/conf.d/jsov.conf:
    server_tokens off;
    map $remote_addr $remote_addr_anon { default 0.0.0.0; }

    # configuration file /etc/nginx/sites-enabled/meet.conf:
    server {
        listen 80;
        listen [::]:80;
        server_name meet.example.org;
        access_log off;
        location /.well-known/acme-challenge/ { root /var/www/acme; }
        location / { return 308 https://$host$request_uri; }
    }
    server {
        listen 443 ssl;
        listen [::]:443 ssl;
        server_name meet.example.org;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
        access_log /var/log/nginx/meet.log anon;
        add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
        add_header Content-Security-Policy "default-src 'self'; frame-ancestors 'none'" always;
        location /static/ {
            add_header Cache-Control "max-age=3600";
        }
        location /x { access_log /var/log/nginx/x.log; }
    }
    """)


@pytest.fixture()
def conf():
    return tlsparse.parse_nginx_t(NGINX_T)


def test_nginx_t_expands_includes_in_order(conf):
    http = conf.http()
    assert http is not None
    names = [d.name for d in http.block]
    assert names[:4] == ["server_tokens", "log_format", "access_log", "ssl_protocols"]
    # conf.d first (its include comes first), then sites-enabled
    assert names[4:] == ["server_tokens", "map", "server", "server"]


def test_find_server_and_effective(conf):
    chain = tlsparse.find_server(conf, 443, "meet.example.org")
    assert chain is not None
    assert tlsparse.effective(chain, "ssl_protocols") == ["TLSv1.2", "TLSv1.3"]
    assert tlsparse.effective(chain, "server_tokens") == ["off"]  # last one in http wins
    assert tlsparse.effective(chain, "ssl_ciphers") == [
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"]
    assert tlsparse.find_server(conf, 443, "other.example.org") is None
    assert tlsparse.listen_ports(chain[-1]) == {443}


def test_headers_follow_nginx_inheritance(conf):
    chain = tlsparse.find_server(conf, 443, "meet.example.org")
    server = tlsparse.headers(chain)
    assert server["strict-transport-security"] == (
        "max-age=63072000; includeSubDomains", True)
    static = next(loc for loc in tlsparse.locations(chain[-1]) if loc.args == ["/static/"])
    # a location with its own add_header inherits none of the server's
    assert list(tlsparse.headers([*chain, static])) == ["cache-control"]


def test_access_log_problems(conf):
    https = tlsparse.find_server(conf, 443, "meet.example.org")
    problems = tlsparse.access_log_problems(conf, https)
    # the server's own log is anonymised; location /x falls back to combined
    assert len(problems) == 1 and problems[0].startswith("location /x:")
    assert "$remote_addr" in problems[0]
    http80 = tlsparse.find_server(conf, 80, "meet.example.org")
    assert tlsparse.access_log_problems(conf, http80) == []


def test_redirect_problems(conf):
    http80 = tlsparse.find_server(conf, 80, "meet.example.org")
    assert tlsparse.redirect_problems(http80, 308) == []
    assert "wants 301" in tlsparse.redirect_problems(http80, 301)[0]
    https = tlsparse.find_server(conf, 443, "meet.example.org")
    assert "no `return`" in tlsparse.redirect_problems(https)[0]


def test_tokens_quotes_and_comments():
    tree = tlsparse.parse_nginx_block('a "b c" \'d;e\' f\\;g; # x { ;\nh { i; }\n')
    assert tree[0].name == "a" and tree[0].args == ["b c", "d;e", "f\\;g"]
    assert tree[1].name == "h" and tree[1].block[0].name == "i"


def test_parse_nginx_t_needs_sections():
    with pytest.raises(ValueError):
        tlsparse.parse_nginx_t("nginx: configuration file test failed\n")


@pytest.mark.parametrize(("name", "why"), [
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", None),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "not an AEAD"),
    ("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "not ECDHE"),
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", "not ECDHE"),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "not an AEAD"),
    ("TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256", "not in Mozilla"),
])
def test_classify_tls12_suite(name, why):
    got = tlsparse.classify_tls12_suite(name)
    assert (got is None) if why is None else (why in got)


def test_disallowed_suites_by_version():
    assert tlsparse.disallowed_suites("TLSv1.3", sorted(tlsparse.TLS13_SUITES)) == []
    assert tlsparse.disallowed_suites("TLSv1.3", ["TLS_AES_128_CCM_8_SHA256"])
    assert tlsparse.disallowed_suites("TLSv1.0", []) == ["TLSv1.0 must be refused"]


def test_hsts():
    assert tlsparse.parse_hsts("max-age=63072000; includeSubDomains; preload") == (
        63072000, True, True)
    assert tlsparse.hsts_problems("max-age=63072000; includeSubDomains") == []
    assert "below two years" in tlsparse.hsts_problems("max-age=300; includeSubDomains")[0]
    assert "lacks includeSubDomains" in tlsparse.hsts_problems("max-age=63072000")[0]
    assert "promises 31536000" in tlsparse.hsts_problems(
        "max-age=63072000; includeSubDomains", 31536000)[0]
    assert tlsparse.hsts_problems(None) == ["no Strict-Transport-Security header"]


def test_frame_ancestors():
    deny = "default-src 'self'; frame-ancestors 'none'"
    assert tlsparse.frame_ancestors_problems(deny, []) == []
    assert tlsparse.frame_ancestors_problems(deny, ["https://portal.example.org"])
    allow = "default-src 'self'; frame-ancestors 'self' https://portal.example.org"
    assert tlsparse.frame_ancestors_problems(allow, ["https://portal.example.org"]) == []
    assert tlsparse.frame_ancestors_problems(allow, [])
    assert "no frame-ancestors" in tlsparse.frame_ancestors_problems("default-src 'self'", [])[0]
    assert tlsparse.frame_ancestors_problems(None, []) == ["no Content-Security-Policy header"]


def test_version_tuple():
    assert tlsparse.version_tuple("nginx version: nginx/1.22.1") == (1, 22, 1)
    assert tlsparse.version_tuple("nginx version: nginx/1.22.1") < tlsparse.SESSION_TICKETS_FIXED
    assert tlsparse.version_tuple("1.26.3") >= tlsparse.SESSION_TICKETS_FIXED


def _pem(names: list[str], days: int = 90) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(4242)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_cert_info_and_names():
    pem = _pem(["meet.example.org", "*.guest.example.org"])
    info = tlsparse.cert_info(pem + pem)
    assert info.serial == 4242 and info.chain_length == 2
    assert info.covers("meet.example.org") and info.covers("MEET.example.org.")
    assert info.covers("a.guest.example.org") and not info.covers("a.b.guest.example.org")
    assert not info.covers("example.org")
    with pytest.raises(ValueError):
        tlsparse.cert_info("not a certificate")
