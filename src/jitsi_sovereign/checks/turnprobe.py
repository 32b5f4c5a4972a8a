"""A small STUN/TURN client (RFC 8489 / RFC 8656) for the coturn checks.

Only what the checks need: message encoding and decoding (XOR addresses,
MESSAGE-INTEGRITY with long-term credentials, FINGERPRINT), the TURN REST API
credentials coturn accepts with ``use-auth-secret``, and over UDP: Allocate (with the
401 challenge), CreatePermission, Refresh (lifetime 0 frees the allocation).

CreatePermission only asks coturn to install a permission: no packet is sent to the
peer. The checks still aim only at loopback and the lab's own addresses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import socket
import ssl
import struct
import time
from dataclasses import dataclass, field

MAGIC_COOKIE = 0x2112A442
FINGERPRINT_XOR = 0x5354554E
HEADER = struct.Struct("!HHI12s")

# Methods and classes (RFC 8489 section 5): type = method bits with class bits C1 C0.
BINDING, ALLOCATE, REFRESH, CREATE_PERMISSION = 0x001, 0x003, 0x004, 0x008
REQUEST, INDICATION, SUCCESS, ERROR = 0x000, 0x010, 0x100, 0x110

# Attributes.
MAPPED_ADDRESS = 0x0001
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
LIFETIME = 0x000D
XOR_PEER_ADDRESS = 0x0012
REALM = 0x0014
NONCE = 0x0015
XOR_RELAYED_ADDRESS = 0x0016
REQUESTED_TRANSPORT = 0x0019
XOR_MAPPED_ADDRESS = 0x0020
SOFTWARE = 0x8022
FINGERPRINT = 0x8028

UDP_TRANSPORT = 17


def message_type(method: int, cls: int) -> int:
    """The 14-bit message type of a method and a class (class bits interleaved)."""
    m = method & 0x0FFF
    return (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | cls


def split_type(mtype: int) -> tuple[int, int]:
    """(method, class) of a message type."""
    cls = mtype & 0x0110
    m = mtype & ~0x0110
    method = (m & 0x000F) | ((m & 0x00E0) >> 1) | ((m & 0x3E00) >> 2)
    return method, cls


# ------------------------------------------------------------------ attributes


def _pad(value: bytes, pad_byte: bytes = b"\x00") -> bytes:
    return value + pad_byte * (-len(value) % 4)


def xor_address(ip: str, port: int, txid: bytes) -> bytes:
    """XOR-MAPPED/PEER/RELAYED-ADDRESS value (RFC 8489 section 14.2)."""
    addr = ipaddress.ip_address(ip)
    xport = port ^ (MAGIC_COOKIE >> 16)
    if addr.version == 4:
        xaddr = int(addr) ^ MAGIC_COOKIE
        return struct.pack("!BBHI", 0, 1, xport, xaddr)
    key = struct.pack("!I", MAGIC_COOKIE) + txid
    raw = bytes(a ^ b for a, b in zip(addr.packed, key, strict=True))
    return struct.pack("!BBH", 0, 2, xport) + raw


def parse_xor_address(value: bytes, txid: bytes) -> tuple[str, int]:
    family = value[1]
    port = struct.unpack("!H", value[2:4])[0] ^ (MAGIC_COOKIE >> 16)
    if family == 1:
        ip = ipaddress.IPv4Address(struct.unpack("!I", value[4:8])[0] ^ MAGIC_COOKIE)
    elif family == 2:
        key = struct.pack("!I", MAGIC_COOKIE) + txid
        ip = ipaddress.IPv6Address(bytes(a ^ b for a, b in zip(value[4:20], key, strict=True)))
    else:
        raise ValueError(f"unknown address family {family}")
    return str(ip), port


def error_code_value(code: int, reason: str) -> bytes:
    return struct.pack("!HBB", 0, code // 100, code % 100) + reason.encode()


def parse_error_code(value: bytes) -> tuple[int, str]:
    return (value[2] & 0x07) * 100 + value[3], value[4:].decode("utf-8", "replace")


# ------------------------------------------------------------------ credentials


def rest_credentials(secret: str, name: str = "jsov-verify", ttl: int = 300,
                     now: float | None = None) -> tuple[str, str]:
    """TURN REST API credentials (coturn's use-auth-secret): username "<expiry>:<name>",
    password base64(HMAC-SHA1(secret, username))."""
    expiry = int(now if now is not None else time.time()) + ttl
    username = f"{expiry}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def long_term_key(username: str, realm: str, password: str) -> bytes:
    """MD5(username ":" realm ":" password), the long-term credential key (RFC 8489 9.2.2)."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).digest()


# ------------------------------------------------------------------ messages


@dataclass
class Message:
    mtype: int
    txid: bytes
    attrs: list[tuple[int, bytes]] = field(default_factory=list)
    raw: bytes = b""

    @property
    def method(self) -> int:
        return split_type(self.mtype)[0]

    @property
    def cls(self) -> int:
        return split_type(self.mtype)[1]

    def get(self, attr: int) -> bytes | None:
        for t, v in self.attrs:
            if t == attr:
                return v
        return None

    @property
    def error(self) -> tuple[int, str] | None:
        value = self.get(ERROR_CODE)
        return parse_error_code(value) if value is not None else None


def _integrity(prefix: bytes, key: bytes) -> bytes:
    """HMAC-SHA1 over ``prefix`` (header + attributes before MESSAGE-INTEGRITY), with the
    header length counting up to and including MESSAGE-INTEGRITY."""
    length = len(prefix) - HEADER.size + 24
    patched = prefix[:2] + struct.pack("!H", length) + prefix[4:]
    return hmac.new(key, patched, hashlib.sha1).digest()


def _crc(prefix: bytes) -> int:
    length = len(prefix) - HEADER.size + 8
    patched = prefix[:2] + struct.pack("!H", length) + prefix[4:]
    return (binascii.crc32(patched) & 0xFFFFFFFF) ^ FINGERPRINT_XOR


def encode(mtype: int, txid: bytes, attrs: list[tuple[int, bytes]], *, key: bytes | None = None,
           fingerprint: bool = True) -> bytes:
    """A STUN message; MESSAGE-INTEGRITY when a key is given, then FINGERPRINT."""
    body = b"".join(struct.pack("!HH", t, len(v)) + _pad(v) for t, v in attrs)
    out = HEADER.pack(mtype, len(body), MAGIC_COOKIE, txid) + body
    if key is not None:
        mac = _integrity(out, key)
        body += struct.pack("!HH", MESSAGE_INTEGRITY, 20) + mac
        out = HEADER.pack(mtype, len(body), MAGIC_COOKIE, txid) + body
    if fingerprint:
        crc = _crc(out)
        body += struct.pack("!HHI", FINGERPRINT, 4, crc)
        out = HEADER.pack(mtype, len(body), MAGIC_COOKIE, txid) + body
    return out


def decode(data: bytes) -> Message:
    if len(data) < HEADER.size:
        raise ValueError("shorter than a STUN header")
    mtype, length, cookie, txid = HEADER.unpack_from(data)
    if cookie != MAGIC_COOKIE or mtype & 0xC000 or length % 4 or len(data) < HEADER.size + length:
        raise ValueError("not a STUN message")
    attrs: list[tuple[int, bytes]] = []
    pos = HEADER.size
    end = HEADER.size + length
    while pos + 4 <= end:
        t, n = struct.unpack_from("!HH", data, pos)
        value = data[pos + 4:pos + 4 + n]
        if len(value) != n:
            raise ValueError("truncated attribute")
        attrs.append((t, value))
        pos += 4 + n + (-n % 4)
    return Message(mtype, txid, attrs, data[:end])


def _attr_offset(raw: bytes, attr: int) -> int | None:
    pos = HEADER.size
    while pos + 4 <= len(raw):
        t, n = struct.unpack_from("!HH", raw, pos)
        if t == attr:
            return pos
        pos += 4 + n + (-n % 4)
    return None


def check_integrity(raw: bytes, key: bytes) -> bool:
    """MESSAGE-INTEGRITY of a received message is valid for this key."""
    pos = _attr_offset(raw, MESSAGE_INTEGRITY)
    if pos is None:
        return False
    return hmac.compare_digest(_integrity(raw[:pos], key), raw[pos + 4:pos + 24])


def check_fingerprint(raw: bytes) -> bool:
    pos = _attr_offset(raw, FINGERPRINT)
    if pos is None:
        return False
    return _crc(raw[:pos]) == struct.unpack_from("!I", raw, pos + 4)[0]


# ------------------------------------------------------------------ client


@dataclass
class Answer:
    """The outcome of one request: ok, or an error code, or no answer at all."""

    ok: bool = False
    code: int | None = None
    reason: str = ""
    message: Message | None = None
    timeout: bool = False

    def __str__(self) -> str:
        if self.timeout:
            return "no answer"
        if self.ok:
            return "success"
        return f"error {self.code} {self.reason}".strip()


class TurnClient:
    """One TURN client over UDP (one 5-tuple, so at most one allocation)."""

    def __init__(self, address: str, port: int = 3478, timeout: float = 2.0, tries: int = 3):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)
        self.server = (address, port)
        self.tries = tries
        self.realm: str | None = None
        self.nonce: bytes | None = None
        self.username: str | None = None
        self.key: bytes | None = None
        self.relayed: tuple[str, int] | None = None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> TurnClient:
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.relayed is not None:
                self.refresh(0)
        finally:
            self.close()

    def request(self, method: int, attrs: list[tuple[int, bytes]], *, auth: bool = True,
                txid: bytes | None = None) -> Answer:
        """Send a request (retransmitted on timeout), return the matching answer."""
        txid = txid or os.urandom(12)
        if auth and self.key is not None:
            attrs = [*attrs, (USERNAME, self.username.encode()), (REALM, self.realm.encode()),
                     (NONCE, self.nonce)]
        packet = encode(message_type(method, REQUEST), txid, attrs,
                        key=self.key if auth else None)
        for _ in range(self.tries):
            self.sock.sendto(packet, self.server)
            deadline = time.monotonic() + (self.sock.gettimeout() or 2.0)
            while time.monotonic() < deadline:
                try:
                    data, _ = self.sock.recvfrom(4096)
                except TimeoutError:
                    break
                try:
                    msg = decode(data)
                except ValueError:
                    continue
                if msg.txid != txid:
                    continue
                if msg.cls == SUCCESS:
                    return Answer(ok=True, message=msg)
                code, reason = msg.error or (None, "")
                return Answer(code=code, reason=reason, message=msg)
        return Answer(timeout=True)

    def allocate(self, username: str, password: str, lifetime: int = 60) -> Answer:
        """Allocate a UDP relay: unauthenticated first (401 gives realm and nonce), then
        with the long-term credentials."""
        attrs = [(REQUESTED_TRANSPORT, bytes([UDP_TRANSPORT, 0, 0, 0])),
                 (LIFETIME, struct.pack("!I", lifetime))]
        first = self.request(ALLOCATE, attrs, auth=False)
        if first.ok or first.code != 401 or first.message is None:
            return first
        realm = first.message.get(REALM)
        nonce = first.message.get(NONCE)
        if realm is None or nonce is None:
            return Answer(code=first.code, reason="401 without REALM or NONCE",
                          message=first.message)
        self.realm, self.nonce, self.username = realm.decode(), nonce, username
        self.key = long_term_key(username, self.realm, password)
        answer = self.request(ALLOCATE, attrs)
        if answer.code == 438 and answer.message is not None:  # stale nonce: once more
            self.nonce = answer.message.get(NONCE) or self.nonce
            answer = self.request(ALLOCATE, attrs)
        if answer.ok and answer.message is not None:
            value = answer.message.get(XOR_RELAYED_ADDRESS)
            if value is not None:
                self.relayed = parse_xor_address(value, answer.message.txid)
        return answer

    def create_permission(self, peer_ip: str) -> Answer:
        """Ask for a permission to ``peer_ip`` (no packet reaches the peer)."""
        # The XOR key of an IPv6 address includes the transaction id: choose it here.
        txid = os.urandom(12)
        return self.request(CREATE_PERMISSION, [(XOR_PEER_ADDRESS, xor_address(peer_ip, 0, txid))],
                            txid=txid)

    def refresh(self, lifetime: int) -> Answer:
        answer = self.request(REFRESH, [(LIFETIME, struct.pack("!I", lifetime))])
        if lifetime == 0 and answer.ok:
            self.relayed = None
        return answer


