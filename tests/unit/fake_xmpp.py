"""A scripted XMPP server on loopback for the access area's unit tests: HTTPS (a
certificate for meet.test made here) serving XMPP over a websocket (``/xmpp-websocket``,
RFC 6455 + RFC 7395) and over BOSH (``/http-bind``), answering as ``Behaviour`` says.

Handwritten after what prosody 13 answered on a lab host (recorded stanzas in
test_audit_access.py): an unknown component is "not-allowed, Communication with remote
domains is not enabled"; room creation restricted is "not-allowed, Room creation is
restricted".
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import ssl
import struct
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from audit_site import NAME, make_pki

FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
REMOTE = (f"<error type='cancel'><not-allowed xmlns='{STANZAS}'/><text xmlns='{STANZAS}'>"
          "Communication with remote domains is not enabled</text></error>")


@dataclass
class Behaviour:
    # domain -> (mechanisms offered, anonymous accepted)
    domains: dict[str, tuple[list[str], bool]] = field(default_factory=lambda: {
        NAME: (["SCRAM-SHA-1", "PLAIN"], False),
        f"guest.{NAME}": (["ANONYMOUS"], True),
    })
    room: str = "refuse"  # refuse | create | silent
    focus: str = "absent"  # absent | not-authorized | ready
    brewery: str = "absent"  # absent | drop | join | refuse
    services: list[dict[str, str]] = field(default_factory=lambda: [
        {"type": "stun", "host": NAME, "port": "3478", "transport": "udp"},
        {"type": "turn", "host": NAME, "port": "3478", "transport": "udp",
         "username": "1796526590", "password": "s3cret-not-shown",
         "expires": "2026-12-06T03:09:50Z"},
    ])
    websocket: bool = True  # False: /xmpp-websocket answers 404
    seen: list[str] = field(default_factory=list)  # every element received


class Stream:
    """One client's XMPP state; ``handle`` maps a received element to the answers."""

    def __init__(self, b: Behaviour):
        self.b = b
        self.domain = ""
        self.authed = False
        self.jid = ""

    def features(self) -> str:
        mechs, _ = self.b.domains[self.domain]
        if self.authed:
            inner = "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
        else:
            inner = ("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                     + "".join(f"<mechanism>{m}</mechanism>" for m in mechs) + "</mechanisms>")
        return (f"<stream:features xmlns:stream='http://etherx.jabber.org/streams'>{inner}"
                "</stream:features>")

    def open(self, domain: str) -> list[str]:
        if domain not in self.b.domains:
            return ["<stream:error xmlns:stream='http://etherx.jabber.org/streams'>"
                    "<host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                    "</stream:error>"]
        self.domain = domain
        return [self.features()]

    def handle(self, e: ET.Element) -> list[str]:
        tag = e.tag.rsplit("}", 1)[-1]
        self.b.seen.append(ET.tostring(e, encoding="unicode"))
        if tag == "auth":
            _, anon = self.b.domains[self.domain]
            if e.get("mechanism") == "ANONYMOUS" and anon:
                self.authed = True
                return ["<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"]
            return ["<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-mechanism/>"
                    "</failure>"]
        if tag == "iq":
            return self.iq(e)
        if tag == "presence":
            return self.presence(e)
        return []

    def iq(self, e: ET.Element) -> list[str]:
        ident, to = e.get("id"), e.get("to") or self.domain
        child = e[0] if len(e) else None
        name = child.tag if child is not None else ""
        head = f"<iq xmlns='jabber:client' id='{ident}' from='{to}' to='{self.jid}'"
        if name.endswith("}bind"):
            self.jid = f"{uuid.uuid4().hex[:8]}@{self.domain}/r1"
            return [f"<iq xmlns='jabber:client' id='{ident}' type='result'><bind "
                    f"xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{self.jid}</jid></bind></iq>"]
        if name == "{urn:xmpp:extdisco:2}services":
            items = "".join("<service " + " ".join(f"{k}='{v}'" for k, v in s.items()) + "/>"
                            for s in self.b.services)
            return [f"{head} type='result'><services xmlns='urn:xmpp:extdisco:2'>{items}"
                    "</services></iq>"]
        if name == "{http://jabber.org/protocol/disco#info}query":
            services = [f"conference.{NAME}"] + (
                [f"internal.auth.{NAME}"] if self.b.brewery != "absent" else [])
            if to in services:
                return [f"{head} type='result'><query xmlns='http://jabber.org/protocol/"
                        "disco#info'><identity category='conference' type='text'/></query></iq>"]
            return [f"{head} type='error'>{REMOTE}</iq>"]
        if name == "{http://jitsi.org/protocol/focus}conference":
            if self.b.focus == "absent":
                return [f"{head} type='error'>{REMOTE}</iq>"]
            if self.b.focus == "not-authorized":
                return [f"{head} type='error'><error type='cancel'><not-authorized "
                        f"xmlns='{STANZAS}'/></error></iq>"]
            return [f"{head} type='result'><conference xmlns='http://jitsi.org/protocol/focus' "
                    f"ready='true' room='{child.get('room')}'/></iq>"]
        return [f"{head} type='error'><error type='cancel'><service-unavailable "
                f"xmlns='{STANZAS}'/></error></iq>"]

    def presence(self, e: ET.Element) -> list[str]:
        to = e.get("to") or ""
        if e.get("type") == "unavailable":
            return []
        service = to.split("@", 1)[-1].split("/", 1)[0]
        behaviour = (self.b.room if service == f"conference.{NAME}" else
                     self.b.brewery if service == f"internal.auth.{NAME}" else "absent")
        head = f"<presence xmlns='jabber:client' from='{to}' to='{self.jid}'"
        if behaviour == "absent":
            return [f"{head} type='error'>{REMOTE}</presence>"]
        if behaviour in ("refuse",):
            return [f"{head} type='error'><error type='cancel'><not-allowed xmlns='{STANZAS}'/>"
                    f"<text xmlns='{STANZAS}'>Room creation is restricted</text></error>"
                    "</presence>"]
        if behaviour in ("drop", "silent"):
            return []
        codes = "<status code='110'/>" + ("<status code='201'/>" if behaviour == "create" else "")
        return [f"{head}><x xmlns='http://jabber.org/protocol/muc#user'><item "
                f"affiliation='owner' role='moderator'/>{codes}</x></presence>"]


# ------------------------------------------------------------------ wire


def _read_head(conn) -> tuple[str, dict[str, str], bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:])}
    return lines[0], headers, rest


