"""What personal data a deployed server keeps, where and for how long, in plain words.

Read from what the roles leave on the host (``/etc/jitsi-sovereign/state/<role>.json``,
the same files the checks trust) and from the served configuration: journald's retention
(os_hardening), nginx's access log and its rotation, prosody's logs (token mode: the token
log's days), fail2ban's ban time, coturn's logging, config.js (rooms not stored, no
recording). Each item carries its evidence (the setting and the file), English words in
``data``/``where``/``retention`` and French ones in ``texts["fr"]``.

``items(host, states, config, extra)`` is pure (unit-tested on sample states); ``read``
gathers its inputs from a host through the checks' ``Target``.
"""

from __future__ import annotations

import re
from typing import Any

STATE_DIR = "/etc/jitsi-sovereign/state"
ROLES = ("os_hardening", "nginx", "prosody", "coturn", "jitsi_web")

_UNITS = {  # systemd / fail2ban time-span units -> (seconds, en singular, fr singular)
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
    "month": 2630016, "months": 2630016, "M": 2630016,
    "y": 31557600, "year": 31557600, "years": 31557600,
}
_WORDS = {  # seconds -> {lang: (singular, plural)}
    31557600: {"en": ("year", "years"), "fr": ("an", "ans")},
    2630016: {"en": ("month", "months"), "fr": ("mois", "mois")},
    604800: {"en": ("week", "weeks"), "fr": ("semaine", "semaines")},
    86400: {"en": ("day", "days"), "fr": ("jour", "jours")},
    3600: {"en": ("hour", "hours"), "fr": ("heure", "heures")},
    60: {"en": ("minute", "minutes"), "fr": ("minute", "minutes")},
    1: {"en": ("second", "seconds"), "fr": ("seconde", "secondes")},
}


def span_seconds(span: Any) -> int | None:
    """``30day``, ``2week``, ``1h``, ``10m``, ``600`` (seconds) -> seconds; None if unknown."""
    text = str(span).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    total = 0
    parts = re.findall(r"(\d+)\s*([A-Za-z]+)", text)
    if not parts or re.sub(r"[\d\sA-Za-z]", "", text):
        return None
    for number, unit in parts:
        factor = _UNITS.get(unit) or _UNITS.get(unit.lower())
        if factor is None:
            return None
        total += int(number) * factor
    return total


def duration_words(seconds: int, lang: str) -> str:
    """86400 * 30 -> "30 days" / "30 jours"; the largest unit that divides it."""
    for unit, words in _WORDS.items():
        if seconds >= unit and seconds % unit == 0:
            n = seconds // unit
            one, many = words.get(lang, words["en"])
            return f"{n} {one if n == 1 else many}"
    return f"{seconds} s"


def span_words(span: Any, lang: str) -> str:
    seconds = span_seconds(span)
    return duration_words(seconds, lang) if seconds is not None else str(span)


def _item(host: str, ident: str, en: tuple[str, str, str], fr: tuple[str, str, str],
          evidence: list[str]) -> dict[str, Any]:
    return {"id": ident, "host": host, "data": en[0], "where": en[1], "retention": en[2],
            "evidence": evidence,
            "texts": {"fr": {"data": fr[0], "where": fr[1], "retention": fr[2]}}}


def _state_file(role: str) -> str:
    return f"{STATE_DIR}/{role}.json"


def _missing(host: str, role: str, what_en: str, what_fr: str) -> dict[str, Any]:
    return _item(host, f"{role}.unknown",
                 (what_en, "on the server", f"not known: the {role} role has not run on this "
                  "host (its state file is missing)"),
                 (what_fr, "sur le serveur", f"inconnu : le rôle {role} n'a pas été appliqué "
                  "sur ce serveur (son fichier d'état manque)"),
                 [f"{_state_file(role)}: missing"])


