"""Time a non-interactive ``jitsi-sovereign init`` (target <= 1 s), printed.

    python bench/init.py [--rounds 5]

Each round runs the real command in a new process (``python -m jitsi_sovereign init DIR
--non-interactive ...``, interpreter start and imports included), with a throwaway
ed25519 key (ssh-keygen) and a new directory; the host is an IP address and the meeting
name is under .invalid, so no lookup leaves this machine. The figure is the median.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jsov-bench-init-") as tmp:
        key = Path(tmp) / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True, timeout=30)
        times = []
        for i in range(1, args.rounds + 1):
            directory = Path(tmp) / f"inv{i}"
            argv = [sys.executable, "-m", "jitsi_sovereign", "init", str(directory),
                    "--non-interactive", "--domain", "meet.bench.invalid",
                    "--host", "192.0.2.10", "--key", str(key),
                    "--admin-cidr", "198.51.100.0/24", "--provider", "Scaleway",
                    "--region", "fr-par-2", "--country", "France"]
            start = time.monotonic()
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
            times.append(time.monotonic() - start)
            if done.returncode != 0:
                print(done.stdout, done.stderr)
                return 1
            print(f"round {i}: {times[-1]:.2f} s", flush=True)
    median = statistics.median(times)
    verdict = "ok" if median <= TARGET else "SLOWER THAN TARGET"
    print(f"init --non-interactive (new process, imports included): median {median:.2f} s  "
          f"target <= {TARGET:.0f} s  {verdict}")
    return 0 if median <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
