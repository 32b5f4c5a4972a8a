"""Filters over OpenPGP public keys, on the controller (jitsi_packages checks the key it
ships before copying it): the Python is jitsi_sovereign.confcheck.openpgp.

    {{ lookup('ansible.builtin.file', key) | jitsi_sovereign.core.openpgp_fingerprints }}
        -> ['66A9...', ...]
    {{ '66A9 CD05 ...' | jitsi_sovereign.core.openpgp_fingerprint_normalize }} -> '66A9CD05...'
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.jitsi_sovereign.core.plugins.plugin_utils.confcheck import checker


def _openpgp():
    return checker("openpgp", "openpgp_fingerprints")


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
