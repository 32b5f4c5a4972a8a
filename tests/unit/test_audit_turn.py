"""The audit's turn area: relay outcomes mapped to findings, with a fake TURN client (no
packet sent), and the TLS framing of STUN messages over a stream."""

from __future__ import annotations

import json
import os
import socket
import struct

import pytest

from jitsi_sovereign.audit import access, turn
from jitsi_sovereign.audit.context import AuditContext, ServedConfig, Unreachable
from jitsi_sovereign.audit.target import parse_target
from jitsi_sovereign.checks import turnprobe as tp
from jitsi_sovereign.report.model import FAILED, HIGH, PASSED, SKIPPED, Report

NAME = "meet.test"
SERVICES = [
    {"type": "stun", "host": NAME, "port": "3478", "transport": "udp"},
    {"type": "turn", "host": NAME, "port": "3478", "transport": "udp", "username": "1796526590",
     "password": "s3cret-not-shown", "expires": "2026-12-06T03:09:50Z"},
    {"type": "turns", "host": NAME, "port": "5349", "transport": "tcp",
     "username": "1796526590", "password": "s3cret-not-shown"},
]


def _msg(method: int, cls: int, attrs=()) -> tp.Message:
    txid = os.urandom(12)
    return tp.decode(tp.encode(tp.message_type(method, cls), txid, list(attrs)))


class FakeRelay:
    """What the fake TURN server does: open (no auth), allowed peers, silent."""

    def __init__(self, *, open_relay=False, allowed=(), silent=False, accept_creds=True,
                 v6=True):
        self.open_relay = open_relay
        self.allowed = set(allowed)
        self.silent = silent
        self.accept_creds = accept_creds
        self.v6 = v6
        self.log: list[tuple] = []  # (address, port, what)
        self.live = 0  # allocations not freed


class FakeClient:
    relay: FakeRelay

    def __init__(self, address, port=3478, timeout=2.0, tries=3, **_):
        self.server = (address, port)
        self.relayed = None
        self.realm = self.nonce = self.username = self.key = None
        self.closed = False

    def _answer(self, ok: bool, code: int | None = None, msg=None) -> tp.Answer:
        if self.relay.silent:
            return tp.Answer(timeout=True)
        return tp.Answer(ok=True, message=msg) if ok else tp.Answer(code=code, reason="x",
                                                                    message=msg)

    def request(self, method, attrs, *, auth=True, txid=None):
        self.relay.log.append((*self.server, method, auth))
        if method == tp.BINDING:
            return self._answer(True, msg=_msg(tp.BINDING, tp.SUCCESS))
        if method == tp.ALLOCATE:
            family = dict(attrs).get(turn.REQUESTED_ADDRESS_FAMILY)
            if not auth or self.key is None:
                if self.relay.open_relay:
                    self.relay.live += 1
                    return self._answer(True, msg=_msg(tp.ALLOCATE, tp.SUCCESS))
                return self._answer(False, 401, _msg(tp.ALLOCATE, tp.ERROR, [
                    (tp.REALM, b"meet.test"), (tp.NONCE, b"n0nce")]))
            if not self.relay.accept_creds:
                return self._answer(False, 401)
            if family == bytes([2, 0, 0, 0]) and not self.relay.v6:
                return self._answer(False, 440)
            self.relay.live += 1
            return self._answer(True, msg=_msg(tp.ALLOCATE, tp.SUCCESS))
        if method == tp.REFRESH:
            self.relay.live -= 1
            return self._answer(True)
        raise AssertionError(f"unexpected method {method}")

    def allocate(self, username, password, lifetime=60):
        first = self.request(tp.ALLOCATE, [], auth=False)
        if first.ok or first.code != 401:
            return first
        self.realm, self.nonce, self.username = "meet.test", b"n0nce", username
        self.key = tp.long_term_key(username, self.realm, password)
        answer = self.request(tp.ALLOCATE, [])
        if answer.ok:
            self.relayed = ("192.0.2.10", 50000)
        return answer

    def create_permission(self, peer):
        self.relay.log.append((*self.server, "permission", peer))
        if self.relay.silent:
            return tp.Answer(timeout=True)
        if peer in self.relay.allowed:
            return tp.Answer(ok=True)
        return tp.Answer(code=403, reason="Forbidden IP")

    def refresh(self, lifetime):
        answer = self.request(tp.REFRESH, [])
        if lifetime == 0 and answer.ok:
            self.relayed = None
        return answer

    def close(self):
        self.closed = True


