#!/usr/bin/python
# jitsi-sovereign: install Debian packages from package lists that can provide them.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name (plugins/action/apt.py):
# this file documents the task's arguments.

DOCUMENTATION = r"""
module: apt
short_description: ansible.builtin.apt, refreshing the lists whenever they cannot provide the packages
description:
  - Installs packages with M(ansible.builtin.apt) (C(state=present)), deciding itself whether the
    package lists must be refreshed first.
  - Lists older than O(cache_valid_time) are refreshed, as M(ansible.builtin.apt) does.
  - Lists that cannot provide the packages are refreshed whatever their age, and the task's
    warnings say why - no package index at all (an image whose lists were removed after its
    own update: an empty directory with a recent mtime), or C(apt-get --simulate install) of the
    names fails (a source added since the last update, a version not in the lists).
  - One plain SSH exec reads the host first (jitsi_sovereign.core.state, request C(apt)).
  - In check mode, when a refresh is needed, the install is reported as a change with the reason.
options:
  name:
    description: Packages to install (C(name=version) pins a version).
    type: list
    elements: str
    required: true
  cache_valid_time:
    description: Lists younger than this (seconds) are used as they are when they can provide every package.
    type: int
    default: 3600
  install_recommends:
    description: As M(ansible.builtin.apt).
    type: bool
  policy_rc_d:
    description: As M(ansible.builtin.apt) (101 - no service starts from the packages' scripts).
    type: int
  allow_downgrade:
    description: As M(ansible.builtin.apt).
    type: bool
  dpkg_options:
    description: As M(ansible.builtin.apt).
    type: str
notes:
  - Any other argument of M(ansible.builtin.apt) passes through, except C(update_cache) (decided here)
    and C(state) (always C(present)).
"""

EXAMPLES = r"""
- name: Install the missing packages
  jitsi_sovereign.core.apt:
    name: [nginx, logrotate]
    install_recommends: false
    policy_rc_d: 101
"""

if __name__ == "__main__":
    import json
    import sys

    print(json.dumps({"failed": True, "msg": "jitsi_sovereign.core.apt runs through its action "
                      "plugin: call it by that name, from the collection"}))
    sys.exit(1)
