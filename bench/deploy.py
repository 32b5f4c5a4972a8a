"""Time the main job on a lab host and print the figures next to their targets.

    python bench/deploy.py [--debian 13|12] [--apt-lists image|removed] [--keep]

Measures: lab up from the cached image, first converge, idempotent re-run (and its
changed count), verify. The image is built first if it is not cached (not timed).
--apt-lists removed: the host starts as a fresh cloud image without package lists (the
first converge then refreshes them once: the refreshes are counted).
"""

from __future__ import annotations

import argparse
import io
import sys
import time

from rich.console import Console

from jitsi_sovereign.inventory import load_and_validate
from jitsi_sovereign.lab import Lab
from jitsi_sovereign.runner import run_playbook
from jitsi_sovereign.verify import run_verify

# Issue 2 (lab up, verify of the base) and issue 4 (the whole stack: first converge with
# the apt proxy warm, idempotent re-run).
TARGETS = {"lab up": 5.0, "first converge": 120.0, "idempotent re-run": 30.0, "verify": 10.0}


def job_events(log_dir):
    """ansible-runner's job events of a run (one JSON file each), parsed."""
    import json
    from pathlib import Path

    for path in Path(log_dir).glob("job_events/*.json"):
        yield json.loads(path.read_text())


def slowest_tasks(log_dir, count: int = 8) -> list[tuple[float, str]]:
    """The run's slowest tasks (ansible-runner's job events carry each task's duration)."""
    per_task: dict[str, float] = {}
    for event in job_events(log_dir):
        data = event.get("event_data") or {}
        if event.get("event") in ("runner_on_ok", "runner_on_failed", "runner_on_skipped") \
                and data.get("duration") is not None:
            name = f"{data.get('role') or '-'}: {data.get('task')}"
            per_task[name] = per_task.get(name, 0.0) + float(data["duration"])
    return sorted(((secs, name) for name, secs in per_task.items()), reverse=True)[:count]


def task_counts(log_dir) -> dict[str, int]:
    """How many task executions the run had, by outcome (each costs 30 ms to 1 s)."""
    counts = {"ok": 0, "changed": 0, "skipped": 0}
    for event in job_events(log_dir):
        kind = event.get("event")
        if kind == "runner_on_skipped":
            counts["skipped"] += 1
        elif kind == "runner_on_ok":
            changed = ((event.get("event_data") or {}).get("res") or {}).get("changed")
            counts["changed" if changed else "ok"] += 1
    return counts


def apt_refreshes(log_dir) -> int:
    """How many tasks refreshed the apt lists (ansible.builtin.apt's cache_updated)."""
    return sum(1 for event in job_events(log_dir)
               if event.get("event") == "runner_on_ok"
               and ((event.get("event_data") or {}).get("res") or {}).get("cache_updated"))


def timed(label: str, results: dict[str, float], fn, *args, **kwargs):
    start = time.monotonic()
    value = fn(*args, **kwargs)
    results[label] = time.monotonic() - start
    print(f"  {label}: {results[label]:.1f} s", flush=True)
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debian", default="13", choices=["13", "12"])
    parser.add_argument("--apt-lists", default="image", choices=["image", "removed"],
                        help="the host's package lists at boot (lab up --apt-lists)")
    parser.add_argument("--keep", action="store_true", help="leave the bench host running")
    args = parser.parse_args()

    lab = Lab()
    name = "bench1"
    quiet = Console(file=io.StringIO())
    results: dict[str, float] = {}

    print(f"bench: Debian {args.debian}, one lab host ({name}), apt lists: {args.apt_lists}")
    # Make sure the image is cached, so the timed lab up measures a boot, not a debootstrap.
    lab.up(count=1, debian=args.debian, prefix="bench")
    lab.down([name])
    try:
        timed("lab up", results, lab.up, count=1, debian=args.debian, prefix="bench",
              apt_lists=args.apt_lists)
        inv = load_and_validate(lab.inventory_path, limit=name)
        first = timed("first converge", results, run_playbook, inv, limit=name, console=quiet)
        second = timed("idempotent re-run", results, run_playbook, inv, limit=name,
                       console=quiet)
        report = timed("verify", results, run_verify, inv, console=quiet)
    finally:
        if not args.keep:
            lab.down([name])

    for label, run in (("first converge", first), ("idempotent re-run", second)):
        counts = task_counts(run.log_dir)
        print(f"\n{label}: {sum(counts.values())} task executions "
              f"({', '.join(f'{n} {k}' for k, n in counts.items())}), "
              f"{apt_refreshes(run.log_dir)} apt list refresh(es)")
        print(f"slowest tasks of the {label}:")
        for secs, name in slowest_tasks(run.log_dir):
            print(f"  {secs:6.1f} s  {name}")

    changed = sum(c["changed"] for c in second.stats.values())
    print("\nfigure                 seconds   target")
    for label, seconds in results.items():
        target = TARGETS.get(label)
        mark = "" if target is None else (" ok" if seconds <= target else " OVER")
        print(f"{label:<22} {seconds:7.1f}   {'' if target is None else f'<= {target:.0f}'}{mark}")
    print(f"\nfirst converge ok={first.ok}; re-run ok={second.ok}, changed={changed}; "
          f"verify: {report.passed} passed, {report.failed} failed, {report.skipped} skipped")
    return 0 if first.ok and second.ok and changed == 0 and not report.failed else 1


if __name__ == "__main__":
    sys.exit(main())
