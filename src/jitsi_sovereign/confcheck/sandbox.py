"""The systemd sandboxes of the daemons the roles run (docs/design.md "Sandboxes").

Shared by the collection's sandbox filters (the roles render their drop-ins with it, on
the controller) and by verify's sandbox checks (the unit catalogue, the exposure parser).
"""

from __future__ import annotations

import re

# The units the roles sandbox: name -> (the role whose vars hold its profile, whether it
# is a long-running daemon that must restart after a crash; the others are oneshots run
# by their timer).
UNITS = {
    "prosody": ("prosody", True),
    "coturn": ("coturn", True),
    "nginx": ("nginx", True),
    "jicofo": ("jicofo", True),
    "jitsi-videobridge2": ("videobridge", True),
    "fail2ban": ("os_hardening", True),
    "certbot": ("tls", False),
    "unattended-upgrades": ("os_hardening", True),
    "apt-daily-upgrade": ("os_hardening", False),
}

# A unit that is not installed (Jitsi's in the lab) has its drop-in checked on this
# stand-in, in a temporary directory only (the files module on the host has a copy).
STAND_IN_UNIT = ("[Unit]\nDescription=stand-in to check a drop-in\nDefaultDependencies=no\n"
                 "[Service]\nExecStart=/bin/true\n")


def unit_names() -> list[str]:
    return sorted(f"{name}.service" for name in UNITS)


def long_running() -> list[str]:
    return sorted(f"{name}.service" for name, (_, daemon) in UNITS.items() if daemon)


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




# ------------------------------------------------------------------ systemd-analyze security
_OVERALL = re.compile(
    r"Overall exposure level for (?P<unit>\S+):\s*(?P<score>[0-9]+(?:[.][0-9]+)?)")


def parse_exposures(text: str) -> dict[str, float]:
    """{unit: exposure} from the text of `systemd-analyze security UNIT...` (one table and
    one "Overall exposure level for UNIT: N.N LABEL" line per unit; the same in systemd 252
    and 257, whose --json output carries the table but not the overall level)."""
    return {m["unit"]: float(m["score"]) for m in _OVERALL.finditer(text or "")}
