"""Audit area 'tls': the HTTPS port as a scanner sees it (sslyze, through --connect-to).

Findings: ``tls.connect`` (only when the server does not answer over HTTPS at all: the
audit cannot run, exit status 2), ``tls.protocols`` (no SSL 3, TLS 1.0 or 1.1),
``tls.suites`` (forward secrecy and AEAD only), ``tls.name`` (the certificate names the
server), ``tls.chain`` (trusted by the public stores sslyze carries, or by --cafile),
``tls.expiry`` (fewer than 14 days left fails, fewer than 30 is a medium-severity
failure), ``tls.mozilla`` (sslyze's Mozilla "intermediate" checker).
"""

from __future__ import annotations

import datetime as dt
import threading

from jitsi_sovereign.audit.context import AuditContext
from jitsi_sovereign.audit.findings import FAILED, PASSED, SKIPPED, finding
from jitsi_sovereign.checks import tlsscan
from jitsi_sovereign.report.model import HIGH, LOW, MEDIUM, Finding

OLD = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")
EXPIRY_FAIL_DAYS = 14
EXPIRY_WARN_DAYS = 30


# sslyze bounds each connection (the target's timeout, two tries) but makes hundreds of
# them: a server that stalls every handshake would keep it busy for minutes. The audit
# waits this many timeouts at most, then reports the scan as not finished.
SCAN_LIMIT_TIMEOUTS = 6


def scan(ctx: AuditContext) -> tlsscan.TlsScan:
    """The sslyze scan of the target's HTTPS port, once per audit, bounded in time."""
    if "tls.scan" not in ctx.cache:
        t = ctx.target
        limit = SCAN_LIMIT_TIMEOUTS * t.timeout
        done: list[tlsscan.TlsScan] = []
        worker = threading.Thread(
            target=lambda: done.append(tlsscan.scan_tls_only(
                t.address, t.name, t.connect_port, t.cafile, timeout=t.timeout)),
            daemon=True, name="audit-sslyze")
        worker.start()
        worker.join(limit)
        ctx.cache["tls.scan"] = done[0] if done else tlsscan.TlsScan(
            t.address, t.name, t.connect_port,
            error=f"the scan did not finish within {limit:g} s (the server answers TLS "
                  "handshakes too slowly, or not at all)")
    return ctx.cache["tls.scan"]


def run(ctx: AuditContext) -> list[Finding]:
    ctx.prefetch()  # the other areas' fetches overlap the scan
    error = ctx.https_error()
    if error:
        return [finding(
            "tls.connect", "The server answers over HTTPS", FAILED, reason=error,
            fix="check the address and port (--connect-to), that the server is running and "
                "that its firewall lets HTTPS (443/tcp) through",
            evidence=[f"{ctx.target.address}:{ctx.target.connect_port} SNI {ctx.target.name}"],
            fr={"title": "Le serveur répond en HTTPS",
                "reason": f"Le serveur ne répond pas en HTTPS : {error}",
                "fix": "Vérifier l'adresse, que le serveur fonctionne et que son pare-feu "
                       "laisse passer HTTPS (443/tcp)."})]
    s = scan(ctx)
    if s.error:
        reason = f"the TLS scan could not run: {s.error}"
        fr_reason = f"L'analyse TLS n'a pas pu se faire : {s.error}"
        return [finding(f"tls.{n}", title, SKIPPED, reason=reason,
                        fr={"title": fr, "reason": fr_reason})
                for n, title, fr in (
                    ("protocols", PROTOCOLS_TITLE, PROTOCOLS_FR),
                    ("suites", SUITES_TITLE, SUITES_FR), ("name", NAME_TITLE, NAME_FR),
                    ("chain", CHAIN_TITLE, CHAIN_FR), ("expiry", EXPIRY_TITLE, EXPIRY_FR),
                    ("mozilla", MOZILLA_TITLE, MOZILLA_FR))]
    return [protocols(s), suites(s), name(s, ctx), chain(s, ctx), expiry(s), mozilla(s)]


PROTOCOLS_TITLE = "Only TLS 1.2 and 1.3 are accepted"
PROTOCOLS_FR = "Seules les versions récentes du chiffrement (TLS 1.2 et 1.3) sont acceptées"


