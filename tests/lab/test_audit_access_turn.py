"""The audit's access and turn areas against a deployed lab host, from outside only:
XMPP over the real prosody behind nginx (/xmpp-websocket, and /http-bind), TURN on the
real coturn. Then deliberately weakened, each change put back in ``finally`` and checked
put back (the file's checksum, owner and mode as before; the finding passes again):

* anonymous login on the main domain (prosody's site file) -> access.main_anonymous fails;
* coturn without denied peers and with loopback allowed -> turn.peers fails.

``pytest tests/lab/test_audit_access_turn.py --lab-host rc1``
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import pytest

from jitsi_sovereign.audit import access, turn, xmpp
from jitsi_sovereign.audit.context import AuditContext, ServedConfig
from jitsi_sovereign.audit.target import parse_target
from jitsi_sovereign.checks import turnprobe
from jitsi_sovereign.report.model import FAILED, PASSED, SKIPPED

BACKUP = "/root/jsov-audit-test"
TURN_CONF = "/etc/turnserver.conf"
JITSI_NEEDED = "Jitsi's own components"


def _ctx(host, **kw) -> AuditContext:
    target = parse_target(f"https://{host.domain}", connect_to=f"{host.address}:443",
                          cafile=host.root_ca, timeout=5.0)
    return AuditContext(target, **kw)


def _by_id(findings):
    return {f.id: f for f in findings}


def _explain(f) -> str:
    return f"{f.id} {f.status}: {f.reason}\n  " + "\n  ".join(f.evidence)


def _sh(host, script: str, check: bool = True):
    return host.sudo("sh", "-c", shlex.quote(script), check=check)


def _state(host, path: str) -> str:
    """sha256, mode, owner and group of a file on the host."""
    out = _sh(host, f"sha256sum {path} | cut -d' ' -f1; stat -c '%a %U %G' {path}")
    return out.stdout.strip()


def _backup(host, path: str) -> str:
    before = _state(host, path)
    _sh(host, f"mkdir -p {BACKUP} && chmod 700 {BACKUP} && cp -a {path} {BACKUP}/")
    return before


def _restore(host, path: str, service: str) -> None:
    name = Path(path).name
    _sh(host, f"cp -a {BACKUP}/{name} {path} && rm -f {BACKUP}/{name} && "
              f"rmdir {BACKUP} 2>/dev/null; systemctl restart {service}")


def _wait(what, probe, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except (OSError, xmpp.XmppError) as exc:
            last = exc
        time.sleep(0.5)
    pytest.fail(f"{what} did not answer within {limit:g} s after its restart ({last})")


def _xmpp_up(host) -> bool:
    ctx = _ctx(host)
    eps = access.endpoints(ctx, ctx.config_js())
    session, mechs = access.connect(ctx, eps, host.domain)
    session.close()
    return bool(mechs)


def _stun_up(host) -> bool:
    client = turnprobe.TurnClient(host.address, 3478, timeout=1.0, tries=1)
    try:
        return client.request(turnprobe.BINDING, [], auth=False).ok
    finally:
        client.close()


def _site_file(host) -> str:
    return f"/etc/prosody/conf.avail/{host.domain}.cfg.lua"


def _turn_secret(host) -> str:
    """The deployment's TURN secret, as coturn runs with it (static-auth-secret of
    /etc/turnserver.conf, read as root over the lab's SSH): wherever the controller keeps
    its copy (the lab inventory's .secrets/, molecule's own inventory directory...), the
    server's is the one that counts. Never printed."""
    run = host.sudo("sed", "-n", "s/^static-auth-secret=//p", "/etc/turnserver.conf", check=False)
    secret = run.stdout.strip()
    if run.returncode != 0 or not secret:
        pytest.fail(f"no static-auth-secret in {host.name}'s /etc/turnserver.conf "
                    f"(rc={run.returncode}): is it deployed?", pytrace=False)
    return secret


# ------------------------------------------------------------------ as deployed


def test_access_as_deployed(lab_host):
    f = _by_id(access.run(_ctx(lab_host)))
    for key in ("main_anonymous", "mechanisms", "guest_domain", "guest_room"):
        assert f[f"access.{key}"].status == PASSED, _explain(f[f"access.{key}"])
    assert "websocket wss://" in "\n".join(f["access.main_anonymous"].evidence)
    assert "ANONYMOUS refused" in "\n".join(f["access.main_anonymous"].evidence)
    assert "Room creation is restricted" in "\n".join(f["access.guest_room"].evidence)
    # Jitsi's packages are not installed in the lab: no focus, no brewery to judge.
    for key in ("guest_focus", "guest_brewery"):
        assert f[f"access.{key}"].status == SKIPPED, _explain(f[f"access.{key}"])
        assert JITSI_NEEDED in f[f"access.{key}"].reason


