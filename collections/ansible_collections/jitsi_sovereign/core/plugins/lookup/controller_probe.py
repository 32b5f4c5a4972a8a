# jitsi-sovereign: run a role's read-only Python script on the controller, get its JSON back.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: controller_probe
short_description: Run a role's read-only Python script on the controller, return its JSON answer
description:
  - The controller's twin of M(jitsi_sovereign.core.probe) - the script (a file of the role,
    found as the M(ansible.builtin.file) lookup finds it, under the role's C(files/)) runs with
    the Python that runs Ansible (so with its packages, e.g. C(cryptography)), its arguments as
    argv; the JSON object it prints is the result.
  - For what only the controller can tell - public DNS as an ACME server sees it, files that live
    on the controller. The script must change nothing; like every lookup, it runs in check mode.
options:
  _terms:
    description: The script's file name under the role's C(files/), then its arguments.
    type: list
    elements: str
    required: true
  timeout:
    description: Seconds the script may run.
    type: int
    default: 120
"""

EXAMPLES = r"""
- name: Check the provided certificate on the controller
  ansible.builtin.set_fact:
    _tls_provided_check: >-
      {{ lookup('jitsi_sovereign.core.controller_probe', 'check_provided.py', request | to_json) }}
"""

RETURN = r"""
_raw:
  description: The JSON object the script printed (last line starting with C({)).
  type: dict
"""

import json
import subprocess
import sys

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def run_script(path: str, args: list[str], timeout: int) -> dict:
    """The JSON object `path` prints on its last line starting with {, run with this Python."""
    try:
        done = subprocess.run([sys.executable, path, *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AnsibleLookupError(f"{path} did not answer within {timeout} s") from exc
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                break
    err = (done.stderr.strip().splitlines() or ["no output"])[-1]
    raise AnsibleLookupError(f"{path} printed no JSON object (exit code {done.returncode}): {err}")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if not terms:
            raise AnsibleLookupError("name the role's script, e.g. "
                                     "lookup('jitsi_sovereign.core.controller_probe', 'x.py')")
        script, *args = (str(term) for term in terms)
        path = self.find_file_in_search_path(variables, "files", script)
        if path is None:
            raise AnsibleLookupError(f"{script}: not found in the role's files/")
        return [run_script(path, args, int(self.get_option("timeout")))]
