"""prosody on the host: configuration check, listening surface, SASL per domain (role prosody).

The XMPP probe (``checks/xmpp.py``) runs on the host itself: prosody's client port
listens on loopback only. Skipped as a whole when the inventory gives the host no
``jitsi_sovereign_domain`` (site.yml then does not deploy prosody).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jitsi_sovereign.checks import xmpp
from jitsi_sovereign.checks.helpers import require_web_state, run_ok, stats

_PROBE_SOURCE = Path(xmpp.__file__).read_text()


@pytest.fixture(scope="module")
def prosody_state(target) -> dict:
    return require_web_state(target, "prosody")


@pytest.fixture(scope="module")
def tcp_sockets(target, prosody_state) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket (``ss -Hltn``, read once)."""
    out = run_ok(target, "ss -Hltn", what="ss -Hltn")
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            address, _, port = fields[3].rpartition(":")
            if port.isdigit():
                found.append((address.strip("[]").split("%", 1)[0], int(port)))
    return found


def _probe(target, domain: str, mechanism: str | None = "ANONYMOUS") -> dict:
    request = json.dumps({"domain": domain, "mechanism": mechanism})
    out = run_ok(target, "python3 -c %s %s", _PROBE_SOURCE, request,
                 what=f"XMPP probe of {domain} on 127.0.0.1:5222")
    result = json.loads(out)
    if result.get("error"):
        pytest.fail(f"XMPP probe of {domain}: {result['error']}", pytrace=False)
    return result


def test_config_check(target, prosody_state):
    """`prosodyctl check config` passes on the whole configuration."""
    run_ok(target, "prosodyctl --root check config", what="prosodyctl check config")


def test_no_s2s(tcp_sockets):
    """nothing listens on 5269 (server-to-server) or 5281 (prosody's direct HTTPS)."""
    bad = sorted({f"{a}:{p}" for a, p in tcp_sockets if p in (5269, 5281)})
    assert not bad, f"listening on {', '.join(bad)}: s2s / prosody HTTPS must be off"


@pytest.mark.parametrize("port", [5222, 5280])
def test_loopback_only(tcp_sockets, prosody_state, port):
    """client (5222) and HTTP (5280) listen, on loopback addresses only."""
    addresses = sorted({a for a, p in tcp_sockets if p == port})
    assert addresses, f"nothing listens on {port}: is prosody running?"
    public = [a for a in addresses if a not in ("127.0.0.1", "::1")]
    assert not public, f"port {port} listens on {', '.join(public)}, wants loopback only"


def test_site_config_not_world_readable(target, prosody_state):
    """the hosts file (it holds the TURN secret) is root:prosody 0640 at most."""
    files = [f for f in prosody_state.get("config_files") or [] if "/conf.d/" in f]
    assert files, "prosody.json names no conf.d file"
    found = stats(target, *files)
    for path in files:
        assert path in found, f"{path} is missing"
        st = found[path]
        assert st.owner == "root" and not st.mode & 0o027, (
            f"{path} is {st.mode:04o} {st.owner}:{st.group}, wants 0640 root:prosody")


def test_no_mechanism_before_tls(target, prosody_state):
    """the main domain offers STARTTLS and no SASL mechanism before it (c2s_require_encryption)."""
    result = _probe(target, prosody_state["domain"], None)
    assert result["starttls_offered"], "STARTTLS not offered on the main domain"
    assert not result["mechanisms_before_tls"], (
        f"SASL offered before TLS: {result['mechanisms_before_tls']}")
    assert result["tls_version"] in ("TLSv1.2", "TLSv1.3"), f"TLS {result['tls_version']}"


def test_anonymous_refused_on_main_domain(target, prosody_state):
    """after STARTTLS, the main domain does not offer ANONYMOUS and refuses it."""
    domain = prosody_state["domain"]
    result = _probe(target, domain)
    assert "ANONYMOUS" not in result["mechanisms"], (
        f"{domain} offers ANONYMOUS: anyone could open rooms ({result['mechanisms']})")
    assert result["auth"]["result"] == "failure", f"{domain} accepted an anonymous login"
    assert result["auth"]["condition"] in ("invalid-mechanism", "mechanism-too-weak",
                                           "not-authorized"), result["auth"]


def test_anonymous_refused_on_auth_domain(target, prosody_state):
    """the components' domain (auth.<domain>) refuses ANONYMOUS too."""
    domain = prosody_state.get("auth_domain") or f"auth.{prosody_state['domain']}"
    result = _probe(target, domain)
    assert result["auth"]["result"] == "failure", f"{domain} accepted an anonymous login"


def test_anonymous_on_guest_domain(target, prosody_state):
    """the guest domain offers ANONYMOUS (only) and lets a guest in."""
    if not prosody_state.get("guests_enabled"):
        pytest.skip("prosody_guests_enabled is false: no guest domain")
    domain = prosody_state["guest_domain"]
    result = _probe(target, domain)
    assert result["mechanisms"] == ["ANONYMOUS"], (
        f"{domain} offers {result['mechanisms']}, wants ANONYMOUS only")
    assert result["auth"]["result"] == "success", f"{domain} refused a guest: {result['auth']}"
