"""What the areas share during one audit: the target, and what was fetched once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jitsi_sovereign.audit.target import Target


class Skip(Exception):
    """Raised by a shared fetch when what an area needs is not there (the reason)."""


@dataclass
class AuditContext:
    target: Target
    # Given on the command line: TURN credentials (username, password), when the server
    # does not hand them to guests.
    turn_credentials: tuple[str, str] | None = None
    cache: dict[str, Any] = field(default_factory=dict)
