"""Each daemon killed with SIGKILL comes back (issue 14, faults survived on purpose).

The main process (``systemctl show -p MainPID``) is killed with ``kill -9`` on the host;
systemd must start the unit again on its own (its ``Restart=`` covers a kill by a
signal): within a bounded time a new main process runs, the unit is ``active``, and the
service works again from where its users reach it. A unit that stays dead fails the
test (and is started again by hand, so that the host is left as it was).

The kill and the wait run in one SSH call on the host: killing sshd's listener must not
depend on a new SSH login to watch it come back (the running session is not sshd's main
process and survives). Jitsi's own services (jicofo, the videobridge) cannot be installed
in the lab: skipped, with that reason, where they are not installed.
"""

from __future__ import annotations

import shlex

import pytest

from . import faultlib

# How long systemd may take to bring a killed unit back (RestartSec= plus its start).
COME_BACK = 30

# unit -> (what works again when it is back, probe returning true once it does)
DAEMONS = {
    "prosody.service": ("an anonymous XMPP login on the guest domain", faultlib.xmpp_ok),
    "coturn.service": ("a TURN Allocate is answered (401 with a wrong secret)",
                       lambda h: faultlib.turn_answers(h).startswith("error 401")),
    "nginx.service": ("GET / over HTTPS answers 200", faultlib.https_ok),
    "fail2ban.service": ("fail2ban-client ping and the sshd jail", faultlib.fail2ban_ok),
    "ssh.service": ("a new SSH login", faultlib.ssh_ok),
    "jicofo.service": ("(not in the lab)", None),
    "jitsi-videobridge2.service": ("(not in the lab)", None),
}

# On the host: kill -9 the main PID, then wait (bounded) for a new one, active.
_KILL_AND_WAIT = """
u={unit}
old=$(systemctl show -p MainPID --value "$u")
[ "$old" -gt 0 ] || {{ echo "no main process: $(systemctl is-active "$u")"; exit 3; }}
kill -9 "$old"
i=0
while [ $i -lt {tenths} ]; do
  new=$(systemctl show -p MainPID --value "$u")
  if [ "$new" -gt 0 ] && [ "$new" != "$old" ] && [ "$(systemctl is-active "$u")" = active ]; then
    echo "old=$old new=$new after $i/10 s"; exit 0
  fi
  sleep 0.1; i=$((i+1))
done
state=$(systemctl show -p ActiveState,SubState,Result,Restart "$u" | tr '\\n' ' ')
echo "old=$old killed; after {secs} s: MainPID=$new $state"
exit 1
"""


@pytest.mark.parametrize("unit", list(DAEMONS))
def test_killed_daemon_comes_back(lab_host, unit):
    """kill -9 of the unit's main process: systemd starts it again, and it works."""
    what, works = DAEMONS[unit]
    props = faultlib.unit(lab_host, unit)
    if props.get("LoadState") != "loaded":
        if works is None:
            pytest.skip(f"{unit} is not installed: Jitsi's packages cannot be installed "
                        "in the lab (their repository is out of reach)")
        pytest.fail(f"{unit} is not installed on {lab_host.name} (LoadState "
                    f"{props.get('LoadState')}): deploy first")
    assert props.get("ActiveState") == "active", f"{unit} is not running before the test"
    script = _KILL_AND_WAIT.format(unit=shlex.quote(unit), tenths=COME_BACK * 10,
                                   secs=COME_BACK)
    done = faultlib.sh(lab_host, script, check=False, timeout=COME_BACK + 30)
    try:
        assert done.returncode == 0, (
            f"{unit} did not come back after SIGKILL of its main process "
            f"(Restart={props.get('Restart')}): {done.stdout.strip() or done.stderr.strip()}")
        if works is not None:
            faultlib.wait_for(f"{unit} back but not working: {what}",
                              lambda: works(lab_host), timeout=30)
    finally:
        # Leave the host as it was, whatever happened.
        faultlib.sh(lab_host, f"systemctl is-active -q {shlex.quote(unit)} || "
                    f"{{ systemctl reset-failed {shlex.quote(unit)}; "
                    f"systemctl start {shlex.quote(unit)}; }}", check=False)
