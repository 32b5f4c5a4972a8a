"""``audit`` of a deployed lab host, from outside, as any Jitsi server would be audited:
``pytest tests/lab --lab-host NAME`` (skipped, with the reason, without a lab host).

The audit reaches the host with --connect-to ADDRESS:443 (its name resolves only in the
lab's ACME DNS) and trusts the lab's ACME root with --cafile. First the deployed stack:
every check of the areas tls, http, sovereignty and network that applies there passes;
what needs Jitsi's own services (not installable in the lab) is skipped, with the reason.
Then weakened on purpose (tests/lab/weaken.py), each put back after and checked again:
TLS 1.0 allowed, a gravatar URL in config.js, a CSP without blob: workers.
"""

from __future__ import annotations

from jitsi_sovereign.audit import engine, http, sovereignty, tls
from jitsi_sovereign.audit.context import AuditContext
from jitsi_sovereign.audit.target import parse_target

from . import weaken

MINE = ("tls", "http", "sovereignty", "network")
# Not passed on the deployed lab stack, and why that is right there:
EXPECTED = {
    # No videobridge in the lab (Jitsi's packages cannot be installed): nothing listens on
    # 10000/udp, and the server shows it does not serve the web app.
    "network.media_udp": ("skipped", "the Jitsi Meet web app is not served here"),
    # nginx serves /interface_config.js only with the web app installed.
    "sovereignty.interface_config": ("skipped", "not served"),
    # The project's default keeps SSH open to all (key-only login, fail2ban): a low
    # severity finding that says admin networks should be the only ones to reach it.
    "network.ssh": ("failed", "SSH answers to every address"),
}


def context(lab_host) -> AuditContext:
    return AuditContext(parse_target(f"https://{lab_host.domain}",
                                     connect_to=f"{lab_host.address}:443",
                                     cafile=lab_host.root_ca))


def by_id(findings):
    return {f.id: f for f in findings}


def test_deployed_stack_passes(lab_host):
    report = engine.run(context(lab_host))
    found = by_id(f for f in report.findings if f.area in MINE)
    for f in found.values():
        print(f"{f.status:8} {f.severity:6} {f.id} {f.reason}")
    assert not [f.id for f in report.findings if f.id.endswith(".run")]
    for area in MINE:
        assert any(f.area == area for f in found.values()), f"no finding in {area}"
    unexpected = {k: (f.status, f.reason) for k, f in found.items()
                  if f.status != "passed" and k not in EXPECTED}
    assert unexpected == {}
    for fid, (status, words) in EXPECTED.items():
        f = found[fid]
        assert f.status == status and words in f.reason, (fid, f.status, f.reason)
    assert found["network.ssh"].severity == "low"
    assert "Supplied CA file: trusted" in found["tls.chain"].evidence
    assert found["network.turn_udp"].status == "passed"  # the real coturn answers STUN


def test_tls10_allowed_fails(lab_host):
    with weaken.old_tls(lab_host):
        f = by_id(tls.run(context(lab_host)))["tls.protocols"]
        assert (f.status, f.severity) == ("failed", "high"), f.reason
        assert "TLSv1.0" in f.reason
        assert "TLSv1.0: accepted" in f.evidence
    again = by_id(tls.run(context(lab_host)))["tls.protocols"]
    assert again.status == "passed", f"not restored: {again.reason}"


def test_gravatar_in_config_js_fails(lab_host):
    with weaken.config_js_gravatar(lab_host):
        found = by_id(sovereignty.run(context(lab_host)))
        g = found["sovereignty.gravatar"]
        assert (g.status, g.severity) == ("failed", "high"), g.reason
        assert "www.gravatar.com" in g.reason
        h = found["sovereignty.hosts"]
        assert h.status == "failed" and h.params["third_parties"] == ["www.gravatar.com"]
    found = by_id(sovereignty.run(context(lab_host)))
    assert found["sovereignty.gravatar"].status == "passed", "not restored"
    assert found["sovereignty.hosts"].status == "passed", "not restored"


def test_csp_without_blob_workers_fails(lab_host):
    with weaken.csp_without_blob_workers(lab_host):
        f = by_id(http.run(context(lab_host)))["http.csp_workers"]
        assert (f.status, f.severity) == ("failed", "high"), f.reason
        assert "end-to-end encryption" in f.reason
    again = by_id(http.run(context(lab_host)))["http.csp_workers"]
    assert again.status == "passed", f"not restored: {again.reason}"


def test_weakenings_leave_no_copy_behind(lab_host):
    left = lab_host.sudo("sh", "-c", "'ls /etc/nginx/sites-available /etc/nginx/snippets "
                         "/etc/jitsi/meet | grep -c jsov-weaken || true'").stdout.strip()
    assert left == "0"
