"""A small XMPP client probe (standard library only): STARTTLS, SASL mechanisms, one auth.

prosody listens on loopback only, so the checks run this file on the host itself
(``python3 -c <this source> '<request JSON>'``); a password, when there is one, is
read from stdin, never from the command line. The answer is JSON on stdout:

    {"domain", "starttls_offered", "mechanisms_before_tls", "tls_version",
     "mechanisms", "auth": {"mechanism", "result": "success" | "failure",
                            "condition": "not-authorized" | "invalid-mechanism" | ...},
     "stream_error": null | {"condition", "text"}}

``stream_error``: the server closed the stream after TLS instead of offering features
(prosody does so when a domain has no usable authentication, e.g. token mode without
Jitsi's mod_auth_token): no mechanism is offered then, and nobody can log in.

Request: {"domain": D, "host": "127.0.0.1", "port": 5222, "mechanism": "ANONYMOUS" |
"PLAIN" | null, "user": U} (PLAIN reads the password from the first line of stdin).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import sys
import time

TIMEOUT = 5.0
_NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
_NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


class ProbeError(Exception):
    pass


class StreamClosed(ProbeError):
    """The server ended the stream with a stream error."""

    def __init__(self, message: str, text: str):
        super().__init__(message)
        self.text = text


def stream_error_of(text: str) -> dict | None:
    block = re.search(r"<stream:error>(.*?)</stream:error>", text, re.S)
    if not block:
        return None
    cond = re.search(r"<([a-z-]+)\s+xmlns=['\"]urn:ietf:params:xml:ns:xmpp-streams['\"]\s*/>",
                     block.group(1))
    words = re.search(r"<text[^>]*>(.*?)</text>", block.group(1), re.S)
    return {"condition": cond.group(1) if cond else None,
            "text": words.group(1).strip() if words else None}


def _header(domain: str) -> bytes:
    return (f"<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' "
            "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>").encode()


def _read_until(sock, pattern: str, what: str) -> str:
    buf = b""
    deadline = time.monotonic() + TIMEOUT
    rx = re.compile(pattern, re.S)
    while time.monotonic() < deadline:
        text = buf.decode("utf-8", "replace")
        if rx.search(text):
            return text
        if "</stream:stream>" in text or ("<stream:error" in text and "</stream:error>" in text):
            raise StreamClosed(f"server closed the stream waiting for {what}: {text[-300:]}", text)
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        buf += chunk
    raise ProbeError(f"no {what} within {TIMEOUT:g} s (got {buf[-300:]!r})")


def mechanisms_of(features: str) -> list[str]:
    block = re.search(r"<mechanisms[^>]*>(.*?)</mechanisms>", features, re.S)
    return re.findall(r"<mechanism>([^<]+)</mechanism>", block.group(1)) if block else []


def sasl_outcome(text: str) -> dict:
    if re.search(r"<success\b", text):
        return {"result": "success", "condition": None}
    failure = re.search(r"<failure[^>]*>(.*?)</failure>", text, re.S)
    cond = re.search(r"<([a-z-]+)\s*/>", failure.group(1)) if failure else None
    return {"result": "failure", "condition": cond.group(1) if cond else None}


def probe(domain: str, host: str = "127.0.0.1", port: int = 5222,
          mechanism: str | None = None, user: str | None = None,
          password: str | None = None) -> dict:
    out: dict = {"domain": domain, "starttls_offered": False, "mechanisms_before_tls": [],
                 "tls_version": None, "mechanisms": [], "auth": None, "stream_error": None}
    raw = socket.create_connection((host, port), timeout=TIMEOUT)
    try:
        raw.sendall(_header(domain))
        features = _read_until(raw, r"</stream:features>", "stream features")
        out["starttls_offered"] = f"<starttls xmlns='{_NS_TLS}'" in features.replace('"', "'")
        out["mechanisms_before_tls"] = mechanisms_of(features)
        if not out["starttls_offered"]:
            return out
        raw.sendall(f"<starttls xmlns='{_NS_TLS}'/>".encode())
        _read_until(raw, r"<proceed\b", "STARTTLS proceed")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False  # loopback probe: the names are checked elsewhere
        ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(raw, server_hostname=domain)
        out["tls_version"] = sock.version()
        sock.sendall(_header(domain))
        try:
            features = _read_until(sock, r"</stream:features>", "stream features after TLS")
        except StreamClosed as exc:
            out["stream_error"] = stream_error_of(exc.text) or {"condition": None, "text": None}
            return out
        out["mechanisms"] = mechanisms_of(features)
        if mechanism:
            if mechanism == "PLAIN":
                initial = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
                sock.sendall(f"<auth xmlns='{_NS_SASL}' mechanism='PLAIN'>{initial}</auth>"
                             .encode())
            else:
                sock.sendall(f"<auth xmlns='{_NS_SASL}' mechanism='{mechanism}'/>".encode())
            text = _read_until(sock, r"<success\b|</failure>", "SASL result")
            out["auth"] = {"mechanism": mechanism, **sasl_outcome(text)}
        sock.sendall(b"</stream:stream>")
    finally:
        raw.close()
    return out


def main(argv: list[str]) -> int:
    req = json.loads(argv[1])
    password = None
    if req.get("mechanism") == "PLAIN":
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
    try:
        result = probe(req["domain"], req.get("host", "127.0.0.1"), int(req.get("port", 5222)),
                       req.get("mechanism"), req.get("user"), password)
    except (OSError, ProbeError) as exc:
        result = {"domain": req["domain"], "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
