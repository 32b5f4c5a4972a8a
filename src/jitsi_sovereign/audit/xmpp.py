"""A minimal, bounded XMPP client over the endpoints a Jitsi web app uses (standard library).

* ``WebSocket``: an RFC 6455 client (TLS with SNI to the audited name, at the address
  packets go to: ``--connect-to`` works), one text message per frame sequence; pings are
  answered, a close ends it. Every read is bounded by a deadline.
* ``WsTransport``: XMPP over that websocket (RFC 7395 framing: ``<open/>``/``<close/>``,
  one stanza per message, subprotocol ``xmpp``).
* ``BoshTransport``: XMPP over BOSH (XEP-0124/XEP-0206), one request at a time, short
  ``wait``: the fallback when config.js names no websocket or the websocket is refused.
* ``Session``: what the audit does over either: open a stream, read the SASL mechanisms,
  authenticate (ANONYMOUS), bind, send an IQ and wait for its answer, join a MUC room.

Certificates are not verified here (the tls area judges them); what crosses the wire is
parsed with ElementTree, after refusing any DTD (XMPP forbids them, RFC 6120 11.1), and
each message is bounded in size.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import socket
import ssl
import struct
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from jitsi_sovereign.audit.context import permissive_tls

NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
NS_STREAM = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_BOSH = "http://jabber.org/protocol/httpbind"
NS_XBOSH = "urn:xmpp:xbosh"
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"

MAX_MESSAGE = 1 << 20  # bytes: one websocket message or one BOSH body
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
USER_AGENT = "jitsi-sovereign-audit"


class XmppError(Exception):
    """The endpoint or the stream did not behave: the message says what was seen."""


class StreamError(XmppError):
    """The server ended the stream with a stream error (``condition``, ``text``)."""

    def __init__(self, condition: str | None, text: str | None = None):
        super().__init__(f"stream error {condition or '?'}" + (f": {text}" if text else ""))
        self.condition = condition
        self.text = text


# ------------------------------------------------------------------ XML helpers


def local(tag: str) -> str:
    """``iq`` for ``{jabber:client}iq``."""
    return tag.rsplit("}", 1)[-1]


def ns_of(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def parse_xml(text: str) -> ET.Element:
    """One XML element from the wire; DTDs and entity declarations refused."""
    if len(text) > MAX_MESSAGE:
        raise XmppError(f"message of {len(text)} characters, more than {MAX_MESSAGE}")
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise XmppError("the server sent a DTD (forbidden in XMPP)")
    try:
        return ET.fromstring(text)  # noqa: S314 (no DTD, bounded size: see above)
    except ET.ParseError as exc:
        raise XmppError(f"not XML ({exc}): {text[:200]!r}") from None


def child(elem: ET.Element, name: str, ns: str | None = None) -> ET.Element | None:
    for c in elem:
        if local(c.tag) == name and (ns is None or ns_of(c.tag) == ns):
            return c
    return None


def error_condition(elem: ET.Element) -> str | None:
    """The defined condition of a stanza error (``<error><not-allowed/>...``), or of a
    SASL failure / stream error: the first child in its namespace."""
    err = child(elem, "error") if local(elem.tag) not in ("error", "failure") else elem
    if err is None:
        return None
    for c in err:
        if local(c.tag) != "text":
            return local(c.tag)
    return None


def mechanisms(features: ET.Element) -> list[str]:
    mechs = child(features, "mechanisms", NS_SASL)
    return [(m.text or "").strip() for m in mechs if local(m.tag) == "mechanism"] if mechs else []


def show(elem: ET.Element, limit: int = 300) -> str:
    """An element as short text, for evidence (namespace prefixes left out)."""
    text = ET.tostring(elem, encoding="unicode")
    text = re.sub(r"""\s+xmlns:ns\d+=("[^"]*"|'[^']*')""", "", text)
    text = re.sub(r"(</?)ns\d+:", r"\1", text)
    return text if len(text) <= limit else text[:limit] + "..."


# ------------------------------------------------------------------ websocket (RFC 6455)


def _recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise XmppError("the connection was closed by the server")
        buf += chunk
    return buf


def tls_connect(address: str, port: int, name: str, timeout: float) -> ssl.SSLSocket:
    """TCP to address:port, TLS with SNI = name, accepting what the server offers
    (certificate and protocol are the tls area's findings)."""
    raw = socket.create_connection((address, port), timeout=timeout)
    try:
        return permissive_tls().wrap_socket(raw, server_hostname=name)
    except BaseException:
        raw.close()
        raise


