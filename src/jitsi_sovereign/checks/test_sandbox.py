"""Sandboxes: each daemon's systemd sandbox meets its exposure target, and restarts.

The roles record each unit's sandbox in their state files (``sandbox``: the unit, its
target exposure, the drop-in, the user's overrides with what they replaced; os_hardening
a list of them). One ``systemd-analyze security`` for every installed unit gives the
exposures (its text's "Overall exposure level" line: the --json output of systemd 252
and 257 has no overall level); one ``systemd-analyze verify`` checks the drop-ins as
systemd reads them (Jitsi's units, not installed in the lab, on a stand-in unit in a
temporary directory, as the deploy did). A unit above its target fails with its
exposure, the target and the settings jitsi_sovereign_sandbox_overrides loosened.
"""

from __future__ import annotations

import shlex

import pytest

from jitsi_sovereign.checks.helpers import jitsi_service_skip, run_ok
from jitsi_sovereign.checks.parsers import parse_systemctl_show
from jitsi_sovereign.confcheck import sandbox

# The roles whose state files may record a sandbox.
ROLES = ("os_hardening", "tls", "nginx", "prosody", "coturn", "jicofo", "videobridge")
JITSI_UNITS = {"jicofo.service", "jitsi-videobridge2.service"}
SEP = "=====jsov-sandbox====="


def _entries(state) -> list[dict]:
    found = (state or {}).get("sandbox")
    if isinstance(found, dict):
        return [found]
    return [e for e in found or [] if isinstance(e, dict)]


@pytest.fixture(scope="module")
def sandboxes(target) -> dict[str, dict]:
    """{unit: its state-file entry} over every role's state file."""
    found = {}
    for role in ROLES:
        for entry in _entries(target.read_state(role)):
            found[entry["unit"]] = {**entry, "role": role}
    return found


@pytest.fixture(scope="module")
def host_units(target, sandboxes) -> dict:
    """systemd's view of the recorded units, their exposures and the verify of their
    drop-ins: one command on the host."""
    names = sorted(sandboxes)
    if not names:
        return {"show": {}, "exposure": {}, "verify": ""}
    quoted = " ".join(shlex.quote(n) for n in names)
    script = (
        f"systemctl show -p Id,LoadState,Restart,DropInPaths {quoted}; echo {SEP}; "
        f"loaded=$(for u in {quoted}; do [ \"$(systemctl show -P LoadState $u)\" = loaded ] "
        "&& echo $u; done); "
        "[ -n \"$loaded\" ] && systemd-analyze security --no-pager $loaded 2>&1 | "
        f"grep 'Overall exposure'; echo {SEP}; "
        # Installed units as systemd reads them; the others on a stand-in in a temp dir.
        "[ -n \"$loaded\" ] && systemd-analyze verify --man=no $loaded 2>&1; "
        "d=$(mktemp -d); for u in " + quoted + "; do "
        "case \" $loaded \" in *\" $u \"*) continue;; esac; "
        "[ -f /etc/systemd/system/$u.d/jitsi-sovereign-sandbox.conf ] || "
        "{ echo \"MISSING $u\"; continue; }; "
        "mkdir -p $d/$u.d && cp /etc/systemd/system/$u.d/jitsi-sovereign-sandbox.conf $d/$u.d/ && "
        f"printf %s {shlex.quote(sandbox.STAND_IN_UNIT)} > $d/$u && "
        "SYSTEMD_UNIT_PATH=$d systemd-analyze verify --man=no $u 2>&1 "
        "| sed \"s|$d|/etc/systemd/system|g\"; "
        "done; rm -rf $d; true")
    out = run_ok(target, script, what="systemctl show / systemd-analyze security, verify")
    show, exposures, verify = [*out.split(SEP), "", ""][:3]
    return {"show": parse_systemctl_show(show), "exposure": sandbox.parse_exposures(exposures),
            "verify": verify}


def _entry(sandboxes, unit) -> dict:
    entry = sandboxes.get(unit)
    if entry is None:
        owner = sandbox.UNITS[unit.removesuffix(".service")][0]
        pytest.skip(f"no state file records a sandbox of {unit} (role {owner} did not "
                    "deploy it on this host: its area is off, or the host has no meeting)")
    return entry


def _installed(target, entry, host_units, what) -> dict:
    info = host_units["show"].get(entry["unit"], {})
    if info.get("LoadState") != "loaded":
        if entry["unit"] in JITSI_UNITS:
            jitsi_service_skip(target, {}, what)
        pytest.fail(f"{entry['unit']} is {info.get('LoadState') or 'unknown'} to systemd, "
                    f"yet its role ({entry['role']}) deployed its sandbox: deploy again",
                    pytrace=False)
    return info


@pytest.mark.parametrize("unit", sandbox.unit_names())
def test_exposure(unit, target, sandboxes, host_units, record_property):
    """the unit's exposure (systemd-analyze security) is at most its role's target."""
    entry = _entry(sandboxes, unit)
    info = _installed(target, entry, host_units, f"{unit}'s exposure")
    dropin = entry.get("dropin", "")
    exposure = host_units["exposure"].get(unit)
    assert exposure is not None, f"systemd-analyze security gave no overall level for {unit}"
    record_property("evidence", f"systemd-analyze security {unit}: exposure {exposure} "
                                f"(target {entry['target']})")
    if exposure <= entry["target"]:
        return
    loosened = [(f"{key} left out" if value["set"] is None else f"{key}={value['set']}")
                + f" (instead of {value['instead_of']})"
                for key, value in (entry.get("overrides") or {}).items()]
    why = ("loosened by jitsi_sovereign_sandbox_overrides: " + ", ".join(loosened)
           if loosened else "no override recorded")
    if dropin and dropin not in info.get("DropInPaths", "").split():
        why += f"; systemd does not use {dropin} (removed by hand? deploy again)"
    pytest.fail(f"{unit}: exposure {exposure} above its target {entry['target']} ({why})",
                pytrace=False)


@pytest.mark.parametrize("unit", sandbox.unit_names())
def test_dropin_verifies(unit, target, sandboxes, host_units):
    """systemd reads the unit's sandbox drop-in without a warning (systemd-analyze verify;
    on a stand-in unit when the daemon is not installed)."""
    entry = _entry(sandboxes, unit)
    dropin = entry.get("dropin", "")
    info = host_units["show"].get(unit, {})
    if info.get("LoadState") == "loaded":
        assert dropin in info.get("DropInPaths", "").split(), (
            f"systemd does not use {dropin} for {unit} (its drop-ins: "
            f"{info.get('DropInPaths') or 'none'}): deploy again")
    else:
        assert f"MISSING {unit}" not in host_units["verify"].splitlines(), (
            f"{dropin} is missing: deploy again")
    about = [line for line in host_units["verify"].splitlines() if dropin and dropin in line]
    assert not about, f"systemd-analyze verify about {dropin}: " + " | ".join(about)


@pytest.mark.parametrize("unit", sandbox.long_running())
def test_restart(unit, target, sandboxes, host_units):
    """the daemon comes back after a crash or a SIGKILL (Restart=on-failure or always)."""
    entry = _entry(sandboxes, unit)
    info = _installed(target, entry, host_units, f"{unit}'s Restart=")
    restart = info.get("Restart")
    assert restart in ("on-failure", "always"), (
        f"{unit} has Restart={restart}: a killed daemon stays down "
        f"(its role's profile sets {entry.get('restart')!r}; deploy again)")