def protocols(s: tlsscan.TlsScan) -> Finding:
    evidence = []
    for version in (*OLD, "TLSv1.2", "TLSv1.3"):
        if version in s.scan_errors:
            evidence.append(f"{version}: not scanned ({s.scan_errors[version]})")
        else:
            evidence.append(f"{version}: {'accepted' if s.supported.get(version) else 'refused'}")
    old = [v for v in OLD if s.supported.get(v)]
    unknown = [v for v in OLD if v in s.scan_errors]
    params = {"accepted": [v for v, ok in s.supported.items() if ok]}
    fr_fix = ("Dans la configuration du serveur web, n'autoriser que TLS 1.2 et TLS 1.3 "
              "(nginx : ssl_protocols TLSv1.2 TLSv1.3;).")
    if old:
        return finding("tls.protocols", PROTOCOLS_TITLE, FAILED,
                       reason=f"the server accepts {', '.join(old)}: old protocols with known "
                              "weaknesses, refused by current browsers",
                       fix="accept only TLS 1.2 and 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3;)",
                       evidence=evidence, params=params,
                       fr={"title": PROTOCOLS_FR,
                           "reason": f"Le serveur accepte encore {', '.join(old)}, des versions "
                                     "anciennes et affaiblies du chiffrement.",
                           "fix": fr_fix})
    if not (s.supported.get("TLSv1.2") or s.supported.get("TLSv1.3")):
        return finding("tls.protocols", PROTOCOLS_TITLE, FAILED,
                       reason="neither TLS 1.2 nor TLS 1.3 was accepted", evidence=evidence,
                       fix="accept TLS 1.2 and 1.3", params=params,
                       fr={"title": PROTOCOLS_FR, "fix": fr_fix,
                           "reason": "Le serveur n'accepte ni TLS 1.2 ni TLS 1.3."})
    if unknown:
        return finding("tls.protocols", PROTOCOLS_TITLE, SKIPPED,
                       reason=f"{', '.join(unknown)} could not be scanned", evidence=evidence,
                       params=params, fr={"title": PROTOCOLS_FR})
    return finding("tls.protocols", PROTOCOLS_TITLE, PASSED, evidence=evidence, params=params,
                   fr={"title": PROTOCOLS_FR})


SUITES_TITLE = "Every cipher suite has forward secrecy and authenticated encryption"
SUITES_FR = ("Les communications enregistrées ne pourront pas être déchiffrées plus tard "
             "(confidentialité persistante, chiffrement authentifié)")


def _weak(version: str, suite: str) -> tuple[bool, bool]:
    """(no forward secrecy, not AEAD) of an accepted suite (IANA name)."""
    if version == "TLSv1.3":
        return False, False  # every TLS 1.3 suite is both
    kex = suite.removeprefix("TLS_").split("_WITH_")[0]
    no_fs = not (kex.startswith("ECDHE") or kex.startswith("DHE"))
    no_aead = not any(m in suite for m in ("_GCM_", "CHACHA20_POLY1305", "_CCM"))
    return no_fs, no_aead


def suites(s: tlsscan.TlsScan) -> Finding:
    evidence, no_fs, no_aead = [], [], []
    for version, names in s.accepted.items():
        for suite in names:
            fs_bad, aead_bad = _weak(version, suite)
            notes = [n for n, bad in (("no forward secrecy", fs_bad), ("not AEAD", aead_bad))
                     if bad]
            evidence.append(f"{version} {suite}" + (f" ({', '.join(notes)})" if notes else ""))
            if fs_bad:
                no_fs.append(f"{version} {suite}")
            if aead_bad:
                no_aead.append(f"{version} {suite}")
    params = {"accepted": s.accepted, "no_forward_secrecy": no_fs, "not_aead": no_aead}
    fix = ("accept only ECDHE suites with AES-GCM or ChaCha20-Poly1305 (Mozilla's "
           "intermediate list: https://ssl-config.mozilla.org/)")
    fr_fix = ("Limiter les suites de chiffrement à la liste « intermediate » de Mozilla "
              "(ECDHE avec AES-GCM ou ChaCha20-Poly1305).")
    if no_fs or no_aead:
        parts = []
        if no_fs:
            parts.append(f"{len(no_fs)} suite(s) without forward secrecy (recorded traffic "
                         "can be decrypted later with the server's key)")
        if no_aead:
            parts.append(f"{len(no_aead)} suite(s) without authenticated encryption (CBC)")
        return finding("tls.suites", SUITES_TITLE, FAILED, severity=HIGH if no_fs else MEDIUM,
                       reason="the server accepts " + " and ".join(parts), fix=fix,
                       evidence=evidence, params=params,
                       fr={"title": SUITES_FR, "fix": fr_fix,
                           "reason": "Le serveur accepte des suites de chiffrement faibles"
                                     + (" : une conversation enregistrée pourrait être "
                                        "déchiffrée plus tard si la clé du serveur était volée."
                                        if no_fs else " (sans chiffrement authentifié).")})
    if not evidence:
        return finding("tls.suites", SUITES_TITLE, SKIPPED,
                       reason="no accepted suite was seen (scan errors: "
                              f"{'; '.join(s.scan_errors.values()) or 'none'})",
                       fr={"title": SUITES_FR})
    return finding("tls.suites", SUITES_TITLE, PASSED, evidence=evidence, params=params,
                   fr={"title": SUITES_FR})


