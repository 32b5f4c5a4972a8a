"""Time `cloud create --provider outscale` against the loopback OAPI fake: our own time
<= 2 s (issue 13).

    PYTHONPATH=src python bench/cloud_outscale.py [--rounds 5]

Each round is the engine's create (the provider's read-only checks, the plan rendered from
the firewall role, security group + 7 rules, VM, wait for running, public IP linked, tags,
state file, inventory) then destroy, against tests/unit/fake_outscale.py on 127.0.0.1
(real signed HTTP through osc-sdk-python). The SSH and DNS waits are stubbed: they
measure the provider's boot and the resolvers, not us. "own" = wall time minus the time
the fake spent answering (its jsonschema validation of each body and answer included).
Round 1 is a fresh process's first create: it includes importing the SDK and parsing its
1 MB spec (0.4 s with ruamel.yaml.clib, 2 s without), which a user's `cloud create` also
pays. The SDK's own rate limiter (5 requests a second, a courtesy to the real API) is
lifted here: against Outscale it adds about (requests - 5) / 5 s of waiting, printed apart,
which is the SDK pacing itself, not our work. Also run by `bench/cloud.py --provider
outscale` (or `all`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cloudbench import run_rounds
from fake_outscale import ACCESS, SECRET, FakeOutscale

from jitsi_sovereign.cloud import engine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    return run(parser.parse_args().rounds)


def run(rounds: int) -> int:
    """The rounds, the figures printed; 0 when within the target (bench/cloud.py calls
    this for --provider outscale)."""
    fake = FakeOutscale().start()
    for var in [v for v in os.environ if v.startswith("OSC_")]:
        del os.environ[var]
    with tempfile.TemporaryDirectory(prefix="jsov-bench-home-") as home:
        os.environ.update(OSC_ENDPOINT_API=fake.endpoint, OSC_ACCESS_KEY=ACCESS,
                          OSC_SECRET_KEY=SECRET, HOME=home)  # no ~/.osc here

        def provider():
            from jitsi_sovereign.cloud.outscale import OutscaleProvider
            return OutscaleProvider(poll_interval=0, max_rate=100000)

        def leftover() -> str:
            if fake.empty() and not (fake.invalid or fake.bad_answers or fake.unknown):
                return ""
            return (f"the fake is not empty or saw a request outside the spec: "
                    f"{fake.live()} {fake.invalid} {fake.bad_answers} {fake.unknown}")

        waits = engine.Waits(ssh_timeout=0, dns_timeout=0,
                             banner=lambda h, p: "SSH-2.0-bench",
                             resolve=lambda name: set(), sleep=lambda s: None)
        result = run_rounds(rounds, fake, provider, "eu-west-2", waits, leftover)
    rc = result.verdict("outscale", "SDK import and spec parse")
    if result.requests:
        count = statistics.median(result.requests)
        print(f"against the real API the SDK's limiter (5 requests/s) would add about "
              f"{max(0, count - 5) / 5:.1f} s of waiting for {count:.0f} requests")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
