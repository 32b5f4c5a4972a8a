"""The audit's access area: the XMPP client (websocket framing, BOSH, stanza parsing) on
recorded and handwritten answers, and the findings against a scripted XMPP server on
loopback (fake_xmpp: websocket and BOSH over TLS, as nginx serves prosody)."""

from __future__ import annotations

import json
import socket
import struct
import time

import pytest
from audit_site import NAME
from fake_xmpp import Behaviour, serve

from jitsi_sovereign.audit import access, xmpp
from jitsi_sovereign.audit.context import AuditContext, NotJitsi, ServedConfig
from jitsi_sovereign.audit.target import parse_target
from jitsi_sovereign.report.model import FAILED, HIGH, PASSED, SKIPPED, Report

# Recorded from prosody 13 on a lab host (Debian 13), through nginx's /xmpp-websocket.
RECORDED_REMOTE = (
    "<iq xmlns='jabber:client' type='error' to='a@guest.rc1.lab.test/x' "
    "from='focus.rc1.lab.test' id='421483ad3602'><error type='cancel'><not-allowed "
    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:"
    "xmpp-stanzas'>Communication with remote domains is not enabled</text></error></iq>")
RECORDED_RESTRICTED = (
    "<presence xmlns='jabber:client' from='jsovtest123@conference.rc1.lab.test/aud' "
    "type='error' to='a@guest.rc1.lab.test/x'><error type='cancel' by='conference.rc1.lab.test'>"
    "<not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:"
    "xml:ns:xmpp-stanzas'>Room creation is restricted</text></error></presence>")
RECORDED_FEATURES = (
    "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms "
    "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>"
    "PLAIN</mechanism></mechanisms></stream:features>")


# ------------------------------------------------------------------ parsing


