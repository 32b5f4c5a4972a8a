"""Audit area 'http': what a browser gets with the meeting page.

Findings: ``http.redirect`` (port 80 sends to https on the same name), ``http.hsts``
(max-age of a year or more), ``http.csp`` (a Content-Security-Policy is sent),
``http.csp_workers`` (the CSP lets the web app start its blob: workers: end-to-end
encryption and virtual backgrounds; a CSP that blocks them breaks E2EE, a high-severity
failure), ``http.csp_wasm`` (WebAssembly allowed: noise suppression, virtual background),
``http.framing`` (frame-ancestors or X-Frame-Options), ``http.referrer`` (the room name
does not leak to other sites), ``http.nosniff``, ``http.server_token`` (no version).

The headers are read on the meeting page (GET /) over HTTPS, through --connect-to.
"""

from __future__ import annotations

import re

from jitsi_sovereign.audit.context import Answer, AuditContext
from jitsi_sovereign.audit.findings import FAILED, PASSED, SKIPPED, finding
from jitsi_sovereign.checks.tlsparse import parse_hsts
from jitsi_sovereign.report.model import HIGH, LOW, MEDIUM, Finding

HSTS_MIN = 365 * 86400
WORKER_FALLBACK = ("worker-src", "child-src", "script-src", "default-src")
SCRIPT_FALLBACK = ("script-src", "default-src")
# Referrer policies that never send the page's path (the room name) to another site.
REFERRER_OK = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin",
               "origin", "origin-when-cross-origin"}
REFERRER_LEAK = {"unsafe-url", "no-referrer-when-downgrade"}
# Headers that name the software and its version.
VERSION_HEADERS = ("server", "x-powered-by", "x-aspnet-version", "x-generator")

TITLES = {
    "redirect": ("Plain HTTP sends visitors to HTTPS, on the same name",
                 "Une visite en HTTP simple est renvoyée vers HTTPS, sur le même nom"),
    "hsts": ("Browsers are told to use HTTPS only, for a year at least (HSTS)",
             "Les navigateurs ont pour consigne de n'utiliser que HTTPS, pendant au moins un an"),
    "csp": ("A Content-Security-Policy limits what the page may load",
            "Une politique de sécurité du contenu limite ce que la page peut charger"),
    "csp_workers": ("The security policy lets end-to-end encryption start (blob: workers)",
                    "La politique de sécurité permet au chiffrement de bout en bout de "
                    "fonctionner"),
    "csp_wasm": ("The security policy lets noise suppression and virtual backgrounds run "
                 "(WebAssembly)",
                 "La politique de sécurité permet la suppression du bruit et les arrière-plans "
                 "virtuels"),
    "framing": ("Other sites cannot show the meeting inside their own page",
                "D'autres sites ne peuvent pas afficher la réunion dans leurs propres pages"),
    "referrer": ("The room name is not sent to other sites (Referrer-Policy)",
                 "Le nom de la réunion n'est pas transmis aux autres sites"),
    "nosniff": ("Browsers do not guess file types (X-Content-Type-Options: nosniff)",
                "Les navigateurs ne devinent pas la nature des fichiers reçus"),
    "server_token": ("The server does not announce its software version",
                     "Le serveur n'affiche pas la version de ses logiciels"),
}


# The severity a check has when it fails in its main way (shown on passed and skipped).
SEVERITY = {"redirect": HIGH, "hsts": HIGH, "csp": MEDIUM, "csp_workers": HIGH,
            "csp_wasm": MEDIUM, "framing": MEDIUM, "referrer": LOW, "nosniff": LOW,
            "server_token": LOW}


def _f(name: str, status: str, *, severity: str = HIGH, reason: str = "", fix: str = "",
       evidence: list[str] | None = None, params: dict | None = None, fr_reason: str = "",
       fr_fix: str = "") -> Finding:
    title, fr_title = TITLES[name]
    if status != FAILED:
        severity = SEVERITY[name]
    return finding(f"http.{name}", title, status, severity=severity, reason=reason, fix=fix,
                   evidence=evidence, params=params,
                   fr={"title": fr_title, "reason": fr_reason, "fix": fr_fix})


def run(ctx: AuditContext) -> list[Finding]:
    page = ctx.get("/")
    if page.error or page.status == 429:
        reason = (f"the server does not answer over HTTPS ({page.error})" if page.error else
                  "the server answered 429 Too Many Requests (rate limiting): run the audit "
                  "again later")
        fr = ("Le serveur ne répond pas en HTTPS." if page.error else
              "Le serveur limite le nombre de requêtes (429) : refaire l'audit plus tard.")
        return [_f(n, SKIPPED, reason=reason, fr_reason=fr) for n in TITLES]
    csps = _csp_policies(page)
    return [redirect(ctx), hsts(page), csp(page, csps), csp_workers(csps), csp_wasm(csps),
            framing(page, csps), referrer(page), nosniff(page), server_token(page)]


