"""The audit's network area: STUN probes against a loopback responder, the verdicts on
made-up probe results, and a whole audit (engine.run) of the loopback site."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from audit_site import GOOD_CONFIG, serve

from jitsi_sovereign.audit import engine, network
from jitsi_sovereign.checks import turnprobe
from jitsi_sovereign.checks.probes import PortProbe


@pytest.fixture
def stun_server():
    """A UDP STUN responder on loopback: Binding success with XOR-MAPPED-ADDRESS."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve_forever():
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(2048)
            except TimeoutError:
                continue
            msg = turnprobe.decode(data)
            answer = turnprobe.encode(
                turnprobe.message_type(turnprobe.BINDING, turnprobe.SUCCESS), msg.txid,
                [(turnprobe.XOR_MAPPED_ADDRESS, turnprobe.xor_address(*peer, msg.txid))])
            sock.sendto(answer, peer)

    t = threading.Thread(target=serve_forever, daemon=True)
    t.start()
    yield sock.getsockname()[1]
    stop.set()
    t.join()
    sock.close()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stun_binding_answered(stun_server):
    p = network.stun_binding("127.0.0.1", stun_server, timeout=1)
    assert p.status == "answered"
    assert "STUN binding success, sees this client as 127.0.0.1:" in p.detail


def test_stun_binding_closed_port():
    p = network.stun_binding("127.0.0.1", _free_udp_port(), timeout=1)
    assert p.status == "closed"


def test_stun_binding_silent():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # listens, never answers
        s.bind(("127.0.0.1", 0))
        p = network.stun_binding("127.0.0.1", s.getsockname()[1], timeout=0.6)
    assert p.status == "silent"


def _probe(status: str, port: int = 10000, proto: str = "udp") -> PortProbe:
    return PortProbe(proto, port, status, "made up", 0.0)


def test_media_port_verdicts():
    assert network.media_finding(_probe("answered"), None).status == "passed"
    silent = network.media_finding(_probe("silent"), None)
    assert silent.status == "skipped" and "cannot be told apart" in silent.reason
    dead = network.media_finding(_probe("closed"), None)
    assert (dead.status, dead.severity) == ("failed", "high")
    assert "videobridge is not running" in dead.reason
    setup = network.media_finding(_probe("closed"), "the Jitsi Meet web app is not served here")
    assert setup.status == "skipped"
    assert setup.reason.startswith("the Jitsi Meet web app is not served here")
    assert network.media_finding(_probe("rejected"), None).status == "failed"


def test_exposed_ports():
    results = {p: _probe("filtered", p, "tcp") for p in network.INTERNAL}
    assert network.exposed("internal", network.INTERNAL, results).status == "passed"
    results[5280] = _probe("open", 5280, "tcp")
    f = network.exposed("internal", network.INTERNAL, results)
    assert (f.status, f.severity) == ("failed", "medium")
    results[8080] = _probe("open", 8080, "tcp")
    f = network.exposed("internal", network.INTERNAL, results)
    assert (f.status, f.severity) == ("failed", "high")
    assert f.params["open"] == [5280, 8080]
    results = {p: _probe("closed", p, "tcp") for p in network.DATABASES}
    assert network.exposed("databases", network.DATABASES, results).status == "passed"


def test_ssh_open_to_all_is_low():
    f = network.ssh_finding(_probe("open", 22, "tcp"), "SSH-2.0-OpenSSH_10.0")
    assert (f.status, f.severity) == ("failed", "low")
    assert "banner: SSH-2.0-OpenSSH_10.0" in f.evidence
    assert network.ssh_finding(_probe("filtered", 22, "tcp"), None).status == "passed"


def test_turn_port_from_config(tmp_path):
    with serve(tmp_path) as site:
        site.jitsi(GOOD_CONFIG.replace("stun:meet.test:3478", "stun:meet.test:3479"))
        assert network._turn_port(site.context()) == 3479
        site.jitsi(GOOD_CONFIG.replace("stun:meet.test:3478", "stun:stun.other.example:19302"))
        assert network._turn_port(site.context()) == 3478


def test_whole_audit_of_the_loopback_site_runs_every_area(tmp_path):
    """No area breaks (an area that raises becomes '<area>.run'); every finding has
    a French title."""
    with serve(tmp_path) as site:
        report = engine.run(site.jitsi().context(timeout=2))
    ids = [f.id for f in report.findings]
    assert not [i for i in ids if i.endswith(".run")], ids
    for area in ("tls", "http", "sovereignty", "network"):
        assert any(i.startswith(area + ".") for i in ids), area
    mine = [f for f in report.findings if f.area in ("tls", "http", "sovereignty", "network")]
    assert all(f.texts.get("fr", {}).get("title") for f in mine)
    json.dumps(report.to_dict())  # every finding's params and evidence are plain data
    media = next(f for f in report.findings if f.id == "network.media_udp")
    assert media.status == "skipped"  # loopback: nothing on 10000/udp, and no web app served


def test_web_app_seen_from_its_page_or_bundle(tmp_path):
    with serve(tmp_path) as site:
        site.jitsi()
        assert "answers 404" in site.context().web_app_missing()
        site.routes["/libs/app.bundle.min.js"] = (200, {"Content-Type": "application/javascript"},
                                                  "x")
        assert site.context().web_app_missing() is None
        assert "https HEAD /libs/app.bundle.min.js" in site.requests
        del site.routes["/libs/app.bundle.min.js"]
        site.routes["/"] = (200, {"Content-Type": "text/html"},
                            '<script src="libs/app.bundle.min.js?v=1"></script>')
        assert site.context().web_app_missing() is None
