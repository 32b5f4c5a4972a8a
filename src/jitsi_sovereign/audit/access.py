"""Audit area 'access': who can log in, and what a guest can do, through the XMPP endpoint
the web app itself uses (config.js: ``websocket``, else ``bosh``; BOSH when the websocket
is refused).

* ``access.main_anonymous`` (high): an anonymous login (SASL ANONYMOUS) on the main
  domain (``hosts.domain``) is refused: only people with an account open rooms.
* ``access.mechanisms`` (medium): the SASL mechanisms of the main domain, as evidence; a
  password mechanism over an unencrypted endpoint (ws://, http://) fails.
* ``access.guest_domain`` (info): the guest domain (``hosts.anonymousdomain``) accepts an
  anonymous login, as the web app needs for guests (medium when it refuses).
* As that guest (or as an anonymous user of the main domain, when it lets one in):
  ``access.guest_room`` (high): joining a room that does not exist on the conference
  service (``hosts.muc``) does not create it; ``access.guest_focus`` (high): Jitsi's
  conference focus (jicofo, ``hosts.focus``) does not start a conference for the guest;
  ``access.guest_brewery`` (high): the videobridges' control room (the brewery,
  ``jvbbrewery@internal.auth.<domain>``, or ``internal-muc.<domain>`` as docker-jitsi-meet
  names it) refuses the guest. A service that is not there (prosody answers
  "Communication with remote domains is not enabled" for a name it does not serve) makes
  its finding skipped with that reason: it cannot be judged from outside.

What a probe leaves behind: a room the guest managed to create or enter is left at once
(a MUC room in memory goes away with its last occupant); on a server whose focus accepts
a guest (the finding fails), jicofo starts a conference for a random room name, which it
ends when nobody joins. Nothing is left on a server that refuses.

The guest session is made once per audit (``guest(ctx)``, cached): the turn area reads
the TURN credentials the server hands to that guest (XEP-0215) from it. Passwords it
receives stay in memory, never in a finding.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from jitsi_sovereign.audit import xmpp
from jitsi_sovereign.audit.context import AuditContext, Skip
from jitsi_sovereign.audit.findings import from_table
from jitsi_sovereign.report.model import FAILED, HIGH, INFO, MEDIUM, PASSED, SKIPPED, Finding

AREA = "access"
NS_EXTDISCO = ("urn:xmpp:extdisco:2", "urn:xmpp:extdisco:1")
NS_FOCUS = "http://jitsi.org/protocol/focus"
PASSWORD_MECHANISMS = ("PLAIN", "LOGIN", "DIGEST-MD5", "CRAM-MD5")
# Where Jitsi's bridges meet jicofo: the Debian packages' name, then docker-jitsi-meet's.
BREWERY_SERVICES = ("internal.auth.{domain}", "internal-muc.{domain}")
BREWERY_ROOM = "jvbbrewery"
# Answers meaning "no such service here" rather than "refused".
ABSENT = ("remote-server-not-found", "service-unavailable", "item-not-found",
          "remote-server-timeout", "feature-not-implemented")
REMOTE_TEXT = "communication with remote domains"

# ------------------------------------------------------------------ texts

TEXTS: dict[str, dict[str, str]] = {
    "main_anonymous": {
        "title": "Only people with an account log in on the main domain (no anonymous login)",
        "fr": "Seules les personnes ayant un compte se connectent au domaine principal "
              "(pas de connexion anonyme)",
        "fix": "turn anonymous login off on the main XMPP domain (prosody: "
               "authentication = \"internal_hashed\", \"ldap\" or \"token\" on its VirtualHost) "
               "and let guests in through a separate guest domain (hosts.anonymousdomain)",
        "fr_fix": "Désactiver la connexion anonyme sur le domaine principal et faire entrer "
                  "les invités par un domaine invité distinct : sans cela, n'importe qui peut "
                  "ouvrir des réunions sur ce serveur.",
    },
    "mechanisms": {
        "title": "Passwords never travel unencrypted to the server",
        "fr": "Les mots de passe ne circulent jamais en clair vers le serveur",
        "fix": "serve the XMPP endpoint over TLS only (wss:// and https:// in config.js)",
        "fr_fix": "Ne proposer la connexion qu'en chiffré (adresses wss:// et https:// dans "
                  "config.js).",
    },
    "guest_domain": {
        "title": "Guests join through a separate guest domain",
        "fr": "Les invités entrent par un domaine invité distinct",
        "fix": "allow anonymous login on the guest domain named by config.js "
               "(hosts.anonymousdomain), or remove it from config.js if guests are not wanted",
        "fr_fix": "Autoriser la connexion anonyme sur le domaine invité indiqué dans config.js, "
                  "ou retirer ce domaine de config.js si les invités ne sont pas souhaités.",
    },
    "guest_room": {
        "title": "A guest cannot open a room by itself",
        "fr": "Un invité ne peut pas ouvrir une réunion de lui-même",
        "fix": "restrict room creation on the conference service to the focus (prosody: "
               "restrict_room_creation = true on the MUC component, jicofo as its admin)",
        "fr_fix": "Réserver la création des réunions au service de conférence de Jitsi "
                  "(prosody : restrict_room_creation = true sur le composant des salons).",
    },
    "guest_focus": {
        "title": "Jitsi's conference focus does not open a room for a guest",
        "fr": "Le service de conférence de Jitsi (jicofo) n'ouvre pas de réunion pour un invité",
        "fix": "require authentication in jicofo (jicofo.conf: authentication.enabled = true, "
               "type XMPP or JWT, login-url = the main domain)",
        "fr_fix": "Exiger l'authentification dans jicofo : seules les personnes ayant un compte "
                  "ouvrent une réunion, les invités rejoignent une réunion déjà ouverte.",
    },
    "guest_brewery": {
        "title": "A guest cannot enter the videobridges' control room",
        "fr": "Un invité ne peut pas entrer dans le salon de contrôle des ponts vidéo",
        "fix": "keep the brewery MUC for the components' own domain (Jitsi's muc_filter_access "
               "with muc_filter_whitelist = auth.<domain>, restrict_room_creation = true)",
        "fr_fix": "Réserver le salon des ponts vidéo aux comptes des composants de Jitsi "
                  "(module muc_filter_access) : sinon un invité voit les ponts et peut se faire "
                  "passer pour l'un d'eux.",
    },
}


def finding(key: str, status: str, severity: str, **kw: Any) -> Finding:
    """One of this area's findings, its texts from TEXTS (audit.findings.from_table)."""
    return from_table(AREA, TEXTS, key, status, severity, **kw)


