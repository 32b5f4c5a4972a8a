# jitsi-sovereign: run a role's own read-only Python script on the host, get its JSON back.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of jitsi_sovereign.core.probe (documented in plugins/modules/probe.py).

The script (a role's files/<name>.py, found like a `copy` source) runs with `python3 -c` in one
plain exec (plugin_utils/host.py), its arguments as argv; the JSON object it prints becomes the
task's result. Read-only by contract: never changed, runs in check mode."""

from __future__ import annotations

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.jitsi_sovereign.core.plugins.plugin_utils.host import run_script

_RESERVED = frozenset(("changed", "failed", "skipped", "msg", "rc", "stdout", "stderr"))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("script", "args"))

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super().run(tmp, task_vars or {})
        script = self._task.args.get("script")
        if not script:
            raise AnsibleActionFail("script: name the role's script (files/<name>.py)")
        args = self._task.args.get("args") or []
        if not isinstance(args, list):
            raise AnsibleActionFail("args: a list of the script's arguments")
        path = Path(self._find_needle("files", str(script)))
        answer = run_script(self, path.read_text(encoding="utf-8"), [str(a) for a in args])
        if not isinstance(answer, dict):
            raise AnsibleActionFail(f"{script} must print one JSON object")
        clash = sorted(_RESERVED & set(answer))
        if clash:
            raise AnsibleActionFail(f"{script} answers {', '.join(clash)}: names Ansible keeps "
                                    "for itself")
        result.update(answer)
        result["changed"] = False
        return result
