"""Audit area 'sovereignty': whom the web app makes the participants' browsers talk to.

Read from the served /config.js (and /interface_config.js when served), as a browser gets
them (``ctx.config_js()``). Findings:

* ``sovereignty.jitsi``: this is a Jitsi Meet server (it serves a config.js declaring
  ``config``). When it fails the audit could not run (``context.FATAL_FINDINGS``, exit 2)
  and it is the area's only finding;
* ``sovereignty.config_js``: the file reads as JavaScript (a syntax error stops the
  browser: the meeting page does not start);
* ``sovereignty.hosts``: every host the file names; known third parties (Jitsi's and
  8x8's public services, Gravatar, Google, analytics, callstats, GIPHY, Sentry, Dropbox,
  ...) fail with high severity, other outside hosts with medium;
* ``sovereignty.stun``: the p2p STUN servers (each participant's address goes to them);
* ``sovereignty.third_party_requests``: ``disableThirdPartyRequests`` is true;
* ``sovereignty.gravatar``, ``sovereignty.analytics``, ``sovereignty.services`` (GIPHY,
  Dropbox, callstats, Google/Microsoft sign-in, YouTube streaming);
* ``sovereignty.e2ee``: end-to-end encryption offered (low severity: a choice);
* ``sovereignty.rooms``: room names not kept in the browser's recent list;
* ``sovereignty.welcome_page``: informational (what a visitor sees first);
* ``sovereignty.interface_config``: hosts named by interface_config.js (links shown).
"""

from __future__ import annotations

import re
from typing import Any

from jitsi_sovereign.audit.context import (
    AuditContext,
    NotJitsi,
    RateLimited,
    ServedConfig,
    Skip,
    Unreachable,
    Unreadable,
    Unsupported,
)
from jitsi_sovereign.audit.findings import FAILED, PASSED, SKIPPED, finding
from jitsi_sovereign.report.model import HIGH, INFO, LOW, MEDIUM, Finding

# Known third parties: a host equal to or under the suffix -> who it is.
THIRD_PARTIES: list[tuple[str, str]] = [
    ("jitsi.net", "Jitsi/8x8 public services (relays, STUN/TURN, rtcstats)"),
    ("jit.si", "meet.jit.si, Jitsi's public service run by 8x8"),
    ("8x8.vc", "8x8 (Jitsi as a Service)"),
    ("8x8.com", "8x8"),
    ("jitsi.org", "the Jitsi project's sites"),
    ("gravatar.com", "Gravatar (avatars looked up by a hash of each participant's e-mail)"),
    ("google-analytics.com", "Google Analytics"),
    ("googletagmanager.com", "Google Tag Manager"),
    ("googleapis.com", "Google"),
    ("gstatic.com", "Google"),
    ("google.com", "Google"),
    ("youtube.com", "YouTube (Google)"),
    ("doubleclick.net", "Google advertising"),
    ("amplitude.com", "Amplitude analytics"),
    ("matomo.cloud", "Matomo Cloud analytics"),
    ("callstats.io", "callstats.io (call statistics)"),
    ("giphy.com", "GIPHY"),
    ("sentry.io", "Sentry (error reports)"),
    ("dropbox.com", "Dropbox"),
    ("dropboxapi.com", "Dropbox"),
    ("microsoft.com", "Microsoft"),
    ("microsoftonline.com", "Microsoft"),
    ("live.com", "Microsoft"),
    ("office.com", "Microsoft"),
    ("facebook.com", "Facebook (Meta)"),
    ("cloudflare.com", "Cloudflare"),
    ("twilio.com", "Twilio"),
    ("apple.com", "Apple"),
    ("excalidraw.com", "Excalidraw (whiteboard)"),
    ("testrtc.com", "watchRTC (testRTC)"),
    ("slack.com", "Slack"),
]
# Any host with these in its name is a statistics collector.
THIRD_PARTY_WORDS = [("rtcstats", "an rtcstats collector (call statistics)"),
                     ("analytics", "an analytics service")]

_ICE_URI = re.compile(r"\b(stuns?|turns?):\[?([a-z0-9.:-]+?)\]?(?::\d+)?(?:\?|$)", re.I)

