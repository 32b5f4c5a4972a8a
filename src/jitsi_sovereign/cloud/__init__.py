"""Create the VM at a French host: ``jitsi-sovereign cloud create|status|destroy|regions``.

model (the request, rules, resources), regions (France-only allow-lists), rules (the
security group derived from the firewall role), cloudinit (the minimal user-data), state
(the state file), provider (the protocol every provider implements and the registry),
engine (plan, create with cleanup, status, destroy), cli (the typer sub-app). A provider's
SDK is imported only when that provider is used (each is an optional extra).
"""