class FakeTlsClient(FakeClient):
    def __init__(self, address, port, name, timeout=2.0):
        super().__init__(address, port)
        self.relay.log.append((address, port, "tls", name))


@pytest.fixture
def relay(monkeypatch):
    r = FakeRelay()
    FakeClient.relay = r
    monkeypatch.setattr(turn, "CLIENT", FakeClient)
    monkeypatch.setattr(turn, "TLS_CLIENT", FakeTlsClient)
    return r


def _ctx(services=SERVICES, creds=None, guest_jid="g@guest.meet.test/r") -> AuditContext:
    target = parse_target(f"https://{NAME}", connect_to="192.0.2.10:443", timeout=1)
    ctx = AuditContext(target, turn_credentials=creds)
    served = ServedConfig(f"https://{NAME}/config.js", "", {
        "hosts": {"domain": NAME}, "p2p": {"stunServers": [{"urls": f"stun:{NAME}:3478"}]}},
        {}, [], None)
    ctx.config_js = lambda: served  # type: ignore[method-assign]
    ctx.cache["access.guest"] = access.Guest(
        jid=guest_jid, services=list(services),
        services_ns="urn:xmpp:extdisco:2" if services is not None else None)
    return ctx


def _by_id(findings):
    return {f.id: f for f in findings}


def test_all_refused_passes(relay):
    f = _by_id(turn.run(_ctx()))
    assert [x.status for x in f.values()] == [PASSED] * 6, [(x.id, x.reason) for x in f.values()]
    peers = f["turn.peers"].params["peers"]
    for peer in ("127.0.0.1", "::1", "10.0.0.1", "172.16.0.1", "192.168.0.1", "fd00::1",
                 "fe80::1", "169.254.169.254", "0.0.0.0", "192.0.2.10"):
        assert peers[peer].startswith("refused (403"), (peer, peers)
    assert relay.live == 0, "every allocation is freed"
    # traffic only to the audited address
    assert {entry[0] for entry in relay.log} == {"192.0.2.10"}
    assert ("192.0.2.10", 5349, "tls", NAME) in relay.log


@pytest.mark.parametrize("peer", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1",
                                  "192.0.2.10"])
def test_an_allowed_peer_fails_high(relay, peer):
    """coturn without denied peers: one permission granted is a high failure."""
    relay.allowed = {peer}
    f = _by_id(turn.run(_ctx()))
    peers = f["turn.peers"]
    assert peers.status == FAILED and peers.severity == HIGH
    assert peer in peers.reason and peers.fix and peers.texts["fr"]["fix"]
    assert Report("audit", f"https://{NAME}/", list(f.values())).exit_code == 1


def test_open_relay_fails_high(relay):
    relay.open_relay = True
    f = _by_id(turn.run(_ctx()))
    assert f["turn.unauthenticated"].status == FAILED
    assert f["turn.unauthenticated"].severity == HIGH
    assert relay.live == 0


def test_without_credentials(relay):
    """No XEP-0215 credentials and none given: the relay is checked without them only."""
    f = _by_id(turn.run(_ctx(services=[SERVICES[0]])))
    assert f["turn.credentials"].status == SKIPPED
    assert "--turn-user" in f["turn.credentials"].reason
    assert f["turn.stun"].status == PASSED
    assert f["turn.unauthenticated"].status == PASSED
    for key in ("turn.allocate", "turn.allocate_tls", "turn.peers"):
        assert f[key].status == SKIPPED and "not checked" in f[key].reason


def test_command_line_credentials(relay):
    f = _by_id(turn.run(_ctx(services=[], creds=("1700000000:me", "pw-not-shown"))))
    assert f["turn.credentials"].status == PASSED
    assert f["turn.credentials"].params["source"] == "command line"
    assert f["turn.peers"].status == PASSED
    assert f["turn.allocate_tls"].status == SKIPPED  # no turns announced
    assert "pw-not-shown" not in json.dumps([x.as_dict() for x in f.values()])