def journald_item(host: str, osh: dict | None) -> tuple[dict[str, Any], str | None]:
    """The system journal; also returns its retention span (coturn logs there)."""
    data = ("System logs: messages of the services, including the IP addresses of refused "
            "connections and failed logins",
            "Journaux du système : messages des services, dont les adresses IP des connexions "
            "refusées et des échecs de connexion")
    if osh is None:
        return _missing(host, "os_hardening", *data), None
    area = (osh.get("areas") or {}).get("journald") or {}
    jd = osh.get("journald") or {}
    where = ("on the server (/var/log/journal)", "sur le serveur (/var/log/journal)")
    if not area.get("applied") or not jd.get("max_retention"):
        why = area.get("skipped_reason") or "no retention recorded"
        return _item(host, "journald", (data[0], where[0],
                                        f"not limited in time by this deployment ({why}): "
                                        "only by the journal's disk space"),
                     (data[1], where[1], f"pas de durée limite fixée par ce déploiement ({why}) :"
                      " seulement la place disque du journal"),
                     [f"{_state_file('os_hardening')}: areas.journald = {area}"]), None
    span = jd["max_retention"]
    size = jd.get("system_max_use")
    en = f"{span_words(span, 'en')} at most, then deleted"
    fr = f"{span_words(span, 'fr')} au plus, puis effacés"
    if size:
        en += f" (and {size} in all)"
        fr += f" (et {size} au total)"
    return _item(host, "journald", (data[0], where[0], en), (data[1], where[1], fr),
                 [f"{_state_file('os_hardening')}: journald.max_retention = {span}, "
                  f"journald.system_max_use = {size}, storage = {jd.get('storage')}",
                  "/etc/systemd/journald.conf.d/50-jitsi-sovereign.conf: "
                  f"MaxRetentionSec={span}"]), span


def nginx_items(host: str, ngx: dict | None) -> list[dict[str, Any]]:
    if ngx is None:
        return [_missing(host, "nginx", "Web server logs", "Journaux du serveur web")]
    mode = str(ngx.get("access_log", "off"))
    days = ngx.get("log_retention_days")
    log_dir = ngx.get("log_dir", "/var/log/nginx/jitsi-sovereign")
    ev = [f"{_state_file('nginx')}: access_log = {mode}, log_retention_days = {days}, "
          f"log_dir = {log_dir}",
          f"/etc/logrotate.d/jitsi-sovereign-nginx: daily, rotate {days}, maxage {days}"]
    kept_en = f"{days} days, then deleted" if days else "as long as Debian's log rotation keeps it"
    kept_fr = f"{days} jours, puis effacé" if days else "selon la rotation des journaux de Debian"
    where = (f"on the server ({log_dir})", f"sur le serveur ({log_dir})")
    if mode == "off":
        access = _item(
            host, "nginx.access_log",
            ("Web server access log: the participants' IP addresses are not recorded in the "
             "web server's logs", "nowhere (access log off)", "not kept"),
            ("Journal des accès au site : les adresses IP des participants ne sont pas "
             "enregistrées dans les journaux du serveur web", "nulle part (journal des accès "
             "désactivé)", "non conservé"), ev)
    elif mode == "anonymized":
        access = _item(
            host, "nginx.access_log",
            ("Web server access log with shortened addresses (IPv4 without its last number, "
             "IPv6 without its last 80 bits), the time and the page, without browser or "
             "referring page", where[0], kept_en),
            ("Journal des accès au site avec des adresses tronquées (IPv4 sans son dernier "
             "nombre, IPv6 sans ses 80 derniers bits), l'heure et la page, sans navigateur ni "
             "page d'origine", where[1], kept_fr), ev)
    else:
        access = _item(
            host, "nginx.access_log",
            ("Web server access log: full IP addresses of the participants, the pages asked "
             "for, their browser", where[0], kept_en),
            ("Journal des accès au site : adresses IP complètes des participants, pages "
             "demandées, navigateur utilisé", where[1], kept_fr), ev)
    errors = _item(
        host, "nginx.error_log",
        ("Web server error log: a request that fails is written with the visitor's IP "
         "address", where[0], kept_en),
        ("Journal des erreurs du site : une requête en erreur y figure avec l'adresse IP du "
         "visiteur", where[1], kept_fr), [*ev[1:], f"{log_dir}/error.log"])
    return [access, errors]


