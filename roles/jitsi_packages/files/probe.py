"""Refresh only Jitsi's apt source and tell whether the pinned versions can be installed.

Changes no configuration: the source and its key are written to a temporary directory
(removed at the end); only the package lists of that one source are refreshed, as
`apt-get update` does. Run by the role's preflight (jitsi_sovereign.core.probe), before
any change on the host; what dpkg has now is the role's state read (`versions`).
argv[1] is a JSON request:
  {"uris": url, "suite": suite, "components": [..], "key": armored key text,
   "packages": {name: version}, "timeout": seconds}
The answer, JSON on stdout:
  reachable: bool        the source's index was fetched and its signature verified
  error:     str | null  apt's error line when not
  available: {name: bool}  the pinned version is in that source's index
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

_ENV = dict(os.environ, LC_ALL="C", DEBIAN_FRONTEND="noninteractive")


def _apt_options(tmp, sources, timeout):
    """Only the Jitsi source, and package lists and caches of its own in ``tmp``: the
    probe leaves /var/lib/apt untouched (it runs in a preflight, which changes nothing;
    a touched /var/lib/apt/lists would also make the roles' cache_valid_time skip the
    refresh they need)."""
    lists = os.path.join(tmp, "lists")
    os.makedirs(os.path.join(lists, "partial"))
    os.makedirs(os.path.join(tmp, "cache", "archives", "partial"))
    try:  # apt downloads as its unprivileged user into lists/partial
        import pwd
        apt_user = pwd.getpwnam("_apt")
        os.chown(os.path.join(lists, "partial"), apt_user.pw_uid, -1)
    except KeyError:
        pass
    return ["-o", "Dir::Etc::SourceList=" + sources,
            "-o", "Dir::State::Lists=" + lists,
            "-o", "Dir::Cache=" + os.path.join(tmp, "cache"),
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", "APT::Get::List-Cleanup=0",
            "-o", "Acquire::Retries=0",
            "-o", f"Acquire::http::Timeout={timeout}",
            "-o", f"Acquire::https::Timeout={timeout}",
            "-o", "DPkg::Lock::Timeout=60"]


def _error_line(output):
    """The most telling line of a failed `apt-get update`."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        # "Err:1 https://... InRelease" followed by the indented reason
        if line.startswith("Err:") and i + 1 < len(lines) and lines[i + 1].startswith(" "):
            return " ".join((line.split(" ", 1)[1] + ": " + lines[i + 1].strip()).split())
    for prefix in ("W: GPG error", "E: The repository", "W: Failed to fetch", "E:", "W:"):
        for line in lines:
            if line.startswith(prefix) and "Some index files failed" not in line:
                return " ".join(line.split())
    return None


def _write_source(tmp, req):
    """The deb822 source and its keyring, readable by apt's unprivileged _apt user."""
    key = os.path.join(tmp, "jitsi.asc")
    with open(key, "w", encoding="ascii") as handle:
        handle.write(req["key"].strip() + "\n")
    lines = ["Types: deb", "URIs: " + req["uris"], "Suites: " + req["suite"]]
    if req.get("components"):
        lines.append("Components: " + " ".join(req["components"]))
    lines.append("Signed-By: " + key)
    sources = os.path.join(tmp, "jitsi.sources")
    with open(sources, "w", encoding="ascii") as handle:
        handle.write("\n".join(lines) + "\n")
    for path in (tmp, key, sources):
        os.chmod(path, 0o755 if path == tmp else 0o644)
    return sources


def main():
    req = json.loads(sys.argv[1])
    packages = req["packages"]
    timeout = int(req.get("timeout", 10))
    out = {"reachable": False, "error": None, "available": dict.fromkeys(packages, False)}
    tmp = tempfile.mkdtemp(prefix="jitsi-sovereign-probe-")
    try:
        opts = _apt_options(tmp, _write_source(tmp, req), timeout)
        res = subprocess.run(["apt-get", "update", *opts], capture_output=True, text=True,
                             check=False, env=_ENV)
        output = res.stdout + "\n" + res.stderr
        failed = res.returncode != 0 or re.search(r"^(Err:|E: |W: Failed to fetch|W: GPG error)",
                                                  output, re.M)
        if failed:
            out["error"] = _error_line(output) or f"apt-get update failed (rc={res.returncode})"
        else:
            out["reachable"] = True
            for name, version in packages.items():
                show = subprocess.run(["apt-cache", *opts, "show", f"{name}={version}"],
                                      capture_output=True, text=True, check=False, env=_ENV)
                out["available"][name] = (show.returncode == 0
                                          and ("Version: " + version) in show.stdout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
