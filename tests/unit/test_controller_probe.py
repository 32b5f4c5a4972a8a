"""The lookup jitsi_sovereign.core.controller_probe: a role's script run on the controller,
its JSON object back (the roles' own scripts are tested with their roles)."""

from __future__ import annotations

import re

import pytest
from role_files import plugin, templar, trusted


def script(tmp_path, body: str) -> str:
    path = tmp_path / "probe.py"
    path.write_text(body)
    return str(path)


def test_the_last_json_object_printed_is_the_answer(tmp_path):
    lookup = plugin("lookup", "controller_probe")
    path = script(tmp_path, "import sys, json\nprint('noise')\n"
                            "print(json.dumps({'args': sys.argv[1:], 'python': sys.executable}))\n")
    answer = lookup.run_script(path, ["a b", "{}"], 10)
    assert answer["args"] == ["a b", "{}"]
    # The Python that runs Ansible (so its packages, e.g. cryptography).
    import sys

    assert answer["python"] == sys.executable


@pytest.mark.parametrize(("body", "words"), [
    ("print('no json')", "printed no JSON object (exit code 0): no output"),
    ("import sys\nsys.exit('it broke')", "printed no JSON object (exit code 1): it broke"),
    ("print('{not json')", "printed no JSON object"),
])
def test_a_script_without_an_answer_fails_with_its_error(tmp_path, body, words):
    from ansible.errors import AnsibleLookupError

    lookup = plugin("lookup", "controller_probe")
    with pytest.raises(AnsibleLookupError, match=re.escape(words)):
        lookup.run_script(script(tmp_path, body), [], 10)


def test_a_slow_script_is_stopped(tmp_path):
    from ansible.errors import AnsibleLookupError

    lookup = plugin("lookup", "controller_probe")
    with pytest.raises(AnsibleLookupError, match="did not answer within 1 s"):
        lookup.run_script(script(tmp_path, "import time\ntime.sleep(5)"), [], 1)


def test_the_script_is_found_in_the_roles_files():
    t = templar("tls", {})
    got = t.template(trusted("{{ lookup('jitsi_sovereign.core.controller_probe', 'resolve.py', "
                             "'{\"names\": []}') }}"))
    assert got["resolved"] == {}
    with pytest.raises(Exception, match=re.escape("nope.py: not found in the role's files/")):
        t.template(trusted("{{ lookup('jitsi_sovereign.core.controller_probe', 'nope.py') }}"))
