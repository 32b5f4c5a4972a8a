"""Lab hosts: real Debian with systemd and sshd in systemd-nspawn, on a private bridge.

Each host boots from an overlay of a cached debootstrap image, gets its own SSH host
key (recorded in the lab's known_hosts), the lab's key for user ``debian``, and installs
packages through the lab's own apt-cacher-ng. See docs/design.md, "Lab hosts".
"""

from jitsi_sovereign.lab.core import Lab, LabHost

__all__ = ["Lab", "LabHost"]
