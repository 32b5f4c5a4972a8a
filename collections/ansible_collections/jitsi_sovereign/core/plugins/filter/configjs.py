"""Filter jitsi_sovereign.core.configjs_check: config.js checked on the controller before it
is written.

    content: "{{ lookup('ansible.builtin.template', 'config.js.j2')
                 | jitsi_sovereign.core.configjs_check(domain, promises) }}"
    "{{ text | jitsi_sovereign.core.node_check }}"      `node --check` on it when node is here
    "{{ 'node' | jitsi_sovereign.core.controller_has }}" is that program on the controller's PATH

Returns the text unchanged, or fails the task with every problem (foreign hosts, wrong
or forbidden keys, syntax error), each naming its key. The parsing and the rules live
in jitsi_sovereign.confcheck.configjs (esprima), shared with the checks.
"""

from __future__ import annotations

import shutil
import subprocess

from ansible.errors import AnsibleFilterError
from ansible_collections.jitsi_sovereign.core.plugins.plugin_utils.confcheck import checker


def _configjs(filter_name: str):
    return checker("configjs", filter_name, "esprima")


def _promises(configjs, domain: str, promises: dict) -> dict:
    p = dict(promises or {})
    return configjs.expected(
        domain, guest_domain=p.get("guest_domain") or None, e2ee=str(p.get("e2ee", "available")),
        language=str(p.get("default_language", "fr")), stun_port=int(p.get("stun_port", 3478)),
        lobby_chat=bool(p.get("lobby_chat", True)))


def configjs_check(text, domain, promises=None):
    configjs = _configjs("configjs_check")
    try:
        configjs.check(str(text), str(domain), _promises(configjs, str(domain), promises))
    except configjs.ConfigJsError as exc:
        raise AnsibleFilterError(str(exc)) from exc
    return text


def node_check(text):
    """`node --check` (a real JavaScript engine's syntax check) on the text, from stdin, when
    node is installed on the controller; the text unchanged, else the task fails with
    node's message. In the filter rather than in two command tasks (look for node, run it):
    each task runs a module on the controller (~0.4 s) on every run."""
    node = shutil.which("node")
    if node is None:
        return text
    try:
        res = subprocess.run([node, "--check"], input=str(text), capture_output=True, text=True,
                             timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AnsibleFilterError(f"node --check could not run on config.js: {exc}") from exc
    if res.returncode != 0:
        # Where and what (stdin line, caret, SyntaxError), not node's own stack.
        lines = [ln.rstrip() for ln in (res.stderr or res.stdout).splitlines()
                 if ln.strip() and not ln.lstrip().startswith("at ")
                 and not ln.startswith("Node.js")]
        raise AnsibleFilterError("node --check refuses config.js: " + " | ".join(lines[:6]))
    return text


def controller_has(program):
    """Whether the program is on the controller's PATH."""
    return shutil.which(str(program)) is not None


def js_object_check(text, domain, name):
    """A `var <name> = {...}` file (e.g. interface_config overrides): literal values only,
    no host outside ``domain``."""
    configjs = _configjs("js_object_check")
    try:
        parsed = configjs.parse(str(text), name=str(name))
    except configjs.ConfigJsError as exc:
        raise AnsibleFilterError(f"{name}: {exc}") from exc
    foreign = configjs.foreign_hosts(parsed.hosts, str(domain))
    if foreign:
        raise AnsibleFilterError(f"{name} names hosts other than {domain}: {', '.join(foreign)}")
    return text


class FilterModule:
    def filters(self):
        return {"configjs_check": configjs_check,
                "js_object_check": js_object_check,
                "node_check": node_check,
                "controller_has": controller_has}