# ------------------------------------------------------------------ connecting


def resolve(host: str, timeout: float) -> str:
    """An address of ``host``, bounded in time (getaddrinfo has no timeout of its own)."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        infos = pool.submit(socket.getaddrinfo, host, None, type=socket.SOCK_STREAM) \
            .result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        raise xmpp.XmppError(f"the name {host} did not resolve within {timeout:g} s") from None
    except OSError as exc:
        raise xmpp.XmppError(f"the name {host} does not resolve ({exc})") from None
    finally:
        pool.shutdown(wait=False)
    return str(infos[0][4][0])


@dataclass
class Endpoints:
    """The endpoints to try, in the web app's order, and why others were left out."""

    tried: list[xmpp.Endpoint]
    notes: list[str] = field(default_factory=list)


def own_domain(host: str, name: str) -> bool:
    """``host`` is the audited name or a name in its domain (one label up from it, never
    a bare top-level domain): where the audit may send packets besides the target."""
    host, name = host.lower().rstrip("."), name.lower().rstrip(".")
    parent = name.split(".", 1)[1] if name.count(".") >= 2 else name
    return host in (name, parent) or host.endswith("." + parent)


def endpoints(ctx: AuditContext, config: Any) -> Endpoints:
    t = ctx.target
    out = Endpoints([])

    def where(host: str) -> str:
        if not own_domain(host, t.name):
            raise xmpp.XmppError(f"{host} is not in the audited domain: not contacted")
        return resolve(host, t.timeout)

    for kind, key, default in (("websocket", "websocket", None), ("bosh", "bosh", "/http-bind")):
        url = config.get(key) or default
        if not isinstance(url, str) or not url:
            if kind == "websocket":
                out.notes.append("config.js sets no websocket: the web app uses BOSH")
            continue
        try:
            out.tried.append(xmpp.endpoint_from_url(
                kind, url, base_name=t.name, base_port=t.port, address=t.address,
                connect_port=t.connect_port, resolve=where))
        except xmpp.XmppError as exc:
            out.notes.append(f"{kind} {url}: {exc}")
    return out


