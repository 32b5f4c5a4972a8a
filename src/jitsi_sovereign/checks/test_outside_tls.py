"""From outside: the HTTPS front as a browser or a scanner sees it (sslyze, HTTP GETs).

One sslyze scan per host (started in the background while the inside checks run),
against the inventory address with SNI = the meeting domain. Then what the web app
needs from the served site: a CSP that lets it start its blob: workers (end-to-end
encryption, virtual backgrounds), JavaScript sent compressed, and (with the web app
installed) versioned files cached a year, .wav as audio/wav, the security headers on
every path. Skipped as a whole when the inventory gives the host no domain.
"""

from __future__ import annotations

import gzip
import zlib

import pytest

from jitsi_sovereign.checks import tlsparse, tlsscan
from jitsi_sovereign.checks.helpers import TRUST_STORE_VAR, domain_of, require_web_app

SELF_SIGNED = "self-signed certificate: not publicly trusted (lab only)"
# Mozilla checker findings accepted on purpose, with the reason ({} = none waived).
WAIVERS: dict[str, str] = {}


def _version(scan: tlsscan.TlsScan, version: str) -> bool:
    if version in scan.scan_errors:
        pytest.fail(f"the {version} scan did not run: {scan.scan_errors[version]}",
                    pytrace=False)
    return scan.supported.get(version, False)


