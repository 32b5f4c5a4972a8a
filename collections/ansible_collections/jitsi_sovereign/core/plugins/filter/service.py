# jitsi-sovereign: restart or reload a service whose configuration a deploy rewrote.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does a reload suffice to apply a configuration a deploy writes? (issue 14)

    {{ _record_text | jitsi_sovereign.core.reload_suffices(digest, pid_text, active) }}
    {{ rendered_text | jitsi_sovereign.core.keyed_digest(key) }}  -> HMAC-SHA256, hex

A service such as prosody applies only part of its configuration on a reload (new hosts,
ports, modules and the options a module read when it loaded need a restart), so a role
restarts it when the configuration changed. But the file on disk is not what the running
process loaded: a file edited by hand and never reloaded, then repaired by the next
deploy, "changes" on disk while the running process already runs the configuration the
deploy puts back. The role records, after each deploy, which configuration (``digest``:
a checksum of everything the role renders into it) the process with which main PID
loaded: ``{"config": digest, "pid": pid}``.

The digest is keyed (HMAC-SHA256 with one of the role's generated secrets): the record is
a state file anyone on the host may read, and the configuration holds secrets a user
chose (an LDAP bind password): a plain checksum would let a local user try passwords
against it offline.

True (a reload suffices) only when all of these hold: the service is active, the record
is readable, it names the configuration this deploy renders, and the process running now
(``pid_text``: the pid file's content) is the one that loaded it. Anything else (no
record: a first deploy; another configuration; a process started since, by a reboot or by
hand, that may have loaded whatever was on disk then) is False: restart."""

from __future__ import annotations

import hashlib
import hmac
import json


def _pid(value):
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def keyed_digest(text, key) -> str:
    """HMAC-SHA256 of ``text`` keyed with ``key`` (a generated secret), hex."""
    if not key:
        raise ValueError("keyed_digest needs a key (a generated secret), got an empty one")
    return hmac.new(str(key).encode(), str(text).encode(), hashlib.sha256).hexdigest()


def loaded_record(digest, pid_text) -> str:
    """The record's text for the configuration ``digest`` loaded by ``pid_text``'s process
    (pid null when none runs: the next deploy restarts)."""
    return json.dumps({"config": str(digest), "pid": _pid(pid_text)}, sort_keys=True) + "\n"


def reload_suffices(record_text, digest, pid_text, active) -> bool:
    if str(active).strip() != "active" or not digest:
        return False
    try:
        record = json.loads(record_text or "")
    except (TypeError, ValueError):
        return False
    if not isinstance(record, dict):
        return False
    pid = _pid(pid_text)
    return pid is not None and record.get("pid") == pid and record.get("config") == str(digest)


class FilterModule:
    def filters(self):
        return {"reload_suffices": reload_suffices, "loaded_record": loaded_record,
                "keyed_digest": keyed_digest}