def _where(page: Answer) -> str:
    return f"GET {page.url} -> {page.status}"


# ------------------------------------------------------------------ redirect


def redirect(ctx: AuditContext) -> Finding:
    answer = ctx.get("/", tls=False)
    t = ctx.target
    want = f"https://{t.name}" + ("" if t.port == 443 else f":{t.port}")
    evidence = [f"GET {answer.url} -> " + (answer.error or f"{answer.status} "
                                            f"{answer.headers.get('location', '')}".strip())]
    if answer.error:
        return _f("redirect", FAILED, severity=LOW,
                  reason=f"nothing answers on plain HTTP ({answer.error}): a visitor who types "
                         "the name without https:// gets no page",
                  fix="serve port 80 with a permanent redirect to https (nginx: return 308 "
                      f"{want}$request_uri;)", evidence=evidence,
                  fr_reason="Rien ne répond en HTTP simple : une personne qui tape l'adresse "
                            "sans « https:// » n'obtient aucune page.",
                  fr_fix="Faire répondre le port 80 par une redirection permanente vers HTTPS.")
    location = answer.headers.get("location", "")
    if answer.status in (301, 302, 303, 307, 308):
        if location == want or location.startswith(want + "/"):
            return _f("redirect", PASSED, evidence=evidence,
                      params={"status": answer.status, "location": location})
        return _f("redirect", FAILED, severity=MEDIUM,
                  reason=f"port 80 redirects to {location or '(no Location)'}, not to {want}/",
                  fix=f"redirect to {want}$request_uri, the configured name (not the Host "
                      "header, not another site)", evidence=evidence,
                  params={"status": answer.status, "location": location},
                  fr_reason="La redirection depuis HTTP mène ailleurs que vers ce serveur en "
                            "HTTPS.",
                  fr_fix="Rediriger vers l'adresse HTTPS de ce même serveur.")
    return _f("redirect", FAILED,
              reason=f"port 80 answers {answer.status} without redirecting: the page can be "
                     "read and altered on the network",
              fix=f"answer every plain HTTP request with a permanent redirect to {want}",
              evidence=evidence, params={"status": answer.status},
              fr_reason="Le serveur répond en HTTP simple, sans chiffrement : la page peut être "
                        "lue ou modifiée sur le réseau.",
              fr_fix="Rediriger toute visite en HTTP simple vers HTTPS.")


# ------------------------------------------------------------------ HSTS


def hsts(page: Answer) -> Finding:
    value = page.headers.get("strict-transport-security")
    evidence = [_where(page), f"Strict-Transport-Security: {value or '(absent)'}"]
    fix = "send Strict-Transport-Security: max-age=63072000; includeSubDomains"
    fr_fix = ("Envoyer l'en-tête Strict-Transport-Security avec une durée d'au moins un an "
              "(max-age=63072000; includeSubDomains).")
    if not value:
        return _f("hsts", FAILED, reason="no Strict-Transport-Security header: a browser can "
                  "be sent to a plain-HTTP copy of the site", fix=fix, evidence=evidence,
                  fr_reason="Le serveur n'impose pas HTTPS aux navigateurs (HSTS absent) : une "
                            "personne peut être détournée vers une copie non chiffrée du site.",
                  fr_fix=fr_fix)
    max_age, subdomains, preload = parse_hsts(value.split(",")[0])
    params = {"max_age": max_age, "include_subdomains": subdomains, "preload": preload}
    if max_age is None or max_age < HSTS_MIN:
        return _f("hsts", FAILED, severity=MEDIUM,
                  reason=f"HSTS max-age is {max_age} s, below a year ({HSTS_MIN} s)",
                  fix=fix, evidence=evidence, params=params,
                  fr_reason="La consigne HTTPS donnée aux navigateurs dure moins d'un an.",
                  fr_fix=fr_fix)
    return _f("hsts", PASSED, evidence=evidence, params=params)


# ------------------------------------------------------------------ CSP


def _csp_policies(page: Answer) -> list[dict[str, list[str]]]:
    """Every enforced policy (each header, each comma-separated policy in it)."""
    out = []
    for name, value in page.raw_headers:
        if name.lower() != "content-security-policy":
            continue
        for policy in value.split(","):
            directives: dict[str, list[str]] = {}
            for part in policy.split(";"):
                words = part.split()
                if words and words[0].lower() not in directives:
                    directives[words[0].lower()] = [w.lower() if w.startswith("'") else w
                                                    for w in words[1:]]
            if directives:
                out.append(directives)
    return out


def _show(policy: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([k, *v]) for k, v in policy.items())