@pytest.mark.parametrize("version", ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"])
def test_old_protocol_refused(version, tls_scan):
    """old protocol version is refused."""
    assert not _version(tls_scan, version), (
        f"{version} is accepted (suites: {', '.join(tls_scan.accepted.get(version, []))})")


def test_tls12_suites(tls_scan):
    """TLS 1.2 is accepted with the allowed AEAD ECDHE suites only."""
    assert _version(tls_scan, "TLSv1.2"), "TLS 1.2 is refused (Mozilla intermediate keeps it)"
    bad = tlsparse.disallowed_suites("TLSv1.2", tls_scan.accepted.get("TLSv1.2", []))
    assert not bad, "; ".join(bad)


def test_tls13(tls_scan):
    """TLS 1.3 is accepted, with its standard AEAD suites only."""
    assert _version(tls_scan, "TLSv1.3"), "TLS 1.3 is refused"
    bad = tlsparse.disallowed_suites("TLSv1.3", tls_scan.accepted.get("TLSv1.3", []))
    assert not bad, "; ".join(bad)


def test_mozilla_intermediate(tls_scan, tls_state):
    """sslyze's Mozilla intermediate checker finds no issue."""
    if tls_scan.mozilla_issues is None:
        pytest.fail(f"the checker could not run: {tls_scan.mozilla_error}", pytrace=False)
    issues = dict(tls_scan.mozilla_issues)
    waived = dict(WAIVERS)
    if tls_state.get("mode") == "selfsigned":
        waived["certificate_path_validation"] = SELF_SIGNED
    left = {k: v for k, v in issues.items() if k not in waived}
    assert not left, (f"not compliant with Mozilla intermediate (sslyze profile "
                      f"{tls_scan.mozilla_profile}): "
                      + "; ".join(f"{k}: {v}" for k, v in left.items()))


def test_chain(target, tls_scan, tls_state):
    """the certificate chain is valid for the domain against the issuing CA."""
    assert tls_scan.leaf_matches_hostname, (
        f"the served certificate (names {tls_scan.leaf_names}) does not match "
        f"{domain_of(target, 'nginx')}")
    if tls_state.get("mode") == "selfsigned":
        pytest.skip(SELF_SIGNED)
    store = (target.spec.vars or {}).get(TRUST_STORE_VAR)
    name = tlsscan.CUSTOM_STORE if store else tlsscan.PUBLIC_STORE
    what = f"the trust store {store} ({TRUST_STORE_VAR})" if store else \
        "Mozilla's public trust store"
    assert name in tls_scan.trust, f"sslyze did not validate against {what}"
    error = tls_scan.trust[name]
    hint = "" if store else (f" (a private or staging CA: set {TRUST_STORE_VAR} to a PEM "
                             "file of its root on the controller)")
    assert error is None, f"the chain does not verify against {what}: {error}{hint}"


def test_served_is_current(tls_scan, tls_cert):
    """the served certificate is the one in the file (nginx reloaded after the last change)."""
    assert tls_scan.leaf_serial == tls_cert.serial, (
        f"nginx serves serial {tls_scan.leaf_serial:x}, the file holds {tls_cert.serial:x}: "
        "nginx was not reloaded after the certificate changed")


def _answer(scan: tlsscan.TlsScan, tls: bool) -> tlsscan.HttpAnswer:
    answer = scan.https if tls else scan.http
    if answer.error:
        pytest.fail(f"GET over {'HTTPS' if tls else 'HTTP'} failed: {answer.error}",
                    pytrace=False)
    return answer


def test_hsts(tls_scan, nginx_state):
    """HSTS is sent over HTTPS (two years, includeSubDomains)."""
    answer = _answer(tls_scan, tls=True)
    problems = tlsparse.hsts_problems(answer.headers.get("strict-transport-security"),
                                      nginx_state.get("hsts_max_age"))
    assert not problems, f"GET / ({answer.status}): " + "; ".join(problems)


def test_headers(tls_scan, nginx_state):
    """HTTPS answers carry nosniff, Referrer-Policy, the promised CSP framing, no nginx version."""
    answer = _answer(tls_scan, tls=True)
    h = answer.headers
    problems = []
    if h.get("x-content-type-options", "").lower() != "nosniff":
        problems.append(f"X-Content-Type-Options {h.get('x-content-type-options')!r}")
    if not h.get("referrer-policy"):
        problems.append("no Referrer-Policy")
    problems += tlsparse.frame_ancestors_problems(h.get("content-security-policy"),
                                                  nginx_state.get("frame_ancestors"))
    if any(c.isdigit() for c in h.get("server", "")):
        problems.append(f"Server header {h['server']!r} tells the version")
    assert not problems, f"GET / ({answer.status}): " + "; ".join(problems)


def test_http_redirect(target, tls_scan):
    """http:// answers 308 to the same URL over https://."""
    answer = _answer(tls_scan, tls=False)
    want = f"https://{domain_of(target, 'nginx')}/jsov-verify-probe?redirect=1"
    assert answer.status == 308, f"http:// answers {answer.status}, wants 308"
    assert answer.headers.get("location") == want, (
        f"redirects to {answer.headers.get('location')!r}, wants {want!r}")


# ------------------------------------------------------------------ what the web app needs

def _https_get(target, nginx_state, path: str, headers: dict | None = None,
               method: str = "GET"):
    from jitsi_sovereign.checks.test_jitsi_web import https_request

    answer = https_request(target, path, method=method, headers=headers, verify=False,
                           port=int(nginx_state.get("https_port") or 443))
    if answer.error:
        pytest.fail(f"{method} {path}: {answer.error}", pytrace=False)
    return answer


# A versioned file of the web app (index.html asks for it with ?v=<build>).
VERSIONED_ASSET = "/libs/app.bundle.min.js?v=jsov-verify"
APP_PATHS = ["/config.js", VERSIONED_ASSET, "/sounds/joined.wav"]


def test_csp_blob_workers(tls_scan):
    """the served CSP lets the web app start blob: workers (E2EE, virtual backgrounds)."""
    answer = _answer(tls_scan, tls=True)
    csp = answer.headers.get("content-security-policy")
    assert csp, f"GET / ({answer.status}) has no Content-Security-Policy"
    problems = tlsparse.blob_worker_problems(csp)
    assert not problems, "; ".join(problems)


def test_gzip_javascript(target, nginx_state):
    """JavaScript is sent gzip-compressed to a browser that accepts it (/config.js)."""
    if not (nginx_state.get("jitsi") or {}).get("enabled"):
        pytest.skip("nginx_jitsi is false: the site serves no /config.js")
    answer = _https_get(target, nginx_state, "/config.js", {"Accept-Encoding": "gzip"})
    assert answer.status == 200, f"GET /config.js answers {answer.status}"
    ctype = answer.headers.get("content-type", "")
    assert ctype.split(";")[0].strip() == "application/javascript", (
        f"/config.js is served as {ctype!r}, wants application/javascript")
    encoding = answer.headers.get("content-encoding", "")
    assert encoding == "gzip", (f"/config.js ({len(answer.body)} bytes) is sent "
                                f"{'as ' + encoding if encoding else 'uncompressed'}: "
                                "no gzip for application/javascript")
    try:
        text = gzip.decompress(answer.body)
    except (OSError, EOFError, zlib.error) as exc:
        pytest.fail(f"/config.js says gzip but does not decompress: {exc}", pytrace=False)
    assert b"var config" in text, "the decompressed /config.js is not Jitsi's config"


@pytest.mark.parametrize("path", APP_PATHS)
def test_path_headers(path, target, nginx_state):
    """web app path carries the security headers (HSTS, nosniff, Referrer-Policy, CSP)."""
    if path != "/config.js":
        require_web_app(target, nginx_state)
    elif not (nginx_state.get("jitsi") or {}).get("enabled"):
        pytest.skip("nginx_jitsi is false: the site serves no /config.js")
    answer = _https_get(target, nginx_state, path, method="HEAD")
    h = answer.headers
    promised = nginx_state.get("headers") or {}
    problems = [f"no {name}" for name in ("Strict-Transport-Security", "X-Content-Type-Options",
                                          "Referrer-Policy", "Content-Security-Policy")
                if not h.get(name.lower())]
    problems += [f"{name} is {h.get(name.lower())!r}, nginx.json promises {value!r}"
                 for name, value in promised.items()
                 if h.get(name.lower()) and h.get(name.lower()) != value]
    assert not problems, f"HEAD {path} ({answer.status}): " + "; ".join(problems)


def test_versioned_asset_cached(target, nginx_state):
    """a versioned file of the web app (?v=) is cached a year (Cache-Control max-age)."""
    require_web_app(target, nginx_state)
    answer = _https_get(target, nginx_state, VERSIONED_ASSET, method="HEAD")
    assert answer.status == 200, f"HEAD {VERSIONED_ASSET} answers {answer.status}"
    cache = answer.headers.get("cache-control", "")
    ages = [int(p.split("=", 1)[1]) for p in cache.replace(" ", "").split(",")
            if p.startswith("max-age=") and p.split("=", 1)[1].isdigit()]
    assert ages and ages[0] >= 31536000, (
        f"HEAD {VERSIONED_ASSET}: Cache-Control {cache!r}, wants max-age=31536000 (expires 1y)")


def test_wav_type(target, nginx_state):
    """the web app's sounds/*.wav are served as audio/wav."""
    require_web_app(target, nginx_state)
    answer = _https_get(target, nginx_state, "/sounds/joined.wav", method="HEAD")
    assert answer.status == 200, f"HEAD /sounds/joined.wav answers {answer.status}"
    ctype = answer.headers.get("content-type", "")
    assert ctype.split(";")[0].strip() == "audio/wav", (
        f"/sounds/joined.wav is served as {ctype!r}, wants audio/wav")
