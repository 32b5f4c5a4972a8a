"""``jitsi-sovereign audit`` and ``verify --html``: the command line around the report.

The audit's areas are replaced by fakes (monkeypatched ``run`` of each area module), so
these tests hold whatever the areas find; nothing is sent on a network.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import jsonschema
import pytest
from test_report import SCHEMA

from jitsi_sovereign import cli
from jitsi_sovereign.report.model import AUDIT_AREAS, FAILED, LOW, PASSED, SKIPPED, Finding


def run_main(monkeypatch, capsys, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["jitsi-sovereign", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as exc:
        cli.main()
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture
def areas(monkeypatch):
    """Every area returns what the test puts in ``found[area]`` (default: one pass);
    ``seen`` records the context each area got."""
    found: dict[str, list[Finding]] = {}
    seen: list = []
    for area in AUDIT_AREAS:
        def fake(ctx, area=area):
            seen.append(ctx)
            return found.get(area, [Finding(f"{area}.ok", area, f"{area} holds", PASSED)])
        monkeypatch.setattr(f"jitsi_sovereign.audit.{area}.run", fake)
    return found, seen


def test_bad_url_exit_2_with_the_message_no_traceback():
    r = subprocess.run([sys.executable, "-m", "jitsi_sovereign", "audit", "meet.example.fr"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "'meet.example.fr' has no scheme" in r.stderr
    assert "fix: write the full address: https://meet.example.fr" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_bad_url_writes_an_error_report(monkeypatch, capsys, tmp_path, areas):
    code, _, err = run_main(monkeypatch, capsys, "audit", "http://127.0.0.1/", "--json",
                            str(tmp_path / "r.json"))
    assert code == 2 and "over https, not http" in err
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["exit_code"] == 2 and "over https" in doc["error"]
    jsonschema.validate(doc, SCHEMA)
    assert areas[1] == []  # nothing ran


def test_all_good_exit_0_and_files_written(monkeypatch, capsys, tmp_path, areas):
    code, out, _ = run_main(monkeypatch, capsys, "audit", "https://meet.example.test/",
                            "--connect-to", "127.0.0.1:8443", "--json",
                            str(tmp_path / "a.json"), "--html", str(tmp_path / "a.html"),
                            "--lang", "fr")
    assert code == 0, out
    assert "audit https://meet.example.test/  OK" in out
    assert "Chiffrement (TLS)" in out  # the terminal summary in French
    doc = json.loads((tmp_path / "a.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["exit_code"] == 0 and len(doc["findings"]) == len(AUDIT_AREAS)
    assert doc["hosts"] == {"meet.example.test": {"address": "127.0.0.1", "port": 8443,
                                                  "connect_to": True}}
    page = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and "Toutes les promesses importantes sont tenues" in page
    ctx = areas[1][0]
    assert (ctx.target.name, ctx.target.address, ctx.target.connect_port) == (
        "meet.example.test", "127.0.0.1", 8443)
    assert ctx.turn_credentials is None


def test_a_failed_high_finding_exits_1(monkeypatch, capsys, areas):
    areas[0]["http"] = [Finding("http.hsts", "http", "HSTS is sent", FAILED,
                                reason="no header", fix="add it")]
    code, out, _ = run_main(monkeypatch, capsys, "audit", "https://127.0.0.1/")
    assert code == 1
    assert "http.hsts" in out and "What to do: add it" in out


def test_only_low_failures_and_skips_exit_0(monkeypatch, capsys, areas):
    areas[0]["http"] = [Finding("http.server", "http", "no version", FAILED, severity=LOW,
                                reason="nginx/1.22")]
    areas[0]["turn"] = [Finding("turn.relay", "turn", "relay refuses", SKIPPED,
                                reason="no credentials")]
    code, out, _ = run_main(monkeypatch, capsys, "audit", "https://127.0.0.1/")
    assert code == 0
    assert "turn.relay: no credentials" in out


def test_a_broken_area_is_a_failed_finding(monkeypatch, capsys, areas):
    def boom(ctx):
        raise RuntimeError("parser gave up")
    monkeypatch.setattr("jitsi_sovereign.audit.sovereignty.run", boom)
    code, out, err = run_main(monkeypatch, capsys, "audit", "https://127.0.0.1/")
    assert code == 1 and "Traceback" not in out + err
    assert "RuntimeError: parser gave up" in out


def test_a_fatal_finding_exits_2_with_the_findings_shown(monkeypatch, capsys, tmp_path, areas):
    """The areas' context names the findings that mean the audit could not run (no HTTPS
    answer, not a Jitsi server): the report's error, exit 2, the findings still shown."""
    areas[0]["tls"] = [Finding("tls.connect", "tls", "HTTPS answers", FAILED,
                               reason="connection refused")]
    monkeypatch.setattr("jitsi_sovereign.audit.context.fatal_error",
                        lambda found: next((f"{f.id}: {f.reason}" for f in found
                                            if f.id == "tls.connect" and f.status == FAILED),
                                           None), raising=False)
    code, out, _ = run_main(monkeypatch, capsys, "audit", "https://127.0.0.1/", "--json",
                            str(tmp_path / "r.json"))
    assert code == 2
    assert "The check could not run: tls.connect: connection refused" in out
    assert "Encryption (TLS)" in out and "Why: connection refused" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["exit_code"] == 2 and doc["error"] == "tls.connect: connection refused"
    jsonschema.validate(doc, SCHEMA)