NAME_TITLE = "The certificate is made out to the server's name"
NAME_FR = "Le certificat est bien établi au nom du serveur"


def name(s: tlsscan.TlsScan, ctx: AuditContext) -> Finding:
    evidence = [f"names in the certificate: {', '.join(s.leaf_names) or '(none)'}",
                f"server name: {ctx.target.name}"]
    if s.leaf_matches_hostname is None:
        return finding("tls.name", NAME_TITLE, SKIPPED,
                       reason="the certificate could not be read: "
                              + s.scan_errors.get("certificate_info", "unknown error"),
                       evidence=evidence, fr={"title": NAME_FR})
    if not s.leaf_matches_hostname:
        return finding("tls.name", NAME_TITLE, FAILED,
                       reason=f"the certificate does not name {ctx.target.name}: browsers "
                              "show a security error and refuse the page",
                       fix=f"serve a certificate for {ctx.target.name} (e.g. from Let's Encrypt)",
                       evidence=evidence, params={"names": s.leaf_names},
                       fr={"title": NAME_FR,
                           "reason": f"Le certificat n'est pas établi au nom {ctx.target.name} : "
                                     "les navigateurs affichent une alerte de sécurité.",
                           "fix": f"Installer un certificat pour {ctx.target.name} "
                                  "(par exemple Let's Encrypt)."})
    return finding("tls.name", NAME_TITLE, PASSED, evidence=evidence,
                   params={"names": s.leaf_names}, fr={"title": NAME_FR})


CHAIN_TITLE = "The certificate is issued by a trusted authority"
CHAIN_FR = "Le certificat est délivré par une autorité de confiance"


def chain(s: tlsscan.TlsScan, ctx: AuditContext) -> Finding:
    evidence = [f"{store}: " + ("trusted" if err is None else f"not trusted ({err})")
                for store, err in sorted(s.trust.items())]
    trusted = sorted(store for store, err in s.trust.items() if err is None)
    params = {"trusted_by": trusted}
    if not s.trust:
        return finding("tls.chain", CHAIN_TITLE, SKIPPED,
                       reason="the certificate chain could not be checked: "
                              + s.scan_errors.get("certificate_info", "unknown error"),
                       fr={"title": CHAIN_FR})
    if not trusted:
        errors = sorted({err for err in s.trust.values() if err})
        return finding("tls.chain", CHAIN_TITLE, FAILED,
                       reason="no trust store accepts the certificate chain ("
                              + "; ".join(errors) + "): browsers show a security error",
                       fix="serve the full chain (fullchain.pem) of a certificate from a public "
                           "authority (e.g. Let's Encrypt); to audit a server of a private CA, "
                           "pass that CA with --cafile",
                       evidence=evidence, params=params,
                       fr={"title": CHAIN_FR,
                           "reason": "Aucune autorité reconnue ne garantit ce certificat : les "
                                     "navigateurs affichent une alerte de sécurité.",
                           "fix": "Installer un certificat d'une autorité publique (par exemple "
                                  "Let's Encrypt), avec sa chaîne complète."})
    if trusted == [tlsscan.CUSTOM_STORE]:
        evidence.append(f"trusted through --cafile {ctx.target.cafile} only: a browser trusts "
                        "it only where that authority is installed")
    return finding("tls.chain", CHAIN_TITLE, PASSED, evidence=evidence, params=params,
                   fr={"title": CHAIN_FR})


