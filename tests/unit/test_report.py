"""The shared report: JSON schema v1, terminal summary, HTML page, personal data, hosting."""

from __future__ import annotations

import io
import json
import re
import subprocess
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from report_samples import HOSTILE, SAMPLE_CONFIG, SAMPLE_STATES, audit_report, verify_report
from rich.console import Console

from jitsi_sovereign.inventory import HOSTING_KEYS, check_hosting
from jitsi_sovereign.report import html, model, personal, terminal, texts
from jitsi_sovereign.verify import combine_hosting

SCHEMA = json.loads(
    (resources.files("jitsi_sovereign.report") / "schema" / "report-v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def valid(doc: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in VALIDATOR.iter_errors(doc)]


# ------------------------------------------------------------------ schema


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["properties"]["schema_version"]["const"] == model.SCHEMA_VERSION == 1


def _properties(node, path="#"):
    """Every (path, property schema) under ``properties`` anywhere in the schema."""
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            yield f"{path}/{name}", sub
        for key, sub in node.items():
            if key not in ("if", "then", "else"):  # constraints, not properties
                yield from _properties(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from _properties(sub, f"{path}/{i}")


def test_every_property_is_described():
    defs = SCHEMA["$defs"]
    missing = []
    for path, sub in _properties(SCHEMA):
        ref = sub.get("$ref", "")
        target = defs.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
        if not (sub.get("description") or target.get("description")):
            missing.append(path)
    assert missing == []
    assert len(list(_properties(SCHEMA))) > 40  # the walk did find the properties


def test_schema_keys_are_the_model_s():
    doc = audit_report().to_dict()
    assert set(doc) == set(SCHEMA["properties"]) == set(SCHEMA["required"])
    finding = SCHEMA["$defs"]["finding"]
    assert set(doc["findings"][0]) == set(finding["properties"]) == set(finding["required"])
    assert set(SCHEMA["$defs"]["hostingFacts"]["properties"]) == set(HOSTING_KEYS) \
        == set(texts.HOSTING_FIELDS)


def test_audit_report_validates():
    doc = audit_report().to_dict()
    assert valid(doc) == []
    assert doc["personal_data"] is None and doc["hosting"] is None and doc["exit_code"] == 1


def test_verify_report_validates():
    doc = verify_report().to_dict()
    assert valid(doc) == []
    assert doc["kind"] == "verify" and doc["hosting"]["provider"] == "OVHcloud"
    assert {p["id"] for p in doc["personal_data"]} >= {"journald", "nginx.access_log",
                                                       "fail2ban", "meetings.content"}
    assert all(f["id"].startswith("verify:") and f["severity"] == "high"
               for f in doc["findings"])


def test_error_report_validates():
    doc = model.Report(kind="audit", target="meet.example.fr", error="no scheme").to_dict()
    assert valid(doc) == [] and doc["exit_code"] == 2


def test_hosting_per_host_validates():
    doc = verify_report().to_dict()
    doc["hosting"] = combine_hosting({"a": {"provider": "OVHcloud"}, "b": None})
    assert doc["hosting"] == {"per_host": {"a": {"provider": "OVHcloud"}, "b": None}}
    assert valid(doc) == []
    assert combine_hosting({"a": {"provider": "X"}, "b": {"provider": "X"}}) == {"provider": "X"}
    assert combine_hosting({"a": None}) is None


@pytest.mark.parametrize(("change", "where"), [
    (lambda d: d.update(schema_version=2), "schema_version"),
    (lambda d: d["findings"][0].update(status="ok"), "findings/0/status"),
    (lambda d: d["findings"][2].update(reason=""), "findings/2/reason"),
    (lambda d: d.update(hosting={"provder": "typo"}), "hosting"),
    (lambda d: d.update(surprise=1), ""),
    (lambda d: d["summary"]["total"].pop("failed"), "summary/total"),
])
def test_schema_refuses_what_is_wrong(change, where):
    doc = audit_report().to_dict()
    change(doc)
    errors = valid(doc)
    assert errors and any(e.startswith(f"{where}:") for e in errors), errors


# ------------------------------------------------------------------ terminal


def _terminal(report, lang="en", width=110) -> str:
    out = io.StringIO()
    terminal.print_report(Console(file=out, width=width, color_system=None), report, lang)
    return out.getvalue()


def test_terminal_summary_first_then_failures_high_first():
    text = _terminal(audit_report())
    lines = text.splitlines()
    assert lines[0].startswith("audit https://meet.example.fr/  FAILED")
    # one line per area, in the audit's order, each with a mark and its counts
    table = lines[1:next(i for i, ln in enumerate(lines) if "not checked (" in ln)]
    area_lines = [ln for ln in table if re.match(r"\s*[✓✗○] ", ln)]
    assert [ln.split()[0] for ln in area_lines] == ["✓", "✗", "✗", "✓", "✓", "○"]
    assert "Web site protections" in area_lines[1] and re.search(r"0\s+2\s+0$", area_lines[1])
    failures = text[text.index("What does not hold"):]
    # high severity first: http.hsts and sovereignty before the low server token
    assert "✗ failed [high] http.hsts" in failures
    assert failures.index("http.hsts") < failures.index("sovereignty.third_parties") \
        < failures.index("http.server_token")
    assert "What to do: add 'Strict-Transport-Security" in failures
    skipped = text[text.index("Not checked\n"):]
    assert "access.guest_create_room: needs Jitsi's own prosody modules" in skipped


def test_terminal_in_french_uses_the_findings_french():
    text = _terminal(audit_report(), "fr")
    assert "Protections du site web" in text and "Ce qui n'est pas tenu" in text
    assert "Que faire\u00a0: demander à l'hébergeur" in text
    assert "Pourquoi\u00a0: l'application contacte www.gravatar.com" in text
    assert "Pourquoi\u00a0: Server: nginx/1.22.1" in text  # no French reason: English kept
    assert "✗ en défaut [faible] http.server_token" in text  # the severity, in words


def test_terminal_error_and_empty():
    text = _terminal(model.Report(kind="audit", target="x", error="unreachable"))
    assert "The check could not run: unreachable" in text
    assert "Nothing could be checked" in _terminal(model.Report(kind="audit", target="x"))


# ------------------------------------------------------------------ HTML


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.html_lang = None
        self.headings: list[int] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        for name in ("src", "href", "srcset", "action", "poster", "data"):
            if attrs.get(name) is not None:
                self.urls.append(attrs[name])

    def handle_data(self, data):
        self.text.append(data)


def _words(page: _Page) -> str:
    """The page's text, one space between pieces (no-break spaces kept)."""
    return re.sub(r"[ \t\r\n]+", " ", " ".join(page.text)).strip()


def _page(report, lang) -> tuple[str, _Page]:
    doc = html.render(report, lang)
    page = _Page()
    page.feed(doc)
    return doc, page


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("sample", [audit_report, verify_report])
def test_html_is_self_contained_and_escaped(sample, lang):
    doc, page = _page(sample(), lang)
    assert page.html_lang == lang
    assert {"script", "link", "img", "iframe", "object", "embed"}.isdisjoint(page.tags)
    assert all(u.startswith(("#", "data:")) for u in page.urls), page.urls
    style = doc[doc.index("<style>"):doc.index("</style>")]
    assert "@import" not in style and not re.search(r"url\((?!\s*['\"]?data:)", style)
    assert "@font-face" not in style
    assert "@page" in style and "@media print" in style
    assert {"header", "main", "footer", "section", "table", "th", "caption", "details",
            "summary"} <= set(page.tags)
    # headings in order: one h1, never a level skipped going down
    assert page.headings[0] == 1 and page.headings.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(page.headings, page.headings[1:], strict=False))


def test_html_ids_are_unique_even_for_repeated_findings():
    report = audit_report()
    report.findings.append(model.Finding("http.hsts", "http", "again", model.FAILED,
                                         reason="twice"))
    ids = re.findall(r'\bid="([^"]+)"', html.render(report, "en"))
    assert len(ids) == len(set(ids))


def test_html_escapes_server_text():
    doc, page = _page(audit_report(), "en")
    assert "<script>alert(1)</script>" not in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert "evil.example" in "".join(page.text)  # shown as text, not fetched


def test_html_audit_top_hosting_and_personal_data():
    doc, page = _page(audit_report(), "fr")
    text = _words(page)
    assert "Ce que ce serveur promet" in text and "Conclusion" in text
    assert text.index("Conclusion") < text.index("Ce que ce serveur promet") \
        < text.index("Détail par domaine") < text.index("Hébergement") \
        < text.index("Données personnelles conservées")
    assert "Au moins une promesse importante n'est pas tenue" in text
    assert "Impossible à savoir depuis l'extérieur" in text
    assert "Inconnu vu de l'extérieur" in text
    assert "✗ Non tenu" in text and "✓ Tenu" in text and "○ Non vérifié" in text
    assert "Que faire\u00a0: désactiver Gravatar" in text
    assert "Pourquoi ce n'est pas vérifié\u00a0: demande les modules de Jitsi" in text
    # an English fallback in a French page is marked as English
    assert '<span lang="en">Server: nginx/1.22.1</span>' in doc


def test_html_verify_hosting_and_personal_data_for_a_dpo():
    _, page = _page(verify_report(), "fr")
    text = _words(page)
    assert "Hébergeur OVHcloud" in text and "Qualification SecNumCloud" in text
    assert "les adresses IP des participants ne sont pas enregistrées dans les journaux du " \
           "serveur web" in text
    assert "30 jours au plus, puis effacés" in text
    assert "bloquées pendant 1 heure" in text
    assert "Accès d'administration (SSH)" in text
    assert "L'accès d'administration se fait par clé uniquement" in text
    assert "os_hardening.json: journald.max_retention = 30day" in text  # evidence


def test_html_says_where_the_hosts_were_reached():
    _, page = _page(audit_report(), "fr")
    assert "Joint à l'adresse\u00a0: 198.51.100.11, port 443 (adresse donnée par " \
           "--connect-to, pas celle du DNS)" in _words(page)
    _, page = _page(verify_report(), "en")
    assert "Reached at: meet1 (198.51.100.11)" in _words(page)


def test_html_hosting_not_declared():
    _, page = _page(verify_report(hosting=None), "en")
    text = _words(page)
    assert "Hosting Not declared. Provider not declared Region not declared" in text


def test_html_of_an_audit_that_could_not_run():
    report = audit_report()
    report.error = "127.0.0.1:1: connection refused"
    _, page = _page(report, "fr")
    assert "✗ Contrôle impossible Le contrôle n'a pas pu avoir lieu\u00a0: 127.0.0.1:1: " \
           "connection refused" in _words(page)
    assert "Chiffrement (TLS)" in _words(page)  # the findings are still shown


def test_html_write(tmp_path):
    path = tmp_path / "sub" / "r.html"
    html.write(audit_report(), path, "en")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_summary_words():
    assert texts.summary(287, 0, 62, "en") == "287 passed, 0 failed, 62 not checked"
    assert texts.summary(287, 1, 62, "fr") == "287 tenus, 1 en défaut, 62 non vérifiés"
    assert texts.summary(1, 0, 0, "fr") == "1 tenu, 0 en défaut, 0 non vérifié"


def test_date_in_words():
    assert html.when("2026-12-05T03:15:49+00:00", "fr") == "5 décembre 2026 à 03:15 UTC"
    assert html.when("2026-08-01T23:59:00+02:00", "en") == "1 August 2026, 21:59 UTC"
    assert html.when("yesterday", "fr") == "yesterday"
    report = audit_report()
    report.started = "2026-12-05T03:15:49+00:00"
    assert "Établi par jitsi-sovereign 0.1.0 le 5 décembre 2026 à 03:15 UTC" in \
        html.render(report, "fr")


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language 'de'"):
        html.render(audit_report(), "de")


def test_every_area_has_both_languages():
    for area, langs in texts.AREAS.items():
        assert set(langs) == {"fr", "en"}, area
        assert all(name for name, _ in langs.values()), area
    for area in model.AUDIT_AREAS:
        assert texts.area_promise(area, "fr") and texts.area_promise(area, "en")
    assert set(texts.UI["fr"]) == set(texts.UI["en"])
    assert texts.area_name("tls", "fr", "verify") == "Certificat (TLS)"
    assert texts.area_name("tls", "fr", "audit") == "Chiffrement (TLS)"
    assert texts.area_name("brand_new", "fr") == "brand_new"


# ------------------------------------------------------------------ personal data


@pytest.mark.parametrize(("span", "en", "fr"), [
    ("30day", "30 days", "30 jours"), ("2week", "2 weeks", "2 semaines"), ("1h", "1 hour",
                                                                           "1 heure"),
    ("10m", "10 minutes", "10 minutes"), ("86400", "1 day", "1 jour"), ("1d", "1 day", "1 jour"),
    ("1month", "1 month", "1 mois"), ("1week 2d", "9 days", "9 jours"), ("soon", "soon", "soon"),
])
def test_span_words(span, en, fr):
    assert personal.span_words(span, "en") == en and personal.span_words(span, "fr") == fr


def test_fail2ban_output_read():
    # as fail2ban 1.1 (Debian 13) prints it on a lab host
    assert personal.fail2ban_value("`- 86400seconds\n") == "86400seconds"
    assert personal.span_words(personal.fail2ban_value("`- 86400seconds"), "fr") == "1 jour"
    assert personal.fail2ban_value("3600\n") == "3600"
    assert personal.fail2ban_value("") is None


def _items(**changes):
    states = {k: (dict(v) if isinstance(v, dict) else v) for k, v in SAMPLE_STATES.items()}
    states.update(changes)
    return {i["id"]: i for i in personal.items("h", states, config=SAMPLE_CONFIG)}


def test_personal_data_defaults():
    items = _items()
    assert items["nginx.access_log"]["retention"] == "not kept"
    assert items["nginx.error_log"]["retention"] == "14 days, then deleted"
    assert items["journald"]["texts"]["fr"]["retention"] == \
        "30 jours au plus, puis effacés (et 1G au total)"
    assert items["coturn"]["retention"] == "as long as the system logs: 30 days at most"
    assert items["meetings.content"]["retention"].startswith("not kept")
    assert items["meetings.rooms"]["texts"]["fr"]["retention"] == "non conservés"
    assert all(i["evidence"] for i in items.values())


def test_personal_data_anonymized_token_and_recording():
    items = _items(nginx={**SAMPLE_STATES["nginx"], "access_log": "anonymized",
                          "log_retention_days": 7},
                   prosody={"auth": "token", "token_log": {
                       "path": "/var/log/prosody/jitsi-sovereign-token.log", "days": 2,
                       "logrotate": "/etc/logrotate.d/jitsi-sovereign-prosody-token"}})
    assert "shortened addresses" in items["nginx.access_log"]["data"]
    assert items["nginx.access_log"]["texts"]["fr"]["retention"] == "7 jours, puis effacé"
    assert items["prosody.token_log"]["retention"] == "2 days, then deleted"
    assert "token_log.days = 2" in items["prosody.token_log"]["evidence"][0]
    recorded = {i["id"]: i for i in personal.items(
        "h", SAMPLE_STATES, config={**SAMPLE_CONFIG, "recordingService": {"enabled": True},
                                    "doNotStoreRoom": False})}
    assert "recording" in recorded["meetings.content"]["where"]
    assert "browser" in recorded["meetings.rooms"]["where"]


def test_personal_data_missing_state_and_unread_config():
    items = _items(nginx=None)
    assert "not known: the nginx role has not run" in items["nginx.unknown"]["retention"]
    unread = {i["id"]: i for i in personal.items("h", SAMPLE_STATES, config=None,
                                                 config_error="Permission denied")}
    assert "could not be read (Permission denied)" in unread["meetings"]["retention"]
    off = _items(os_hardening={"areas": {"journald": {"applied": False,
                                                      "skipped_reason": "disabled"}}})
    assert "not limited in time" in off["journald"]["retention"] and "fail2ban" not in off


# ------------------------------------------------------------------ hosting (inventory)


def test_hosting_variable_checked():
    assert check_hosting("h", {}) == []
    assert check_hosting("h", {"jitsi_sovereign_hosting": {"provider": "OVHcloud",
                                                           "country": "France"}}) == []
    errors = check_hosting("h", {"jitsi_sovereign_hosting": {"provder": "OVHcloud"}})
    assert len(errors) == 1 and "did you mean provider?" in str(errors[0])
    errors = check_hosting("h", {"jitsi_sovereign_hosting": "OVHcloud"})
    assert "not a mapping" in str(errors[0])
    errors = check_hosting("h", {"jitsi_sovereign_hosting": {"region": ["a", "b"]}})
    assert "must be text" in str(errors[0])


def test_samples_hold_hostile_text():
    assert any(HOSTILE in f.evidence for f in audit_report().findings)


def test_html_failures_are_cards_the_rest_compact_lists():
    """Each failed finding is a card with its reason and fix; the skipped and passed ones
    are listed per area (a skipped one with its reason), every one with its evidence."""
    report = verify_report(repeat=3)
    doc = html.render(report, "en")
    counts = report.counts()
    assert doc.count('<article class="finding failed"') == counts["failed"]
    skipped = re.findall(r'<ul class="group skipped">(.*?)</ul>\n', doc, re.S)
    passed = re.findall(r'<ul class="group passed">(.*?)</ul>\n', doc, re.S)
    assert sum(block.count("<li id=") for block in skipped) == counts["skipped"]
    assert sum(block.count("<li id=") for block in passed) == counts["passed"]
    assert all("Why it was not checked:</strong>" in block for block in skipped)
    assert doc.count("<details>") == len(report.findings) + len(report.personal_data)
    assert doc.count('<div class="print-only">') == doc.count("<details>")


def test_schema_and_template_ship_in_the_wheel():
    """hatch puts every file of the package directory in the wheel (none is excluded nor
    git-ignored): the schema and the template are package data next to the code (a wheel
    built with `pip wheel .` lists report/schema/report-v1.json and
    report/templates/report.html.j2)."""
    import tomllib

    from jitsi_sovereign import paths  # noqa: F401 - the package is importable as installed

    root = Path(__file__).resolve().parents[2]
    wheel = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"]["wheel"]
    assert wheel["packages"] == ["src/jitsi_sovereign"]
    assert not {"exclude", "only-include", "artifacts"} & set(wheel)
    package = root / "src" / "jitsi_sovereign" / "report"
    for rel in ("schema/report-v1.json", "templates/report.html.j2"):
        assert (package / rel).is_file()
        ignored = subprocess.run(["git", "-C", str(root), "check-ignore", "-q",
                                  str(package / rel)], check=False)
        assert ignored.returncode == 1, f"{rel} is git-ignored: hatch would leave it out"
