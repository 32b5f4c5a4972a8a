# jitsi-sovereign: a role's one read of the host.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of jitsi_sovereign.core.state: send the request, return the parsed answer.

The host reader (plugins/modules/state.py) runs in one plain SSH exec (plugin_utils/host.py);
its answer becomes this task's result, so `register:` gives the role its current state
(`files`, `dirs`, `units`, `packages`, ...). Read-only: never changed, runs in check mode.

A request asking for `connection` is read as the user the play connects as, never through
become, whatever the play or the inventory says: sudo clears SSH_CONNECTION, and a role that
must not cut the connection running the play (firewall, sshd) has to learn where THIS play
connects from, to which port, as whom."""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.jitsi_sovereign.core.plugins.plugin_utils.host import read_host

# The request's kinds (the reader's docstring says what each answers).
KINDS = frozenset(("files", "dirs", "units", "packages", "sysctl", "commands", "digests",
                   "texts", "moduli", "links", "versions", "certs", "keys", "users", "groups",
                   "apt", "connection"))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    # Ansible refuses any other argument itself (ActionBase.run: "Invalid options").
    _VALID_ARGS = KINDS

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super().run(tmp, task_vars or {})
        request = {k: v for k, v in self._task.args.items() if v not in (None, [], {})}
        self._as_connecting_user = bool(request.get("connection"))
        result.update(read_host(self, request))
        result["changed"] = False
        return result

    def _low_level_execute_command(self, cmd, sudoable=True, **kwargs):
        # The one exec of read_host: no become for a `connection` read (see the docstring).
        sudoable = sudoable and not getattr(self, "_as_connecting_user", False)
        return super()._low_level_execute_command(cmd, sudoable=sudoable, **kwargs)
