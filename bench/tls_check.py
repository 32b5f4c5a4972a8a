"""Time the outside TLS check of one host against its target (<= 5 s).

    python bench/tls_check.py -i INVENTORY --host NAME [--rounds 3]

The outside TLS check is one sslyze scan (the scan commands Mozilla's checker needs,
which include every protocol/cipher-suite scan and the certificate chain) plus the
HTTPS and HTTP GETs, exactly as `jitsi-sovereign verify` runs it for the host.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from jitsi_sovereign.checks import tlsscan
from jitsi_sovereign.checks.helpers import TRUST_STORE_VAR
from jitsi_sovereign.inventory import load_and_validate

TARGET = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--inventory", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    inv = load_and_validate(args.inventory, limit=args.host)
    if len(inv.hosts) != 1:
        parser.error(f"--host must select one host ({len(inv.hosts)} selected)")
    spec = inv.hosts[0]
    domain = spec.vars.get("jitsi_sovereign_domain")
    if not domain:
        parser.error(f"{spec.name} has no jitsi_sovereign_domain: no TLS front to check")
    store = spec.vars.get(TRUST_STORE_VAR)
    times = []
    for i in range(1, args.rounds + 1):
        start = time.monotonic()
        scan = tlsscan.scan(spec.address, str(domain), 443,
                            trust_store=Path(store) if store else None)
        times.append(time.monotonic() - start)
        status = scan.error or (f"mozilla issues: {scan.mozilla_issues}" if scan.mozilla_issues
                                else "ok")
        print(f"round {i}: {times[-1]:.2f} s ({status})", flush=True)
    median = statistics.median(times)
    verdict = "ok" if median <= TARGET else "SLOWER THAN TARGET"
    print(f"outside TLS check of {spec.name} ({domain} at {spec.address}): median "
          f"{median:.2f} s  target <= {TARGET:.0f} s  {verdict}")
    return 0 if median <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
