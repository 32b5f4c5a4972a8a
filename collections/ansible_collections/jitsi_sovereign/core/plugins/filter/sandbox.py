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
which settings the user changed).

The logic lives in jitsi_sovereign.confcheck.sandbox (shared with verify's checks)."""

from __future__ import annotations

from ansible_collections.jitsi_sovereign.core.plugins.plugin_utils.confcheck import checker


def _sandbox(name):
    return getattr(checker("sandbox", name), name)


def sandbox_dropin(profile, overrides=None, header=""):
    return _sandbox("sandbox_dropin")(profile, overrides, header)


def sandbox_state(profile, overrides=None):
    return _sandbox("sandbox_state")(profile, overrides)


def sandbox_rule(overrides):
    return _sandbox("sandbox_rule")(overrides)


def sandbox_settings(profile, overrides=None):
    return _sandbox("sandbox_settings")(profile, overrides)


class FilterModule:
    def filters(self):
        return {"sandbox_dropin": sandbox_dropin, "sandbox_state": sandbox_state,
                "sandbox_rule": sandbox_rule, "sandbox_settings": sandbox_settings}
