"""nginx's effective configuration (``nginx -T``) for the meeting domain (role nginx).

The Mozilla 6.0 intermediate settings and the baseline headers are hard-coded here;
what the role promises (HSTS max-age, framing allow-list, access log) comes from
nginx.json. Jitsi Meet's locations: every proxy to loopback, the websocket upgrade
passed, and from outside a BOSH request and a websocket upgrade reach prosody. The web
app's content: the security headers in every location, a CSP that allows blob: workers,
gzip for its types, .wav as audio/wav, versioned files cached a year.
Skipped as a whole when the inventory gives the host no domain.
"""

from __future__ import annotations

import base64
import os
import re
from urllib.parse import urlsplit

import pytest

from jitsi_sovereign.checks import tlsparse
from jitsi_sovereign.checks.helpers import domain_of, require_web_app, require_web_state

# directive -> (expected arguments, joined by spaces; how to compare)
TLS_DIRECTIVES = {
    "ssl_protocols": " ".join(tlsparse.MOZILLA_PROTOCOLS),
    "ssl_ciphers": ":".join(tlsparse.MOZILLA_CIPHERS_OPENSSL),
    "ssl_prefer_server_ciphers": "off",
    "server_tokens": "off",
    "ssl_session_tickets": "off",
}


def _https(nginx_conf, nginx_state, target) -> list:
    port = int(nginx_state.get("https_port") or 443)
    chain = tlsparse.find_server(nginx_conf, port, domain_of(target, "nginx"))
    if chain is None:
        pytest.fail(f"no server block for {domain_of(target, 'nginx')} listens on {port}",
                    pytrace=False)
    return chain


def _http(nginx_conf, target) -> list:
    chain = tlsparse.find_server(nginx_conf, 80, domain_of(target, "nginx"))
    if chain is None:
        pytest.fail(f"no server block for {domain_of(target, 'nginx')} listens on port 80",
                    pytrace=False)
    return chain


def test_servers(target, nginx_conf, nginx_state):
    """nginx serves the meeting domain over TLS on the HTTPS port, and on port 80."""
    chain = _https(nginx_conf, nginx_state, target)
    listens = [" ".join(d.args) for d in chain[-1].children("listen")]
    assert any("ssl" in a.split() for a in listens), (
        f"the HTTPS server's listen lines {listens} have no ssl")
    _http(nginx_conf, target)
    # The name nginx serves is one the certificate was made for (tls.json).
    certified = domain_of(target, "tls")
    assert certified in str(nginx_state.get("server_name", "")).split(), (
        f"nginx.json server_name {nginx_state.get('server_name')!r} is not {certified}, "
        "the certificate's name (tls.json)")


@pytest.mark.parametrize("directive", list(TLS_DIRECTIVES))
def test_directive(directive, target, nginx_conf, nginx_state, nginx_version):
    """TLS directive of the HTTPS server has the Mozilla intermediate (6.0) value."""
    if directive == "ssl_session_tickets" and nginx_version >= tlsparse.SESSION_TICKETS_FIXED:
        pytest.skip(f"nginx {'.'.join(map(str, nginx_version))} rotates session ticket keys "
                    "itself (>= 1.23.2): Mozilla no longer asks for tickets off")
    chain = _https(nginx_conf, nginx_state, target)
    got = tlsparse.effective(chain, directive)
    want = TLS_DIRECTIVES[directive]
    assert got is not None, f"{directive} is not set (nginx's default applies), wants {want}"
    if directive == "ssl_ciphers":
        got_set, want_set = set(" ".join(got).split(":")), set(want.split(":"))
        assert got_set == want_set, (
            f"ssl_ciphers has {sorted(got_set - want_set)} too many, "
            f"{sorted(want_set - got_set)} missing")
    else:
        assert " ".join(got) == want, f"{directive} {' '.join(got)}, wants {want}"


