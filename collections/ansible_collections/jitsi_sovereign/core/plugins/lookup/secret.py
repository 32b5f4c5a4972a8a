# jitsi-sovereign: the deployment's generated secrets, one home for their rules.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: secret
short_description: A secret generated once on the controller, then read back unchanged
description:
  - Each name is a file in the host's secrets directory on the controller
    (docs/design.md "Secrets") - V(jitsi_sovereign_secrets_dir) when set, else
    C(.secrets/<inventory_hostname>) next to the inventory (next to the playbook without one).
  - The first call makes it with M(ansible.builtin.password)'s lookup - 48 ASCII letters and
    digits (about 285 bits), the directory 0700, the file 0600 - every later call reads it back.
  - Keep the tasks that use it C(no_log).
options:
  _terms:
    description:
      - Names of secrets (file names in the directory).
      - None with O(path=true) - the directory.
    type: list
    elements: str
  path:
    description: Return the path (of each secret, or of the directory) instead of the secret.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Read the TURN shared secret (generated the first time)
  ansible.builtin.set_fact:
    _coturn_secret: "{{ lookup('jitsi_sovereign.core.secret', 'turn_secret') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: The secrets (or their paths, or the directory), in the order asked.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase

LENGTH = 48
CHARS = ["ascii_letters", "digits"]


def secrets_dir(variables: dict, templar=None) -> str:
    """The host's secrets directory on the controller, from the task's variables."""
    chosen = variables.get("jitsi_sovereign_secrets_dir")
    if chosen is not None and templar is not None:
        chosen = templar.template(chosen)
    if chosen:
        return str(chosen)
    base = variables.get("inventory_dir") or variables.get("playbook_dir")
    if not base:
        raise AnsibleLookupError("no inventory nor playbook directory to keep the secrets in: "
                                 "set jitsi_sovereign_secrets_dir")
    return os.path.join(str(base), ".secrets", str(variables["inventory_hostname"]))


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        directory = secrets_dir(variables or {}, self._templar)
        names = [str(term) for term in terms or []]
        for name in names:
            if not name or "/" in name or name.startswith("."):
                raise AnsibleLookupError(f"secret name {name!r}: a plain file name, "
                                         "e.g. turn_secret")
        if self.get_option("path"):
            return [os.path.join(directory, name) for name in names] or [directory]
        if not names:
            raise AnsibleLookupError("name the secret, e.g. "
                                     "lookup('jitsi_sovereign.core.secret', 'turn_secret')")
        password = lookup_loader.get("ansible.builtin.password", loader=self._loader,
                                     templar=self._templar)
        return [password.run([os.path.join(directory, name)], variables, length=LENGTH,
                             chars=CHARS)[0] for name in names]