def _logrotate(text: str) -> tuple[str | None, int | None]:
    """(frequency, rotate count) of the first block of a logrotate file."""
    freq = re.search(r"^\s*(daily|weekly|monthly|yearly)\b", text, re.M)
    rotate = re.search(r"^\s*rotate\s+(\d+)", text, re.M)
    return (freq.group(1) if freq else None, int(rotate.group(1)) if rotate else None)


def prosody_items(host: str, pro: dict | None, logrotate_text: str | None) -> list[dict]:
    if pro is None:
        return [_missing(host, "prosody", "Messaging server logs",
                         "Journaux du serveur de messagerie")]
    token = pro.get("token_log")
    if pro.get("auth") == "token" and token:
        days = token.get("days")
        return [_item(
            host, "prosody.token_log",
            ("Messaging server warnings and errors, including refused login tokens whole "
             "(a token may carry a person's name and e-mail address)",
             f"on the server ({token.get('path')})", f"{days} days, then deleted"),
            ("Avertissements et erreurs du serveur de messagerie, dont les jetons de connexion "
             "refusés en entier (un jeton peut contenir le nom et l'adresse e-mail d'une "
             "personne)", f"sur le serveur ({token.get('path')})", f"{days} jours, puis effacés"),
            [f"{_state_file('prosody')}: auth = token, token_log.days = {days}",
             f"{token.get('logrotate')}: daily, rotate {days}"])]
    ev = [f"{_state_file('prosody')}: auth = {pro.get('auth')}; prosody.cfg.lua: log = "
          "{ warn = /var/log/prosody/prosody.log, error = /var/log/prosody/prosody.err }"]
    freq, count = _logrotate(logrotate_text or "")
    if freq and count:
        unit = {"daily": 86400, "weekly": 604800, "monthly": 2630016, "yearly": 31557600}[freq]
        en, fr = (f"about {duration_words(unit * count, 'en')} (Debian's log rotation: "
                  f"{freq}, {count} kept)",
                  f"environ {duration_words(unit * count, 'fr')} (rotation des journaux de "
                  f"Debian : {count} fichiers conservés)")
        ev.append(f"/etc/logrotate.d/prosody: {freq}, rotate {count}")
    else:
        en = "as long as Debian's log rotation keeps them (/etc/logrotate.d/prosody)"
        fr = "selon la rotation des journaux de Debian (/etc/logrotate.d/prosody)"
        ev.append("/etc/logrotate.d/prosody: not read")
    return [_item(
        host, "prosody.log",
        ("Messaging server warnings and errors only: no record of each login; an error may "
         "name an account or an address", "on the server (/var/log/prosody)", en),
        ("Avertissements et erreurs du serveur de messagerie uniquement : pas de trace de "
         "chaque connexion ; une erreur peut citer un compte ou une adresse",
         "sur le serveur (/var/log/prosody)", fr), ev)]


