# jitsi-sovereign: the host-name rule, written once for every role.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests of the collection.

    {{ 'meet.example.org' is jitsi_sovereign.core.hostname }}                 true
    {{ 'turn.example.org:443' is jitsi_sovereign.core.hostname(port=true) }}  a port allowed
    {{ '*.example.org' is jitsi_sovereign.core.hostname(wildcard=true) }}     a leading *. allowed

A fully qualified name (RFC 1123 labels of 1-63 letters, digits and inner hyphens, at least
two labels, the last one starting with a letter), any case; never an address."""

from __future__ import annotations

import re

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_NAME = rf"({_LABEL}\.)+[a-z]([a-z0-9-]{{0,61}}[a-z0-9])?"


def hostname(value, port: bool = False, wildcard: bool = False) -> bool:
    if not isinstance(value, str):
        return False
    text = value.lower()
    if port:
        name, sep, number = text.rpartition(":")
        if sep and number.isdigit():
            if not 0 < int(number) < 65536:
                return False
            text = name
    if wildcard and text.startswith("*."):
        text = text[2:]
    return len(text) <= 253 and re.fullmatch(_NAME, text) is not None


class TestModule:
    def tests(self):
        return {"hostname": hostname}
