"""Parsers that check the Jitsi configuration files before they are written (through
the filter plugins in playbooks/filter_plugins/) and again on the host (the checks):
hocon.py for jicofo.conf and jvb.conf (pyhocon), configjs.py for config.js (esprima)."""
