"""A filter over the controller's secrets directory (docs/design.md "Secrets"):

    {{ secrets_dir | jitsi_sovereign.core.loose_modes }}  -> paths readable or writable by
                                                        group or others (empty: all private)

site.yml runs its `file` task (directory 0700, files 0600) only when this names something:
a module run on the controller costs ~0.5 s in every run, this walk a few milliseconds.
"""

from __future__ import annotations

import os
import stat


def loose_modes(directory) -> list[str]:
    """Entries of the directory (itself included) with any group or other permission bit.

    A missing directory is not loose (nothing to protect yet)."""
    loose = []
    for root, dirs, files in os.walk(str(directory)):
        for path in [root] + [os.path.join(root, name) for name in dirs + files]:
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
                loose.append(path)
        # os.walk lists subdirectories again as roots: report each path once.
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
    return sorted(set(loose))


class FilterModule:
    def filters(self):
        return {"loose_modes": loose_modes}
