"""Errors meant for the person at the keyboard.

A UserError names the bad value and says how to fix it; the CLI prints it
without a traceback and exits with status 2. Nothing on a host has been
touched when one is raised during validation.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: what is wrong, and how to fix it."""

    exit_code = 2

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        if self.fix:
            return f"{self.message}\n  fix: {self.fix}"
        return self.message


class ValidationErrors(UserError):
    """Several input problems found at once, reported together."""

    def __init__(self, errors: list[UserError]) -> None:
        self.errors = errors
        super().__init__(
            f"{len(errors)} problem(s) found before touching any host:\n"
            + "\n".join(f"- {e}" for e in errors)
        )