TITLES = {
    "jitsi": ("This is a Jitsi Meet server", "Ce serveur est un serveur Jitsi Meet"),
    "config_js": ("The web app's configuration (config.js) can be read",
                  "La configuration de l'application de visioconférence est lisible"),
    "hosts": ("The web app names no third-party server",
              "L'application ne fait appel à aucun serveur tiers"),
    "stun": ("Participants' addresses are not sent to another organisation's STUN server",
             "Les adresses des participants ne sont pas envoyées aux serveurs d'un tiers"),
    "third_party_requests": ("Requests to third parties are turned off "
                             "(disableThirdPartyRequests)",
                             "Les requêtes vers des services tiers sont désactivées"),
    "gravatar": ("Avatars are not fetched from Gravatar",
                 "Les avatars ne sont pas demandés à Gravatar"),
    "analytics": ("No analytics or call statistics are collected",
                  "Aucune mesure d'audience ni statistique d'appel n'est collectée"),
    "services": ("No third-party service is turned on (GIPHY, Dropbox, calendars, YouTube, "
                 "callstats)",
                 "Aucun service tiers n'est activé (GIPHY, Dropbox, agendas, YouTube...)"),
    "e2ee": ("End-to-end encryption is offered", "Le chiffrement de bout en bout est proposé"),
    "rooms": ("Room names are not kept in the browser's recent list",
              "Les noms des réunions ne sont pas conservés dans le navigateur"),
    "welcome_page": ("What a visitor sees first (welcome page)",
                     "Ce que voit d'abord un visiteur (page d'accueil)"),
    "interface_config": ("The interface settings (interface_config.js) link to no third party",
                         "Les réglages d'interface ne renvoient vers aucun site tiers"),
}
SEVERITY = {"jitsi": HIGH, "config_js": HIGH, "hosts": HIGH, "stun": HIGH,
            "third_party_requests": MEDIUM, "gravatar": HIGH, "analytics": HIGH,
            "services": HIGH, "e2ee": LOW, "rooms": LOW, "welcome_page": INFO,
            "interface_config": LOW}


def _f(name: str, status: str, *, severity: str | None = None, reason: str = "",
       fix: str = "", evidence: list[str] | None = None, params: dict | None = None,
       fr_reason: str = "", fr_fix: str = "") -> Finding:
    title, fr_title = TITLES[name]
    return finding(f"sovereignty.{name}", title, status,
                   severity=severity if status == FAILED and severity else SEVERITY[name],
                   reason=reason, fix=fix, evidence=evidence, params=params,
                   fr={"title": fr_title, "reason": fr_reason, "fix": fr_fix})


def run(ctx: AuditContext) -> list[Finding]:
    rest = [n for n in TITLES if n not in ("jitsi", "config_js")]
    try:
        served = ctx.config_js()
    except NotJitsi as exc:
        return [_f("jitsi", FAILED, reason=str(exc),
                   fix="check the address: audit the URL of a Jitsi Meet server",
                   fr_reason="Ce site ne ressemble pas à un serveur Jitsi Meet (pas de "
                             "fichier config.js).",
                   fr_fix="Vérifier l'adresse du serveur de visioconférence.")]
    except Unreadable as exc:
        return [_f("jitsi", PASSED, evidence=["GET /config.js -> 200"]),
                _f("config_js", FAILED, reason=str(exc),
                   fix="correct config.js (node --check config.js shows the error's line)",
                   fr_reason="Le fichier de configuration de la visioconférence contient une "
                             "erreur : la page de réunion ne peut pas démarrer.",
                   fr_fix="Corriger le fichier config.js du serveur.")] + [
            _f(n, SKIPPED, reason="config.js cannot be read",
               fr_reason="Le fichier config.js n'a pas pu être lu.") for n in rest]
    except Unsupported as exc:
        return [_f("jitsi", PASSED, evidence=["GET /config.js -> 200"]),
                *(_f(n, SKIPPED, reason=str(exc),
                     fr_reason="La configuration est écrite dans une syntaxe JavaScript trop "
                               "récente pour l'outil d'audit : ses réglages n'ont pas pu être "
                               "lus.") for n in TITLES if n != "jitsi")]
    except (Unreachable, RateLimited, Skip) as exc:
        fr = ("Le serveur limite le nombre de requêtes : refaire l'audit plus tard."
              if isinstance(exc, RateLimited) else "Le fichier config.js n'a pas pu être obtenu.")
        return [_f(n, SKIPPED, reason=str(exc), fr_reason=fr) for n in TITLES]
    try:
        interface = ctx.interface_config_js()
        interface_error = None
    except Skip as exc:
        interface, interface_error = None, str(exc)
    domain = str(served.get("hosts.domain") or ctx.target.name)
    own = _Own(ctx.target.name, domain, ctx.target.address)
    return [
        _f("jitsi", PASSED, evidence=[f"GET {served.url} -> 200, declares `config`",
                                      f"hosts.domain: {served.get('hosts.domain')}"]),
        config_js(served),
        hosts(served, own),
        stun(served, own),
        third_party_requests(served),
        gravatar(served),
        analytics(served, own),
        services(served),
        e2ee(served),
        rooms(served),
        welcome_page(served),
        interface_config(interface, interface_error, own),
    ]


