"""Filters for HOCON files (jicofo.conf, jvb.conf), checked on the controller before writing.

    _report: "{{ rendered_text | jitsi_sovereign.core.hocon_check('jicofo.conf', promises,
                                                              required=[...], forbidden=[...]) }}"

Parses the text with pyhocon and checks it key by key: every ``promises`` path holds
its value, every ``required`` path is present and not empty, no key or string value
contains a ``forbidden`` word (e.g. jitsi.net). On success it returns a report that
holds no value of the file (the files hold passwords, and the task that checks them is
not no_log so that its error stays readable): the file name, the parser and its
version, the paths checked. On failure the task fails with every problem, each naming
its key; a password's value is never shown.

    tree: "{{ text | jitsi_sovereign.core.hocon_parse('jvb.conf') }}"

returns the parsed tree as plain data (no_log it when the file holds a secret).

The parsing lives in jitsi_sovereign.confcheck.hocon, shared with the checks that read
the files back from the host.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.jitsi_sovereign.core.plugins.plugin_utils.confcheck import checker


def _hocon(filter_name: str):
    return checker("hocon", filter_name, "pyhocon")


def _parse(hocon, text, name: str) -> dict:
    try:
        return hocon.parse(str(text), name=str(name))
    except hocon.HoconError as exc:
        raise AnsibleFilterError(str(exc)) from None


def hocon_check(text, name, promises=None, required=None, forbidden=None):
    """Parse and check; a report without any value of the file, or a failure."""
    hocon = _hocon("hocon_check")
    name = str(name)
    tree = _parse(hocon, text, name)
    problems = hocon.mismatches(tree, dict(promises or {}), name)
    for path in required or []:
        value = hocon.get(tree, str(path), None)
        if value in (None, "", [], {}):
            problems.append(f"{name}: {path} is missing or empty")
    found = hocon.find_strings(tree, [str(f) for f in forbidden or []])
    if found:
        problems.append(f"{name}: {', '.join(found)} name(s) {' or '.join(map(str, forbidden))} "
                        "(a third party's server): use the deployment's own")
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    return {
        "file": name,
        "parser": hocon.parser_version(),
        "keys_checked": sorted(map(str, promises or {})) + sorted(map(str, required or [])),
        "forbidden_absent": [str(f) for f in forbidden or []],
    }


def hocon_parse(text, name):
    """The parsed tree as plain data (dicts, lists, strings, numbers, booleans)."""
    return _parse(_hocon("hocon_parse"), text, str(name))


class FilterModule:
    def filters(self):
        return {"hocon_check": hocon_check,
                "hocon_parse": hocon_parse}
