# jitsi-sovereign: one plain SSH exec of the collection's host reader.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the host reader (plugins/modules/state.py, a standalone Python script) on the target
in one plain exec, the way `ansible.builtin.raw` does: no module wrapper, no file transfer,
no temporary directory. Measured on a lab host: ~0.3 s, where a module run costs ~0.7 s.

Used by the `state` action (a role's one read of the host) and by the `apt` action (the
package lists). The request travels as the script's one argument (JSON), the answer is the
JSON line the script prints."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from ansible.errors import AnsibleActionFail

READER = Path(__file__).resolve().parent.parent / "modules" / "state.py"


def read_host(action, request: dict) -> dict:
    """The reader's answer to `request`, read through `action`'s connection (become applies).

    Raises AnsibleActionFail with the host's own error when the answer is not JSON."""
    return run_script(action, READER.read_text(encoding="utf-8"), [json.dumps(request)])


def run_script(action, source: str, argv: list[str]):
    """Run a Python script's `source` on the host with `argv`, in one plain exec; the JSON
    value of the last line of its output that starts with { or [."""
    cmd = " ".join(["python3", "-c", shlex.quote(source), *map(shlex.quote, argv)])
    # No tty: stdout must be the JSON alone (a tty would mix in sudo's and the shell's output).
    use_tty = None
    try:
        use_tty = action._connection.get_option("use_tty")
        action._connection.set_option("use_tty", False)
    except (KeyError, AttributeError):
        pass  # not the ssh connection (local, paramiko...): no tty to turn off
    try:
        res = action._low_level_execute_command(cmd, sudoable=True)
    finally:
        if use_tty is not None:
            action._connection.set_option("use_tty", use_tty)
    for line in reversed(str(res.get("stdout", "")).splitlines()):
        if line.startswith(("{", "[")):
            try:
                return json.loads(line)
            except ValueError:
                break
    err = (str(res.get("stderr", "")).strip().splitlines() or ["no output"])[-1]
    raise AnsibleActionFail(f"no JSON answer from the host (exit code {res.get('rc')}): {err}. "
                            "The host needs python3 (Debian's python3-minimal).")
