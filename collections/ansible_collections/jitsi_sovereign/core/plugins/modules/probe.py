#!/usr/bin/python
# jitsi-sovereign: documentation of the probe action (the work is done by its action plugin).
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: probe
short_description: Run a role's read-only Python script on the host and return its JSON answer
description:
  - The script (a file of the role, found as M(ansible.builtin.copy) finds its C(src)) runs with
    the host's python3 in one plain exec, like M(ansible.builtin.raw) - no module wrapper, no
    transfer; the JSON object it prints is the task's result.
  - For what a role must learn from the host that M(jitsi_sovereign.core.state) does not read
    (a repository probe, the modules prosody loaded). The script
    must change nothing; it runs in check mode too.
options:
  script: {description: The script's file name under the role's files/., type: str, required: true}
  args: {description: Its arguments., type: list, elements: str, default: []}
"""

EXAMPLES = r"""
- name: Probe Jitsi's repository from the host (apt-get update of that source alone)
  jitsi_sovereign.core.probe:
    script: probe.py
    args: ["{{ _jitsi_packages_probe_request | to_json }}"]
  register: _jitsi_packages_probe
"""

if __name__ == "__main__":
    import json
    import sys

    print(json.dumps({"failed": True, "msg": "jitsi_sovereign.core.probe runs through its action "
                      "plugin: call it by that name, from the collection"}))
    sys.exit(1)
