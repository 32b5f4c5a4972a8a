# jitsi-sovereign: the systemd sandbox of every daemon the roles run, written once.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sandbox drop-ins (docs/design.md "Sandboxes").

Each role that runs a daemon gives its unit's profile in its vars/main.yml::

    _coturn_sandbox:
      unit: coturn.service          # one of UNITS
      target: 4.0                   # systemd-analyze security exposure it must reach
      settings:                     # what this daemon needs on top of BASELINE
        ReadWritePaths: [-/var/lib/turn]
        RestrictAddressFamilies: [AF_INET, AF_INET6, AF_UNIX]

and writes ``{{ _coturn_sandbox | jitsi_sovereign.core.sandbox_dropin(overrides) }}`` as
``/etc/systemd/system/<unit>.d/jitsi-sovereign-sandbox.conf`` with jitsi_sovereign.core.files
(item option ``unit``: checked by ``systemd-analyze verify`` before it is written).

The user's word is the project-wide ``jitsi_sovereign_sandbox_overrides``, keyed by unit
name (``coturn`` or ``coturn.service``): ``{coturn: {MemoryDenyWriteExecute: false}}``. A
value replaces the profile's, ``null`` leaves the setting out (systemd's default). Every
preflight runs ``sandbox_rule``: an unknown unit name is refused with the known names.
``sandbox_state`` is what the role records in its state file for verify (the target and
which settings the user changed)."""

from __future__ import annotations

import re

# The units the roles sandbox: name -> the role whose vars hold its profile.
UNITS = {
    "prosody": "prosody",
    "coturn": "coturn",
    "nginx": "nginx",
    "jicofo": "jicofo",
    "jitsi-videobridge2": "videobridge",
    "fail2ban": "os_hardening",
    "certbot": "tls",
    "unattended-upgrades": "os_hardening",
    "apt-daily-upgrade": "os_hardening",
}

# What every sandboxed daemon gets unless its profile says otherwise (systemd.exec(5)).
# A profile loosens one with its own value (false, a wider list) or null (left out).
BASELINE = {
    "ProtectSystem": "strict",          # / read-only but the ReadWritePaths
    "ProtectHome": True,                # /home, /root, /run/user invisible
    "PrivateTmp": True,
    "PrivateDevices": True,             # no /dev/sd*, /dev/mem; drops CAP_MKNOD, CAP_SYS_RAWIO
    "NoNewPrivileges": True,            # no setuid gain
    "CapabilityBoundingSet": [],        # none: the profile lists what the daemon needs
    "RestrictAddressFamilies": ["AF_UNIX"],
    "RestrictNamespaces": True,
    "SystemCallFilter": ["@system-service"],
    "SystemCallErrorNumber": "EPERM",   # a refused call fails, the daemon is not killed
    "SystemCallArchitectures": "native",
    "ProtectKernelTunables": True,
    "ProtectKernelModules": True,
    "ProtectKernelLogs": True,
    "ProtectControlGroups": True,
    "ProtectClock": True,
    "ProtectHostname": True,
    "ProtectProc": "invisible",         # other users' processes invisible in /proc
    "LockPersonality": True,
    "RestrictRealtime": True,
    "RestrictSUIDSGID": True,
    "MemoryDenyWriteExecute": True,     # no JIT: the JVM profiles turn it off
    "UMask": "0027",
}

# List settings systemd merges across files: the drop-in resets them first ("Key="), so
# that what it says is the whole list whatever the unit or an earlier drop-in said.
_RESET_FIRST = {"CapabilityBoundingSet", "AmbientCapabilities", "RestrictAddressFamilies",
                "SystemCallFilter", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths"}
_NAME = re.compile(r"^[A-Z][A-Za-z0-9]+$")
_SCALAR = (str, bool, int, float)


def _unit_key(name) -> str:
    text = str(name)
    return text[:-len(".service")] if text.endswith(".service") else text


def _overrides_for(profile, overrides) -> dict:
    """The user's settings for this profile's unit ({} when none)."""
    unit = _unit_key(profile["unit"])
    found = {}
    for key, value in (overrides or {}).items():
        if _unit_key(key) == unit and isinstance(value, dict):
            found.update(value)
    return found


def sandbox_settings(profile, overrides=None) -> dict:
    """BASELINE, then the profile's settings, then the user's (null = left out)."""
    merged = dict(BASELINE) if profile.get("baseline", True) else {}
    merged.update(profile.get("settings") or {})
    merged.update(_overrides_for(profile, overrides))
    return {key: value for key, value in merged.items() if value is not None}


def _value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def sandbox_dropin(profile, overrides=None, header="") -> str:
    """The drop-in's text: [Service] with every setting, the user's marked as such."""
    mine = _overrides_for(profile, overrides)
    settings = sandbox_settings(profile, overrides)
    lines = [header.rstrip("\n")] if header else []
    lines += [
        f"# Sandbox of {profile['unit']} (docs/design.md \"Sandboxes\"): the project's baseline,",
        "# then what this daemon needs (its role's profile), then the inventory's",
        "# jitsi_sovereign_sandbox_overrides. `systemd-analyze security "
        f"{profile['unit']}` rates it;",
        f"# verify's target: exposure <= {profile['target']}.",
    ]
    for note in profile.get("notes") or []:
        lines.append(f"# {note}")
    left_out = sorted(k for k, v in mine.items() if v is None)
    if left_out:
        lines.append(f"# Left out by jitsi_sovereign_sandbox_overrides: {', '.join(left_out)}.")
    lines.append("[Service]")
    for key in sorted(settings):
        value = settings[key]
        if key in mine:
            lines.append("# set by jitsi_sovereign_sandbox_overrides")
        if key in _RESET_FIRST:
            lines.append(f"{key}=")
            if value in ([], ""):
                continue
        lines.append(f"{key}={_value(value)}")
    return "\n".join(lines) + "\n"


def sandbox_state(profile, overrides=None) -> dict:
    """What verify needs: the unit, its target and the user's changes (with what they
    replaced), plus whether the profile asks for Restart=."""
    mine = _overrides_for(profile, overrides)
    without = sandbox_settings(profile, None)
    return {
        "unit": profile["unit"],
        "target": float(profile["target"]),
        "dropin": f"/etc/systemd/system/{profile['unit']}.d/jitsi-sovereign-sandbox.conf",
        "restart": sandbox_settings(profile, overrides).get("Restart"),
        "overrides": {key: {"set": value, "instead_of": without.get(key)}
                      for key, value in sorted(mine.items())},
    }


def sandbox_rule(overrides) -> dict:
    """A preflight rule {ok, msg}: a mapping of known unit names to mappings of systemd
    setting names to a value (text, number, yes/no, a list of words, or null)."""
    known = ", ".join(sorted(UNITS))
    example = "e.g. jitsi_sovereign_sandbox_overrides: {coturn: {MemoryDenyWriteExecute: false}}"
    if overrides is None or overrides == "":
        return {"ok": True, "msg": ""}
    if not isinstance(overrides, dict):
        return {"ok": False, "msg": "jitsi_sovereign_sandbox_overrides must be a mapping of unit "
                                    f"names to settings (is {overrides!r}): {example}."}
    problems = []
    for unit, settings in overrides.items():
        if _unit_key(unit) not in UNITS:
            problems.append(f"unknown unit {str(unit)!r} (the sandboxed units are {known})")
            continue
        if not isinstance(settings, dict):
            problems.append(f"{unit}: a mapping of systemd settings is needed (is {settings!r})")
            continue
        for key, value in settings.items():
            if not _NAME.match(str(key)):
                problems.append(f"{unit}: {key!r} is not a systemd setting name "
                                "(e.g. ProtectSystem)")
            elif not (value is None or isinstance(value, _SCALAR)
                      or (isinstance(value, list) and all(isinstance(v, _SCALAR) for v in value))):
                problems.append(f"{unit}.{key}: a text, number, yes/no, list of words or null "
                                f"is needed (is {value!r})")
    if problems:
        return {"ok": False, "msg": "jitsi_sovereign_sandbox_overrides: " + "; ".join(problems)
                                    + f". Fix the inventory ({example})."}
    return {"ok": True, "msg": ""}


class FilterModule:
    def filters(self):
        return {"sandbox_dropin": sandbox_dropin, "sandbox_state": sandbox_state,
                "sandbox_rule": sandbox_rule, "sandbox_settings": sandbox_settings}