def _frame(text: str) -> bytes:
    data = text.encode()
    n = len(data)
    head = bytes([0x81]) + (bytes([n]) if n < 126 else bytes([126]) + struct.pack("!H", n))
    return head + data


class _Reader:
    def __init__(self, conn, rest: bytes):
        self.conn, self.buf = conn, rest

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise ConnectionError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self) -> tuple[int, bytes]:
        b0, b1 = self.read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read(8))[0]
        assert b1 & 0x80, "a client frame must be masked"
        mask = self.read(4)
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(self.read(n)))
        return b0 & 0x0F, data


def _websocket(conn, headers: dict[str, str], rest: bytes, b: Behaviour) -> None:
    key = headers["sec-websocket-key"]
    accept = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
                  "Sec-WebSocket-Protocol: xmpp\r\n\r\n").encode())
    reader, stream = _Reader(conn, rest), Stream(b)
    while True:
        opcode, data = reader.frame()
        if opcode == 0x8:
            conn.sendall(bytes([0x88, 0]))
            return
        e = ET.fromstring(data.decode())
        if e.tag == f"{{{FRAMING}}}open":
            answers = [f"<open xmlns='{FRAMING}' from='{e.get('to')}' id='x' version='1.0'/>",
                       *stream.open(e.get("to"))]
        elif e.tag == f"{{{FRAMING}}}close":
            conn.sendall(_frame(f"<close xmlns='{FRAMING}'/>"))
            continue
        else:
            answers = stream.handle(e)
        for a in answers:
            conn.sendall(_frame(a))


def _bosh(conn, head: str, headers: dict[str, str], rest: bytes, b: Behaviour,
          sessions: dict[str, Stream]) -> None:
    while True:
        n = int(headers.get("content-length", 0))
        while len(rest) < n:
            rest += conn.recv(65536)
        body, rest = ET.fromstring(rest[:n].decode()), rest[n:]
        sid = body.get("sid")
        answers: list[str] = []
        if sid is None:
            sid = uuid.uuid4().hex
            sessions[sid] = Stream(b)
            answers = sessions[sid].open(body.get("to"))
        elif body.get("{urn:xmpp:xbosh}restart") == "true":
            answers = sessions[sid].open(body.get("to"))
        elif body.get("type") != "terminate":
            for e in body:
                answers += sessions[sid].handle(e)
        if not answers:  # a real server holds an empty poll up to 'wait' seconds
            time.sleep(0.05)
        out = (f"<body xmlns='http://jabber.org/protocol/httpbind' sid='{sid}' wait='1' "
               f"xmlns:stream='http://etherx.jabber.org/streams'>{''.join(answers)}</body>")
        data = out.encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: "
                     + str(len(data)).encode() + b"\r\n\r\n" + data)
        try:
            _, headers, more = _read_head(_Prefixed(conn, rest))
        except ConnectionError:
            return
        rest = more


class _Prefixed:
    def __init__(self, conn, rest: bytes):
        self.conn, self.rest = conn, rest

    def recv(self, n: int) -> bytes:
        if self.rest:
            out, self.rest = self.rest, b""
            return out
        return self.conn.recv(n)


def _serve_one(conn, b: Behaviour, sessions: dict[str, Stream]) -> None:
    with contextlib.suppress(OSError, ConnectionError, ET.ParseError, ValueError), conn:
        head, headers, rest = _read_head(conn)
        if head.startswith("GET /xmpp-websocket") and b.websocket:
            _websocket(conn, headers, rest, b)
        elif head.startswith("POST /http-bind"):
            _bosh(conn, head, headers, rest, b, sessions)
        else:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


@dataclass
class Server:
    port: int
    cafile: Path
    behaviour: Behaviour


@contextlib.contextmanager
def serve(tmp_path: Path, behaviour: Behaviour | None = None) -> Iterator[Server]:
    cafile, chain, key = make_pki(tmp_path)
    b = behaviour or Behaviour()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(chain, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    sessions: dict[str, Stream] = {}

    def loop() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            raw.settimeout(10)

            def one(raw=raw) -> None:
                with contextlib.suppress(OSError, ssl.SSLError):
                    _serve_one(ctx.wrap_socket(raw, server_side=True), b, sessions)

            threading.Thread(target=one, daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield Server(listener.getsockname()[1], cafile, b)
    finally:
        stop.set()
        thread.join(2)
        listener.close()