def encode_frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """A final client frame (masked, as RFC 6455 5.3 requires of clients)."""
    mask = mask if mask is not None else os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class WebSocket:
    """One websocket client connection over an already connected (TLS) socket."""

    def __init__(self, sock: socket.socket, host: str, path: str, *, origin: str,
                 protocol: str = "xmpp", timeout: float = 5.0):
        self.sock = sock
        self.timeout = timeout
        self.closed = False
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {protocol}\r\n"
                   f"Origin: {origin}\r\nUser-Agent: {USER_AGENT}\r\n\r\n")
        sock.sendall(request.encode())
        status, headers, self._buf = read_http_head(sock, time.monotonic() + timeout)
        if status != 101:
            raise XmppError(f"the websocket upgrade was answered HTTP {status}")
        digest = hashlib.sha1((key + WS_GUID).encode()).digest()  # noqa: S324 - RFC 6455
        want = base64.b64encode(digest).decode()
        if headers.get("sec-websocket-accept") != want:
            raise XmppError("the websocket upgrade has a wrong Sec-WebSocket-Accept")
        got = headers.get("sec-websocket-protocol", "")
        if got.strip().lower() != protocol:
            raise XmppError(f"the websocket did not accept the {protocol} subprotocol "
                            f"(answered {got or 'none'!r})")
        self.headers = headers

    def _read(self, n: int, deadline: float) -> bytes:
        if len(self._buf) >= n:
            out, self._buf = self._buf[:n], self._buf[n:]
            return out
        out = self._buf + _recv_exact(self.sock, n - len(self._buf), deadline)
        self._buf = b""
        return out

    def send_text(self, text: str) -> None:
        self.sock.sendall(encode_frame(0x1, text.encode()))

    def recv_text(self, deadline: float) -> str | None:
        """The next text message; None when the server closed the websocket.
        TimeoutError when nothing complete came before the deadline."""
        parts: list[bytes] = []
        total = 0
        while True:
            b0, b1 = self._read(2, deadline)
            opcode, fin = b0 & 0x0F, bool(b0 & 0x80)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2, deadline))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8, deadline))[0]
            if b1 & 0x80:  # a server must not mask (RFC 6455 5.1)
                raise XmppError("the server sent a masked websocket frame")
            total += n
            if total > MAX_MESSAGE:
                raise XmppError(f"websocket message larger than {MAX_MESSAGE} bytes")
            payload = self._read(n, deadline) if n else b""
            if opcode == 0x8:  # close: answer it, done
                self.closed = True
                with contextlib.suppress(OSError):
                    self.sock.sendall(encode_frame(0x8, payload[:2]))
                return None
            if opcode == 0x9:  # ping -> pong
                self.sock.sendall(encode_frame(0xA, payload))
                continue
            if opcode == 0xA:
                continue
            if opcode in (0x1, 0x0):
                parts.append(payload)
                if fin:
                    return b"".join(parts).decode("utf-8", "replace")
                continue
            raise XmppError(f"unexpected websocket opcode {opcode}")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                self.sock.sendall(encode_frame(0x8, struct.pack("!H", 1000)))
        self.sock.close()


