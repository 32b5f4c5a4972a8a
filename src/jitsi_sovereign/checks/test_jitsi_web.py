"""Jitsi Meet's web configuration as a browser gets it (role jitsi_web).

From outside (the controller): GET https://<domain>/config.js against the inventory
address with SNI and Host = the domain, the chain verified against the inventory's trust
store (``jitsi_sovereign_tls_trust_store``, the lab's pebble root) or the system's; the
served file is read with esprima (``confcheck/configjs.py``) key by key, every host it
names must be the domain or under it, and ``node --check`` parses it when node is on
the controller. Inside: the file's mode and owner, and that the served file is the one
written. The web app's own checks (index, SSI, room path) need jitsi-meet-web: skipped
with the reason of jitsi_web.json when it is not installed. Skipped as a whole when the
inventory gives the host no domain.
"""

from __future__ import annotations

import hashlib
import http.client
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field

import pytest

from jitsi_sovereign.checks.helpers import (
    TRUST_STORE_VAR,
    domain_of,
    require_web_state,
    state_or_empty,
    stats,
)
from jitsi_sovereign.confcheck import configjs

TIMEOUT = 8.0


@dataclass
class Answer:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None


def https_request(target, path: str, *, method: str = "GET", body: bytes | None = None,
                  headers: dict[str, str] | None = None, verify: bool = True,
                  port: int = 443) -> Answer:
    """One HTTPS request to the inventory address, SNI and Host = the domain.

    The chain is verified against the inventory's trust store (the lab's pebble root)
    or the system's, unless ``verify`` is false (a self-signed certificate: the chain
    has its own check in test_outside_tls).
    """
    domain = domain_of(target, "jitsi_web")
    store = (target.spec.vars or {}).get(TRUST_STORE_VAR)
    if verify:
        ctx = ssl.create_default_context(cafile=str(store) if store else None)
    else:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        raw = socket.create_connection((target.address, port), timeout=TIMEOUT)
        with ctx.wrap_socket(raw, server_hostname=domain) as sock:
            lines = [f"{method} {path} HTTP/1.1", f"Host: {domain}",
                     "User-Agent: jitsi-sovereign-verify", "Connection: close"]
            lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
            if body is not None:
                lines.append(f"Content-Length: {len(body)}")
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
            resp = http.client.HTTPResponse(sock, method=method)
            resp.begin()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            data = b"" if resp.status == 101 else resp.read()
            return Answer(resp.status, hdrs, data)
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return Answer(error=f"{type(exc).__name__}: {exc}")


@pytest.fixture(scope="module")
def web_state(target) -> dict:
    return require_web_state(target, "jitsi_web")


@pytest.fixture(scope="module")
def https_port(target) -> int:
    return int(state_or_empty(target, "nginx").get("https_port") or 443)


@pytest.fixture(scope="module")
def verify_chain(target) -> bool:
    return state_or_empty(target, "tls").get("mode") != "selfsigned"


@pytest.fixture(scope="module")
def served(target, web_state, https_port, verify_chain) -> bytes:
    """The config.js the HTTPS front serves (one GET per host)."""
    answer = https_request(target, "/config.js", verify=verify_chain, port=https_port)
    if answer.error:
        pytest.fail(f"GET https://{domain_of(target, 'jitsi_web')}/config.js from "
                    f"{target.address}: {answer.error}", pytrace=False)
    if answer.status != 200:
        pytest.fail(f"GET /config.js answers {answer.status}, wants 200", pytrace=False)
    return answer.body


@pytest.fixture(scope="module")
def parsed(served) -> configjs.ConfigJs:
    try:
        return configjs.parse(served.decode("utf-8"))
    except (UnicodeDecodeError, configjs.ConfigJsError) as exc:
        pytest.fail(f"the served config.js cannot be read as plain data: {exc}", pytrace=False)


def test_config_js_parses(parsed):
    """the served config.js is `var config = {...}` with literal values only (esprima)."""
    assert isinstance(parsed.config, dict) and parsed.config, "config is empty"


def test_config_js_hosts(target, parsed):
    """every host named in the served config.js is the domain or one of its subdomains."""
    domain = domain_of(target, "jitsi_web")
    foreign = configjs.foreign_hosts(parsed.hosts, domain)
    assert not foreign, (f"config.js names hosts outside {domain}: " + "; ".join(
        f"{h} (in {', '.join(sorted(set(parsed.hosts[h])))})" for h in foreign))


BASELINE_KEYS = [key for key, _, _ in configjs.BASELINE]
PROMISED_KEYS = ["hosts.domain", "hosts.muc", "hosts.anonymousdomain", "bosh", "websocket",
                 "p2p.stunServers", "defaultLanguage", "lobby.enableChat", "e2ee.disabled",
                 "testing.disableE2EE"]


@pytest.mark.parametrize("key", BASELINE_KEYS)
def test_baseline_value(key, parsed):
    """config.js key has the baseline value (privacy, prejoin, display name, lobby)."""
    want = dict((k, v) for k, v, _ in configjs.BASELINE)[key]
    why = dict((k, w) for k, _, w in configjs.BASELINE)[key]
    got = configjs.get(parsed.config, key)
    assert got == want, (f"{key} is {'not set' if got is configjs.ABSENT else repr(got)}, "
                         f"must be {want!r} ({why})")