# ------------------------------------------------------------------ TLS versions

# OpenSSL errors that mean the server refused the handshake (as opposed to this client
# not being able to offer the version at all).
_REFUSED_REASONS = ("ALERT", "WRONG_VERSION_NUMBER", "UNSUPPORTED_PROTOCOL", "NO_CIPHERS",
                    "UNEXPECTED_EOF", "RECORD_LAYER_FAILURE")


def tls_version_accepted(address: str, port: int, sni: str, version: ssl.TLSVersion,
                         timeout: float = 3.0) -> tuple[bool | None, str]:
    """One handshake offering only ``version`` (every cipher, security level 0).

    (True, negotiated) when it completes; (False, why) when the server refuses it: an
    alert, a reset, or no answer at all (coturn 4.6.1 leaves an old ClientHello
    unanswered: measured); (None, why) when this client cannot offer the version.
    sslyze would try every cipher suite one by one and wait ~80 s on such a server.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            ctx.minimum_version = version
            ctx.maximum_version = version
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError) as exc:
            return None, f"this client cannot offer {version.name}: {exc}"
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock, \
                ctx.wrap_socket(sock, server_hostname=sni) as tls:
            return True, str(tls.version())
    except TimeoutError:
        return False, f"no answer within {timeout:g} s"
    except ssl.SSLError as exc:
        reason = str(exc.reason or exc)
        if any(r in reason.upper() for r in _REFUSED_REASONS):
            return False, reason
        if "NO_PROTOCOLS_AVAILABLE" in reason.upper():
            return None, f"this client cannot offer {version.name}: {reason}"
        return False, reason
    except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError) as exc:
        return False, type(exc).__name__
    except OSError as exc:
        return None, f"cannot connect to {address}:{port}: {exc}"