def test_mechanisms_and_conditions():
    assert xmpp.mechanisms(xmpp.parse_xml(RECORDED_FEATURES)) == ["SCRAM-SHA-1", "PLAIN"]
    remote = xmpp.parse_xml(RECORDED_REMOTE)
    assert xmpp.error_condition(remote) == "not-allowed"
    restricted = xmpp.parse_xml(RECORDED_RESTRICTED)
    assert xmpp.error_condition(restricted) == "not-allowed"
    failure = xmpp.parse_xml("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                             "<invalid-mechanism/></failure>")
    assert xmpp.error_condition(failure) == "invalid-mechanism"


def test_absent_tells_a_missing_service_from_a_refusal():
    """prosody answers not-allowed both for a name it does not serve and for a refused
    room creation: only the first is 'not there'."""
    remote = xmpp.parse_xml(RECORDED_REMOTE)
    restricted = xmpp.parse_xml(RECORDED_RESTRICTED)
    assert access._absent(xmpp.Outcome(remote, "not-allowed"))
    assert not access._absent(xmpp.Outcome(restricted, "not-allowed"))
    assert access._absent(xmpp.Outcome(restricted, "service-unavailable"))


def test_show_drops_namespace_prefixes():
    text = xmpp.show(xmpp.parse_xml(RECORDED_RESTRICTED), 1000)
    assert "ns0:" not in text and "ns1:" not in text
    assert "<not-allowed />" in text and "Room creation is restricted" in text


def test_self_presence():
    p = xmpp.parse_xml("<presence xmlns='jabber:client' from='r@c.x/me'><x xmlns='http://"
                       "jabber.org/protocol/muc#user'><status code='110'/><status code='201'/>"
                       "</x></presence>")
    assert xmpp.status_codes(p) == {"110", "201"}
    assert xmpp.is_self_presence(p, "r@c.x/other")
    other = xmpp.parse_xml("<presence xmlns='jabber:client' from='r@c.x/bridge1'/>")
    assert not xmpp.is_self_presence(other, "r@c.x/me")


@pytest.mark.parametrize("text", [
    "<!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>",
    "<iq><unclosed></iq>",
    "<x>" + "a" * (xmpp.MAX_MESSAGE + 1) + "</x>",
])
def test_parse_refuses_dtd_bad_xml_and_huge_messages(text):
    with pytest.raises(xmpp.XmppError):
        xmpp.parse_xml(text)


@pytest.mark.parametrize("url,kind,want", [
    ("wss://meet.test/xmpp-websocket", "websocket", ("127.0.0.1", 8443, "/xmpp-websocket", True)),
    ("//meet.test/http-bind", "bosh", ("127.0.0.1", 8443, "/http-bind", True)),
    ("/http-bind?room=x", "bosh", ("127.0.0.1", 8443, "/http-bind?room=x", True)),
    ("ws://meet.test:80/xmpp-websocket", "websocket", ("192.0.2.9", 80, "/xmpp-websocket", False)),
    ("wss://xmpp.meet.test/ws", "websocket", ("192.0.2.9", 443, "/ws", True)),
])
def test_endpoint_from_url(url, kind, want):
    """The audited name:port goes to the --connect-to address; anything else resolves."""
    ep = xmpp.endpoint_from_url(kind, url, base_name="meet.test", base_port=443,
                                address="127.0.0.1", connect_port=8443,
                                resolve=lambda host: "192.0.2.9")
    assert (ep.address, ep.connect_port, ep.path, ep.secure) == want


def test_endpoint_refuses_other_schemes():
    with pytest.raises(xmpp.XmppError, match="unknown scheme"):
        xmpp.endpoint_from_url("bosh", "ftp://meet.test/x", base_name="meet.test", base_port=443,
                               address="127.0.0.1", connect_port=443, resolve=lambda h: h)


# ------------------------------------------------------------------ websocket framing


def test_client_frames_are_masked():
    frame = xmpp.encode_frame(0x1, b"<open/>", mask=b"\x01\x02\x03\x04")
    assert frame[0] == 0x81 and frame[1] == 0x80 | 7
    payload = bytes(b ^ b"\x01\x02\x03\x04"[i % 4] for i, b in enumerate(frame[6:]))
    assert payload == b"<open/>"
    long = xmpp.encode_frame(0x1, b"x" * 300)
    assert long[1] == 0x80 | 126 and struct.unpack("!H", long[2:4])[0] == 300


def _ws_pair():
    a, b = socket.socketpair()
    ws = xmpp.WebSocket.__new__(xmpp.WebSocket)
    ws.sock, ws.timeout, ws.closed, ws._buf = a, 1.0, False, b""
    return ws, b


def test_websocket_reads_fragments_and_answers_pings():
    ws, server = _ws_pair()
    server.sendall(bytes([0x01, 3]) + b"<a>" + bytes([0x89, 2]) + b"hi"
                   + bytes([0x80, 4]) + b"</a>")
    assert ws.recv_text(time.monotonic() + 1) == "<a></a>"
    pong = server.recv(100)
    assert pong[0] == 0x8A and pong[1] & 0x80  # a masked pong
    server.sendall(bytes([0x88, 2]) + struct.pack("!H", 1000))
    assert ws.recv_text(time.monotonic() + 1) is None and ws.closed
    ws.close()
    server.close()


def test_websocket_read_is_bounded_and_refuses_masked_server_frames():
    ws, server = _ws_pair()
    with pytest.raises(TimeoutError):
        ws.recv_text(time.monotonic() + 0.2)
    server.sendall(bytes([0x81, 0x81]) + b"\0\0\0\0x")
    with pytest.raises(xmpp.XmppError, match="masked"):
        ws.recv_text(time.monotonic() + 1)
    ws.close()
    server.close()


# ------------------------------------------------------------------ the area


CONFIG = {
    "hosts": {"domain": NAME, "anonymousdomain": f"guest.{NAME}", "muc": f"conference.{NAME}"},
    "bosh": f"//{NAME}/http-bind",
    "websocket": f"wss://{NAME}/xmpp-websocket",
}


def _ctx(port: int, config: dict | None = None, timeout: float = 3.0) -> AuditContext:
    target = parse_target(f"https://{NAME}", connect_to=f"127.0.0.1:{port}", timeout=timeout)
    ctx = AuditContext(target)
    served = ServedConfig(f"https://{NAME}/config.js", "", config or CONFIG, {}, [], None)
    ctx.config_js = lambda: served  # type: ignore[method-assign]
    return ctx


def _by_id(findings):
    return {f.id: f for f in findings}


def _run(tmp_path, behaviour=None, config=None):
    with serve(tmp_path, behaviour) as server:
        found = access.run(_ctx(server.port, config))
    return _by_id(found), server.behaviour


def test_deployed_like_server(tmp_path):
    """As our deployment without Jitsi's packages: logins judged, room creation refused,
    focus and brewery skipped with the reason (not there)."""
    f, b = _run(tmp_path)
    assert f["access.main_anonymous"].status == PASSED
    assert f["access.main_anonymous"].severity == HIGH
    assert "SASL ANONYMOUS refused (invalid-mechanism)" in "\n".join(
        f["access.main_anonymous"].evidence)
    assert f["access.mechanisms"].status == PASSED
    assert f["access.mechanisms"].params["mechanisms"] == ["SCRAM-SHA-1", "PLAIN"]
    assert f["access.guest_domain"].status == PASSED
    assert f["access.guest_room"].status == PASSED
    assert "refused (not-allowed)" in "\n".join(f["access.guest_room"].evidence)
    for key in ("access.guest_focus", "access.guest_brewery"):
        assert f[key].status == SKIPPED, f[key]
        assert "Jitsi's own components" in f[key].reason
    assert any("ANONYMOUS" in s for s in b.seen)


def test_anonymous_main_domain_fails_high(tmp_path):
    b = Behaviour()
    b.domains[NAME] = (["ANONYMOUS", "PLAIN"], True)
    f, _ = _run(tmp_path, b)
    main = f["access.main_anonymous"]
    assert main.status == FAILED and main.severity == HIGH
    assert "anyone can open rooms" in main.reason
    assert main.texts["fr"]["fix"] and main.texts["fr"]["reason"]
    report = Report("audit", f"https://{NAME}/", list(f.values()))
    assert report.exit_code == 1


def test_anonymous_main_domain_is_the_guest_when_there_is_no_guest_domain(tmp_path):
    b = Behaviour(room="create")
    b.domains[NAME] = (["ANONYMOUS"], True)
    config = {**CONFIG, "hosts": {"domain": NAME}}
    f, _ = _run(tmp_path, b, config)
    assert f["access.guest_domain"].status == SKIPPED
    assert f["access.guest_room"].status == FAILED
    assert f"anonymous on {NAME}" in f["access.guest_room"].evidence[0]


def test_guest_can_create_a_room(tmp_path):
    f, b = _run(tmp_path, Behaviour(room="create"))
    room = f["access.guest_room"]
    assert room.status == FAILED and room.severity == HIGH
    assert "joined (status 110, 201" in "\n".join(room.evidence)
    # it left at once
    assert any("unavailable" in s for s in b.seen)


@pytest.mark.parametrize("focus,status", [("not-authorized", PASSED), ("ready", FAILED),
                                          ("absent", SKIPPED)])
def test_focus(tmp_path, focus, status):
    f, _ = _run(tmp_path, Behaviour(focus=focus))
    assert f["access.guest_focus"].status == status, f["access.guest_focus"]


@pytest.mark.parametrize("brewery,status", [("drop", PASSED), ("refuse", PASSED),
                                            ("join", FAILED), ("absent", SKIPPED)])
def test_brewery(tmp_path, brewery, status):
    """Jitsi's muc_filter_access drops a stranger's presence without a word: passed."""
    f, _ = _run(tmp_path, Behaviour(brewery=brewery))
    assert f["access.guest_brewery"].status == status, f["access.guest_brewery"]


def test_guest_domain_refusing_anonymous_fails(tmp_path):
    b = Behaviour()
    b.domains[f"guest.{NAME}"] = (["PLAIN"], False)
    f, _ = _run(tmp_path, b)
    assert f["access.guest_domain"].status == FAILED
    assert f["access.guest_domain"].severity == "medium"
    assert f["access.guest_room"].status == SKIPPED
    assert "no anonymous session" in f["access.guest_room"].reason


def test_bosh_when_the_websocket_is_refused(tmp_path):
    f, _ = _run(tmp_path, Behaviour(websocket=False, room="create"))
    main = f["access.main_anonymous"]
    assert main.status == PASSED
    assert any(e.startswith("XMPP endpoint: bosh https://meet.test/http-bind")
               for e in main.evidence)
    assert f["access.guest_room"].status == FAILED


def test_unknown_domain_is_skipped(tmp_path):
    config = {**CONFIG, "hosts": {"domain": "other.test"}}
    f, _ = _run(tmp_path, None, config)
    assert f["access.main_anonymous"].status == SKIPPED
    assert "host-unknown" in f["access.main_anonymous"].reason


def test_unencrypted_endpoint_with_password_mechanisms_fails(tmp_path):
    """config.js pointing the browser at ws://: PLAIN would cross the network in clear."""
    eps = access.Endpoints([xmpp.Endpoint("websocket", "ws://meet.test/xmpp-websocket",
                                          "meet.test", 80, "/xmpp-websocket", "127.0.0.1", 80,
                                          False)])
    login = access.Login(NAME, mechanisms=["SCRAM-SHA-1", "PLAIN"], accepted=False)
    f = access._mechanisms(login, eps)
    assert f.status == FAILED and "PLAIN" in f.reason


def test_unreachable_endpoint_is_skipped_with_the_reason():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    f = _by_id(access.run(_ctx(port, timeout=1.0)))
    assert f["access.main_anonymous"].status == SKIPPED
    assert "connection refused" in f["access.main_anonymous"].reason


def test_no_config_js_skips_everything():
    target = parse_target(f"https://{NAME}", connect_to="127.0.0.1:9", timeout=1)
    ctx = AuditContext(target)

    def missing():
        raise NotJitsi("GET https://meet.test/config.js answered 404")

    ctx.config_js = missing  # type: ignore[method-assign]
    found = access.run(ctx)
    assert len(found) == 6 and all(f.status == SKIPPED for f in found)
    assert all("404" in f.reason and f.texts["fr"]["reason"] for f in found)


def test_every_finding_has_french_and_no_secret(tmp_path):
    f, _ = _run(tmp_path, Behaviour(room="create", focus="ready", brewery="join"))
    text = json.dumps([x.as_dict() for x in f.values()], ensure_ascii=False)
    assert "s3cret-not-shown" not in text
    for x in f.values():
        assert x.texts["fr"]["title"] and x.texts["fr"]["title"] != x.title
        if x.status == FAILED:
            assert x.fix and x.texts["fr"]["fix"]


def test_guest_session_is_made_once(tmp_path):
    with serve(tmp_path) as server:
        ctx = _ctx(server.port)
        access.run(ctx)
        n = len(server.behaviour.seen)
        g = access.guest(ctx)
        assert len(server.behaviour.seen) == n
    assert g.services and g.services_ns == "urn:xmpp:extdisco:2"


def test_a_silent_endpoint_is_waited_for_once():
    """A server that accepts and never answers: each endpoint is tried once per audit
    (websocket, then BOSH), not again for the guest domain; findings skipped, reasons given."""
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def loop():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        f = _by_id(access.run(_ctx(listener.getsockname()[1], timeout=0.5)))
    finally:
        stop.set()
        thread.join(2)
        for c in accepted:
            c.close()
        listener.close()
    assert len(accepted) == 2
    assert f["access.main_anonymous"].status == SKIPPED
    assert "no answer within 0.5 s" in f["access.main_anonymous"].reason
    assert f["access.guest_domain"].status == SKIPPED


def test_an_endpoint_outside_the_audited_domain_is_not_contacted(tmp_path):
    config = {**CONFIG, "websocket": "wss://xmpp.elsewhere.example/xmpp-websocket"}
    f, _ = _run(tmp_path, None, config)
    main = f["access.main_anonymous"]
    assert main.status == PASSED  # over BOSH on the audited name
    assert any("xmpp.elsewhere.example is not in the audited domain: not contacted" in e
               for e in main.evidence)
    assert any(e.startswith("XMPP endpoint: bosh") for e in main.evidence)
