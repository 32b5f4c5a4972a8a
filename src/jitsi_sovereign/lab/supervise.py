"""Keep one lab host's systemd-nspawn running across container reboots.

``python -m jitsi_sovereign.lab.supervise --marker M --pid-file F -- systemd-nspawn ...``

It first moves into a cgroup of its own (see ``cgroups``). nspawn exits with 133
when the container reboots: start it again. On SIGTERM (or
SIGINT/SIGHUP), forward SIGTERM to nspawn (never SIGKILL: the container would live on
as an orphan), wait for it, and exit.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jitsi_sovereign.lab import cgroups

REBOOT_EXIT = 133


class Supervisor:
    """Runs nspawn in a loop until told to stop."""

    def __init__(self, argv: list[str], pid_file: Path) -> None:
        self.argv = argv
        self.pid_file = pid_file
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def on_signal(self, signum: int, _frame: object) -> None:
        """Stop: pass SIGTERM on to nspawn."""
        self.stopping = True
        if self.child and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Start nspawn, restart it on reboot; return its last exit status."""
        rc = 0
        while not self.stopping:
            started = time.monotonic()
            self.child = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL)
            self.pid_file.write_text(f"{self.child.pid}\n")
            if self.stopping:  # told to stop while starting it
                self.child.send_signal(signal.SIGTERM)
            rc = self.child.wait()
            self.pid_file.unlink(missing_ok=True)
            print(f"[supervise] nspawn exited with {rc}", flush=True)
            if rc != REBOOT_EXIT:
                break
            if time.monotonic() - started < 1:
                time.sleep(1)  # a container that reboots at once must not spin
        return rc


def main(args: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="jitsi_sovereign.lab.supervise")
    parser.add_argument("--marker", required=True, help="the host's marker (identifies us)")
    parser.add_argument("--pid-file", required=True, type=Path, help="nspawn's pid goes here")
    parser.add_argument("--exit-file", required=True, type=Path,
                        help="nspawn's last exit status goes here")
    parser.add_argument("argv", nargs="+", help="the systemd-nspawn command")
    opts = parser.parse_args(args)
    sup = Supervisor(opts.argv, opts.pid_file)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, sup.on_signal)
    os.umask(0o022)
    own = cgroups.enter(opts.marker)
    try:
        rc = sup.run()
    finally:
        cgroups.leave(own)
    opts.exit_file.write_text(f"{rc}\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