class _Own:
    """The server's own names: its name, hosts.domain, names under them, names under
    the parent of its name (meet.example.fr -> *.example.fr: the same organisation), and
    the address the audit reaches it at."""

    def __init__(self, name: str, domain: str, address: str = "") -> None:
        self.roots = {name.lower(), domain.lower()}
        for n in list(self.roots):
            parent = n.split(".", 1)[1] if n.count(".") >= 2 else None
            if parent:
                self.roots.add(parent)
        self.address = address.lower()

    def __contains__(self, host: str) -> bool:
        host = host.lower().rstrip(".").strip("[]")
        if self.address and host == self.address:
            return True
        return any(host == r or host.endswith("." + r) for r in self.roots)


def who(host: str) -> str | None:
    host = host.lower()
    for suffix, label in THIRD_PARTIES:
        if host == suffix or host.endswith("." + suffix):
            return label
    for word, label in THIRD_PARTY_WORDS:
        if word in host:
            return label
    return None


def _set(value: Any) -> bool:
    """A setting that turns something on: present and not empty/false."""
    return value not in (None, False, "", [], {}, 0)


# ------------------------------------------------------------------ findings


def config_js(served: ServedConfig) -> Finding:
    evidence = [f"GET {served.url}: {len(served.text)} bytes"]
    if served.computed:
        evidence.append("values computed in the browser (read as unknown): "
                        + ", ".join(served.computed))
    if served.strict_error:
        evidence.append(f"not plain data ({served.strict_error}): read leniently")
    return _f("config_js", PASSED, evidence=evidence,
              params={"computed": served.computed})


def hosts(served: ServedConfig, own: _Own) -> Finding:
    evidence, known, other = [], [], []
    for host in sorted(served.hosts):
        where = ", ".join(dict.fromkeys(served.hosts[host]))
        if host in own:
            evidence.append(f"{host} (own) in {where}")
            continue
        label = who(host)
        if label:
            known.append(host)
            evidence.append(f"{host}: THIRD PARTY, {label}; in {where}")
        else:
            other.append(host)
            evidence.append(f"{host}: outside this server's domain; in {where}")
    params = {"third_parties": known, "other_hosts": other}
    fix = ("remove these addresses from config.js (set disableThirdPartyRequests: true, "
           "gravatar.disabled: true, analytics.disabled: true, and STUN on the server's own "
           "coturn)")
    fr_fix = ("Retirer ces adresses de la configuration (config.js) et n'utiliser que les "
              "services du serveur lui-même.")
    if known:
        return _f("hosts", FAILED,
                  reason=f"config.js names third-party servers: {', '.join(known)}: "
                         "participants' browsers may contact them, revealing their address "
                         "and when they meet", fix=fix, evidence=evidence, params=params,
                  fr_reason="La configuration fait appel à des serveurs d'autres organisations "
                            f"({', '.join(known)}) : les navigateurs des participants peuvent "
                            "les contacter et leur révéler leur adresse IP.",
                  fr_fix=fr_fix)
    if other:
        return _f("hosts", FAILED, severity=MEDIUM,
                  reason=f"config.js names servers outside {', '.join(sorted(own.roots))}: "
                         f"{', '.join(other)}; check who runs them", fix=fix,
                  evidence=evidence, params=params,
                  fr_reason="La configuration fait appel à des serveurs extérieurs au domaine "
                            f"du service ({', '.join(other)}) : vérifier qui les exploite.",
                  fr_fix=fr_fix)
    return _f("hosts", PASSED, evidence=evidence or ["no host named"], params=params)