def connect(ctx: AuditContext, eps: Endpoints, domain: str) -> tuple[xmpp.Session, list[str]]:
    """A session to ``domain`` with its stream open (mechanisms read): over the first
    endpoint that works. Raises XmppError naming every endpoint's failure."""
    errors: list[str] = []
    origin = ctx.target.url.rstrip("/")
    # An endpoint that did not work once is not waited for again in the same audit.
    dead: dict[str, str] = ctx.cache.setdefault("access.dead_endpoints", {})
    for ep in eps.tried:
        if ep.url in dead:
            errors.append(dead[ep.url])
            continue
        cls = xmpp.WsTransport if ep.kind == "websocket" else xmpp.BoshTransport
        transport = None
        try:
            transport = cls(ep, origin=origin, timeout=ctx.target.timeout)
            session = xmpp.Session(transport, domain, timeout=ctx.target.timeout)
            mechs = session.open()
            return session, mechs
        except xmpp.StreamError:
            if transport is not None:
                transport.close()
            raise
        except (OSError, xmpp.XmppError) as exc:
            if transport is not None:
                transport.close()
            dead[ep.url] = f"{ep}: {_describe(exc, ctx.target.timeout)}"
            errors.append(dead[ep.url])
    raise xmpp.XmppError("; ".join(errors) or "no XMPP endpoint in config.js")


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__


# ------------------------------------------------------------------ what was seen


@dataclass
class Login:
    """An anonymous login attempt on one domain."""

    domain: str
    endpoint: str = ""
    mechanisms: list[str] = field(default_factory=list)
    accepted: bool | None = None  # None: could not be tried
    condition: str | None = None  # SASL failure condition, or stream error condition
    error: str | None = None  # why it could not be tried
    stream_closed: bool = False  # the server ended the stream instead of offering features

    def evidence(self) -> list[str]:
        lines = [f"XMPP endpoint: {self.endpoint}"] if self.endpoint else []
        if self.stream_closed:
            lines.append(f"{self.domain}: the server ended the stream ({self.condition})")
        elif self.error:
            lines.append(f"{self.domain}: {self.error}")
        else:
            lines.append(f"{self.domain}: SASL mechanisms offered: "
                         f"{', '.join(self.mechanisms) or 'none'}")
            if self.accepted is not None:
                lines.append(f"{self.domain}: SASL ANONYMOUS "
                             + ("succeeded" if self.accepted else
                                f"refused ({self.condition or 'no condition'})"))
        return lines


@dataclass
class Probe:
    """A request made as the guest: its answer in words, for the evidence."""

    outcome: str  # refused | allowed | absent | silent | error
    detail: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class Guest:
    """What the audit saw as an anonymous user (made once, see ``guest``)."""

    login: Login | None = None  # the login used (guest domain, else main domain)
    jid: str | None = None
    error: str | None = None  # why no guest session could be had
    services: list[dict[str, str]] = field(default_factory=list)  # XEP-0215 (with secrets)
    services_ns: str | None = None
    services_error: str | None = None
    room: Probe | None = None
    focus: Probe | None = None
    brewery: Probe | None = None


