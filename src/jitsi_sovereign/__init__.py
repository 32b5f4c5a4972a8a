"""jitsi-sovereign: deploy and prove a hardened, sovereign Jitsi Meet server."""

__version__ = "0.1.0"
