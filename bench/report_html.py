"""Time what `verify --html` adds to verify: rendering and writing the HTML report (<= 1 s).

    python bench/report_html.py [--findings 300] [--rounds 5] [--keep DIR]

The report is a realistic verify report of about 300 findings (every status, reasons,
evidence, hosting facts and personal-data items: tests/unit/report_samples.py), converted
from the checks' results exactly as run_verify does, then rendered in French and in
English and written to disk. Also prints the JSON writing time, for comparison. The
personal-data items are read from the host during verify whatever the options (the JSON
has them too): they are not part of what --html adds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))

from report_samples import big_verify_report

from jitsi_sovereign.report import html

TARGET = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the pages into this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jsov-bench-report-") as scratch:
        return measure(args, args.keep or Path(scratch))


def measure(args: argparse.Namespace, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    worst = 0.0
    for lang in ("fr", "en"):
        times, json_times = [], []
        for _ in range(args.rounds):
            start = time.monotonic()
            # what run_verify does for --html: convert the results, render, write
            report = big_verify_report(args.findings)
            html.write(report, out / f"verify-{lang}.html", lang)
            times.append(time.monotonic() - start)
            start = time.monotonic()
            report.write_json(out / "verify.json")
            json_times.append(time.monotonic() - start)
        size = (out / f"verify-{lang}.html").stat().st_size
        worst = max(worst, max(times))
        print(f"verify --html --lang {lang}: {len(report.findings)} findings, "
              f"{len(report.personal_data or [])} personal-data items, {size / 1024:.0f} KiB: "
              f"median {statistics.median(times):.3f} s, max {max(times):.3f} s "
              f"(first, templates compiled: {times[0]:.3f} s); JSON "
              f"{statistics.median(json_times):.3f} s")
    verdict = "OK" if worst <= TARGET else "TOO SLOW"
    print(f"what --html adds to verify: at most {worst:.3f} s (target <= {TARGET:.1f} s): "
          f"{verdict}" + (f"; pages in {out}" if args.keep else ""))
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