def anonymous_login(ctx: AuditContext, eps: Endpoints, domain: str
                    ) -> tuple[Login, xmpp.Session | None]:
    """Try SASL ANONYMOUS on ``domain`` (even when not offered); the session is returned
    open (bound) when it succeeded, closed otherwise."""
    login = Login(domain)
    try:
        session, login.mechanisms = connect(ctx, eps, domain)
    except xmpp.StreamError as exc:
        login.stream_closed, login.condition = True, exc.condition
        return login, None
    except xmpp.XmppError as exc:
        login.error = str(exc)
        return login, None
    login.endpoint = str(session.transport.ep)
    try:
        login.accepted, login.condition = session.auth("ANONYMOUS")
        if login.accepted:
            session.bind()
            return login, session
    except xmpp.StreamError as exc:
        if login.accepted is None:  # the server ended the stream on the attempt: refused
            login.accepted, login.condition = False, f"stream error {exc.condition}"
        else:
            login.error = f"logged in, then {exc}"
    except (OSError, xmpp.XmppError) as exc:
        login.error = ("logged in, then " if login.accepted else "") + \
            _describe(exc, ctx.target.timeout)
    session.close()
    return login, None


def _absent(outcome: xmpp.Outcome) -> bool:
    """The answer says the service is not there (not a refusal by the service)."""
    if outcome.elem is None or outcome.error is None:
        return False
    text = xmpp.show(outcome.elem, 2000).lower()
    return outcome.error in ABSENT or REMOTE_TEXT in text


def _service(session: xmpp.Session, jid: str) -> tuple[bool | None, str]:
    """(a MUC service answers at jid: True/False, None for no answer, in words)."""
    info = session.disco_info(jid)
    if info.elem is None:
        return None, f"disco#info {jid}: no answer"
    if info.error:
        return False, f"disco#info {jid}: {info.error}" + (
            " (not served here)" if _absent(info) else "")
    query = xmpp.child(info.elem, "query", xmpp.NS_DISCO_INFO)
    idents = [f"{i.get('category')}/{i.get('type')}" for i in (query if query is not None else [])
              if xmpp.local(i.tag) == "identity"]
    return "conference/text" in idents, f"disco#info {jid}: {', '.join(idents) or 'no identity'}"


def _join(session: xmpp.Session, room: str, nick: str) -> Probe:
    out = session.join(room, nick)
    if out.elem is None:
        return Probe("silent", f"joining {room}: no answer (the presence was dropped)")
    if out.error:
        text = xmpp.show(out.elem, 600)
        if _absent(out):
            return Probe("absent", f"joining {room}: {out.error} (not served here)", [text])
        return Probe("refused", f"joining {room}: refused ({out.error})", [text])
    codes = sorted(xmpp.status_codes(out.elem))
    session.leave(room, nick)
    item = _muc_item(out.elem)
    return Probe("allowed", f"joining {room}: joined (status {', '.join(codes) or 'none'}"
                 f"{', ' + item if item else ''}); left at once", [xmpp.show(out.elem, 600)])


def _muc_item(presence) -> str:
    x = xmpp.child(presence, "x", xmpp.NS_MUC_USER)
    item = xmpp.child(x, "item") if x is not None else None
    if item is None:
        return ""
    return f"affiliation {item.get('affiliation')}, role {item.get('role')}"


def _probe_room(session: xmpp.Session, muc: str, nick: str) -> Probe:
    there, seen = _service(session, muc)
    if there is None or there is False:
        return Probe("absent", seen)
    room = f"jsov-audit-{uuid.uuid4().hex[:10]}@{muc}"
    probe = _join(session, room, nick)
    probe.evidence.insert(0, seen)
    return probe


def _probe_focus(session: xmpp.Session, focus: str, muc: str) -> Probe:
    room = f"jsov-audit-{uuid.uuid4().hex[:10]}@{muc}"
    out = session.iq("set", focus, f"<conference xmlns='{NS_FOCUS}' room='{room}' "
                                   f"machine-uid='{uuid.uuid4().hex}'/>")
    if out.elem is None:
        return Probe("silent", f"conference request to {focus}: no answer")
    if out.error:
        if _absent(out):
            return Probe("absent", f"conference request to {focus}: {out.error} "
                                   "(no focus answers there)", [xmpp.show(out.elem, 600)])
        return Probe("refused", f"conference request to {focus} for {room}: refused "
                                f"({out.error})", [xmpp.show(out.elem, 600)])
    conf = xmpp.child(out.elem, "conference", NS_FOCUS)
    ready = conf.get("ready") if conf is not None else None
    return Probe("allowed", f"conference request to {focus} for {room}: accepted "
                            f"(ready={ready})", [xmpp.show(out.elem, 600)])


