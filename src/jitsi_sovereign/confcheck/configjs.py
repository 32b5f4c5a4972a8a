"""Jitsi Meet's config.js read with a real ECMAScript parser (esprima), key by key.

Used twice: on the controller before the file is written (the filter plugin
playbooks/filter_plugins/configjs.py, role jitsi_web), and by the outside check on the
file the HTTPS front serves (checks/test_jitsi_web.py).

* ``parse(text)`` -> ``ConfigJs``: the ``var config = {...}`` object literal as a plain
  dict (only literal values: strings, numbers, booleans, null, arrays, objects; a
  computed value, a function or any statement besides the declaration is an error:
  the checks would not know what the browser gets), and every host named in any
  string literal of the program (URLs, protocol-relative ``//host``, ``stun:``/``turn:``
  URIs, JIDs, bare host names).
* ``foreign_hosts(hosts, domain)``: the hosts that are neither the domain nor under it.
* ``problems(config, promises)``: the baseline (no third party: hard-coded here) and
  the role's promises (values from its state file), each problem naming its key.

``ConfigJsError`` carries a message that names the line and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import esprima

# Sentinel of a key that must not be set at all.
ABSENT = object()

# Keys that would make the browser talk to a third party (or hand data to one), by
# config.js's own names: they must not appear, whatever their value.
FORBIDDEN_KEYS = [
    "deploymentUrls", "callStatsID", "callStatsSecret", "callStatsConfigParams",
    "callStatsCustomScriptUrl", "testing.callStatsThreshold", "watchRTCConfigParams",
    "analytics.scriptURLs", "analytics.googleAnalyticsTrackingId", "analytics.matomoEndpoint",
    "analytics.matomoSiteID", "analytics.amplitudeAPPKey", "analytics.rtcstatsEndpoint",
    "analytics.rtcstatsUseLegacy", "dropbox", "googleApiApplicationClientID",
    "microsoftApiApplicationClientID", "etherpad_base", "dialInNumbersUrl", "dialInConfCodeUrl",
    "dialOutAuthUrl", "dialOutCodesUrl", "dialOutRegionUrl", "peopleSearchUrl",
    "inviteServiceUrl", "chromeExtensionBanner", "dynamicBrandingUrl", "brandingDataUrl",
    "salesforceUrl", "gravatarBaseURL", "gravatar.baseUrl", "corsAvatarURLs", "giphy.sdkKey",
    "giphy.proxyUrl", "whiteboard.collabServerBaseUrl", "moderatedRoomServiceUrl",
    "deploymentInfo",
]

# Toolbar buttons that open a third-party service (YouTube, app stores, jitsi.org's
# help and feedback, external whiteboard and pad, recording/streaming services).
THIRD_PARTY_BUTTONS = ["sharedvideo", "download", "help", "feedback", "livestreaming",
                       "recording", "linktosalesforce", "whiteboard", "etherpad",
                       "closedcaptions"]

# Hard-coded baseline: (dotted key, wanted value, why). ABSENT = must not be set.
BASELINE: list[tuple[str, Any, str]] = [
    ("disableThirdPartyRequests", True, "no request to another server"),
    ("gravatar.disabled", True, "no avatar fetched from Gravatar"),
    ("analytics.disabled", True, "no analytics"),
    ("analytics.rtcstatsEnabled", False, "no rtcstats upload"),
    ("analytics.watchRTCEnabled", False, "no watchRTC upload"),
    ("doNotStoreRoom", True, "room names not kept in the browser's recent list"),
    ("prejoinConfig.enabled", True, "the prejoin page (device check, name) before joining"),
    ("requireDisplayName", True, "a display name before joining"),
    ("enableCalendarIntegration", False, "no Google/Microsoft calendar"),
    ("giphy.enabled", False, "no GIPHY"),
    ("whiteboard.enabled", False, "no external whiteboard server"),
    ("liveStreaming.enabled", False, "no YouTube live streaming"),
    ("recordingService.enabled", False, "no recording service"),
    ("transcription.enabled", False, "no transcription service"),
    ("deeplinking.disabled", True, "no hand-off to the app stores' apps"),
    ("securityUi.hideLobbyButton", False, "moderators can turn the lobby on"),
    ("lobby.autoKnock", False, "a guest knocks on purpose"),
]


class ConfigJsError(ValueError):
    """config.js cannot be read as plain data (syntax error, computed value, ...)."""


@dataclass
class ConfigJs:
    config: dict
    hosts: dict[str, list[str]] = field(default_factory=dict)  # host -> keys/strings naming it


# ------------------------------------------------------------------ parsing


def parse(text: str, name: str = "config") -> ConfigJs:
    """The ``var <name> = {...}`` object literal as a dict, and the hosts it names."""
    try:
        program = esprima.parseScript(text, {"loc": True})
    except esprima.Error as exc:  # esprima.Error is its ParseError
        raise ConfigJsError(f"syntax error: {exc}") from exc
    found = None
    for stmt in program.body:
        line = stmt.loc.start.line
        if stmt.type == "EmptyStatement":
            continue
        if (stmt.type == "VariableDeclaration" and len(stmt.declarations) == 1
                and stmt.declarations[0].id.type == "Identifier"
                and stmt.declarations[0].id.name == name and found is None):
            init = stmt.declarations[0].init
            if init is None or init.type != "ObjectExpression":
                raise ConfigJsError(f"line {line}: `var {name}` is not an object literal")
            found = init
            continue
        raise ConfigJsError(
            f"line {line}: a {stmt.type} besides `var {name} = {{...}}`: the file must be "
            f"that declaration only (the checks read the object literal key by key)")
    if found is None:
        raise ConfigJsError(f"no `var {name} = {{...}}` declaration")
    hosts: dict[str, list[str]] = {}
    config = _value(found, name, hosts)
    return ConfigJs(config, hosts)


def _key(prop: Any, where: str) -> str:
    if prop.computed:
        raise ConfigJsError(f"line {prop.loc.start.line}: computed key in {where}")
    if prop.key.type == "Identifier":
        return prop.key.name
    if prop.key.type == "Literal" and isinstance(prop.key.value, (str, int, float)):
        return str(prop.key.value) if not isinstance(prop.key.value, float) \
            else str(int(prop.key.value)) if prop.key.value.is_integer() else str(prop.key.value)
    raise ConfigJsError(f"line {prop.loc.start.line}: key of type {prop.key.type} in {where}")


def _value(node: Any, where: str, hosts: dict[str, list[str]]) -> Any:
    line = node.loc.start.line
    kind = node.type
    if kind == "ObjectExpression":
        out: dict[str, Any] = {}
        for prop in node.properties:
            if prop.type != "Property" or prop.kind != "init" or prop.method:
                raise ConfigJsError(f"line {prop.loc.start.line}: {prop.type} in {where} "
                                    "(only `key: value` pairs)")
            key = _key(prop, where)
            if key in out:
                raise ConfigJsError(f"line {prop.loc.start.line}: {where}.{key} is set twice")
            out[key] = _value(prop.value, f"{where}.{key}", hosts)
        return out
    if kind == "ArrayExpression":
        return [_value(el, f"{where}[{i}]", hosts) if el is not None else None
                for i, el in enumerate(node.elements)]
    if kind == "Literal":
        if getattr(node, "regex", None):
            raise ConfigJsError(f"line {line}: {where} is a regular expression")
        if isinstance(node.value, str):
            for host in hosts_in(node.value):
                hosts.setdefault(host, []).append(where)
        return node.value
    if kind == "TemplateLiteral" and not node.expressions:
        text = "".join(q.value.cooked for q in node.quasis)
        for host in hosts_in(text):
            hosts.setdefault(host, []).append(where)
        return text
    if kind == "UnaryExpression" and node.operator in "-+" and node.argument.type == "Literal" \
            and isinstance(node.argument.value, (int, float)):
        return -node.argument.value if node.operator == "-" else node.argument.value
    if kind == "Identifier" and node.name == "undefined":
        return None
    raise ConfigJsError(f"line {line}: {where} is a {kind}, not a literal value "
                        "(the checks must see what the browser gets)")


# ------------------------------------------------------------------ hosts

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = rf"(?:{_LABEL}\.)+[a-z][a-z0-9-]{{0,61}}[a-z0-9]"  # a top-level label of 2+
_IP4 = r"\d{1,3}(?:\.\d{1,3}){3}"
_ANY_HOST = rf"(\[[0-9a-f:.]+\]|{_IP4}|{_HOST}|{_LABEL})"
_URL_RE = re.compile(rf"(?:[a-z][a-z0-9+.-]*:)?//(?:[^/@\s]*@)?{_ANY_HOST}", re.IGNORECASE)
_ICE_RE = re.compile(rf"\b(?:stuns?|turns?):{_ANY_HOST}", re.IGNORECASE)
_JID_RE = re.compile(rf"[a-z0-9._%+-]+@({_HOST})", re.IGNORECASE)
_BARE_RE = re.compile(rf"^(?:{_HOST}|{_IP4})(?::\d+)?$", re.IGNORECASE)


def hosts_in(text: str) -> set[str]:
    """Every host a string names: URLs (any scheme, or ``//host``), ``stun:``/``turn:``
    URIs, JIDs, and each whitespace-separated word that is a host name (``a.b.tld``)."""
    found = {m.group(1) for m in _URL_RE.finditer(text)}
    found |= {m.group(1) for m in _ICE_RE.finditer(text)}
    found |= {m.group(1) for m in _JID_RE.finditer(text)}
    for word in re.split(r"[\s,;()<>\"']+", text):
        word = word.rstrip(".")
        if _BARE_RE.match(word):
            found.add(word.rsplit(":", 1)[0] if re.search(r":\d+$", word) else word)
    return {h.strip("[]").lower().rstrip(".") for h in found}


def foreign_hosts(hosts: dict[str, list[str]] | set[str], domain: str) -> list[str]:
    """Hosts that are neither ``domain`` nor a name under it."""
    domain = domain.lower().rstrip(".")
    return sorted(h for h in hosts if h != domain and not h.endswith("." + domain))


# ------------------------------------------------------------------ values


def get(config: dict, dotted: str) -> Any:
    """``config['a']['b']`` for ``'a.b'``; ABSENT when a part is missing."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return ABSENT
        node = node[part]
    return node


def expected(domain: str, *, guest_domain: str | None, e2ee: str, language: str,
             stun_port: int = 3478, lobby_chat: bool = True) -> dict[str, Any]:
    """The promised values (dotted key -> value) of the role's settings."""
    out: dict[str, Any] = {
        "hosts.domain": domain,
        "hosts.muc": f"conference.{domain}",
        "hosts.anonymousdomain": guest_domain if guest_domain else ABSENT,
        "bosh": f"//{domain}/http-bind",
        "websocket": f"wss://{domain}/xmpp-websocket",
        "p2p.stunServers": [{"urls": f"stun:{domain}:{stun_port}"}],
        "defaultLanguage": language,
        "lobby.enableChat": bool(lobby_chat),
    }
    if e2ee == "forbidden":
        out["e2ee.disabled"] = True
        out["testing.disableE2EE"] = True
    else:
        out["e2ee.disabled"] = False
        out["testing.disableE2EE"] = ABSENT
    return out


def _show(value: Any) -> str:
    return "not set" if value is ABSENT else repr(value)


def problems(config: dict, promises: dict[str, Any] | None = None) -> list[str]:
    """Everything that differs from the baseline and the promises, one line per key."""
    out = []
    for key, want, why in BASELINE:
        got = get(config, key)
        if got != want:
            out.append(f"{key} is {_show(got)}, must be {want!r} ({why})")
    for key in FORBIDDEN_KEYS:
        got = get(config, key)
        if got is not ABSENT:
            out.append(f"{key} is set ({got!r}): it sends data to, or loads from, a third party")
    buttons = get(config, "toolbarButtons")
    if not isinstance(buttons, list):
        out.append(f"toolbarButtons is {_show(buttons)}: it must list the buttons (unset = every "
                   "button, third-party ones included)")
    else:
        bad = sorted(set(buttons) & set(THIRD_PARTY_BUTTONS))
        if bad:
            out.append(f"toolbarButtons has {bad}: they open a third-party service")
    for key, want in (promises or {}).items():
        got = get(config, key)
        if want is ABSENT:
            if got is not ABSENT:
                out.append(f"{key} is {got!r}, must not be set")
        elif got != want:
            out.append(f"{key} is {_show(got)}, promised {want!r}")
    return out


def check(text: str, domain: str, promises: dict[str, Any] | None = None) -> ConfigJs:
    """Parse, then raise ConfigJsError listing every foreign host and every wrong key."""
    parsed = parse(text)
    issues = []
    foreign = foreign_hosts(parsed.hosts, domain)
    if foreign:
        issues.append("hosts other than " + domain + " and its subdomains: "
                      + "; ".join(f"{h} (in {', '.join(sorted(set(parsed.hosts[h])))})"
                                  for h in foreign))
    issues += problems(parsed.config, promises)
    if issues:
        raise ConfigJsError("config.js: " + " | ".join(issues))
    return parsed


def promises_from_state(state: dict) -> dict[str, Any]:
    """jitsi_web.json -> the promises of ``expected`` (the state holds plain JSON)."""
    return expected(state["domain"], guest_domain=state.get("guest_domain") or None,
                    e2ee=state["e2ee"], language=state["default_language"],
                    stun_port=int(state.get("stun_port", 3478)),
                    lobby_chat=bool(state.get("lobby_chat", True)))