def fail2ban_item(host: str, osh: dict | None, dbpurgeage: str | None) -> dict | None:
    if osh is None:
        return None
    area = (osh.get("areas") or {}).get("fail2ban") or {}
    if not area.get("applied"):
        return None
    f2b = osh.get("fail2ban") or {}
    bantime = f2b.get("bantime")
    ev = [f"{_state_file('os_hardening')}: fail2ban.bantime = {bantime}, findtime = "
          f"{f2b.get('findtime')}, maxretry = {f2b.get('maxretry')}",
          "/etc/fail2ban/jail.d/jitsi-sovereign.local"]
    en = f"blocked for {span_words(bantime, 'en')}, then released"
    fr = f"bloquées pendant {span_words(bantime, 'fr')}, puis libérées"
    if dbpurgeage:
        en += f"; fail2ban's record of past bans is kept {span_words(dbpurgeage, 'en')}"
        fr += (f" ; l'historique des blocages de fail2ban est conservé "
               f"{span_words(dbpurgeage, 'fr')}")
        ev.append(f"fail2ban-client get dbpurgeage: {dbpurgeage}")
    return _item(
        host, "fail2ban",
        ("IP addresses of attackers (repeated failed logins to the administration access)",
         "on the server (fail2ban and the firewall's block list)", en),
        ("Adresses IP des attaquants (échecs de connexion répétés à l'accès d'administration)",
         "sur le serveur (fail2ban et la liste de blocage du pare-feu)", fr), ev)


def coturn_item(host: str, cot: dict | None, journal_span: str | None) -> dict | None:
    if cot is None:
        return None
    log = str(cot.get("log", ""))
    ev = [f"{_state_file('coturn')}: log = {log}", "/etc/turnserver.conf: syslog, no-stdout-log"]
    if journal_span:
        en = f"as long as the system logs: {span_words(journal_span, 'en')} at most"
        fr = ("aussi longtemps que les journaux du système : "
              f"{span_words(journal_span, 'fr')} au plus")
    else:
        en = "as long as the system logs"
        fr = "aussi longtemps que les journaux du système"
    return _item(
        host, "coturn",
        ("Audio and video relay sessions: the IP addresses of participants whose connection "
         "needs the relay", "in the system logs only (no log file of its own)", en),
        ("Sessions du relais audio et vidéo : adresses IP des participants dont la connexion "
         "passe par le relais", "dans les journaux du système uniquement (aucun fichier à "
         "part)", fr), ev)


