"""verify's shared report against a deployed lab host: ``pytest tests/lab --lab-host NAME``.

`jitsi-sovereign verify --json --html --lang fr` as a user runs it, on an inventory of
that one host with hosting facts declared: the JSON is schema v1, the hosting facts are
shown as declared, and the personal data is what the roles left on the host (the
defaults: journal kept 30 days, no access log, coturn in the journal, no recording, room
names not kept), each with its evidence.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources

import jsonschema
import yaml

HOSTING = {"provider": "OVHcloud", "region": "GRA (Gravelines)", "country": "France",
           "jurisdiction": "droit français (UE)"}


def test_verify_report_of_the_deployed_host(lab_host, tmp_path):
    data = yaml.safe_load(lab_host.inventory.read_text())
    meet = data["all"]["children"]["meet"]
    meet["hosts"] = {lab_host.name: meet["hosts"][lab_host.name]}
    meet["vars"]["jitsi_sovereign_hosting"] = HOSTING
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(data, allow_unicode=True))

    run = subprocess.run([sys.executable, "-m", "jitsi_sovereign", "verify", "-i",
                          str(inventory), "--json", str(tmp_path / "v.json"), "--html",
                          str(tmp_path / "v.html"), "--lang", "fr"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "COLUMNS": "120"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]

    doc = json.loads((tmp_path / "v.json").read_text())
    schema = json.loads((resources.files("jitsi_sovereign.report") / "schema"
                         / "report-v1.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["kind"] == "verify" and doc["exit_code"] == 0
    assert doc["hosting"] == HOSTING
    assert all(f["id"].startswith("verify:") and f["host"] == lab_host.name
               for f in doc["findings"])
    assert doc["summary"]["total"]["passed"] > 200

    items = {p["id"]: p for p in doc["personal_data"]}
    fr = {k: p["texts"]["fr"] for k, p in items.items()}
    assert fr["journald"]["retention"].startswith("30 jours au plus")
    assert fr["nginx.access_log"]["retention"] == "non conservé"
    assert "les adresses IP des participants ne sont pas enregistrées" in \
        fr["nginx.access_log"]["data"]
    assert fr["coturn"]["retention"] == ("aussi longtemps que les journaux du système : "
                                         "30 jours au plus")
    assert fr["meetings.content"]["retention"].startswith("non conservé")
    assert fr["meetings.rooms"]["retention"] == "non conservés"
    assert f"/etc/jitsi/meet/{lab_host.domain}-config.js: recordingService.enabled = false" \
        in items["meetings.content"]["evidence"][0]
    assert any(e.startswith("fail2ban-client get dbpurgeage:") for e in
               items["fail2ban"]["evidence"])  # read on the host, as root
    assert all(p["evidence"] for p in items.values())

    page = (tmp_path / "v.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and "OVHcloud" in page
    assert "Toutes les promesses importantes sont tenues." in page


def test_audit_report_of_the_deployed_host(lab_host, tmp_path):
    """`jitsi-sovereign audit` as a user runs it from outside, reaching the lab host by
    --connect-to with its name for SNI and Host, trusting the lab's ACME root: exit 0,
    the JSON is schema v1, the HTML page is French."""
    run = subprocess.run([sys.executable, "-m", "jitsi_sovereign", "audit",
                          f"https://{lab_host.domain}", "--connect-to", f"{lab_host.address}:443",
                          "--cafile", str(lab_host.root_ca), "--json", str(tmp_path / "a.json"),
                          "--html", str(tmp_path / "a.html"), "--lang", "fr"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "COLUMNS": "120"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    doc = json.loads((tmp_path / "a.json").read_text())
    schema = json.loads((resources.files("jitsi_sovereign.report") / "schema"
                         / "report-v1.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["kind"] == "audit" and doc["exit_code"] == 0 and doc["error"] is None
    assert doc["target"] == f"https://{lab_host.domain}/"
    areas = doc["summary"]["areas"]
    assert set(areas) == {"tls", "http", "sovereignty", "access", "network", "turn"}
    assert all(areas[a]["passed"] > 0 for a in areas)
    skipped = [f for f in doc["findings"] if f["status"] == "skipped"]
    assert all(f["reason"] for f in skipped)
    page = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and "Toutes les promesses importantes sont tenues." in page
