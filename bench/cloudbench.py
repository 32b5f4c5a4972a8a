"""The round loop shared by bench/cloud_ovh.py and bench/cloud_outscale.py: each round is
engine.create then engine.destroy against a loopback fake (tests/unit/fake_http.py's
LoopbackApi), "own" time = wall time minus the seconds the fake spent answering."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))

from fake_provider import private_key_file  # noqa: E402

from jitsi_sovereign.cloud import engine  # noqa: E402
from jitsi_sovereign.cloud.model import CreateRequest  # noqa: E402

TARGET = 2.0
PUB = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBfVdW5dI0DbMsqmsg6Qp0XUBF1Mv1ZvmxFdUyHBv2Lj "
       "bench@laptop")


@dataclass
class Rounds:
    own: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    failed: str = ""

    def verdict(self, provider: str, first_includes: str) -> int:
        """Print the figures; 0 when the first round and the median of the others are
        within the target."""
        if self.failed:
            print(self.failed)
            return 1
        cold, warm = self.own[0], statistics.median(self.own[1:] or self.own)
        ok = max(cold, warm) <= TARGET
        print(f"cloud create --provider {provider} against the loopback fake: own time "
              f"{cold:.2f} s (first, {first_includes} included), {warm:.2f} s median after  "
              f"target <= {TARGET:.0f} s  {'OK' if ok else 'OVER'}")
        return 0 if ok else 1


def run_rounds(rounds: int, fake, provider: Callable[[], object], region: str,
               waits: engine.Waits, leftover: Callable[[], str]) -> Rounds:
    """`rounds` creates and destroys with a fresh `provider()` each (its module imported
    inside the first round's time: a user's `cloud create` pays it too); `leftover()`
    names what the fake still holds or saw wrong after a destroy ("" when nothing)."""
    out = Rounds()
    key = private_key_file()
    try:
        for i in range(1, rounds + 1):
            with tempfile.TemporaryDirectory() as folder:
                calls, busy = len(fake.calls), fake.busy
                start = time.perf_counter()
                made = provider()
                req = CreateRequest(provider=made.name, region=region,
                                    domain="visio.mairie.fr", ssh_public_key=PUB,
                                    ssh_key_path=key, admin_cidrs=["192.0.2.0/24"],
                                    name=f"jsov-bench-{i}")
                result = engine.create(made, req, Path(folder), waits=waits,
                                       echo=lambda s: None)
                wall = time.perf_counter() - start
                own = wall - (fake.busy - busy)
                n = len(fake.calls) - calls
                engine.destroy(provider(), result.state, echo=lambda s: None)
            left = leftover()
            if left:
                out.failed = f"round {i}: after destroy: {left}"
                return out
            out.own.append(own)
            out.requests.append(n)
            print(f"round {i}: create {wall:.3f} s wall, {own:.3f} s own, {n} requests",
                  flush=True)
    finally:
        fake.stop()
    return out