def test_hsts(target, nginx_conf, nginx_state):
    """HSTS (two years, includeSubDomains, always) in the HTTPS server and its header blocks."""
    chain = _https(nginx_conf, nginx_state, target)
    problems = []
    contexts = [(chain, "server")] + [
        ([*chain, loc], f"location {' '.join(loc.args)}")
        for loc in tlsparse.locations(chain[-1]) if loc.children("add_header")]
    for ctx, where in contexts:
        value, always = tlsparse.headers(ctx).get("strict-transport-security", (None, False))
        problems += [f"{where}: {p}" for p in
                     tlsparse.hsts_problems(value, nginx_state.get("hsts_max_age"))]
        if value and not always:
            problems.append(f"{where}: HSTS is added without `always` (missing on errors)")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("header", ["x-content-type-options", "referrer-policy",
                                    "content-security-policy"])
def test_header(header, target, nginx_conf, nginx_state):
    """security header is set in the HTTPS server as promised."""
    chain = _https(nginx_conf, nginx_state, target)
    value, _ = tlsparse.headers(chain).get(header, (None, False))
    assert value, f"the HTTPS server adds no {header} header"
    if header == "x-content-type-options":
        assert value.lower() == "nosniff", f"{header}: {value}, wants nosniff"
    elif header == "content-security-policy":
        promised = nginx_state.get("csp")
        if promised:
            assert value == promised, f"CSP {value!r}, nginx.json promises {promised!r}"
        problems = tlsparse.frame_ancestors_problems(value, nginx_state.get("frame_ancestors"))
        problems += tlsparse.blob_worker_problems(value)
        assert not problems, "; ".join(problems)


def test_redirect(target, nginx_conf):
    """port 80 redirects to HTTPS with 308 (only the ACME challenge path is served)."""
    problems = tlsparse.redirect_problems(_http(nginx_conf, target), 308)
    assert not problems, "; ".join(problems)


def test_access_log(target, nginx_conf, nginx_state):
    """access logs are off or keep no client address, as promised (HTTPS and port 80)."""
    promised = nginx_state.get("access_log")
    mode = promised.get("mode") if isinstance(promised, dict) else promised
    if mode == "full":
        pytest.skip("nginx_access_log is full: visitors' addresses are logged, by choice "
                    "(the default is off; anonymized keeps no full address)")
    chains = [_https(nginx_conf, nginx_state, target), _http(nginx_conf, target)]
    problems = [p for c in chains for p in tlsparse.access_log_problems(nginx_conf, c)]
    if mode == "off":
        logging = [" ".join(a) for c in chains
                   for a in (tlsparse.effective_all(c, "access_log") or [["(default)"]])
                   if a != ["off"]]
        problems += [f"nginx.json promises access_log off, found access_log {a}"
                     for a in logging]
    assert not problems, "; ".join(problems)


# ------------------------------------------------------------------ Jitsi Meet's locations

# Location (as nginx -T writes its arguments) -> the loopback upstream it proxies to.
JITSI_PROXIES = {
    "= /http-bind": ("127.0.0.1", 5280, "prosody BOSH"),
    "= /xmpp-websocket": ("127.0.0.1", 5280, "prosody websocket"),
    "^~ /colibri-ws/": ("127.0.0.1", 9090, "videobridge colibri websocket"),
}
WEBSOCKETS = ["= /xmpp-websocket", "^~ /colibri-ws/"]
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _jitsi(nginx_state) -> dict:
    info = nginx_state.get("jitsi")
    if not isinstance(info, dict):
        pytest.fail("nginx.json says nothing about Jitsi's locations (role nginx too old?)",
                    pytrace=False)
    if not info.get("enabled"):
        pytest.skip("nginx_jitsi is false: the site serves no Jitsi location")
    return info


def _locations(chain) -> dict[str, object]:
    return {" ".join(loc.args): loc for loc in tlsparse.locations(chain[-1])}


