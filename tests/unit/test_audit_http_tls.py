"""The audit's http and tls areas against a loopback HTTPS site (tests/unit/audit_site.py),
reached with --connect-to 127.0.0.1:PORT and trusted with --cafile; sslyze runs for real."""

from __future__ import annotations

import datetime as dt

import pytest
from audit_site import GOOD_HEADERS, NAME, serve

from jitsi_sovereign.audit import http, tls
from jitsi_sovereign.checks.tlsscan import TlsScan


def by_id(findings):
    return {f.id: f for f in findings}


@pytest.fixture
def site(tmp_path):
    with serve(tmp_path) as s:
        yield s.jitsi()


# ------------------------------------------------------------------ http


def test_good_headers_pass(site):
    found = by_id(http.run(site.context()))
    assert {k: f.reason for k, f in found.items() if f.status != "passed"} == {}
    assert found["http.redirect"].params == {"status": 308, "location": f"https://{NAME}/"}
    assert found["http.hsts"].params["max_age"] == 63072000
    for f in found.values():
        assert f.texts["fr"]["title"], f.id


def test_csp_without_blob_workers_fails(site):
    site.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; "
        "frame-ancestors 'none'")
    found = by_id(http.run(site.context()))
    w = found["http.csp_workers"]
    assert (w.status, w.severity) == ("failed", "high")
    assert "end-to-end encryption" in w.reason and "script-src" in w.reason
    assert "worker-src 'self' blob:" in w.fix
    assert "chiffrement de bout en bout" in w.texts["fr"]["reason"]
    assert found["http.csp"].status == "passed"


def test_csp_star_does_not_allow_blob_workers(site):
    site.headers["Content-Security-Policy"] = "default-src 'self'; worker-src *"
    assert by_id(http.run(site.context()))["http.csp_workers"].status == "failed"


def test_second_policy_without_blob_blocks_workers(site):
    site.headers["Content-Security-Policy"] = (
        "worker-src 'self' blob:; script-src 'self' 'wasm-unsafe-eval', default-src 'self'")
    found = by_id(http.run(site.context()))
    assert found["http.csp_workers"].status == "failed"
    assert found["http.csp_wasm"].status == "failed"


def test_missing_csp(site):
    del site.headers["Content-Security-Policy"]
    found = by_id(http.run(site.context()))
    assert (found["http.csp"].status, found["http.csp"].severity) == ("failed", "medium")
    assert found["http.csp_workers"].status == "passed"  # nothing blocks them
    assert found["http.framing"].status == "passed"  # X-Frame-Options DENY still there


def test_missing_hsts_fails(site):
    del site.headers["Strict-Transport-Security"]
    h = by_id(http.run(site.context()))["http.hsts"]
    assert (h.status, h.severity) == ("failed", "high")
    assert "Strict-Transport-Security: (absent)" in h.evidence


def test_short_hsts(site):
    site.headers["Strict-Transport-Security"] = "max-age=86400"
    h = by_id(http.run(site.context()))["http.hsts"]
    assert (h.status, h.severity) == ("failed", "medium")
    assert h.params["max_age"] == 86400


def test_weak_headers(site):
    site.headers.update({"Server": "nginx/1.26.3", "Referrer-Policy": "unsafe-url",
                         "X-Content-Type-Options": "sniff"})
    del site.headers["X-Frame-Options"]
    site.headers["Content-Security-Policy"] = "default-src 'self'; worker-src blob:"
    found = by_id(http.run(site.context()))
    assert found["http.server_token"].status == "failed"
    assert "nginx/1.26.3" in found["http.server_token"].reason
    assert (found["http.referrer"].status, found["http.referrer"].severity) == \
        ("failed", "medium")
    assert found["http.nosniff"].status == "failed"
    assert found["http.framing"].status == "failed"
    assert found["http.csp_wasm"].status == "failed"


def test_redirect_elsewhere_or_none(site):
    site.plain_routes["/"] = (301, {"Location": "https://evil.example/"}, "")
    r = by_id(http.run(site.context()))["http.redirect"]
    assert (r.status, r.severity) == ("failed", "medium")
    site.plain_routes["/"] = (200, {}, "hello")
    ctx = site.context()
    r = by_id(http.run(ctx))["http.redirect"]
    assert (r.status, r.severity) == ("failed", "high")


def test_http_areas_skip_when_rate_limited(site):
    site.routes["/"] = (429, {}, "")
    found = http.run(site.context())
    assert {f.status for f in found} == {"skipped"}
    assert "429" in found[0].reason


# ------------------------------------------------------------------ tls


