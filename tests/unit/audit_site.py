"""A fake web site on loopback for the audit's unit tests: HTTPS with a certificate for
``meet.test`` signed by a CA made here (the audit gets it with --cafile), and a plain
HTTP port for the redirect, each serving what the test puts in ``Site.routes``.

    with serve() as site:
        site.routes["/config.js"] = (200, {"Content-Type": "application/javascript"}, "...")
        ctx = site.context()   # an AuditContext: --connect-to 127.0.0.1:PORT --cafile CA
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jitsi_sovereign.audit.context import AuditContext
from jitsi_sovereign.audit.target import parse_target

NAME = "meet.test"

GOOD_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline' "
                               "'wasm-unsafe-eval'; worker-src 'self' blob:; "
                               "object-src 'none'; frame-ancestors 'none'",
    "Server": "nginx",
}

GOOD_CONFIG = """var config = {
    hosts: {
        domain: 'meet.test',
        anonymousdomain: 'guest.meet.test',
        muc: 'conference.meet.test',
    },
    bosh: '//meet.test/http-bind',
    websocket: 'wss://meet.test/xmpp-websocket',
    p2p: {stunServers: [{urls: 'stun:meet.test:3478'}]},
    disableThirdPartyRequests: true,
    gravatar: {disabled: true},
    analytics: {disabled: true, rtcstatsEnabled: false},
    e2ee: {disabled: false},
    doNotStoreRoom: true,
    giphy: {enabled: false},
};
"""

JS = {"Content-Type": "application/javascript"}
# TLS 1.2 suites of Mozilla's intermediate profile (ECDSA certificate); None: Python's
# default list, which also has CBC suites.
AEAD = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"


def _cert(subject: str, issuer_key, issuer_name, key, *, ca: bool, days: int = 90,
          san: list[str] | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
         .issuer_name(issuer_name).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(min(now, now + dt.timedelta(days=days)) - dt.timedelta(days=1))
         .not_valid_after(now + dt.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=True,
                                          crl_sign=True, encipher_only=False,
                                          decipher_only=False), critical=True)
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
    else:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in san or []]),
                            critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                            critical=False)
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def make_pki(directory: Path, name: str = NAME, days: int = 90) -> tuple[Path, Path, Path]:
    """(ca.pem, fullchain.pem, key.pem) for ``name``."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "audit test CA")])
    ca = _cert("audit test CA", ca_key, ca_name, ca_key, ca=True, days=3650)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert(name, ca_key, ca_name, key, ca=False, days=days, san=[name])
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "fullchain.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (directory / "key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return directory / "ca.pem", directory / "fullchain.pem", directory / "key.pem"


@dataclass
class Site:
    https_port: int
    http_port: int
    cafile: Path
    routes: dict[str, tuple[int, dict[str, str], str]] = field(default_factory=dict)
    plain_routes: dict[str, tuple[int, dict[str, str], str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=lambda: dict(GOOD_HEADERS))
    requests: list[str] = field(default_factory=list)

    def context(self, timeout: float = 3.0) -> AuditContext:
        target = parse_target(f"https://{NAME}", connect_to=f"127.0.0.1:{self.https_port}",
                              cafile=self.cafile, timeout=timeout)
        return AuditContext(target, http_port=self.http_port)

    def jitsi(self, config: str = GOOD_CONFIG) -> Site:
        self.routes["/config.js"] = (200, JS, config)
        self.routes["/"] = (200, {"Content-Type": "text/html"}, "<!DOCTYPE html><title>Jitsi Meet"
                            "</title>")
        return self


def _handler(site: Site, tls: bool):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nginx"
        sys_version = ""

        def log_message(self, *args) -> None:  # quiet
            pass

        def version_string(self) -> str:
            return site.headers.get("Server", "")

        def do_HEAD(self) -> None:
            self.do_GET(body=False)

        def do_GET(self, body: bool = True) -> None:
            scheme = "https" if tls else "http"
            site.requests.append(f"{scheme} {self.path}" if body else
                                 f"{scheme} HEAD {self.path}")
            routes = site.routes if tls else site.plain_routes
            if self.path in routes:
                status, headers, body = routes[self.path]
            elif not tls:
                status, headers, body = 308, {"Location": f"https://{NAME}{self.path}"}, ""
            else:
                status, headers, body = 404, {"Content-Type": "text/html"}, "not found"
            data = body.encode()
            self.send_response(status)
            extra = {k: v for k, v in site.headers.items() if k != "Server"} if tls else {}
            for k, v in {**extra, **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(data)
            self.close_connection = True

    return Handler


@contextlib.contextmanager
def serve(tmp_path: Path, *, days: int = 90, ciphers: str | None = AEAD) -> Iterator[Site]:
    cafile, chain, key = make_pki(tmp_path, days=days)
    https = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    plain = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    site = Site(https.server_address[1], plain.server_address[1], cafile)
    https.RequestHandlerClass = _handler(site, True)
    plain.RequestHandlerClass = _handler(site, False)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(chain, key)
    if ciphers:
        ctx.set_ciphers(ciphers)
        ctx.set_ecdh_curve("prime256v1")  # Python's default list has curves Mozilla leaves out
    # The handshake happens in the request's thread (its first read), not in accept().
    https.socket = ctx.wrap_socket(https.socket, server_side=True,
                                   do_handshake_on_connect=False)
    for s in (https, plain):
        s.daemon_threads = True
        s.handle_error = lambda request, address: None  # scanners' aborted handshakes
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05},
                                daemon=True) for s in (https, plain)]
    for t in threads:
        t.start()
    try:
        yield site
    finally:
        for s in (https, plain):
            s.shutdown()
            s.server_close()
