# jitsi-sovereign: install Debian packages from package lists that can provide them.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible.builtin.apt, with one rule for every role about when to refresh the lists.

ansible.builtin.apt's `cache_valid_time` trusts the lists' age alone (the mtime of
/var/lib/apt/periodic/update-success-stamp, else of /var/lib/apt/lists). Two hosts fool it:
- an image whose builder removed the lists after its `apt-get update` (the lab's images
  did; several providers' cloud images do): the directory is empty but its mtime is recent,
  nothing is updated, and no package has a candidate ("No package matching ... is
  available") for an hour after the host was made;
- a source added less than `cache_valid_time` after the last update (Jitsi's): its
  packages have no candidate until the next update.

So this action reads the host first, in one plain SSH exec (plugins/modules/state.py,
request `apt`): how many package indexes the lists hold, their age, and whether
`apt-get --simulate install` of the names works from the lists as they are. Then one
ansible.builtin.apt run:
- lists older than `cache_valid_time`: apt refreshes them, as it always did;
- lists that cannot provide the names (no index at all, or apt cannot install them): the
  lists are refreshed first whatever their age, and the task says why in its warnings;
- otherwise the lists are used as they are.
A run refreshes at most once for this reason: after the refresh, the lists are fresh and
complete for the next role.

Arguments: those of ansible.builtin.apt (`name`, `install_recommends`, `policy_rc_d`,
`allow_downgrade`, `dpkg_options`, ...), `state: present` only; `cache_valid_time`
(seconds, default 3600). `update_cache` is this action's decision, not an argument.

In check mode apt cannot refresh: when a refresh is needed, or apt cannot simulate the
install, the task reports the install as a change (with the reason in its warnings) instead
of failing on packages it cannot name yet.
"""

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.jitsi_sovereign.core.plugins.plugin_utils.host import read_host

DEFAULT_VALID_TIME = 3600
_MANAGED = frozenset(("update_cache", "update_cache_retries", "update_cache_retry_max_delay"))


def refresh_reason(state, names, valid_time):
    """Why the lists must be refreshed before installing `names`, or None.

    `state` is the host reader's `apt` answer (None when the host could not be read).
    Lists older than `valid_time` need no reason: apt refreshes those by itself.
    """
    if not isinstance(state, dict):
        return "the host's package lists could not be read"
    if int(state.get("age", 0)) > valid_time:
        return None
    if not state.get("indexes"):
        return ("/var/lib/apt/lists holds no package index, though it changed "
                f"{_age_text(state.get('age', 0))} ago (the lists of an image removed after "
                "its build look fresh by their age alone)")
    unavailable = state.get("unavailable") or []
    if unavailable:
        return (f"apt cannot install {', '.join(names)} from the lists as they are "
                f"({'; '.join(unavailable[:3])})")
    return None


def _age_text(seconds):
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        bad = sorted(_MANAGED & set(args))
        if bad:
            raise AnsibleActionFail(f"{', '.join(bad)}: decided by jitsi_sovereign.core.apt itself "
                                    "(set cache_valid_time only)")
        if args.get("state", "present") != "present":
            raise AnsibleActionFail("jitsi_sovereign.core.apt installs (state: present); use "
                                    "ansible.builtin.apt to remove packages")
        names = args.get("name") or []
        names = [names] if isinstance(names, str) else [str(n) for n in names]
        if not names:
            raise AnsibleActionFail("name: give the packages to install")
        valid_time = int(args.pop("cache_valid_time", DEFAULT_VALID_TIME))

        reason = refresh_reason(self._read_apt(names, valid_time), names, valid_time)
        warnings = [f"Refreshing the package lists first, whatever their age: {reason}."] \
            if reason else []
        if reason and self._task.check_mode:
            result.update(changed=True, warnings=warnings,
                          msg=f"would refresh the package lists, then install {', '.join(names)}")
            return result
        args.update(update_cache=True, cache_valid_time=0 if reason else valid_time)
        result.update(self._execute_module(module_name="ansible.builtin.apt", module_args=args,
                                           task_vars=task_vars))
        if result.get("failed") and self._task.check_mode:
            # A dry run goes on (e.g. python3-apt is not there yet: apt installs it for real).
            warnings.append(f"apt could not simulate the install: {result.get('msg', '')}")
            result.update(failed=False, changed=True,
                          msg=f"would install {', '.join(names)}")
        if warnings:
            result["warnings"] = warnings + list(result.get("warnings") or [])
        return result

    def _read_apt(self, names, valid_time):
        """The host reader's `apt` answer (plugin_utils/host.py); None if unreadable."""
        try:
            return read_host(self, {"apt": {"names": names, "valid_time": valid_time}}).get("apt")
        except AnsibleActionFail:
            return None
