"""verify behind a bastion: the outside checks that go straight to the host's address
are skipped, with the reason, when this machine has no route of its own to it; they run
when it has one, and always for a host deploy reaches directly."""

from __future__ import annotations

import socket
from types import SimpleNamespace

from jitsi_sovereign.checks import helpers, probes


def _target(through: str | None, address: str = "127.0.0.1", port: int = 22,
            tcp_open: list[int] | None = None):
    t = SimpleNamespace(name="meet1", address=address, port=port,
                        route=SimpleNamespace(through=through), extra={})
    t.extra["outside_ports"] = {"error": None, "tcp_open": tcp_open or [], "udp_open": []}
    return t


def _config(t):
    return SimpleNamespace(stash={helpers.TARGET_KEY: t})


def test_a_direct_host_is_never_probed_for_a_route(monkeypatch):
    monkeypatch.setattr(probes, "probe_tcp", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    t = _target(None)
    assert helpers.no_direct_route(t, _config(t)) is None


def test_behind_a_bastion_without_a_route_says_why(monkeypatch):
    seen = []

    def probe(address, port, timeout):
        seen.append((address, port))
        return probes.PortProbe("tcp", port, "filtered", "no answer within 2 s", 2.0)

    monkeypatch.setattr(probes, "probe_tcp", probe)
    t = _target("through jump host ops@bastion.example.org:22", address="10.1.2.3",
                tcp_open=[443, 5349])
    problem = helpers.no_direct_route(t, _config(t))
    assert seen == [("10.1.2.3", 443)]  # a port open to everyone, not SSH
    assert problem.startswith("meet1 is reached through jump host ops@bastion.example.org:22, "
                              "and this machine has no direct route to 10.1.2.3 (tcp/443: "
                              "filtered, no answer within 2 s)")
    assert "jitsi-sovereign audit" in problem
    helpers.no_direct_route(t, _config(t))
    assert len(seen) == 1  # decided once per host


def test_behind_a_bastion_with_a_route_runs_them():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        t = _target("through jump host ops@bastion:22", tcp_open=[listener.getsockname()[1]])
        assert helpers.no_direct_route(t, _config(t)) is None
    finally:
        listener.close()


def test_a_refused_port_is_a_route_too():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens: the kernel answers RST, the address is reachable
    t = _target("through ProxyCommand 'nc %h %p'", port=port)
    assert helpers.no_direct_route(t, _config(t)) is None
