"""Time the main job on a lab host and print the figures next to their targets.

    python bench/deploy.py [--debian 13|12] [--apt-lists image|removed] [--keep]
    python bench/deploy.py --compare REV [--rounds N]


Measures: lab up from the cached image, first converge, idempotent re-run (and its
changed count), verify. The image is built first if it is not cached (not timed).
--apt-lists removed: the host starts as a fresh cloud image without package lists (the
first converge then refreshes them once: the refreshes are counted).
--compare REV: the idempotent re-run of this checkout side by side with git revision REV
(e.g. the commit before a change), in one bench run: two lab hosts, each converged by its
own tree, then N rounds of re-runs alternating between them (the machine's load falls on
both alike); prints each round and the medians.
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


def compare(rev: str, rounds: int, debian: str) -> int:
    """Re-runs of REV's roles and of this checkout's, alternating, on two lab hosts."""
    import shutil
    import statistics
    import subprocess
    import tempfile
    from pathlib import Path

    from jitsi_sovereign import paths

    here = paths.ansible_dir()
    tmp = Path(tempfile.mkdtemp(prefix="jsov-bench-"))
    old_tree = tmp / "tree"
    subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", str(old_tree), rev],
                   check=True, capture_output=True)
    lab = Lab()
    quiet = Console(file=io.StringIO())
    trees = {"old": (old_tree, "benchcmp1"), "new": (here, "benchcmp2")}
    times: dict[str, list[float]] = {"old": [], "new": []}
    ok = True
    try:
        lab.up(count=2, debian=debian, prefix="benchcmp")
        inv = load_and_validate(lab.inventory_path)
        original = paths.ansible_dir

        def run(which: str):
            tree, host = trees[which]
            paths.ansible_dir = lambda: tree  # the tree whose roles and playbook run
            try:
                return run_playbook(inv, limit=host, console=quiet)
            finally:
                paths.ansible_dir = original

        for which in trees:
            first = run(which)
            print(f"{which} ({rev if which == 'old' else 'this checkout'}): first converge "
                  f"{first.seconds:.1f} s, ok={first.ok}")
            ok = ok and first.ok
        for n in range(1, rounds + 1):
            line = []
            for which in (("old", "new") if n % 2 else ("new", "old")):
                res = run(which)
                changed = sum(c["changed"] for c in res.stats.values())
                ok = ok and res.ok and changed == 0
                times[which].append(res.seconds)
                line.append(f"{which} {res.seconds:5.1f} s (changed {changed})")
            print(f"round {n}: " + ", ".join(line))
    finally:
        lab.down([host for _, host in trees.values()])
        subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(old_tree)],
                       check=False, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    old, new = (statistics.median(times[k]) for k in ("old", "new"))
    print(f"\nidempotent re-run, median of {rounds}: {rev} {old:.1f} s, this checkout "
          f"{new:.1f} s ({(new - old) / old * 100:+.0f} %); target <= "
          f"{TARGETS['idempotent re-run']:.0f} s and no slower")
    return 0 if ok and new <= TARGETS["idempotent re-run"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debian", default="13", choices=["13", "12"])
    parser.add_argument("--apt-lists", default="image", choices=["image", "removed"],
                        help="the host's package lists at boot (lab up --apt-lists)")
    parser.add_argument("--keep", action="store_true", help="leave the bench host running")
    parser.add_argument("--compare", metavar="REV",
                        help="re-runs side by side with the roles of git revision REV")
    parser.add_argument("--rounds", type=int, default=3, help="re-runs of each (--compare)")
    args = parser.parse_args()
    if args.compare:
        return compare(args.compare, args.rounds, args.debian)

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
        inv = load_and_validate(lab.inventory_path, limit=name, own_ssh=True)
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