def test_tls_of_a_good_site(site):
    found = by_id(tls.run(site.context()))
    assert {k: f.reason for k, f in found.items() if f.status != "passed"} == {}
    assert "Supplied CA file: trusted" in found["tls.chain"].evidence
    assert any("--cafile" in e for e in found["tls.chain"].evidence)
    assert "TLSv1.0: refused" in found["tls.protocols"].evidence
    assert found["tls.expiry"].params["days_left"] >= 89


def test_tls_without_the_ca_is_untrusted(site):
    ctx = site.context()
    ctx.target = type(ctx.target)(**{**ctx.target.__dict__, "cafile": None})
    found = by_id(tls.run(ctx))
    assert (found["tls.chain"].status, found["tls.chain"].severity) == ("failed", "high")
    assert found["tls.name"].status == "passed"


def test_tls_cbc_suites_fail(tmp_path):
    with serve(tmp_path, ciphers="ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256") \
            as site:
        s = by_id(tls.run(site.jitsi().context()))["tls.suites"]
    assert (s.status, s.severity) == ("failed", "medium")
    assert s.params["not_aead"] == ["TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"]


def test_tls_connect_failure_is_fatal(tmp_path):
    import socket

    from jitsi_sovereign.audit.context import AuditContext, fatal_error
    from jitsi_sovereign.audit.target import parse_target

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = AuditContext(parse_target(f"https://{NAME}", connect_to=f"127.0.0.1:{port}",
                                    timeout=1))
    found = tls.run(ctx)
    assert [f.id for f in found] == ["tls.connect"]
    assert "connection refused" in found[0].reason
    assert fatal_error(found) == found[0].reason


def _scan(**kw) -> TlsScan:
    return TlsScan("127.0.0.1", NAME, **kw)


NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(("days", "status", "severity"), [
    (-3, "failed", "high"), (10, "failed", "high"), (20, "failed", "medium"),
    (45, "passed", "high")])
def test_expiry_thresholds(days, status, severity):
    f = tls.expiry(_scan(leaf_not_after=(NOW + dt.timedelta(days=days, hours=1)).isoformat()),
                   now=NOW)
    assert (f.status, f.severity) == (status, severity)
    assert f.params["days_left"] == days


def test_old_protocol_fails():
    f = tls.protocols(_scan(supported={"SSLv2": False, "SSLv3": False, "TLSv1.0": True,
                                       "TLSv1.1": True, "TLSv1.2": True, "TLSv1.3": True}))
    assert (f.status, f.severity) == ("failed", "high")
    assert "TLSv1.0, TLSv1.1" in f.reason
    assert "TLSv1.0: accepted" in f.evidence


def test_suite_without_forward_secrecy_is_high():
    f = tls.suites(_scan(accepted={"TLSv1.2": ["TLS_RSA_WITH_AES_128_GCM_SHA256"]}))
    assert (f.status, f.severity) == ("failed", "high")


def test_mozilla_issues():
    f = tls.mozilla(_scan(mozilla_issues={"ciphers": "x"}, mozilla_profile="5.7"))
    assert (f.status, f.severity) == ("failed", "medium")
    assert tls.mozilla(_scan(mozilla_issues={})).status == "passed"
    assert tls.mozilla(_scan(mozilla_error="incomplete")).status == "skipped"


def test_good_headers_unchanged():
    assert "blob:" in GOOD_HEADERS["Content-Security-Policy"]


def test_tls_scan_is_bounded_in_time(site, monkeypatch):
    """A scan that does not finish in time is reported as such, not waited for."""
    import threading

    from jitsi_sovereign.checks import tlsscan

    release = threading.Event()

    def stalled(*args, **kwargs):
        release.wait(10)
        return TlsScan("127.0.0.1", NAME)

    monkeypatch.setattr(tlsscan, "scan_tls_only", stalled)
    monkeypatch.setattr(tls, "SCAN_LIMIT_TIMEOUTS", 0.2)
    try:
        found = by_id(tls.run(site.context(timeout=1)))
    finally:
        release.set()
    f = found["tls.protocols"]
    assert f.status == "skipped" and "did not finish within 0.2 s" in f.reason


@pytest.mark.parametrize(("days", "severity"), [(10, "high"), (-2, "high")])
def test_short_lived_or_expired_certificate(tmp_path, days, severity):
    with serve(tmp_path, days=days) as site:
        found = by_id(tls.run(site.jitsi().context()))
    e = found["tls.expiry"]
    assert (e.status, e.severity) == ("failed", severity)
    assert ("expired" in e.reason) == (days < 0)
    if days < 0:  # an expired chain is not trusted either
        assert found["tls.chain"].status == "failed"