def _ice_uris(value: Any, where: str = "") -> list[tuple[str, str]]:
    """(dotted key, stun:/turn: URI) of every ICE server URI in the configuration."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _ice_uris(v, f"{where}.{k}" if where else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _ice_uris(v, f"{where}[{i}]")
    elif isinstance(value, str) and _ICE_URI.search(value):
        out.append((where, value))
    return out


def stun(served: ServedConfig, own: _Own) -> Finding:
    p2p_on = served.get("p2p.enabled", True) is not False
    uris = _ice_uris(served.config)
    evidence = [f"p2p.enabled: {served.get('p2p.enabled', '(not set: on)')}"]
    evidence += [f"{where}: {uri}" for where, uri in uris] or ["no STUN/TURN address"]
    foreign = []
    for where, uri in uris:
        for m in _ICE_URI.finditer(uri):
            host = m.group(2).lower()
            if host not in own:
                label = who(host)
                foreign.append(f"{host} ({label})" if label else host)
                evidence.append(f"{host} in {where}: not this server's")
    foreign = list(dict.fromkeys(foreign))
    params = {"p2p_enabled": p2p_on, "uris": [u for _, u in uris], "foreign": foreign}
    fix = ("point p2p.stunServers at the server's own STUN (e.g. [{urls: "
           "'stun:<domain>:3478'}], coturn)")
    fr_fix = "Utiliser le serveur STUN du service lui-même (coturn) dans p2p.stunServers."
    if foreign:
        return _f("stun", FAILED,
                  reason=f"the browsers ask {', '.join(foreign)} for their public address: "
                         "every participant's IP address and meeting times go to that "
                         "organisation", fix=fix, evidence=evidence, params=params,
                  fr_reason="Les navigateurs des participants s'adressent à un serveur STUN "
                            f"extérieur ({', '.join(foreign)}) : l'adresse IP de chaque "
                            "participant lui est transmise.",
                  fr_fix=fr_fix)
    if p2p_on and served.get("p2p.stunServers") is None:
        return _f("stun", FAILED, severity=MEDIUM,
                  reason="peer-to-peer is on and p2p.stunServers is not set: the browsers use "
                         "the web app's built-in STUN list, not this server's",
                  fix=fix, evidence=evidence, params=params,
                  fr_reason="Aucun serveur STUN n'est indiqué : les navigateurs utilisent la "
                            "liste intégrée à l'application, qui n'est pas celle du service.",
                  fr_fix=fr_fix)
    return _f("stun", PASSED, evidence=evidence, params=params)


def third_party_requests(served: ServedConfig) -> Finding:
    value = served.get("disableThirdPartyRequests")
    evidence = [f"disableThirdPartyRequests: {value!r}" if value is not None
                else "disableThirdPartyRequests: (not set: false)"]
    if value is True:
        return _f("third_party_requests", PASSED, evidence=evidence)
    return _f("third_party_requests", FAILED,
              reason="disableThirdPartyRequests is not true: the web app may load avatars and "
                     "statistics scripts from other servers",
              fix="set disableThirdPartyRequests: true in config.js", evidence=evidence,
              fr_reason="L'application n'a pas pour consigne de s'interdire les requêtes vers "
                        "des services tiers.",
              fr_fix="Régler disableThirdPartyRequests: true dans config.js.")


def gravatar(served: ServedConfig) -> Finding:
    disabled = served.get("gravatar.disabled") is True
    blocked = served.get("disableThirdPartyRequests") is True
    urls = {k: served.get(k) for k in ("gravatarBaseURL", "gravatar.baseUrl")
            if served.get(k) is not None}
    named = sorted(h for h in served.hosts if h == "gravatar.com" or h.endswith(".gravatar.com"))
    evidence = [f"gravatar.disabled: {served.get('gravatar.disabled')!r}",
                f"disableThirdPartyRequests: {served.get('disableThirdPartyRequests')!r}"]
    evidence += [f"{k}: {v}" for k, v in urls.items()]
    params = {"disabled": disabled, "urls": urls}
    fix = "set gravatar.disabled: true (and disableThirdPartyRequests: true), and no gravatar URL"
    fr_fix = "Désactiver Gravatar dans config.js (gravatar.disabled: true)."
    if named:
        return _f("gravatar", FAILED,
                  reason=f"config.js names Gravatar ({', '.join(named)}): participants' "
                         "browsers fetch avatars there, with a hash of their e-mail address",
                  fix=fix, evidence=evidence, params=params,
                  fr_reason="Les avatars des participants sont demandés à Gravatar (une "
                            "entreprise américaine), avec une empreinte de leur adresse e-mail.",
                  fr_fix=fr_fix)
    if not (disabled or blocked):
        return _f("gravatar", FAILED,
                  reason="neither gravatar.disabled nor disableThirdPartyRequests is true: the "
                         "web app fetches avatars from Gravatar for participants who give an "
                         "e-mail address", fix=fix, evidence=evidence, params=params,
                  fr_reason="Gravatar n'est pas désactivé : l'avatar d'un participant qui "
                            "indique son e-mail est demandé à ce service américain.",
                  fr_fix=fr_fix)
    return _f("gravatar", PASSED, evidence=evidence, params=params)


ANALYTICS_KEYS = ["analytics.amplitudeAPPKey", "analytics.googleAnalyticsTrackingId",
                  "analytics.matomoEndpoint", "analytics.scriptURLs",
                  "analytics.rtcstatsEndpoint", "analytics.watchRTCConfigParams",
                  "watchRTCConfigParams"]


def analytics(served: ServedConfig, own: _Own) -> Finding:
    disabled = served.get("analytics.disabled") is True
    on: list[str] = []
    for key in ANALYTICS_KEYS:
        value = served.get(key)
        if not _set(value):
            continue
        if key == "analytics.matomoEndpoint" and isinstance(value, str) and all(
                h in own for h in served.hosts if h in value):
            continue  # a Matomo of the server's own organisation
        on.append(f"{key}: {value!r}")
    for key in ("analytics.rtcstatsEnabled", "analytics.watchRTCEnabled"):
        if served.get(key) is True:
            on.append(f"{key}: true")
    if _set(served.get("callStatsID")):
        on.append("callStatsID is set")
    evidence = [f"analytics.disabled: {served.get('analytics.disabled')!r}", *on]
    params = {"disabled": disabled, "collectors": on}
    if on and not disabled:
        return _f("analytics", FAILED,
                  reason="statistics about the meetings and their participants are sent out: "
                         + "; ".join(on),
                  fix="set analytics.disabled: true and remove the analytics keys and "
                      "callStatsID from config.js", evidence=evidence, params=params,
                  fr_reason="Des statistiques sur les réunions et leurs participants sont "
                            "envoyées à un service de mesure.",
                  fr_fix="Désactiver les mesures d'audience (analytics.disabled: true) et "
                         "retirer leurs réglages de config.js.")
    if on:
        evidence.append("analytics.disabled is true: these settings are not used")
    return _f("analytics", PASSED, evidence=evidence, params=params)


# Settings that turn on a third-party service: (dotted key, the service).
SERVICE_KEYS = [
    ("giphy.enabled", "GIPHY (animated images searched on giphy.com)"),
    ("dropbox.appKey", "Dropbox (recordings stored there)"),
    ("googleApiApplicationClientID", "Google sign-in (calendar, YouTube)"),
    ("microsoftApiApplicationClientID", "Microsoft sign-in (calendar)"),
    ("enableCalendarIntegration", "Google/Microsoft calendar integration"),
    ("liveStreaming.enabled", "live streaming to YouTube"),
    ("callStatsID", "callstats.io"),
    ("deploymentUrls", "links to 8x8's user documentation and downloads"),
]


def services(served: ServedConfig) -> Finding:
    on = [(k, label) for k, label in SERVICE_KEYS if _set(served.get(k))]
    evidence = [f"{k}: {served.get(k)!r} -> {label}" for k, label in on] or [
        "none of " + ", ".join(k for k, _ in SERVICE_KEYS) + " is set"]
    if on:
        names = ", ".join(label for _, label in on)
        return _f("services", FAILED,
                  reason=f"config.js turns on third-party services: {names}",
                  fix="turn them off in config.js (" + ", ".join(k for k, _ in on) + ")",
                  evidence=evidence, params={"services": [k for k, _ in on]},
                  fr_reason=f"Des services d'autres entreprises sont activés : {names}.",
                  fr_fix="Les désactiver dans config.js.")
    return _f("services", PASSED, evidence=evidence, params={"services": []})


def e2ee(served: ServedConfig) -> Finding:
    disabled = served.get("e2ee.disabled") is True or served.get("testing.disableE2EE") is True
    evidence = [f"e2ee.disabled: {served.get('e2ee.disabled')!r}",
                f"testing.disableE2EE: {served.get('testing.disableE2EE')!r}"]
    if served.get("e2ee.labels") or served.get("e2eeLabels"):
        evidence.append("custom E2EE labels are set")
    evidence.append("the security policy must also allow blob: workers (http.csp_workers)")
    if disabled:
        return _f("e2ee", FAILED,
                  reason="end-to-end encryption is turned off: the videobridge relays the "
                         "meetings' audio and video unencrypted (inside the server)",
                  fix="leave e2ee.disabled unset (or false) if participants should be able to "
                      "encrypt their meetings end to end", evidence=evidence,
                  params={"offered": False},
                  fr_reason="Le chiffrement de bout en bout est désactivé : le son et l'image "
                            "des réunions sont déchiffrés sur le serveur.",
                  fr_fix="Réactiver le chiffrement de bout en bout (e2ee.disabled) si les "
                         "participants doivent pouvoir en bénéficier.")
    return _f("e2ee", PASSED, evidence=evidence, params={"offered": True})


def rooms(served: ServedConfig) -> Finding:
    value = served.get("doNotStoreRoom")
    evidence = [f"doNotStoreRoom: {value!r}"]
    if value is True:
        return _f("rooms", PASSED, evidence=evidence)
    return _f("rooms", FAILED,
              reason="doNotStoreRoom is not true: each browser keeps the names of the rooms it "
                     "joined and shows them on the welcome page",
              fix="set doNotStoreRoom: true in config.js", evidence=evidence,
              fr_reason="Chaque navigateur garde la liste des réunions rejointes et l'affiche "
                        "sur la page d'accueil.",
              fr_fix="Régler doNotStoreRoom: true dans config.js.")


def welcome_page(served: ServedConfig) -> Finding:
    welcome = served.get("welcomePage.disabled")
    legacy = served.get("enableWelcomePage")
    shown = not (welcome is True or legacy is False)
    evidence = [f"welcomePage.disabled: {welcome!r}", f"enableWelcomePage: {legacy!r}",
                "welcome page " + ("shown: visitors can start a room from the home page"
                                   if shown else "not shown: visitors go straight to a room"),
                f"requireDisplayName: {served.get('requireDisplayName')!r}",
                f"prejoinConfig.enabled: {served.get('prejoinConfig.enabled')!r}",
                f"enableInsecureRoomNameWarning: "
                f"{served.get('enableInsecureRoomNameWarning')!r}"]
    return _f("welcome_page", PASSED, evidence=evidence,
              params={"welcome_page": shown,
                      "require_display_name": served.get("requireDisplayName")})


def interface_config(served: ServedConfig | None, error: str | None, own: _Own) -> Finding:
    if served is None:
        why = error or "/interface_config.js is not served (the web app reads its defaults)"
        return _f("interface_config", SKIPPED, reason=why,
                  fr_reason="Le fichier interface_config.js n'est pas servi.")
    foreign = {h: w for h, w in served.hosts.items() if h not in own}
    evidence = [f"{h}{' (' + who(h) + ')' if who(h) else ''} in {', '.join(w)}"
                for h, w in sorted(foreign.items())] or ["no host outside the server's domain"]
    if foreign:
        return _f("interface_config", FAILED,
                  reason="interface_config.js names other sites (links shown in the page: "
                         "a participant who clicks goes there): " + ", ".join(sorted(foreign)),
                  fix="override these links in interface_config.js, or hide them",
                  evidence=evidence, params={"hosts": sorted(foreign)},
                  fr_reason="La page de réunion affiche des liens vers d'autres sites.",
                  fr_fix="Remplacer ou masquer ces liens dans interface_config.js.")
    return _f("interface_config", PASSED, evidence=evidence, params={"hosts": []})