@pytest.mark.parametrize("key", PROMISED_KEYS)
def test_promised_value(key, parsed, web_state):
    """config.js key has the value jitsi_web.json promises (XMPP names, STUN, language, E2EE)."""
    try:
        promises = configjs.promises_from_state(web_state)
    except (KeyError, TypeError, ValueError) as exc:
        pytest.fail(f"jitsi_web.json lacks a promised value: {exc}", pytrace=False)
    want = promises[key]
    got = configjs.get(parsed.config, key)
    if want is configjs.ABSENT:
        assert got is configjs.ABSENT, f"{key} is {got!r}, must not be set"
    else:
        assert got == want, (f"{key} is {'not set' if got is configjs.ABSENT else repr(got)}, "
                             f"promised {want!r}")


def test_no_third_party_keys(parsed):
    """no third-party key (analytics ids, callstats, watchRTC, deploymentUrls...) nor button."""
    problems = [p for p in configjs.problems(parsed.config)
                if " is set (" in p or p.startswith("toolbarButtons")]
    assert not problems, "; ".join(problems)


def test_toolbar_buttons(parsed, web_state):
    """toolbarButtons is the promised list, every name a button of the pinned Jitsi Meet."""
    got = configjs.get(parsed.config, "toolbarButtons")
    want = web_state.get("toolbar_buttons")
    known = web_state.get("toolbar_buttons_known")
    if want is None or known is None:
        pytest.fail("jitsi_web.json lacks toolbar_buttons or toolbar_buttons_known "
                    "(role jitsi_web too old?)", pytrace=False)
    assert got == want, f"toolbarButtons is {got!r}, jitsi_web.json promises {want!r}"
    unknown = [b for b in got if b not in known]
    assert not unknown, (f"toolbarButtons names {unknown}: not buttons of the pinned Jitsi Meet "
                         "(no effect; 'filmstrip' was dropped upstream)")


def test_node_check(served):
    """`node --check` parses the served config.js (on the controller)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed on the controller")
    result = subprocess.run([node, "--check"], input=served, capture_output=True,
                            timeout=30, check=False)
    err = result.stderr.decode(errors="replace").strip().splitlines()
    assert result.returncode == 0, (
        f"node --check fails: {' / '.join(line for line in err if 'Error' in line) or err[-1:]}")


def test_config_js_file(target, web_state):
    """config.js on the host is root:root 0644 (public, read by nginx, written by root only)."""
    path = web_state.get("config_js") or \
        f"/etc/jitsi/meet/{domain_of(target, 'jitsi_web')}-config.js"
    found = stats(target, path).get(path)
    assert found is not None, f"{path} is missing"
    assert (found.mode, found.owner, found.group) == (0o644, "root", "root"), (
        f"{path} is {found.owner}:{found.group} {found.mode:o}, wants root:root 644")


def test_served_is_written(target, web_state, served):
    """the HTTPS front serves the config.js the role wrote (same SHA-256)."""
    path = web_state.get("config_js") or \
        f"/etc/jitsi/meet/{domain_of(target, 'jitsi_web')}-config.js"
    result = target.run("sha256sum %s", path)
    assert result.rc == 0, f"sha256sum {path} failed: {result.stderr.strip()}"
    on_host = result.stdout.split()[0]
    assert hashlib.sha256(served).hexdigest() == on_host, (
        f"/config.js differs from {path}: nginx serves another file (nginx_jitsi_config_js?)")


# ------------------------------------------------------------------ the web app


def _require_app(web_state) -> None:
    app = web_state.get("web_app") or {}
    if not app.get("installed"):
        pytest.skip("Jitsi Meet's web app is not installed: "
                    f"{app.get('reason') or 'no reason given'}")


def test_web_app_index(target, web_state, https_port, verify_chain):
    """the web app's index.html is served with its SSI processed (config.js inlined, no `<!--#`)."""
    _require_app(web_state)
    answer = https_request(target, "/", verify=verify_chain, port=https_port)
    assert answer.error is None, f"GET /: {answer.error}"
    assert answer.status == 200, f"GET / answers {answer.status}"
    assert b"<!--#" not in answer.body, "GET / still holds SSI directives (ssi off?)"
    # index.html includes /config.js and /interface_config.js with SSI (include virtual).
    assert b"var config = {" in answer.body, (
        "GET / does not inline config.js: not Jitsi Meet's index.html, or SSI off")


def test_web_app_room_path(target, web_state, https_port, verify_chain):
    """a room name in the path serves the web app (Jitsi's rewrite)."""
    _require_app(web_state)
    answer = https_request(target, "/jsovVerifyRoom", verify=verify_chain, port=https_port)
    assert answer.error is None, f"GET /jsovVerifyRoom: {answer.error}"
    assert answer.status == 200 and b"var config = {" in answer.body, (
        f"GET /jsovVerifyRoom answers {answer.status}, not the web app")


def test_interface_config(target, web_state, https_port, verify_chain):
    """the served interface_config.js ends with the jitsi_web overrides (no jitsi.org link)."""
    _require_app(web_state)
    answer = https_request(target, "/interface_config.js", verify=verify_chain, port=https_port)
    assert answer.error is None, f"GET /interface_config.js: {answer.error}"
    assert answer.status == 200, f"GET /interface_config.js answers {answer.status}"
    assert b"Object.assign(interfaceConfig, interfaceConfigOverrides)" in answer.body, (
        "the served interface_config.js lacks the jitsi_web overrides")