def read_http_head(sock: socket.socket, deadline: float) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, bytes read past the head)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        if len(buf) > 65536:
            raise XmppError("HTTP answer head larger than 64 KiB")
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            raise XmppError("the connection was closed before an HTTP answer")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("iso-8859-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise XmppError(f"not an HTTP answer: {lines[0][:100]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return status, headers, rest


# ------------------------------------------------------------------ transports


@dataclass
class Endpoint:
    """Where the web app's XMPP goes: ``kind`` websocket or bosh, its URL, and where
    packets for it go (the audited address when the URL names the audited server)."""

    kind: str
    url: str
    host: str
    port: int
    path: str
    address: str
    connect_port: int
    secure: bool  # wss:// or https://

    def __str__(self) -> str:
        via = "" if self.host == self.address else f" (at {self.address}:{self.connect_port})"
        return f"{self.kind} {self.url}{via}"


def endpoint_from_url(kind: str, url: str, *, base_name: str, base_port: int, address: str,
                      connect_port: int, resolve) -> Endpoint:
    """The endpoint of a config.js URL (absolute, ``//host/path`` or ``/path``); packets for
    the audited name:port go to the audited address, another host is resolved."""
    if url.startswith("//"):
        url = ("wss:" if kind == "websocket" else "https:") + url
    elif url.startswith("/"):
        url = f"{'wss' if kind == 'websocket' else 'https'}://{base_name}" + (
            f":{base_port}" if base_port != 443 else "") + url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("wss", "ws", "https", "http"):
        raise XmppError(f"{kind} URL {url!r}: unknown scheme")
    secure = scheme in ("wss", "https")
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or (443 if secure else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if host == base_name and port == base_port:
        addr, cport = address, connect_port
    else:
        addr, cport = resolve(host), port
    return Endpoint(kind, url, host, port, path, addr, cport, secure)


class WsTransport:
    """XMPP over a websocket (RFC 7395)."""

    kind = "websocket"

    def __init__(self, ep: Endpoint, *, origin: str, timeout: float):
        self.ep = ep
        self.timeout = timeout
        if ep.secure:
            sock: socket.socket = tls_connect(ep.address, ep.connect_port, ep.host, timeout)
        else:
            sock = socket.create_connection((ep.address, ep.connect_port), timeout=timeout)
        try:
            self.ws = WebSocket(sock, ep.host if ep.port in (80, 443) else f"{ep.host}:{ep.port}",
                                ep.path, origin=origin, timeout=timeout)
        except BaseException:
            sock.close()
            raise

    def _open(self, domain: str) -> ET.Element:
        self.ws.send_text(f"<open xmlns='{NS_FRAMING}' to={quoteattr(domain)} version='1.0'/>")
        deadline = time.monotonic() + self.timeout
        opened = False
        while True:
            elem = self.recv(deadline)
            if elem is None:
                raise XmppError("no stream features within the time allowed")
            if local(elem.tag) == "open":
                opened = True
                continue
            if local(elem.tag) == "features":
                if not opened:
                    raise XmppError("stream features before <open/>")
                return elem
            raise XmppError(f"unexpected {show(elem)} while opening the stream")

    def open(self, domain: str) -> ET.Element:
        return self._open(domain)

    def restart(self, domain: str) -> ET.Element:
        return self._open(domain)

    def send(self, xml: str) -> None:
        self.ws.send_text(xml)

    def recv(self, deadline: float) -> ET.Element | None:
        """The next element, None at the deadline; a stream error or a close raises."""
        try:
            text = self.ws.recv_text(deadline)
        except TimeoutError:
            return None
        if text is None:
            raise XmppError("the server closed the websocket")
        elem = parse_xml(text)
        if local(elem.tag) == "error" and ns_of(elem.tag) == NS_STREAM:
            raise StreamError(error_condition(elem), _text_of(elem))
        if local(elem.tag) == "close" and ns_of(elem.tag) == NS_FRAMING:
            raise XmppError("the server closed the stream")
        return elem

    def close(self) -> None:
        try:
            if not self.ws.closed:
                self.ws.send_text(f"<close xmlns='{NS_FRAMING}'/>")
        except OSError:
            pass
        self.ws.close()


def _text_of(elem: ET.Element) -> str | None:
    t = child(elem, "text")
    return (t.text or "").strip() if t is not None else None


class BoshTransport:
    """XMPP over BOSH, one HTTP request at a time (keep-alive connection), wait kept short."""

    kind = "bosh"

    def __init__(self, ep: Endpoint, *, origin: str, timeout: float):
        self.ep = ep
        self.origin = origin
        self.timeout = timeout
        self.wait = max(1, int(timeout / 2))
        self.rid = int.from_bytes(os.urandom(4), "big") & 0x0FFFFFFF
        self.sid: str | None = None
        self.sock: socket.socket | None = None
        self.pending: list[ET.Element] = []

    def _connect(self) -> socket.socket:
        if self.sock is None:
            ep = self.ep
            if ep.secure:
                self.sock = tls_connect(ep.address, ep.connect_port, ep.host, self.timeout)
            else:
                self.sock = socket.create_connection((ep.address, ep.connect_port),
                                                     timeout=self.timeout)
        return self.sock

    def _post(self, attrs: str, payload: str = "") -> ET.Element:
        self.rid += 1
        sid = f" sid={quoteattr(self.sid)}" if self.sid else ""
        body = (f"<body xmlns='{NS_BOSH}' rid='{self.rid}'{sid}{attrs}>{payload}</body>").encode()
        host = self.ep.host if self.ep.port in (80, 443) else f"{self.ep.host}:{self.ep.port}"
        head = (f"POST {self.ep.path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {self.origin}\r\n"
                f"User-Agent: {USER_AGENT}\r\nContent-Type: text/xml; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        deadline = time.monotonic() + self.wait + self.timeout
        for attempt in (0, 1):  # a keep-alive connection the server closed: once more
            sock = self._connect()
            try:
                sock.sendall(head + body)
                status, headers, rest = read_http_head(sock, deadline)
                break
            except TimeoutError:
                raise
            except (XmppError, OSError):
                self.close_socket()
                if attempt:
                    raise
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise XmppError("BOSH answer in chunked encoding (not supported here)")
        length = int(headers.get("content-length") or 0)
        if length > MAX_MESSAGE:
            raise XmppError(f"BOSH answer of {length} bytes")
        data = rest + (_recv_exact(sock, length - len(rest), deadline) if length > len(rest)
                       else b"")
        if headers.get("connection", "").lower() == "close":
            self.close_socket()
        if status != 200:
            raise XmppError(f"BOSH request answered HTTP {status}")
        body_elem = parse_xml(data[:length].decode("utf-8", "replace"))
        if local(body_elem.tag) != "body":
            raise XmppError(f"BOSH answer is not a <body/>: {show(body_elem)}")
        if body_elem.get("type") == "terminate":
            cond = body_elem.get("condition")
            inner = child(body_elem, "error", NS_STREAM)
            if inner is not None:
                raise StreamError(error_condition(inner), _text_of(inner))
            raise StreamError(cond or "terminate")
        return body_elem

    def _features(self, body: ET.Element) -> ET.Element:
        deadline = time.monotonic() + self.timeout
        self.pending.extend(list(body))
        while True:
            for i, elem in enumerate(self.pending):
                if local(elem.tag) == "features":
                    del self.pending[i]
                    return elem
            if time.monotonic() > deadline:
                raise XmppError("no stream features within the time allowed")
            self.pending.extend(list(self._post("")))

    def open(self, domain: str) -> ET.Element:
        body = self._post(f" to={quoteattr(domain)} xml:lang='en' wait='{self.wait}' hold='1' "
                          f"content='text/xml; charset=utf-8' ver='1.6' xmpp:version='1.0' "
                          f"xmlns:xmpp='{NS_XBOSH}'")
        self.sid = body.get("sid")
        if not self.sid:
            raise XmppError(f"BOSH session without sid: {show(body)}")
        return self._features(body)

    def restart(self, domain: str) -> ET.Element:
        body = self._post(f" to={quoteattr(domain)} xml:lang='en' xmpp:restart='true' "
                          f"xmlns:xmpp='{NS_XBOSH}'")
        return self._features(body)

    def send(self, xml: str) -> None:
        self.pending.extend(list(self._post("", xml)))

    def recv(self, deadline: float) -> ET.Element | None:
        while not self.pending:
            if time.monotonic() >= deadline:
                return None
            self.pending.extend(list(self._post("")))
        return self.pending.pop(0)

    def close_socket(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def close(self) -> None:
        try:
            if self.sid:
                self._post(" type='terminate'",
                           "<presence type='unavailable' xmlns='jabber:client'/>")
        except (OSError, XmppError):
            pass
        self.close_socket()


# ------------------------------------------------------------------ session


@dataclass
class Outcome:
    """The answer to a request: the element (None: no answer before the deadline)."""

    elem: ET.Element | None
    error: str | None = None  # the stanza error condition, when type='error'

    @property
    def ok(self) -> bool:
        return self.elem is not None and self.error is None and self.elem.get("type") != "error"


@dataclass
class Session:
    transport: WsTransport | BoshTransport
    domain: str
    timeout: float = 5.0
    features: ET.Element | None = None
    jid: str | None = None
    others: list[ET.Element] = field(default_factory=list)  # stanzas read while waiting

    def open(self) -> list[str]:
        """Open the stream; the SASL mechanisms offered."""
        self.features = self.transport.open(self.domain)
        return mechanisms(self.features)

    def auth(self, mechanism: str, initial: bytes | None = None) -> tuple[bool, str | None]:
        """(accepted, failure condition)."""
        data = "=" if initial == b"" else (base64.b64encode(initial).decode() if initial else "")
        self.transport.send(f"<auth xmlns='{NS_SASL}' mechanism={quoteattr(mechanism)}>"
                            f"{data}</auth>")
        deadline = time.monotonic() + self.timeout
        while True:
            elem = self.transport.recv(deadline)
            if elem is None:
                raise XmppError(f"no SASL answer to {mechanism} within {self.timeout:g} s")
            if ns_of(elem.tag) == NS_SASL and local(elem.tag) == "success":
                return True, None
            if ns_of(elem.tag) == NS_SASL and local(elem.tag) == "failure":
                return False, error_condition(elem)
            if ns_of(elem.tag) == NS_SASL and local(elem.tag) == "challenge":
                self.transport.send(f"<abort xmlns='{NS_SASL}'/>")
                continue
            self.others.append(elem)

    def bind(self) -> str:
        """Restart the stream after SASL success and bind a resource: the full JID."""
        self.features = self.transport.restart(self.domain)
        answer = self.iq("set", None, f"<bind xmlns='{NS_BIND}'/>")
        if not answer.ok:
            raise XmppError(f"resource binding refused: {answer.error or 'no answer'}")
        bind = child(answer.elem, "bind", NS_BIND)
        jid = child(bind, "jid") if bind is not None else None
        if jid is None or not jid.text:
            raise XmppError(f"resource binding without a JID: {show(answer.elem)}")
        self.jid = jid.text.strip()
        if child(self.features, "session") is not None:  # RFC 3921 session, optional
            sess = child(self.features, "session")
            if child(sess, "optional") is None:
                self.iq("set", None, "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>")
        return self.jid

    def iq(self, typ: str, to: str | None, payload: str, timeout: float | None = None
           ) -> Outcome:
        """Send an IQ, wait for the result or error with the same id."""
        ident = uuid.uuid4().hex[:12]
        dest = f" to={quoteattr(to)}" if to else ""
        self.transport.send(f"<iq xmlns='jabber:client' type='{typ}' id='{ident}'{dest}>"
                            f"{payload}</iq>")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            elem = self.transport.recv(deadline)
            if elem is None:
                return Outcome(None)
            if local(elem.tag) == "iq" and elem.get("id") == ident:
                err = error_condition(elem) if elem.get("type") == "error" else None
                if elem.get("type") == "error" and err is None:
                    err = "undefined-condition"
                return Outcome(elem, err)
            self.others.append(elem)

    def disco_info(self, to: str) -> Outcome:
        return self.iq("get", to, f"<query xmlns='{NS_DISCO_INFO}'/>")

    def join(self, room: str, nick: str, *, settle: float = 0.3) -> Outcome:
        """Join ``room`` (a bare JID) as ``nick``: the self-presence (joined), a presence
        error (refused), or None. A server may drop the presence silently (Jitsi's
        muc_filter_access): a ping to the room's service after it marks the end of the
        wait, since the server handles both in order."""
        full = f"{room}/{nick}"
        self.transport.send(f"<presence xmlns='jabber:client' to={quoteattr(full)}>"
                            f"<x xmlns='{NS_MUC}'/></presence>")
        service = room.split("@", 1)[1]
        marker = uuid.uuid4().hex[:12]
        self.transport.send(f"<iq xmlns='jabber:client' type='get' id='{marker}' "
                            f"to={quoteattr(service)}><query xmlns='{NS_DISCO_INFO}'/></iq>")
        deadline = time.monotonic() + self.timeout
        marked: float | None = None
        while True:
            limit = deadline if marked is None else min(deadline, marked + settle)
            elem = self.transport.recv(limit)
            if elem is None:
                return Outcome(None)
            if local(elem.tag) == "iq" and elem.get("id") == marker:
                marked = time.monotonic()
                continue
            if local(elem.tag) == "presence" and (elem.get("from") or "").lower() \
                    .startswith(room.lower() + "/"):
                if elem.get("type") == "error":
                    return Outcome(elem, error_condition(elem) or "undefined-condition")
                if is_self_presence(elem, full):
                    return Outcome(elem)
                continue  # another occupant's presence: the join goes on
            self.others.append(elem)

    def leave(self, room: str, nick: str) -> None:
        self.transport.send(f"<presence xmlns='jabber:client' type='unavailable' "
                            f"to={quoteattr(f'{room}/{nick}')}/>")

    def close(self) -> None:
        self.transport.close()


def status_codes(presence: ET.Element) -> set[str]:
    x = child(presence, "x", NS_MUC_USER)
    return {s.get("code", "") for s in x if local(s.tag) == "status"} if x is not None else set()


def is_self_presence(presence: ET.Element, full: str) -> bool:
    """The presence of the joined occupant itself (status 110, or from our own nick)."""
    return "110" in status_codes(presence) or (presence.get("from") or "").lower() == full.lower()