def _probe_brewery(session: xmpp.Session, domain: str, nick: str) -> Probe:
    seen: list[str] = []
    for pattern in BREWERY_SERVICES:
        service = pattern.format(domain=domain)
        there, line = _service(session, service)
        seen.append(line)
        if there:
            probe = _join(session, f"{BREWERY_ROOM}@{service}", nick)
            probe.evidence[:0] = seen
            return probe
    return Probe("absent", "no bridges' room service answers at "
                 + " or ".join(p.format(domain=domain) for p in BREWERY_SERVICES), seen)


def _extdisco(session: xmpp.Session, guest: Guest) -> None:
    errors = []
    for ns in NS_EXTDISCO:
        out = session.iq("get", session.domain, f"<services xmlns='{ns}'/>")
        if out.ok:
            services = xmpp.child(out.elem, "services", ns)
            guest.services = [dict(s.attrib) for s in (services if services is not None else [])
                              if xmpp.local(s.tag) == "service"]
            guest.services_ns = ns
            return
        errors.append(f"{ns}: {out.error or 'no answer'}")
    guest.services_error = "; ".join(errors)


def config(ctx: AuditContext):
    """config.js as served (ctx.config_js(), raises Skip)."""
    return ctx.config_js()


def domains(cfg: Any, ctx: AuditContext) -> tuple[str, str | None, str, str]:
    """(main domain, guest domain or None, conference MUC, focus) from config.js."""
    domain = cfg.get("hosts.domain")
    if not isinstance(domain, str) or not domain:
        raise Skip("config.js names no XMPP domain (hosts.domain)")
    guest = cfg.get("hosts.anonymousdomain")
    guest = guest if isinstance(guest, str) and guest and guest != domain else None
    muc = cfg.get("hosts.muc")
    muc = muc if isinstance(muc, str) and muc else f"conference.{domain}"
    focus = cfg.get("hosts.focus")
    focus = focus if isinstance(focus, str) and focus else f"focus.{domain}"
    return domain, guest, muc, focus


def _once(ctx: AuditContext, key: str) -> threading.Lock:
    """The lock that makes ``key`` once per audit, should areas run in threads."""
    with ctx._lock:
        return ctx.cache.setdefault(("lock", key), threading.Lock())


def main_login(ctx: AuditContext) -> Login:
    """The anonymous login attempt on the main domain (made once; its session closed)."""
    with _once(ctx, "access.main"):
        return _main_login(ctx)


def _main_login(ctx: AuditContext) -> Login:
    if "access.main" not in ctx.cache:
        cfg = config(ctx)
        login, session = anonymous_login(ctx, endpoints(ctx, cfg), domains(cfg, ctx)[0])
        if session is not None:
            session.close()
        ctx.cache["access.main"] = login
    return ctx.cache["access.main"]


def guest(ctx: AuditContext) -> Guest:
    """The guest session's findings (made once per audit). Raises Skip without config.js."""
    with _once(ctx, "access.guest"):
        return _guest(ctx)


def _guest(ctx: AuditContext) -> Guest:
    if "access.guest" in ctx.cache:
        return ctx.cache["access.guest"]
    cfg = config(ctx)
    domain, guest_domain, muc, focus = domains(cfg, ctx)
    eps = endpoints(ctx, cfg)
    g = Guest()
    session = None
    if guest_domain:
        g.login, session = anonymous_login(ctx, eps, guest_domain)
    if session is None and main_login(ctx).accepted:
        # The main domain lets anonymous users in: what can such a user do?
        g.login, session = anonymous_login(ctx, eps, domain)
    if session is None:
        g.error = "no anonymous session: " + (
            f"the guest domain {guest_domain} did not let one in" if guest_domain
            else "config.js names no guest domain (hosts.anonymousdomain)") + (
            f" and the main domain {domain} refused it")
        ctx.cache["access.guest"] = g
        return g
    g.jid = session.jid
    nick = f"jsov-audit-{uuid.uuid4().hex[:6]}"
    try:
        _extdisco(session, g)
        g.room = _probe_room(session, muc, nick)
        g.focus = _probe_focus(session, focus, muc)
        g.brewery = _probe_brewery(session, domain, nick)
    except (OSError, xmpp.XmppError) as exc:
        g.error = f"the guest session broke: {_describe(exc, ctx.target.timeout)}"
    finally:
        session.close()
    ctx.cache["access.guest"] = g
    return g


