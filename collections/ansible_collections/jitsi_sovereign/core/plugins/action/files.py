# jitsi-sovereign: controller side of the jitsi_sovereign.core.files module.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render each file's `src` template here (Ansible's template lookup: the role's templates/
directory, the task's variables), then run the module once with every content inline.

With SSH pipelining the whole set travels in one round trip, where a template task per file
costs two module runs and a file transfer. The module compares and writes on the host; this
side adds each written file's new content to the diff (`--diff`; files marked secret never
appear in it).

An item of `files` or `dirs` with `enabled: false` is left out (roles keep one list of
everything they may write, each item enabled by its setting); `enabled` never reaches the
module.

`current` (optional, not sent to the host): the role's one read of the host
(jitsi_sovereign.core.state: `files`, `dirs`, `links`, and `uids`/`gids` for the owner
and group names other than root). When it shows every item as wanted, the module is not
run at all (an idempotent run costs no round trip); anything it does not tell (a path not
read, a name without its id) runs the module, which decides on the host."""

import base64
import hashlib

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader

MODULE = "jitsi_sovereign.core.files"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("files", "dirs", "links", "absent", "current"))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        files = args.get("files") or []
        if not isinstance(files, list):
            raise AnsibleActionFail("files must be a list of {dest, src or content, mode, ...}")
        lookup = None
        rendered = []
        for item in files:
            if not isinstance(item, dict) or not item.get("dest"):
                raise AnsibleActionFail(f"every item of files needs a dest (got {item!r:.80})")
            item = dict(item)
            if not boolean(item.pop("enabled", True), strict=False):
                continue
            if item.get("src") is not None:
                if item.get("content") is not None:
                    raise AnsibleActionFail(f"{item['dest']}: give src or content, not both")
                if lookup is None:
                    lookup = lookup_loader.get("ansible.builtin.template", loader=self._loader,
                                               templar=self._templar)
                item["content"] = lookup.run([item.pop("src")], variables=task_vars)[0]
            else:
                item.pop("src", None)
            rendered.append(item)
        args["files"] = rendered
        dirs = []
        for item in args.get("dirs") or []:
            if not isinstance(item, dict) or not item.get("path"):
                raise AnsibleActionFail(f"every item of dirs needs a path (got {item!r:.80})")
            item = dict(item)
            if boolean(item.pop("enabled", True), strict=False):
                dirs.append(item)
        args["dirs"] = dirs
        current = args.pop("current", None)
        nothing = not any(args.get(k) for k in ("files", "dirs", "links", "absent"))
        if nothing or (current is not None and _all_as_wanted(args, current)):
            result.update(changed=False, written=[], created_dirs=[], linked=[], removed=[],
                          msg="as wanted (read from the host by the role's state read)")
            return result

        result.update(self._execute_module(module_name=MODULE, module_args=args,
                                           task_vars=task_vars))
        contents = {item["dest"]: item["content"] for item in rendered}
        for diff in result.get("diff") or []:
            if isinstance(diff, dict) and diff.get("after_header") in contents:
                diff["before"] = base64.b64decode(diff.pop("before_b64", "")).decode("utf-8")
                diff["after"] = str(contents[diff["after_header"]])
        return result


def _mode(value) -> str:
    return f"{int(str(value), 8):04o}"


def _same_owner(have: dict, item: dict, current: dict) -> bool:
    """Owner and group by number: root is 0, other names as the read found them (a name not
    read, or without an account yet, never matches)."""
    owner, group = item.get("owner", "root"), item.get("group", "root")
    uid = 0 if owner == "root" else (current.get("uids") or {}).get(owner)
    gid = 0 if group == "root" else (current.get("gids") or {}).get(group)
    return uid is not None and gid is not None and have.get("uid") == uid and have.get("gid") == gid


def _all_as_wanted(args: dict, current: dict) -> bool:
    """True only if the role's read of the host shows every item exactly as wanted."""
    files, dirs, links = (current.get(k) or {} for k in ("files", "dirs", "links"))
    try:
        for path in args.get("absent") or []:
            # Gone only if read both ways: not a file, and not a link (even a dangling one).
            if files.get(path, "?") is not None or links.get(path, "?") is not None:
                return False
        for item in args.get("dirs") or []:
            have = dirs.get(item["path"])
            if not have or have.get("mode") != _mode(item["mode"]) \
                    or not _same_owner(have, item, current):
                return False
        for item in args.get("files") or []:
            have = files.get(item["dest"])
            # read_state's checksum (the one Ansible uses), not a security function.
            want = hashlib.sha1(str(item["content"]).encode("utf-8")).hexdigest()  # noqa: S324
            if not have or have.get("sha1") != want or have.get("mode") != _mode(item["mode"]) \
                    or not _same_owner(have, item, current):
                return False
        for item in args.get("links") or []:
            if links.get(item["dest"]) != item["src"]:
                return False
    except (KeyError, TypeError, ValueError):
        return False
    return True
