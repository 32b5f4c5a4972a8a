"""Time ``Lab.up`` (one host, from the cached image) and ``Lab.down``; print the figures.

    sudo .venv/bin/python bench/lab_up.py [--debian 13] [--rounds 3]

The image is built first if missing (not timed). Uses the lab of the environment
(JSOV_LAB_DIR, JSOV_LAB_BRIDGE, JSOV_LAB_SUBNET) and a host of its own, ``labbench1``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from jitsi_sovereign.lab import Lab, image

TARGET_UP = 5.0
PREFIX = "labbench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debian", default="13", choices=sorted(image.RELEASES))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    lab = Lab()
    start = time.monotonic()
    image.ensure(lab.config.cache_dir, args.debian)
    print(f"image (Debian {args.debian}) ready: {time.monotonic() - start:.1f} s")
    lab.down([f"{PREFIX}1"])  # a leftover of an interrupted run

    ups, downs = [], []
    for i in range(1, args.rounds + 1):
        start = time.monotonic()
        hosts = lab.up(count=1, debian=args.debian, prefix=PREFIX)
        ups.append(time.monotonic() - start)
        start = time.monotonic()
        lab.down([hosts[0].name])
        downs.append(time.monotonic() - start)
        print(f"round {i}: up {ups[-1]:.2f} s (SSH answers), down {downs[-1]:.2f} s", flush=True)

    up, down = statistics.median(ups), statistics.median(downs)
    verdict = "ok" if up <= TARGET_UP else "SLOWER THAN TARGET"
    print(f"lab up   (1 host, cached image): median {up:.2f} s  target <= {TARGET_UP:.0f} s  "
          f"{verdict}")
    print(f"lab down (1 host):               median {down:.2f} s")
    return 0 if up <= TARGET_UP else 1


if __name__ == "__main__":
    raise SystemExit(main())