def test_wrong_credentials(relay):
    relay.accept_creds = False
    f = _by_id(turn.run(_ctx()))
    assert f["turn.allocate"].status == FAILED
    assert f["turn.peers"].status == SKIPPED


def test_silent_server(relay):
    relay.silent = True
    f = _by_id(turn.run(_ctx()))
    assert f["turn.stun"].status == FAILED
    assert f["turn.unauthenticated"].status == SKIPPED
    assert f["turn.peers"].status == SKIPPED


def test_no_ipv6_relay_counts_as_refused(relay):
    relay.v6 = False
    f = _by_id(turn.run(_ctx()))
    assert f["turn.peers"].status == PASSED
    assert f["turn.peers"].params["peers"]["::1"].startswith("no IPv6 relay")


def test_foreign_turn_server_is_not_contacted(relay):
    services = [{**s, "host": "turn.elsewhere.example"} for s in SERVICES]
    f = _by_id(turn.run(_ctx(services=services)))
    assert relay.log == []
    assert f["turn.unauthenticated"].status == SKIPPED
    assert "not in the audited domain" in f["turn.unauthenticated"].reason


def test_turn_server_in_the_audited_domain_is_resolved(relay, monkeypatch):
    monkeypatch.setattr(access, "resolve", lambda host, timeout: "192.0.2.20")
    services = [{**s, "host": "turn.meet.test"} for s in SERVICES]
    f = _by_id(turn.run(_ctx(services=services)))
    assert {entry[0] for entry in relay.log} == {"192.0.2.20"}
    assert f["turn.peers"].params["peers"]["192.0.2.10"].startswith("refused")  # web server


@pytest.mark.parametrize("host,name,ok", [
    ("turn.example.fr", "meet.example.fr", True), ("meet.example.fr", "meet.example.fr", True),
    ("example.fr", "meet.example.fr", True), ("turn.meet.test", "meet.test", True),
    ("turn.test", "meet.test", False), ("evil.example.com", "meet.example.fr", False),
    ("example.fr.evil.com", "meet.example.fr", False)])
def test_own_domain(host, name, ok):
    """A TURN name one label up from the audited name is its own; a bare TLD is not."""
    assert turn.own_domain(host, name) is ok


def test_no_config_js(relay):
    ctx = _ctx()
    del ctx.cache["access.guest"]

    def gone():
        raise Unreachable("GET https://meet.test/config.js got no answer")

    ctx.config_js = gone  # type: ignore[method-assign]
    f = _by_id(turn.run(ctx))
    assert f["turn.credentials"].status == SKIPPED
    assert "no guest session" in f["turn.credentials"].evidence[0]
    assert f["turn.unauthenticated"].status == PASSED  # the name's own port 3478


def test_french_and_no_secret(relay):
    relay.allowed = {"10.0.0.1"}
    found = turn.run(_ctx())
    text = json.dumps([x.as_dict() for x in found], ensure_ascii=False)
    assert "s3cret-not-shown" not in text
    for x in found:
        assert x.texts["fr"]["title"] and x.texts["fr"]["title"] != x.title


def test_stream_sock_frames_stun_messages():
    """TURN over TLS: STUN messages split and joined across reads."""
    a, b = socket.socketpair()
    s = turn._StreamSock(a, 1.0)
    m1 = tp.encode(tp.message_type(tp.BINDING, tp.SUCCESS), os.urandom(12), [])
    m2 = tp.encode(tp.message_type(tp.ALLOCATE, tp.ERROR), os.urandom(12),
                   [(tp.ERROR_CODE, tp.error_code_value(401, "Unauthorized"))])
    b.sendall(m1[:7])
    b.sendall(m1[7:] + m2)
    assert s.recvfrom(4096)[0] == m1
    got = tp.decode(s.recvfrom(4096)[0])
    assert got.error == (401, "Unauthorized")
    with pytest.raises(TimeoutError):
        s.settimeout(0.1)
        s.recvfrom(4096)
    b.close()
    with pytest.raises(ConnectionResetError):
        s.recvfrom(4096)
    s.close()
    assert struct.unpack("!H", m2[2:4])[0] == len(m2) - 20