def test_jitsi_locations(target, nginx_conf, nginx_state):
    """Jitsi's locations are in the HTTPS server: /config.js, BOSH, websocket, colibri."""
    info = _jitsi(nginx_state)
    locs = _locations(_https(nginx_conf, nginx_state, target))
    problems = []
    config_js = locs.get("= /config.js")
    if config_js is None:
        problems.append("no `location = /config.js`")
    else:
        alias = [" ".join(d.args) for d in config_js.children("alias")]
        if alias != [info.get("config_js")]:
            problems.append(f"/config.js has alias {alias}, nginx.json promises "
                            f"{info.get('config_js')}")
    for where, (host, port, what) in JITSI_PROXIES.items():
        loc = locs.get(where)
        if loc is None:
            problems.append(f"no `location {where}` ({what})")
            continue
        passes = [d.args[0] for d in loc.children("proxy_pass") if d.args]
        if len(passes) != 1 or urlsplit(passes[0]).hostname != host \
                or urlsplit(passes[0]).port != port:
            problems.append(f"location {where} proxies to {passes}, wants http://{host}:{port}")
    assert not problems, "; ".join(problems)


def test_proxies_loopback(target, nginx_conf, nginx_state):
    """every proxy_pass of the meeting site goes to a loopback address."""
    _jitsi(nginx_state)
    chain = _https(nginx_conf, nginx_state, target)
    blocks = [chain[-1], *tlsparse.locations(chain[-1])]
    found, bad = 0, []
    for block in blocks:
        for d in block.children("proxy_pass"):
            found += 1
            host = urlsplit(d.args[0] if d.args else "").hostname
            if host not in LOOPBACK:
                where = "server" if block is chain[-1] else f"location {' '.join(block.args)}"
                bad.append(f"{where}: proxy_pass {' '.join(d.args)}")
    assert found, "no proxy_pass in the HTTPS server (Jitsi's locations are missing)"
    assert not bad, "proxies to a non-loopback address: " + "; ".join(bad)


@pytest.mark.parametrize("where", WEBSOCKETS)
def test_websocket_proxy(where, target, nginx_conf, nginx_state):
    """websocket location passes the upgrade (HTTP/1.1, Upgrade and Connection headers)."""
    _jitsi(nginx_state)
    loc = _locations(_https(nginx_conf, nginx_state, target)).get(where)
    assert loc is not None, f"no `location {where}`"
    version = [" ".join(d.args) for d in loc.children("proxy_http_version")]
    set_headers = {d.args[0].lower(): " ".join(d.args[1:]) for d in loc.children("proxy_set_header")
                   if d.args}
    problems = []
    if version != ["1.1"]:
        problems.append(f"proxy_http_version {version or 'unset (1.0)'}, wants 1.1")
    if set_headers.get("upgrade") != "$http_upgrade":
        problems.append(f"Upgrade header {set_headers.get('upgrade')!r}, wants $http_upgrade")
    if set_headers.get("connection", "").lower() != "upgrade":
        problems.append(f"Connection header {set_headers.get('connection')!r}, wants upgrade")
    assert not problems, f"location {where}: " + "; ".join(problems)


BOSH_BODY = ("<body rid='4242' to='{domain}' xml:lang='en' wait='5' hold='1' "
             "content='text/xml; charset=utf-8' ver='1.6' xmpp:version='1.0' "
             "xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'/>")


def _prosody(target) -> dict:
    return require_web_state(target, "prosody")


def test_bosh_reaches_prosody(target, nginx_state):
    """a BOSH session request to https://<domain>/http-bind gets prosody's answer (a sid)."""
    _jitsi(nginx_state)
    _prosody(target)
    from jitsi_sovereign.checks.test_jitsi_web import https_request

    body = BOSH_BODY.format(domain=domain_of(target, "nginx")).encode()
    answer = https_request(target, "/http-bind", method="POST", body=body, verify=False,
                           headers={"Content-Type": "text/xml; charset=utf-8"},
                           port=int(nginx_state.get("https_port") or 443))
    assert answer.error is None, f"POST /http-bind: {answer.error}"
    text = answer.body.decode(errors="replace")
    assert answer.status == 200, (f"POST /http-bind answers {answer.status} "
                                  f"({text[:120]!r}): prosody's BOSH is not reached")
    assert "http://jabber.org/protocol/httpbind" in text and "sid=" in text, (
        f"POST /http-bind answers without a BOSH session: {text[:200]!r}")
    assert "type='terminate'" not in text and 'type="terminate"' not in text, (
        f"prosody terminated the BOSH session: {text[:200]!r}")


