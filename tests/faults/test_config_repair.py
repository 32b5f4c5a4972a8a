"""A configuration file edited by hand into an invalid state: the next deploy repairs
it, and the service is never down longer than a reload (issue 14, faults survived on
purpose).

The file is broken on the host (a line no parser accepts appended), then
``jitsi-sovereign deploy --limit HOST`` runs while a probe loop asks the service every
~0.2 s (nginx: GET / over HTTPS from the controller; prosody: an anonymous XMPP login on
the guest domain, on the host since prosody listens on loopback only). Promises: the
deploy succeeds, the file is what the role renders again (byte for byte what it was
before the edit), every probe during the deploy succeeded, and the main process is the
same (reloaded, not restarted). A deploy that refuses the repair (its ``validate:``
testing the broken file instead of the candidate), or restarts the service, fails here.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
import time

import pytest

from . import faultlib

BROKEN = "\n# edited by hand (tests/faults): not a valid line\nthis is { not valid\n"
# The probe loop on the host for prosody: bounded, stopped by a file.
STOP = "/run/jsov-faults-probe.stop"
_HOST_LOOP = """
import json, subprocess, sys, time
src, req, stop, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
end = time.monotonic() + limit
import os
while time.monotonic() < end and not os.path.exists(stop):
    out = subprocess.run([sys.executable, "-c", src, req], capture_output=True, text=True)
    try:
        ok = (json.loads(out.stdout).get("auth") or {}).get("result") == "success"
    except ValueError:
        ok = False
    print(json.dumps({"t": time.time(), "ok": ok, "out": "" if ok else out.stdout[-200:]}),
          flush=True)
    time.sleep(0.2)
"""
DEPLOY_TIMEOUT = 900


def _https_loop(host, stop: threading.Event, seen: list) -> None:
    while not stop.is_set():
        try:
            ok = bool(faultlib.https_ok(host))
            detail = ""
        except OSError as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        seen.append({"t": time.time(), "ok": ok, "out": detail})
        time.sleep(0.2)


def _xmpp_loop(host, stop: threading.Event, seen: list) -> None:
    request = json.dumps({"domain": faultlib.state(host, "prosody")["guest_domain"],
                          "mechanism": "ANONYMOUS"})
    faultlib.sh(host, f"rm -f {STOP}")
    out = host.sudo("python3", "-c", shlex.quote(_HOST_LOOP),
                    shlex.quote(faultlib._XMPP_PROBE), shlex.quote(request), STOP,
                    str(DEPLOY_TIMEOUT), check=False, timeout=DEPLOY_TIMEOUT + 60)
    seen.extend(json.loads(line) for line in out.stdout.splitlines() if line.startswith("{"))


def _stop_xmpp(host) -> None:
    faultlib.sh(host, f"touch {STOP}")


# service -> (unit, file the test breaks, probe loop, how to stop it)
CASES = {
    "nginx": ("nginx.service", "/etc/nginx/sites-available/jitsi-sovereign", _https_loop,
              None),
    "prosody": ("prosody.service", None, _xmpp_loop, _stop_xmpp),
}


def _prosody_site_file(host) -> str:
    files = faultlib.state(host, "prosody")["config_files"]
    return next(f for f in files if f.startswith("/etc/prosody/conf.avail/"))


def _deploy(host) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jitsi_sovereign", "deploy", "-i",
                           str(host.inventory), "--limit", host.name],
                          capture_output=True, text=True, timeout=DEPLOY_TIMEOUT,
                          env={**__import__("os").environ, "COLUMNS": "200"})


# prosody: the role reloads when the running prosody already loaded the configuration
# the deploy renders (roles/prosody/vars/main.yml "restart or reload"), as here.
@pytest.mark.parametrize("service", ["nginx", "prosody"])
def test_broken_config_repaired_without_outage(lab_host, service):
    """a hand-broken config file: the next deploy repairs it, the service stays up."""
    unit, path, loop, stop_loop = CASES[service]
    path = path or _prosody_site_file(lab_host)
    q = shlex.quote(path)
    original = faultlib.sh(lab_host, f"cat {q}").stdout
    mode = faultlib.sh(lab_host, f"stat -c '%a %U %G' {q}").stdout.strip()
    pid = faultlib.unit(lab_host, unit)["MainPID"]
    faultlib.sh(lab_host, f"cp -p {q} {q}.jsov-faults && cat >> {q}", stdin=BROKEN)
    stop, seen = threading.Event(), []
    probe = threading.Thread(target=loop, args=(lab_host, stop, seen), daemon=True)
    try:
        probe.start()
        time.sleep(1)  # the loop's first answers come from before the deploy
        started = time.time()
        deploy = _deploy(lab_host)
        ended = time.time()
        time.sleep(1)
    finally:
        stop.set()
        if stop_loop:
            stop_loop(lab_host)
        probe.join(60)
        # Put the file back if the deploy did not, so the host is left as it was.
        faultlib.sh(lab_host, f"if cmp -s {q} {q}.jsov-faults; then rm -f {q}.jsov-faults; "
                    f"else mv {q}.jsov-faults {q}; fi", check=False)
    tail = "\n".join(deploy.stdout.splitlines()[-25:])
    assert deploy.returncode == 0, f"the deploy did not repair {path}:\n{tail}"
    assert faultlib.sh(lab_host, f"cat {q}").stdout == original, (
        f"{path} is not what the role renders after the deploy")
    assert faultlib.sh(lab_host, f"stat -c '%a %U %G' {q}").stdout.strip() == mode
    during = [s for s in seen if started <= s["t"] <= ended]
    failed = [s for s in seen if not s["ok"]]
    assert during, f"the probe loop saw nothing during the deploy ({len(seen)} probes)"
    assert not failed, (
        f"{service} did not answer {len(failed)} of {len(seen)} probes during the deploy "
        f"(first at +{failed[0]['t'] - started:.1f} s: {failed[0]['out']})")
    after = faultlib.unit(lab_host, unit)
    assert after["ActiveState"] == "active"
    assert after["MainPID"] == pid, (
        f"the deploy restarted {unit} (main PID {pid} -> {after['MainPID']}) to repair "
        f"{path}: a reload was wanted")
