"""Filters over OpenPGP public keys, on the controller (jitsi_packages checks the key it
ships before copying it): the Python is jitsi_sovereign.confcheck.openpgp.

    {{ lookup('ansible.builtin.file', key) | openpgp_fingerprints }}  -> ['66A9...', ...]
    {{ '66A9 CD05 ...' | openpgp_fingerprint_normalize }}              -> '66A9CD05...'
"""

from __future__ import annotations

import sys
from pathlib import Path

from ansible.errors import AnsibleFilterError


def _openpgp():
    """Imported on first use: Ansible loads this file for every task that templates."""
    try:
        from jitsi_sovereign.confcheck import openpgp
    except ImportError:  # ansible-playbook from another Python than the project's venv
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
        from jitsi_sovereign.confcheck import openpgp
    return openpgp


def openpgp_fingerprints(content):
    """Primary-key fingerprints of an armored (or binary) public key file."""
    openpgp = _openpgp()
    try:
        return openpgp.fingerprints(content)
    except openpgp.OpenPGPError as exc:
        raise AnsibleFilterError(f"not a usable OpenPGP public key: {exc}") from None


def openpgp_fingerprint_normalize(value):
    """40 upper-case hex digits, spaces and a 0x prefix removed."""
    openpgp = _openpgp()
    try:
        return openpgp.normalize_fingerprint(value)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {
            "openpgp_fingerprints": openpgp_fingerprints,
            "openpgp_fingerprint_normalize": openpgp_fingerprint_normalize,
        }
