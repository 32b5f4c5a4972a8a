# jitsi-sovereign: the filters' access to the project's checkers.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Import a checker of jitsi_sovereign.confcheck (configjs, hocon, openpgp, sandbox) for a filter.

Imported on first use, not when Ansible loads the filter files (it loads them for every
task that templates; esprima alone takes ~1 s to import). The checkers are the project's
Python package, shared with the checks: the controller runs Ansible from the project's
virtualenv; from a checkout run by another Python, the checkout's src/ is tried too."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from ansible.errors import AnsibleFilterError

# collections/ansible_collections/jitsi_sovereign/core/plugins/plugin_utils/ -> the checkout
_CHECKOUT_SRC = Path(__file__).resolve().parents[6] / "src"


def checker(name: str, filter_name: str, needs: str = ""):
    """jitsi_sovereign.confcheck.<name>, or the filter fails saying what is missing."""
    module = f"jitsi_sovereign.confcheck.{name}"
    try:
        return importlib.import_module(module)
    except ImportError:
        if (_CHECKOUT_SRC / "jitsi_sovereign").is_dir() and str(_CHECKOUT_SRC) not in sys.path:
            sys.path.insert(0, str(_CHECKOUT_SRC))
            try:
                return importlib.import_module(module)
            except ImportError as exc:
                first = exc
        raise AnsibleFilterError(
            f"{filter_name} needs the jitsi_sovereign package{' and ' + needs if needs else ''} "
            f"on the controller ({first}): run Ansible from the project's virtualenv") from None
