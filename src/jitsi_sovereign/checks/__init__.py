"""The shipped checks: testinfra tests run by ``jitsi-sovereign verify``.

* ``test_*.py``: the checks. Inside checks read the host through one SSH connection
  (testinfra, paramiko backend, host key verified); outside checks probe the host's
  address from the controller, as an attacker or a browser would.
* ``conftest.py``: fixtures (one cached read per host for ``sshd -T``, the nftables
  ruleset, sysctls, state files...).
* ``parsers.py``, ``probes.py``, ``target.py``, ``connect.py`` (the SSH route deploy
  takes, with paramiko): plain code the checks use, unit-tested without a host.
"""
