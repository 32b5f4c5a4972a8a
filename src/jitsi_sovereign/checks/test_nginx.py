"""nginx's effective configuration (``nginx -T``) for the meeting domain (role nginx).

The Mozilla 6.0 intermediate settings and the baseline headers are hard-coded here;
what the role promises (HSTS max-age, framing allow-list, access log) comes from
nginx.json. Skipped as a whole when the inventory gives the host no domain.
"""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks import tlsparse
from jitsi_sovereign.checks.helpers import domain_of

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
    chain = tlsparse.find_server(nginx_conf, port, domain_of(target))
    if chain is None:
        pytest.fail(f"no server block for {domain_of(target)} listens on {port}",
                    pytrace=False)
    return chain


def _http(nginx_conf, target) -> list:
    chain = tlsparse.find_server(nginx_conf, 80, domain_of(target))
    if chain is None:
        pytest.fail(f"no server block for {domain_of(target)} listens on port 80",
                    pytrace=False)
    return chain


def test_servers(target, nginx_conf, nginx_state):
    """nginx serves the meeting domain over TLS on the HTTPS port, and on port 80."""
    chain = _https(nginx_conf, nginx_state, target)
    listens = [" ".join(d.args) for d in chain[-1].children("listen")]
    assert any("ssl" in a.split() for a in listens), (
        f"the HTTPS server's listen lines {listens} have no ssl")
    _http(nginx_conf, target)
    assert domain_of(target) in str(nginx_state.get("server_name", "")).split(), (
        f"nginx.json server_name {nginx_state.get('server_name')!r} is not "
        f"{domain_of(target)}")


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