def test_access_over_bosh(lab_host):
    """The same through the real BOSH endpoint, for a config.js without a websocket."""
    ctx = _ctx(lab_host)
    served = ctx.config_js()
    config = {k: v for k, v in served.config.items() if k != "websocket"}
    nows = ServedConfig(served.url, served.text, config, served.hosts, served.computed,
                        served.strict_error)
    ctx.config_js = lambda: nows  # type: ignore[method-assign]
    f = _by_id(access.run(ctx))
    assert f["access.main_anonymous"].status == PASSED, _explain(f["access.main_anonymous"])
    assert f"bosh https://{lab_host.domain}/http-bind" in "\n".join(
        f["access.main_anonymous"].evidence)
    assert f["access.guest_room"].status == PASSED, _explain(f["access.guest_room"])
    assert access.guest(ctx).services, "no XEP-0215 services over BOSH"


def test_turn_as_deployed(lab_host):
    """Credentials from XEP-0215 (prosody's mod_external_services hands them to guests)."""
    found = turn.run(_ctx(lab_host))
    for f in found:
        assert f.status == PASSED, _explain(f)
    f = _by_id(found)
    assert f["turn.credentials"].params["source"] == "XEP-0215"
    peers = f["turn.peers"].params["peers"]
    assert {"127.0.0.1", "::1", "10.0.0.1", "169.254.169.254", "0.0.0.0",
            lab_host.address} <= set(peers)


def test_turn_with_command_line_credentials(lab_host):
    """--turn-user/--turn-password made from the deployment's secret (TURN REST API)."""
    user, password = turnprobe.rest_credentials(_turn_secret(lab_host), "jsov-audit-test")
    found = turn.run(_ctx(lab_host, turn_credentials=(user, password)))
    for f in found:
        assert f.status == PASSED, _explain(f)
        assert password not in " ".join(f.evidence)
    assert _by_id(found)["turn.credentials"].params["source"] == "command line"


# ------------------------------------------------------------------ weakened


def test_anonymous_login_on_the_main_domain_fails(lab_host):
    path = _site_file(lab_host)
    before = _backup(lab_host, path)
    try:
        # The first 'authentication' line after the main VirtualHost (not auth.<domain>'s).
        _sh(lab_host, f"sed -i '/^VirtualHost \"{lab_host.domain}\"/,/authentication/ "
                      f"s/authentication = \"[a-z_]*\"/authentication = \"anonymous\"/' {path} "
                      "&& systemctl restart prosody")
        assert _state(lab_host, path) != before, "the site file was not changed"
        _wait("prosody", lambda: _xmpp_up(lab_host))
        f = _by_id(access.run(_ctx(lab_host)))
        main = f["access.main_anonymous"]
        assert main.status == FAILED and main.severity == "high", _explain(main)
        assert "ANONYMOUS succeeded" in "\n".join(main.evidence)
    finally:
        _restore(lab_host, path, "prosody")
    assert _state(lab_host, path) == before, "the site file is not as before"
    _wait("prosody", lambda: _xmpp_up(lab_host))
    main = _by_id(access.run(_ctx(lab_host)))["access.main_anonymous"]
    assert main.status == PASSED, _explain(main)


def test_coturn_without_denied_peers_fails(lab_host):
    before = _backup(lab_host, TURN_CONF)
    try:
        _sh(lab_host, f"sed -i '/^denied-peer-ip=/d' {TURN_CONF} && "
                      f"echo allow-loopback-peers >> {TURN_CONF} && systemctl restart coturn")
        assert _state(lab_host, TURN_CONF) != before, "turnserver.conf was not changed"
        _wait("coturn", lambda: _stun_up(lab_host))
        f = _by_id(turn.run(_ctx(lab_host)))
        peers = f["turn.peers"]
        assert peers.status == FAILED and peers.severity == "high", _explain(peers)
        assert peers.params["peers"]["127.0.0.1"] == "ALLOWED", _explain(peers)
        assert peers.params["peers"]["10.0.0.1"] == "ALLOWED", _explain(peers)
        assert f["turn.unauthenticated"].status == PASSED, _explain(f["turn.unauthenticated"])
    finally:
        _restore(lab_host, TURN_CONF, "coturn")
    assert _state(lab_host, TURN_CONF) == before, "turnserver.conf is not as before"
    _wait("coturn", lambda: _stun_up(lab_host))
    peers = _by_id(turn.run(_ctx(lab_host)))["turn.peers"]
    assert peers.status == PASSED, _explain(peers)