def csp(page: Answer, policies: list[dict[str, list[str]]]) -> Finding:
    if not policies:
        return _f("csp", FAILED, severity=MEDIUM,
                  reason="no Content-Security-Policy header: nothing limits what a page "
                         "altered by an injected script may load or send",
                  fix="send a CSP, e.g. default-src 'self'; script-src 'self' 'unsafe-inline' "
                      "'wasm-unsafe-eval'; worker-src 'self' blob:; object-src 'none'; "
                      "frame-ancestors 'none'",
                  evidence=[_where(page), "Content-Security-Policy: (absent)"],
                  fr_reason="Aucune politique de sécurité du contenu n'est envoyée.",
                  fr_fix="Envoyer un en-tête Content-Security-Policy limitant la page à ce "
                         "serveur.")
    evidence = [_where(page)] + [f"Content-Security-Policy: {_show(p)}" for p in policies]
    loose = [p for p in policies
             if not any(d in p for d in ("default-src", "script-src"))]
    if len(loose) == len(policies):
        return _f("csp", FAILED, severity=LOW,
                  reason="the CSP limits neither default-src nor script-src: scripts from "
                         "anywhere may run", fix="add default-src 'self'", evidence=evidence,
                  fr_reason="La politique de sécurité ne limite pas l'origine des scripts.",
                  fr_fix="Ajouter default-src 'self' à la politique.")
    return _f("csp", PASSED, evidence=evidence)


def _governing(policy: dict[str, list[str]], chain: tuple[str, ...]) -> tuple[str | None, list]:
    for name in chain:
        if name in policy:
            return name, policy[name]
    return None, []


def csp_workers(policies: list[dict[str, list[str]]]) -> Finding:
    """blob: must be allowed by every policy that restricts workers ('*' does not match
    blob:, CSP 3 section 6.7.2.8)."""
    if not policies:
        return _f("csp_workers", PASSED, evidence=["no CSP: nothing blocks the workers"])
    evidence, blocked = [], []
    for p in policies:
        name, sources = _governing(p, WORKER_FALLBACK)
        if name is None:
            evidence.append("a policy without worker-src, child-src, script-src or default-src:"
                            " workers unrestricted")
            continue
        ok = "blob:" in sources
        evidence.append(f"workers governed by {name} {' '.join(sources)}: blob: "
                        + ("allowed" if ok else "BLOCKED"))
        if not ok:
            blocked.append(name)
    if blocked:
        return _f("csp_workers", FAILED,
                  reason=f"the CSP ({', '.join(blocked)}) blocks workers made from blob: URLs: "
                         "end-to-end encryption cannot be turned on and virtual backgrounds "
                         "do nothing (lib-jitsi-meet starts these workers from blob: URLs)",
                  fix="add worker-src 'self' blob: to the Content-Security-Policy",
                  evidence=evidence,
                  fr_reason="La politique de sécurité du site bloque les traitements dont le "
                            "chiffrement de bout en bout a besoin : il ne peut pas être activé.",
                  fr_fix="Ajouter « worker-src 'self' blob: » à la politique de sécurité "
                         "(Content-Security-Policy).")
    return _f("csp_workers", PASSED, evidence=evidence)


def csp_wasm(policies: list[dict[str, list[str]]]) -> Finding:
    evidence, blocked = [], []
    for p in policies:
        name, sources = _governing(p, SCRIPT_FALLBACK)
        if name is None:
            continue
        ok = "'wasm-unsafe-eval'" in sources or "'unsafe-eval'" in sources
        evidence.append(f"scripts governed by {name} {' '.join(sources)}: WebAssembly "
                        + ("allowed" if ok else "BLOCKED"))
        if not ok:
            blocked.append(name)
    if blocked:
        return _f("csp_wasm", FAILED, severity=MEDIUM,
                  reason=f"the CSP ({', '.join(blocked)}) has no 'wasm-unsafe-eval': the web "
                         "app's WebAssembly (noise suppression, virtual background) cannot run",
                  fix="add 'wasm-unsafe-eval' to script-src", evidence=evidence,
                  fr_reason="La politique de sécurité empêche la suppression du bruit et les "
                            "arrière-plans virtuels de fonctionner.",
                  fr_fix="Ajouter 'wasm-unsafe-eval' à la directive script-src.")
    return _f("csp_wasm", PASSED,
              evidence=evidence or ["no CSP restricts scripts: WebAssembly allowed"])


# ------------------------------------------------------------------ other headers


