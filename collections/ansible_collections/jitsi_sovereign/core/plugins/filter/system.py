# jitsi-sovereign: the supported-system rule, written once for every role.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A preflight rule of every role (docs/design.md "Preflight"):

    _rules:
      - "{{ ansible_facts | jitsi_sovereign.core.debian_rule('coturn') }}"

gives ``{ok, msg}``: ok when the host runs a Debian release the roles are tested on (12
and 13, as each role's meta/main.yml says), else the message naming what it runs; when
the play gathered no facts, the message says to gather them.

    {{ '1:13.0.1-1+deb13u2' | jitsi_sovereign.core.upstream_version }}  -> 13.0.1

a Debian package version without its epoch, its revision and any suffix after the dotted
numbers (what `is version(...)` compares)."""

from __future__ import annotations

import re

RELEASES = ("12", "13")


def debian_rule(facts, role: str, releases=RELEASES) -> dict:
    facts = facts or {}
    releases = [str(r) for r in releases]
    if "distribution" not in facts:
        return {"ok": False,
                "msg": f"The {role} role reads the host's facts (distribution) and the play "
                       "gathered none: leave gather_facts at true, or run ansible.builtin.setup "
                       "before it."}
    running = f"{facts['distribution']} {facts.get('distribution_version', '?')}"
    major = str(facts.get("distribution_major_version"))
    ok = facts["distribution"] == "Debian" and major in releases
    return {"ok": ok, "msg": f"The {role} role supports Debian {' and '.join(releases)}; "
                             f"this host runs {running}."}


def upstream_version(version) -> str:
    text = str(version or "").split(":", 1)[-1].rsplit("-", 1)[0]
    match = re.match(r"[0-9][0-9.]*", text)
    return match.group(0).rstrip(".") if match else ""


class FilterModule:
    def filters(self):
        return {"debian_rule": debian_rule, "upstream_version": upstream_version}
