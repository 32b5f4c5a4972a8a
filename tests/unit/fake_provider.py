"""An in-memory cloud provider implementing cloud.provider.Provider, for the engine's unit
tests (and for helpers building another provider against the same engine)."""

from __future__ import annotations

import atexit
import itertools
import shutil
import sys
import tempfile
import types
from pathlib import Path

from jitsi_sovereign.cloud.model import Resource, Rule, Server
from jitsi_sovereign.cloud.provider import PROVIDERS, common_checks

PRIVATE = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
           "-----END OPENSSH PRIVATE KEY-----\n")


def private_key_file() -> Path:
    """A private key file (mode 0600) for the inventory the engine writes; its content is a
    stand-in (nothing logs in with it)."""
    folder = tempfile.mkdtemp(prefix="jsov-cloud-key-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # the test run leaves no key
    path = Path(folder) / "id_ed25519"
    path.write_text(PRIVATE)
    path.chmod(0o600)
    return path


class FakeProvider:
    name = "fake"
    default_size = "F-4G"
    login_note = "fake provider"

    def __init__(self, fail_after: str | None = None) -> None:
        self.live: dict[tuple[str, str], Resource] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_after = fail_after
        self.rules: list[Rule] = []
        self.groups: list[str] = []
        self._ids = itertools.count(1)

    @classmethod
    def plan_resources(cls, req):
        return [("security_group", f"{req.name}"), ("ip", "a public IPv4"),
                ("server", f"{req.name}, Debian 13")]

    def check(self, req):
        self.calls.append(("check", req.name))
        return common_checks(req)

    def _make(self, kind, region, record):
        res = Resource(kind, f"{kind}-{next(self._ids)}", region, {"name": kind})
        self.live[(kind, res.id)] = res
        self.calls.append(("create", kind))
        record(res)
        if self.fail_after == kind:
            raise RuntimeError(f"injected crash after {kind}")
        return res

    def create(self, req, plan, record):
        sg = self._make("security_group", req.region, record)
        self.rules = list(plan.rules)
        self.groups = [sg.id]
        self._make("ip", req.region, record)
        server = self._make("server", req.region, record)
        return Server(server.id, "127.0.0.1", "::1")

    def delete(self, res):
        self.calls.append(("delete", res.id))
        self.live.pop((res.kind, res.id), None)

    def status(self, state):
        alive = any(r.kind == "server" for r in self.live.values())
        return {"server": {"state": "running", "public_ipv4": "127.0.0.1"} if alive else None,
                "rules": list(self.rules), "groups": list(self.groups)}

    def residue(self, name):
        return list(self.live.values())


def register(monkeypatch) -> None:
    """Make `--provider fake` resolve to FakeProvider (allowed region: fake-1)."""
    from jitsi_sovereign.cloud import regions
    from jitsi_sovereign.cloud.model import Region

    module = types.ModuleType("jsov_fake_provider")
    module.FakeProvider = FakeProvider
    monkeypatch.setitem(sys.modules, "jsov_fake_provider", module)
    monkeypatch.setitem(PROVIDERS, "fake", ("jsov_fake_provider", "FakeProvider", "fake"))
    monkeypatch.setitem(regions.REGIONS, "fake",
                        {"fake-1": Region("fake-1", "Paris", jurisdiction="test")})