def _get(config: dict, dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def meeting_items(host: str, web: dict | None, config: dict | None,
                  config_error: str | None = None) -> list[dict[str, Any]]:
    """Meetings' content (no recording) and room names (not stored), from config.js."""
    if web is None:
        return [_missing(host, "jitsi_web", "Meeting content and room names",
                         "Contenu des réunions et noms des salles")]
    path = web.get("config_js", "config.js")
    if config is None:
        why = config_error or "not read"
        return [_item(host, "meetings",
                      ("Meeting content (audio, video, chat) and room names", "unknown",
                       f"not known: {path} could not be read ({why})"),
                      ("Contenu des réunions (son, image, discussion) et noms des salles",
                       "inconnu", f"inconnu : {path} n'a pas pu être lu ({why})"),
                      [f"{path}: {why}"])]
    settings = {k: _get(config, k) for k in (
        "recordingService.enabled", "fileRecordingsEnabled", "localRecording.disable",
        "liveStreaming.enabled", "transcription.enabled", "doNotStoreRoom")}
    ev = [f"{path}: " + ", ".join(f"{k} = {_js(v)}" for k, v in settings.items()
                                    if v is not None),
          "no recording service (Jibri) is deployed by jitsi-sovereign"]
    recording = (settings["recordingService.enabled"] is True
                 or settings["fileRecordingsEnabled"] is True
                 or settings["liveStreaming.enabled"] is True
                 or settings["transcription.enabled"] is True)
    if recording:
        content = _item(host, "meetings.content",
                        ("Meeting content (audio, video, chat)",
                         "recording, live streaming or transcription is switched on in the web "
                         "app", "depends on the recording service: not part of this deployment"),
                        ("Contenu des réunions (son, image, discussion)",
                         "l'enregistrement, la diffusion en direct ou la transcription est "
                         "activé dans l'application", "dépend du service d'enregistrement : "
                         "hors de ce déploiement"), ev)
    else:
        content = _item(host, "meetings.content",
                        ("Meeting content (audio, video, chat): not recorded",
                         "nowhere: relayed live between participants, never written to disk",
                         "not kept (recording, live streaming and transcription are off)"),
                        ("Contenu des réunions (son, image, discussion) : pas d'enregistrement",
                         "nulle part : relayé en direct entre les participants, jamais écrit "
                         "sur disque", "non conservé (enregistrement, diffusion en direct et "
                         "transcription désactivés)"), ev)
    stored = settings["doNotStoreRoom"] is not True
    rooms = _item(host, "meetings.rooms",
                  ("Names of the rooms a participant joined",
                   "in the participant's browser (recent rooms list)" if stored else
                   "nowhere: not kept in the participant's browser",
                   "until the participant clears it" if stored else "not kept"),
                  ("Noms des salles rejointes par un participant",
                   "dans le navigateur du participant (liste des salles récentes)" if stored
                   else "nulle part : pas gardés dans le navigateur du participant",
                   "jusqu'à ce que le participant l'efface" if stored else "non conservés"),
                  [f"{path}: doNotStoreRoom = {_js(settings['doNotStoreRoom'])}"])
    return [content, rooms]


def _js(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def items(host: str, states: dict[str, dict | None], *, config: dict | None = None,
          config_error: str | None = None, prosody_logrotate: str | None = None,
          fail2ban_dbpurgeage: str | None = None) -> list[dict[str, Any]]:
    """The personal-data items of one host, from its state files and served config.js."""
    journal, span = journald_item(host, states.get("os_hardening"))
    out = [journal]
    out += nginx_items(host, states.get("nginx"))
    out += prosody_items(host, states.get("prosody"), prosody_logrotate)
    for item in (fail2ban_item(host, states.get("os_hardening"), fail2ban_dbpurgeage),
                 coturn_item(host, states.get("coturn"), span)):
        if item is not None:
            out.append(item)
    out += meeting_items(host, states.get("jitsi_web"), config, config_error)
    return out


def fail2ban_value(output: str) -> str | None:
    """``fail2ban-client get dbpurgeage`` prints "`- 86400seconds" (fail2ban 1.1): the value."""
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    return re.sub(r"^[`|\-\s]+", "", lines[-1]).strip() or None


def read(target: Any) -> list[dict[str, Any]]:
    """The items of the host behind a ``checks.target.Target`` (state reads are cached:
    the checks read the same files). A host without a domain has no meeting stack: only
    the system's items. Never raises: what cannot be read is said in the item."""
    from jitsi_sovereign.confcheck import configjs

    meeting = bool((target.spec.vars or {}).get("jitsi_sovereign_domain"))
    states: dict[str, dict | None] = {}
    for role in ROLES if meeting else ("os_hardening",):
        try:
            states[role] = target.read_state(role)
        except Exception:  # connection lost or unreadable: said as "missing"
            states[role] = None
    config = config_error = logrotate = purge = None
    web = states.get("jitsi_web")
    if web and web.get("config_js"):
        try:
            result = target.run("cat %s", web["config_js"])
            config = configjs.parse(result.stdout).config if result.rc == 0 else None
            config_error = None if result.rc == 0 else (result.stderr.strip() or "unreadable")
        except Exception as exc:
            config_error = f"{type(exc).__name__}: {exc}"
    if meeting:
        try:
            r = target.run("cat /etc/logrotate.d/prosody")
            logrotate = r.stdout if r.rc == 0 else None
        except Exception:
            logrotate = None
    try:
        r = target.run("fail2ban-client get dbpurgeage")
        purge = fail2ban_value(r.stdout) if r.rc == 0 else None
    except Exception:
        purge = None
    if not meeting:
        journal, _ = journald_item(target.name, states.get("os_hardening"))
        extra = fail2ban_item(target.name, states.get("os_hardening"), purge)
        return [journal] + ([extra] if extra else [])
    return items(target.name, states, config=config, config_error=config_error,
                 prosody_logrotate=logrotate, fail2ban_dbpurgeage=purge)
