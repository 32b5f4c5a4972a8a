"""Is every module prosody is told to load actually loaded? (run on the host, as root)

A module that cannot load (a missing Lua library, a module not on plugin_paths) passes
`prosodyctl check config`: prosody only logs the error and runs without it. Token mode
failed that way on Debian's prosody (auth_token: "module 'basexx' not found"), and every
login was refused while the deploy ended green.

Reads the configuration prosody reads (prosody.cfg.lua and conf.d/*.cfg.lua, comments
removed): the global modules_enabled, and for each VirtualHost its modules_enabled and its
auth_<authentication> module, for each Component "<name>" "<module>" that module and its
modules_enabled. Asks the running prosody what it loaded (`prosodyctl shell`,
module:list() of every host and of the global host, on one connection). Prints JSON:
  {"hosts": [...], "missing": {host: [module, ...]}, "errors": [prosody.err lines naming a
   missing module], "error": "..." when prosody could not be asked}
Exit status 0 whenever it could tell; the caller decides. One copy: the prosody role's
handler runs it after a restart, and `jitsi-sovereign verify` (checks/test_prosody.py).

argv[1] (optional JSON): {"unavailable": {module: reason}}: modules known not to be on this
host, for a recorded reason (token mode without Jitsi's mod_auth_token: the main domain
refuses every login, on purpose). They are listed under "unavailable", not "missing".
"""

import glob
import json
import os
import re
import subprocess
import sys

CONFIG = "/etc/prosody/prosody.cfg.lua"
CONF_D = "/etc/prosody/conf.d/*.cfg.lua"
# prosody's errors: prosody.err, or in token mode the role's one log file.
ERR_LOGS = ("/var/log/prosody/prosody.err", "/var/log/prosody/jitsi-sovereign-token.log")
GLOBAL = "*"

_SECTION = re.compile(r'^\s*(VirtualHost|Component)\s+"([^"]+)"(?:\s+"([^"]+)")?')
_LIST = re.compile(r"\bmodules_(enabled|disabled)\s*=\s*\{([^}]*)\}", re.S)
_AUTH = re.compile(r'\bauthentication\s*=\s*"([^"]+)"')
_NAME = re.compile(r'"([^"]+)"')


def _code(text):
    """The text without Lua comments (-- to the end of the line; no string here holds --)."""
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def expected(texts):
    """{host: set of modules} from the configuration files' texts, and the globally
    disabled modules. Each file starts in the global section, as prosody reads it."""
    want, disabled = {GLOBAL: set()}, set()
    for text in texts:
        host, chunks = GLOBAL, {GLOBAL: []}
        for line in _code(text).splitlines():
            m = _SECTION.match(line)
            if m:
                host = m.group(2)
                want.setdefault(host, set())
                if m.group(1) == "Component" and m.group(3):
                    want[host].add(m.group(3))
                chunks.setdefault(host, [])
                continue
            chunks[host].append(line)
        for name, lines in chunks.items():
            body = "\n".join(lines)
            for kind, items in _LIST.findall(body):
                names = set(_NAME.findall(items))
                if kind == "enabled":
                    want.setdefault(name, set()).update(names)
                elif name == GLOBAL:
                    disabled.update(names)
            auth = _AUTH.search(body)
            if auth and name != GLOBAL:
                want[name].add("auth_" + auth.group(1))
    return want, disabled


def loaded(output):
    """{host: set of modules} from `prosodyctl shell` module:list() answers (lines may carry
    the console's "| " prefix)."""
    found, host = {}, None
    for raw in output.splitlines():
        line = raw.rstrip()
        line = line[line.index("| ") + 2:] if "| " in line[:12] else line
        if not line.strip() or line.startswith(("Result:", "OK:", "prosody>")):
            continue
        if not line.startswith(" ") and line.endswith(":"):
            host = GLOBAL if line[:-1] == "Global" else line[:-1]
            found.setdefault(host, set())
        elif host is not None and line.startswith(" ") and line.strip().isprintable():
            found[host].add(line.strip())
    return found


def missing(want, disabled, have):
    """What is wanted and not loaded. A global module counts as loaded when it runs
    globally or on the hosts (prosody loads most global modules per VirtualHost)."""
    out = {}
    for host, modules in want.items():
        if host == GLOBAL:
            everywhere = set(have.get(GLOBAL, set()))
            for other in want:
                if other != GLOBAL and other in have:
                    everywhere |= have[other]
            gone = modules - everywhere - disabled
        else:
            gone = modules - have.get(host, set()) - disabled
        if gone:
            out[host] = sorted(gone)
    return out


def _errors(names, paths=ERR_LOGS, last=400):
    lines = []
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines += handle.read().splitlines()[-last:]
        except OSError:
            pass
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names))) if names else None
    return [line for line in lines if pattern and pattern.search(line)][-10:]


def main():
    texts = []
    for path in [CONFIG, *sorted(glob.glob(CONF_D))]:
        try:
            with open(os.path.realpath(path), encoding="utf-8") as handle:
                texts.append(handle.read())
        except OSError:
            pass
    want, disabled = expected(texts)
    hosts = sorted(h for h in want if h != GLOBAL)
    commands = "".join(f"module:list({json.dumps(h)})\n" for h in [GLOBAL, *hosts])
    try:
        res = subprocess.run(["prosodyctl", "shell"], input=commands, capture_output=True,
                             text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(json.dumps({"error": f"prosodyctl shell: {exc}"}))
        return
    have = loaded(res.stdout)
    if res.returncode != 0 or not have:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no answer"]
        print(json.dumps({"error": f"prosodyctl shell (rc={res.returncode}): {tail[0]}"}))
        return
    known = json.loads(sys.argv[1]).get("unavailable", {}) if len(sys.argv) > 1 else {}
    gone, unavailable = {}, {}
    for host, mods in missing(want, disabled, have).items():
        for mod in mods:
            (unavailable if mod in known else gone).setdefault(host, []).append(mod)
    names = {m for mods in gone.values() for m in mods}
    print(json.dumps({"hosts": hosts, "missing": gone, "unavailable": unavailable,
                      "errors": _errors(names)}))


if __name__ == "__main__":
    sys.exit(main())