def test_websocket_reaches_prosody(target, nginx_state):
    """a websocket upgrade on https://<domain>/xmpp-websocket is accepted by prosody (101, xmpp)."""
    _jitsi(nginx_state)
    _prosody(target)
    from jitsi_sovereign.checks.test_jitsi_web import https_request

    headers = {"Upgrade": "websocket", "Connection": "Upgrade",
               "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
               "Sec-WebSocket-Version": "13", "Sec-WebSocket-Protocol": "xmpp",
               "Origin": f"https://{domain_of(target, 'nginx')}"}
    answer = https_request(target, "/xmpp-websocket", headers=headers, verify=False,
                           port=int(nginx_state.get("https_port") or 443))
    assert answer.error is None, f"GET /xmpp-websocket: {answer.error}"
    assert answer.status == 101, (f"GET /xmpp-websocket (upgrade) answers {answer.status} "
                                  f"({answer.body[:120]!r}), wants 101 from prosody")
    assert answer.headers.get("sec-websocket-protocol", "").lower() == "xmpp", (
        f"the websocket protocol is {answer.headers.get('sec-websocket-protocol')!r}, wants xmpp")


# ------------------------------------------------------------------ the web app's content

# Headers every answer of the HTTPS server carries (the role's baseline; X-Frame-Options
# only when no portal may frame the site).
SECURITY_HEADERS = ("strict-transport-security", "x-content-type-options", "referrer-policy",
                    "content-security-policy")
# Compressed as Jitsi's own site does (jitsi/jitsi-meet doc/debian/jitsi-meet/jitsi-meet.example
# :96 at abf901a45): the bundles, styles and WebAssembly are several MB.
GZIP_TYPES = ("application/javascript", "text/css", "application/json", "application/wasm")
# The web app's sounds/*.wav (the same file, :6 maps audio/wav), and Debian's own types kept.
MIME_TYPES = {"wav": "audio/wav", "js": "application/javascript", "wasm": "application/wasm",
              "css": "text/css"}
ONE_YEAR = 365 * 86400
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400,
          "M": 30 * 86400, "y": 365 * 86400}


