"""Time `cloud create --provider ovh` against the loopback OpenStack fake: our own time
<= 2 s (issue 13).

    PYTHONPATH=src python bench/cloud_ovh.py [--rounds 5]

Each round is the engine's create (the provider's read-only checks, the plan rendered
from the firewall role, security group + 13 rules, port, server, wait for ACTIVE, state
file, inventory) then destroy, against tests/unit/fake_openstack.py on 127.0.0.1 (real
HTTP through openstacksdk/keystoneauth). The SSH and DNS waits are stubbed: they measure
the provider's boot and the resolvers, not us. "own" = wall time minus the time the fake
spent answering. Round 1 is a fresh process's first create: it includes importing the
SDK, which a user's `cloud create` also pays; both it and the median of the others must
be within the target. Also run by `bench/cloud.py --provider ovh` (or `all`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cloudbench import run_rounds
from fake_openstack import PASSWORD, PROJECT_ID, USER, FakeOpenStack

from jitsi_sovereign.cloud import engine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    return run(parser.parse_args().rounds)


def run(rounds: int) -> int:
    """The rounds, the figures printed; 0 when within the target (bench/cloud.py calls
    this for --provider ovh)."""
    fake = FakeOpenStack().start()
    for var in [v for v in os.environ if v.startswith("OS_")]:
        del os.environ[var]
    os.environ.update(OS_AUTH_URL=fake.auth_url, OS_USERNAME=USER, OS_PASSWORD=PASSWORD,
                      OS_PROJECT_ID=PROJECT_ID, OS_USER_DOMAIN_NAME="Default",
                      OS_IDENTITY_API_VERSION="3")

    def addresses(_name):
        return {ip["ip_address"] for p in fake.ports.values() for ip in p["fixed_ips"]}

    def provider():
        from jitsi_sovereign.cloud.ovh import OvhProvider
        return OvhProvider(poll_interval=0.01)

    def leftover() -> str:
        left = fake.ours()
        return f"the fake is not empty: {left}" if any(left.values()) else ""

    waits = engine.Waits(ssh_timeout=0, dns_timeout=0, banner=lambda h, p: "SSH-2.0-bench",
                         resolve=addresses, sleep=lambda s: None)
    return run_rounds(rounds, fake, provider, "GRA11", waits, leftover) \
        .verdict("ovh", "SDK import")


if __name__ == "__main__":
    raise SystemExit(main())