EXPIRY_TITLE = f"The certificate is valid for at least {EXPIRY_WARN_DAYS} more days"
EXPIRY_FR = f"Le certificat reste valable au moins {EXPIRY_WARN_DAYS} jours"


def expiry(s: tlsscan.TlsScan, now: dt.datetime | None = None) -> Finding:
    if not s.leaf_not_after:
        return finding("tls.expiry", EXPIRY_TITLE, SKIPPED,
                       reason="the certificate could not be read",
                       fr={"title": EXPIRY_FR, "reason": "Le certificat n'a pas pu être lu."})
    not_after = dt.datetime.fromisoformat(s.leaf_not_after)
    left = (not_after - (now or dt.datetime.now(dt.UTC))).total_seconds() / 86400
    days = int(left // 1)
    evidence = [f"valid until {not_after.isoformat()} ({days} days left)"]
    params = {"not_after": not_after.isoformat(), "days_left": days}
    fix = ("renew the certificate, and check that its automatic renewal works (certbot "
           "renew --dry-run)")
    fr_fix = "Renouveler le certificat et vérifier que son renouvellement automatique fonctionne."
    if left < 0:
        return finding("tls.expiry", EXPIRY_TITLE, FAILED,
                       reason=f"the certificate expired {-days} days ago: browsers refuse the "
                              "page", fix=fix, evidence=evidence, params=params,
                       fr={"title": EXPIRY_FR, "fix": fr_fix,
                           "reason": f"Le certificat a expiré il y a {-days} jours : les "
                                     "navigateurs refusent la page."})
    if left < EXPIRY_WARN_DAYS:
        severity = HIGH if left < EXPIRY_FAIL_DAYS else MEDIUM
        return finding("tls.expiry", EXPIRY_TITLE, FAILED, severity=severity,
                       reason=f"the certificate expires in {days} days: its renewal should "
                              f"have happened already", fix=fix, evidence=evidence,
                       params=params,
                       fr={"title": EXPIRY_FR, "fix": fr_fix,
                           "reason": f"Le certificat expire dans {days} jours : il aurait déjà "
                                     "dû être renouvelé."})
    return finding("tls.expiry", EXPIRY_TITLE, PASSED, evidence=evidence, params=params,
                   fr={"title": EXPIRY_FR})


MOZILLA_TITLE = "The TLS setup follows Mozilla's recommended 'intermediate' profile"
MOZILLA_FR = "La configuration du chiffrement suit le profil recommandé par Mozilla"


def mozilla(s: tlsscan.TlsScan) -> Finding:
    profile = f"sslyze profile {s.mozilla_profile}" if s.mozilla_profile else "sslyze"
    if s.mozilla_issues is None:
        return finding("tls.mozilla", MOZILLA_TITLE, SKIPPED, severity=MEDIUM,
                       reason=f"the checker could not run: {s.mozilla_error}",
                       fr={"title": MOZILLA_FR})
    evidence = [f"{k}: {v}" for k, v in sorted(s.mozilla_issues.items())] or [
        f"no issue ({profile})"]
    if s.mozilla_issues:
        only_minor = set(s.mozilla_issues) <= {"tls_curves", "maximum_certificate_lifespan"}
        return finding("tls.mozilla", MOZILLA_TITLE, FAILED,
                       severity=LOW if only_minor else MEDIUM,
                       reason=f"{len(s.mozilla_issues)} difference(s) from Mozilla's "
                              f"intermediate profile: {', '.join(sorted(s.mozilla_issues))}",
                       fix="apply Mozilla's generated configuration for the web server "
                           "(https://ssl-config.mozilla.org/, intermediate)",
                       evidence=evidence, params={"issues": s.mozilla_issues},
                       fr={"title": MOZILLA_FR,
                           "fix": "Appliquer la configuration « intermediate » générée par "
                                  "Mozilla (https://ssl-config.mozilla.org/)."})
    return finding("tls.mozilla", MOZILLA_TITLE, PASSED, evidence=evidence,
                   fr={"title": MOZILLA_FR})