# ------------------------------------------------------------------ findings


def run(ctx: AuditContext) -> list[Finding]:
    t0 = time.monotonic()
    keys = [("main_anonymous", HIGH), ("mechanisms", MEDIUM), ("guest_domain", INFO),
            ("guest_room", HIGH), ("guest_focus", HIGH), ("guest_brewery", HIGH)]
    try:
        cfg = config(ctx)
        domain, guest_domain, muc, focus = domains(cfg, ctx)
        eps = endpoints(ctx, cfg)
    except Skip as exc:
        return [finding(k, SKIPPED, sev, reason=f"not checked: {exc}",
                        reason_fr=f"Non vérifié : {exc}") for k, sev in keys]
    main = main_login(ctx)
    g = guest(ctx)
    notes = eps.notes
    out = [_main_anonymous(main, notes), _mechanisms(main, eps),
           _guest_domain(g, guest_domain), _guest_probe("guest_room", g, g.room, muc),
           _guest_probe("guest_focus", g, g.focus, focus),
           _guest_probe("guest_brewery", g, g.brewery, domain)]
    for f in out:
        f.duration = (time.monotonic() - t0) / len(out)
    return out


def _main_anonymous(main: Login, notes: list[str]) -> Finding:
    ev = main.evidence() + notes
    params = {"domain": main.domain, "mechanisms": main.mechanisms, "accepted": main.accepted}
    if main.accepted:
        return finding("main_anonymous", FAILED, HIGH, evidence=ev, params=params,
                       reason=f"the server accepted an anonymous login on the main domain "
                              f"{main.domain}: anyone can open rooms",
                       reason_fr="Le serveur accepte une connexion anonyme sur le domaine "
                                 "principal : n'importe qui peut ouvrir une réunion.")
    if main.stream_closed:
        if main.condition in ("host-unknown", "improper-addressing"):
            return finding("main_anonymous", SKIPPED, HIGH, evidence=ev, params=params,
                           reason=f"the XMPP server does not serve {main.domain}, the domain "
                                  f"config.js names ({main.condition})",
                           reason_fr="Le serveur XMPP ne sert pas le domaine indiqué par "
                                     "config.js : la connexion n'a pas pu être essayée.")
        return finding("main_anonymous", PASSED, HIGH, evidence=ev, params=params)
    if main.accepted is None:
        return finding("main_anonymous", SKIPPED, HIGH, evidence=ev, params=params,
                       reason=f"the XMPP endpoint could not be used: {main.error}",
                       reason_fr="Le point de connexion XMPP du serveur n'a pas pu être "
                                 "utilisé (détail dans les preuves).")
    return finding("main_anonymous", PASSED, HIGH, evidence=ev, params=params)


def _mechanisms(main: Login, eps: Endpoints) -> Finding:
    ev = main.evidence()
    params = {"mechanisms": main.mechanisms}
    if main.accepted is None and not main.mechanisms:
        why = (f"the server ended the stream ({main.condition})" if main.stream_closed
               else f"the XMPP endpoint could not be used: {main.error}")
        return finding("mechanisms", SKIPPED, MEDIUM, evidence=ev, params=params,
                       reason=f"no mechanism list: {why}",
                       reason_fr="La liste des méthodes de connexion n'a pas pu être lue.")
    insecure = [ep for ep in eps.tried if not ep.secure]
    clear = [m for m in main.mechanisms if m.upper() in PASSWORD_MECHANISMS]
    ev.append("endpoints of config.js: " + ", ".join(
        f"{ep.kind} {ep.url} ({'encrypted' if ep.secure else 'NOT encrypted'})"
        for ep in eps.tried))
    if insecure and clear:
        return finding("mechanisms", FAILED, MEDIUM, evidence=ev, params=params,
                       reason=f"{', '.join(clear)} offered while config.js points the web app "
                              f"at an unencrypted endpoint ({insecure[0].url})",
                       reason_fr="Le serveur accepte un mot de passe envoyé sur une connexion "
                                 "non chiffrée.")
    return finding("mechanisms", PASSED, MEDIUM, evidence=ev, params=params)