def framing(page: Answer, policies: list[dict[str, list[str]]]) -> Finding:
    xfo = page.headers.get("x-frame-options")
    ancestors = [p["frame-ancestors"] for p in policies if "frame-ancestors" in p]
    evidence = [_where(page), f"X-Frame-Options: {xfo or '(absent)'}"] + [
        f"frame-ancestors {' '.join(a)}" for a in ancestors]
    if ancestors:
        if any("*" in a for a in ancestors) and not any("*" not in a for a in ancestors):
            return _f("framing", FAILED, severity=MEDIUM,
                      reason="frame-ancestors * lets any site show the meeting in its own "
                             "page (clickjacking)",
                      fix="frame-ancestors 'none' (or the one portal that embeds it)",
                      evidence=evidence,
                      fr_reason="N'importe quel site peut afficher la réunion dans sa page, "
                                "et piéger les clics des participants.",
                      fr_fix="Limiter frame-ancestors à 'none' ou au seul portail autorisé.")
        return _f("framing", PASSED, evidence=evidence, params={"frame_ancestors": ancestors})
    if xfo and xfo.strip().upper() in ("DENY", "SAMEORIGIN"):
        return _f("framing", PASSED, evidence=evidence)
    return _f("framing", FAILED, severity=MEDIUM,
              reason="neither a CSP frame-ancestors nor X-Frame-Options: any site can show the "
                     "meeting in its own page (clickjacking)",
              fix="send Content-Security-Policy frame-ancestors 'none' and X-Frame-Options DENY",
              evidence=evidence,
              fr_reason="N'importe quel site peut afficher la réunion dans sa page, et piéger "
                        "les clics des participants.",
              fr_fix="Envoyer frame-ancestors 'none' et X-Frame-Options: DENY.")


def referrer(page: Answer) -> Finding:
    value = page.headers.get("referrer-policy")
    evidence = [_where(page), f"Referrer-Policy: {value or '(absent)'}"]
    # Several tokens: the last one the browser knows wins.
    tokens = [t.strip().lower() for t in (value or "").split(",") if t.strip()]
    known = [t for t in tokens if t in REFERRER_OK | REFERRER_LEAK]
    policy = known[-1] if known else None
    fix = "send Referrer-Policy: no-referrer"
    fr_fix = "Envoyer l'en-tête Referrer-Policy: no-referrer."
    if policy is None:
        return _f("referrer", FAILED, severity=LOW,
                  reason="no Referrer-Policy: the browser's default applies (recent browsers "
                         "send this server's name to the sites a participant opens, older ones "
                         "the whole address, room name included)", fix=fix, evidence=evidence,
                  fr_reason="Sans consigne, un navigateur ancien transmet l'adresse de la "
                            "réunion (et son nom) aux sites ouverts depuis elle.",
                  fr_fix=fr_fix)
    if policy in REFERRER_LEAK:
        return _f("referrer", FAILED, severity=MEDIUM,
                  reason=f"Referrer-Policy {policy} sends the page's full address, room name "
                         "included, to the sites a participant opens from the meeting",
                  fix=fix, evidence=evidence,
                  fr_reason="L'adresse complète de la réunion, avec son nom, est transmise aux "
                            "sites ouverts depuis elle.", fr_fix=fr_fix)
    if policy != "no-referrer" and policy != "same-origin":
        evidence.append(f"{policy}: other sites learn this server's name, not the room's")
    return _f("referrer", PASSED, evidence=evidence, params={"policy": policy})


def nosniff(page: Answer) -> Finding:
    value = page.headers.get("x-content-type-options")
    evidence = [_where(page), f"X-Content-Type-Options: {value or '(absent)'}"]
    if (value or "").strip().lower() == "nosniff":
        return _f("nosniff", PASSED, evidence=evidence)
    return _f("nosniff", FAILED, severity=LOW,
              reason="no X-Content-Type-Options: nosniff: a browser may run a file as a script "
                     "when it guesses its type", fix="send X-Content-Type-Options: nosniff",
              evidence=evidence,
              fr_reason="Les navigateurs peuvent deviner la nature d'un fichier et l'exécuter.",
              fr_fix="Envoyer l'en-tête X-Content-Type-Options: nosniff.")


def server_token(page: Answer) -> Finding:
    shown = {h: page.headers[h] for h in VERSION_HEADERS if h in page.headers}
    evidence = [_where(page)] + ([f"{h}: {v}" for h, v in shown.items()] or ["no Server header"])
    versions = {h: v for h, v in shown.items() if re.search(r"\d+\.\d+", v)}
    if versions:
        return _f("server_token", FAILED, severity=LOW,
                  reason="the answer names software versions ("
                         + "; ".join(f"{h}: {v}" for h, v in versions.items())
                         + "): an attacker learns which known flaws to try",
                  fix="hide the version (nginx: server_tokens off;)", evidence=evidence,
                  params={"headers": versions},
                  fr_reason="Le serveur indique la version de ses logiciels, ce qui aide un "
                            "attaquant à choisir ses failles.",
                  fr_fix="Masquer la version (nginx : server_tokens off;).")
    return _f("server_token", PASSED, evidence=evidence)
