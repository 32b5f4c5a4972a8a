"""Time a full `audit` of one lab host against its target (<= 10 s).

    python bench/audit.py --lab-host NAME [--rounds 3]

The audit is the one `jitsi-sovereign audit https://NAME.lab.test` runs, every area
(engine.AREAS), reached with --connect-to ADDRESS:443 and trusting the lab's ACME root
(--cafile), as the lab tests do. Prints each round with the time of each area, then the
median next to the target.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import yaml

from jitsi_sovereign.audit import engine
from jitsi_sovereign.audit.context import AuditContext
from jitsi_sovereign.audit.target import parse_target
from jitsi_sovereign.lab import acme
from jitsi_sovereign.lab import config as lab_config

TARGET = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab-host", required=True, help="a deployed lab host, e.g. rb1")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cfg = lab_config.from_env()
    hosts = yaml.safe_load((cfg.state_dir / "inventory.yml").read_text())[
        "all"]["children"]["meet"].get("hosts") or {}
    if args.lab_host not in hosts:
        parser.error(f"{args.lab_host} is not in the lab inventory (jitsi-sovereign lab up)")
    address = hosts[args.lab_host]["ansible_host"]
    domain = acme.domain(args.lab_host)
    root = acme.info(cfg).root
    times = []
    for i in range(1, args.rounds + 1):
        target = parse_target(f"https://{domain}", connect_to=f"{address}:443", cafile=root)
        start = time.monotonic()
        report = engine.run(AuditContext(target))
        times.append(time.monotonic() - start)
        per_area: dict[str, float] = defaultdict(float)
        for f in report.findings:
            per_area[f.area] += f.duration
        counts = report.counts()
        areas = ", ".join(f"{a} {per_area[a]:.2f}" for a in report.areas())
        print(f"round {i}: {times[-1]:.2f} s (exit {report.exit_code}; {counts['passed']} "
              f"passed, {counts['failed']} failed, {counts['skipped']} skipped; {areas})",
              flush=True)
    median = statistics.median(times)
    verdict = "ok" if median <= TARGET else "SLOWER THAN TARGET"
    print(f"full audit of {domain} at {address}: median {median:.2f} s  "
          f"target <= {TARGET:.0f} s  {verdict}")
    return 0 if median <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