def _guest_domain(g: Guest, guest_domain: str | None) -> Finding:
    if not guest_domain:
        return finding("guest_domain", SKIPPED, INFO,
                       reason="config.js names no guest domain (hosts.anonymousdomain): only "
                              "people with an account join meetings",
                       reason_fr="Aucun domaine invité n'est configuré : seules les personnes "
                                 "ayant un compte rejoignent les réunions.")
    login = g.login if g.login is not None and g.login.domain == guest_domain else None
    ev = login.evidence() if login else []
    params = {"domain": guest_domain, "accepted": login.accepted if login else None}
    if login is None or (login.accepted is None and not login.stream_closed):
        return finding("guest_domain", SKIPPED, INFO, evidence=ev, params=params,
                       reason=f"the guest domain {guest_domain} could not be tried: "
                              f"{login.error if login else g.error}",
                       reason_fr="Le domaine invité n'a pas pu être essayé.")
    if login.accepted:
        return finding("guest_domain", PASSED, INFO, evidence=ev, params=params)
    return finding("guest_domain", FAILED, MEDIUM, evidence=ev, params=params,
                   reason=f"config.js names the guest domain {guest_domain}, but the server "
                          f"refuses anonymous login there ({login.condition}): guests cannot "
                          "join",
                   reason_fr="config.js annonce un domaine invité, mais le serveur y refuse "
                             "la connexion anonyme : les invités ne peuvent pas entrer.")


_PROBE_WORDS = {
    "guest_room": ("the conference service {where}", "the guest created a room on {where}",
                   "Un invité a pu créer une réunion lui-même."),
    "guest_focus": ("Jitsi's focus {where}", "the focus accepted to start a conference for "
                    "the guest ({where})",
                    "Le service de conférence de Jitsi ouvre une réunion pour un invité."),
    "guest_brewery": ("the bridges' room of {where}", "the guest entered the bridges' room "
                      "(brewery) of {where}",
                      "Un invité est entré dans le salon de contrôle des ponts vidéo."),
}


def _guest_probe(key: str, g: Guest, probe: Probe | None, where: str) -> Finding:
    what, fail, fail_fr = (w.format(where=where) for w in _PROBE_WORDS[key])
    ev = ([f"as {g.jid} (anonymous on {g.login.domain})"] if g.jid and g.login else [])
    if probe is None:
        return finding(key, SKIPPED, HIGH, evidence=ev,
                       reason=f"not checked: {g.error or 'no guest session'}",
                       reason_fr="Non vérifié : aucune session d'invité n'a pu être ouverte "
                                 "(détail dans les preuves)." if not g.jid else
                                 "Non vérifié : la session d'invité s'est interrompue.")
    ev += [probe.detail, *probe.evidence]
    params = {"outcome": probe.outcome}
    if probe.outcome == "allowed":
        return finding(key, FAILED, HIGH, evidence=ev, params=params, reason=fail,
                       reason_fr=fail_fr)
    if probe.outcome == "refused" or (probe.outcome == "silent" and key == "guest_brewery"):
        # Jitsi's muc_filter_access drops a stranger's presence without a word.
        return finding(key, PASSED, HIGH, evidence=ev, params=params)
    if probe.outcome == "absent":
        reason = (f"{what} is not there: {probe.detail}; this needs Jitsi's own components "
                  "(jicofo, the videobridge and Jitsi's prosody modules), which this server "
                  "does not show from outside")
        return finding(key, SKIPPED, HIGH, evidence=ev, params=params, reason=reason,
                       reason_fr="Le service concerné ne répond pas sur ce serveur (il fait "
                                 "partie des composants de Jitsi) : rien à vérifier de "
                                 "l'extérieur.")
    return finding(key, SKIPPED, HIGH, evidence=ev, params=params,
                   reason=f"no conclusion: {probe.detail}",
                   reason_fr="Pas de conclusion possible : le serveur n'a pas répondu.")
