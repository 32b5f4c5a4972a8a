"""The state file of `cloud create`: what was created, in order, so that a failed create
and `cloud destroy` remove exactly that.

JSON, mode 0600, written atomically (a temporary file in the same directory, fsync,
rename) after each resource is created: a crash half-way leaves the list of what to clean.
It never holds a credential: only ids, names, regions, addresses and the plan's rules.
Default path: <output dir>/cloud-state.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jitsi_sovereign.cloud.model import Resource, Rule
from jitsi_sovereign.errors import UserError
from jitsi_sovereign.fileio import write_atomic

FILENAME = "cloud-state.json"
SCHEMA = 1


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class State:
    path: Path
    provider: str
    region: str
    name: str
    domain: str
    dns: str = "none"
    status: str = "creating"            # creating | created | failed | destroyed
    resources: list[Resource] = field(default_factory=list)
    server: dict[str, Any] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    inventory: str | None = None
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "provider": self.provider, "region": self.region,
                "name": self.name, "domain": self.domain, "dns": self.dns,
                "status": self.status, "created_at": self.created_at,
                "updated_at": self.updated_at,
                "resources": [r.to_dict() for r in self.resources],
                "server": self.server, "rules": [r.to_dict() for r in self.rules],
                "inventory": self.inventory}

    def save(self) -> None:
        self.updated_at = _now()
        write_atomic(self.path, json.dumps(self.to_dict(), indent=2) + "\n", mode=0o600)

    def record(self, resource: Resource) -> None:
        """Append a resource just created and write the file at once."""
        self.resources.append(resource)
        self.save()

    def forget(self, resource: Resource) -> None:
        """Drop a resource that is gone and write the file at once."""
        self.resources = [r for r in self.resources
                          if (r.kind, r.id, r.region) != (resource.kind, resource.id,
                                                          resource.region)]
        self.save()

    @classmethod
    def load(cls, path: Path) -> State:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise UserError(f"state file {path} does not exist",
                            "give the cloud-state.json that `cloud create` wrote "
                            "(--state PATH)") from None
        except (OSError, ValueError) as exc:
            raise UserError(f"state file {path} cannot be read: {exc}") from None
        if data.get("schema") != SCHEMA:
            raise UserError(f"state file {path} has schema {data.get('schema')!r}, "
                            f"this version reads {SCHEMA}")
        return cls(path=path, provider=data["provider"], region=data["region"],
                   name=data["name"], domain=data["domain"], dns=data.get("dns", "none"),
                   status=data.get("status", "created"),
                   resources=[Resource.from_dict(r) for r in data.get("resources", [])],
                   server=data.get("server") or {},
                   rules=[Rule.from_dict(r) for r in data.get("rules", [])],
                   inventory=data.get("inventory"), created_at=data.get("created_at", ""),
                   updated_at=data.get("updated_at", ""))