def nginx_seconds(value: str) -> float | None:
    """An nginx time (``1y``, ``30d``, ``1h30m``, ``3600``) in seconds; None if it is none."""
    if value == "max":
        return float("inf")
    parts = re.findall(r"(\d+)(ms|[smhdwMy]?)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(int(n) * _UNITS[u or "s"] for n, u in parts)


def location_chains(chain: list) -> list[tuple[str, list]]:
    """(where, [http, server, location...]) for every location below the chain's last block,
    nested ones with their parents (what each one inherits)."""
    out = []
    for d in chain[-1].block or []:
        if d.name == "location":
            sub = [*chain, d]
            out.append((f"location {' '.join(d.args)}", sub))
            out.extend(location_chains(sub))
    return out


def location_header_problems(chain: list) -> list[str]:
    """Locations that lose a security header of their server: nginx drops every inherited
    add_header in a block that has one of its own."""
    want = tlsparse.headers(chain)
    problems = [f"the HTTPS server adds no {h} header" for h in SECURITY_HEADERS
                if h not in want]
    for where, sub in location_chains(chain):
        got = tlsparse.headers(sub)
        missing = [h for h, (value, _) in want.items() if got.get(h, (None, False))[0] != value]
        if missing:
            problems.append(f"{where} adds its own headers and loses {', '.join(missing)} "
                            "(include the headers snippet there again)")
    return problems


def gzip_problems(chain: list) -> list[str]:
    """The server, and each location that sets gzip itself, compress the web app's types."""
    problems = []
    own = [(where, sub) for where, sub in location_chains(chain)
           if sub[-1].children("gzip") or sub[-1].children("gzip_types")]
    for where, sub in [("the HTTPS server", chain), *own]:
        gzip = tlsparse.effective(sub, "gzip")
        types = tlsparse.effective(sub, "gzip_types") or ["text/html"]
        if gzip != ["on"]:
            problems.append(f"{where}: gzip {' '.join(gzip or ['off (default)'])}")
        elif "*" not in types:
            missing = [t for t in GZIP_TYPES if t not in types]
            if missing:
                problems.append(f"{where}: gzip_types {' '.join(types)} lacks {' '.join(missing)}")
    return problems


def mime_types(chain: list) -> dict[str, str]:
    """{extension: type} as it applies in the chain's last block: the ``types`` blocks of
    the innermost block that has any (nginx replaces the map, several blocks add up)."""
    for ctx in reversed(chain):
        blocks = ctx.children("types")
        if blocks:
            return {ext: d.name for b in blocks for d in b.block or [] for ext in d.args}
    return {}


def mime_problems(chain: list) -> list[str]:
    got = mime_types(chain)
    return [f".{ext} is served as {got.get(ext, 'the default type')}, wants {want}"
            for ext, want in MIME_TYPES.items() if got.get(ext) != want]


def _http_maps(chain: list) -> dict[str, tuple[str, dict[str, str]]]:
    """{"$variable": ("$source", {key: value})} of the http block's map directives."""
    out = {}
    for d in chain[0].children("map") if chain and chain[0].name == "http" else []:
        if len(d.args) == 2:
            out[d.args[1]] = (d.args[0], {e.name: " ".join(e.args) for e in d.block or []})
    return out


def versioned_expires_problems(chain: list) -> list[str]:
    """The web app's static location caches versioned files (``?v=``) at least a year:
    ``expires`` through a map on $arg_v, in an ``if ($arg_v)`` block, or always."""
    static = [(where, sub) for where, sub in location_chains(chain)
              if "libs" in " ".join(sub[-1].args)]
    if not static:
        return ["no location serves the web app's static directories (libs, css...)"]
    problems = []
    maps = _http_maps(chain)
    for where, sub in static:
        loc = sub[-1]
        values = [" ".join(d.args) for b in loc.children("if") if "$arg_v" in " ".join(b.args)
                  for d in b.children("expires")]
        for d in loc.children("expires"):
            value = " ".join(d.args)
            if value in maps:
                source, entries = maps[value]
                if source != "$arg_v":
                    problems.append(f"{where}: expires {value} maps {source}, not $arg_v")
                    continue
                value = entries.get("default", "")
            values.append(value)
        if not values:
            problems.append(f"{where}: no expires for versioned files (?v=)")
        for value in values:
            seconds = nginx_seconds(value)
            if seconds is None or seconds < ONE_YEAR:
                problems.append(f"{where}: versioned files expire after {value!r}, wants 1y")
    return problems


def test_location_headers(target, nginx_conf, nginx_state):
    """every location of the HTTPS server keeps the server's security headers."""
    problems = location_header_problems(_https(nginx_conf, nginx_state, target))
    assert not problems, "; ".join(problems)


def test_gzip(target, nginx_conf, nginx_state):
    """the HTTPS server compresses JavaScript, CSS, JSON and WebAssembly (gzip_types)."""
    problems = gzip_problems(_https(nginx_conf, nginx_state, target))
    assert not problems, "; ".join(problems)


def test_mime_types(target, nginx_conf, nginx_state):
    """the HTTPS server serves .wav as audio/wav and keeps Debian's types (.js, .wasm, .css)."""
    problems = mime_problems(_https(nginx_conf, nginx_state, target))
    assert not problems, "; ".join(problems)


def test_versioned_assets_cached(target, nginx_conf, nginx_state):
    """the web app's versioned files (?v=) are cached a year, as Jitsi's own site does."""
    _jitsi(nginx_state)
    require_web_app(target, nginx_state)
    problems = versioned_expires_problems(_https(nginx_conf, nginx_state, target))
    assert not problems, "; ".join(problems)