def test_turn_password_from_stdin_never_argv(monkeypatch, capsys, areas):
    code, out, err = run_main(monkeypatch, capsys, "audit", "https://127.0.0.1/",
                              "--turn-user", "alice", "--turn-password-stdin",
                              stdin="s3cret-pass\n")
    assert code == 0
    assert areas[1][0].turn_credentials == ("alice", "s3cret-pass")
    assert "s3cret-pass" not in out + err
    code, _, err = run_main(monkeypatch, capsys, "audit", "https://127.0.0.1/",
                            "--turn-user", "alice")
    assert code == 2 and "--turn-user needs its password on stdin" in err
    code, _, err = run_main(monkeypatch, capsys, "audit", "https://127.0.0.1/",
                            "--turn-password-stdin", stdin="x\n")
    assert code == 2 and "needs --turn-user" in err
    # there is no option to give the password on the command line
    code, _, err = run_main(monkeypatch, capsys, "audit", "https://127.0.0.1/",
                            "--turn-password", "x")
    assert code == 2 and "No such option" in err


def test_bad_language(monkeypatch, capsys, areas):
    code, _, err = run_main(monkeypatch, capsys, "audit", "https://127.0.0.1/", "--lang", "de")
    assert code == 2 and "French or English" in err
    assert areas[1] == []


def test_verify_writes_json_and_html(monkeypatch, tmp_path):
    """verify --json/--html: the shared report from the checks' results (no host: the
    session is faked), the same page layout as the audit's."""
    from jitsi_sovereign import verify
    from jitsi_sovereign.inventory import HostSpec, Inventory

    def fake_session(collector, *a, **k):
        collector.results.append(verify.CheckResult(collector.host, "ssh.option[X]",
                                                    "sshd option", PASSED))
        collector.results.append(verify.CheckResult(collector.host, "firewall.table",
                                                    "table loaded", FAILED, "no table"))
        return 0

    class FakeTarget:
        def __init__(self, spec, **kw):
            self.name, self.spec = spec.name, spec
            self.connection_error = None
            self.route = type("R", (), {"through": ""})()

        def close(self):
            pass

        def read_state(self, role):
            return None

        def run(self, *a):
            return type("C", (), {"rc": 1, "stdout": "", "stderr": "no"})()

    monkeypatch.setattr(verify, "run_session", fake_session)
    monkeypatch.setattr("jitsi_sovereign.checks.target.Target", FakeTarget)
    spec = HostSpec(name="meet1", address="198.51.100.11", vars={
        "jitsi_sovereign_domain": "meet.example.test",
        "jitsi_sovereign_hosting": {"provider": "OVHcloud", "country": "France"}})
    inv = Inventory(path=tmp_path / "hosts.yml", hosts=[spec])
    from rich.console import Console

    out = io.StringIO()
    report = verify.run_verify(inv, json_path=tmp_path / "v.json", html_path=tmp_path / "v.html",
                               lang="en", console=Console(file=out, width=100),
                               password_lookup=lambda s: None)
    assert report.exit_code == 1
    doc = json.loads((tmp_path / "v.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["hosting"] == {"provider": "OVHcloud", "country": "France"}
    assert [f["id"] for f in doc["findings"]] == ["verify:ssh.option[X]", "verify:firewall.table"]
    assert any(p["id"] == "nginx.unknown" for p in doc["personal_data"])
    page = (tmp_path / "v.html").read_text(encoding="utf-8")
    assert "Administration access (SSH)" in page and "OVHcloud" in page
    assert "report written to" in out.getvalue() and "HTML report (en) written" in out.getvalue()
