"""The XMPP probe's parsing (checks/xmpp.py) and the prosody role's files."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from jitsi_sovereign.checks import xmpp

ROLE = Path(__file__).resolve().parents[2] / "roles" / "prosody"

FEATURES = (
    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>"
    "<mechanism>PLAIN</mechanism></mechanisms></stream:features>")


def test_mechanisms():
    assert xmpp.mechanisms_of(FEATURES) == ["SCRAM-SHA-1", "PLAIN"]
    assert xmpp.mechanisms_of("<stream:features/>") == []


def test_sasl_outcome():
    assert xmpp.sasl_outcome("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")["result"] \
        == "success"
    failure = ("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-mechanism/>"
               "</failure>")
    assert xmpp.sasl_outcome(failure) == {"result": "failure", "condition": "invalid-mechanism"}


def test_probe_is_standard_library_only():
    # It runs on the host with Debian's python3 and nothing else.
    source = Path(xmpp.__file__).read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "base64", "json", "re", "socket", "ssl", "sys", "time"}


def test_defaults_match_argument_specs():
    defaults = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta/argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)
    for name, value in defaults.items():
        assert options[name]["default"] == value, name


def test_no_secret_in_state_or_defaults():
    text = (ROLE / "vars/main.yml").read_text()
    state = text.split("_prosody_state:")[1].split("_prosody_state_json")[0]
    assert "secret" not in state
    assert "secret" not in (ROLE / "defaults/main.yml").read_text().split("#")[0]


def test_secret_tasks_are_no_log():
    for path in (ROLE / "tasks").glob("*.yml"):
        for task in yaml.safe_load(path.read_text()) or []:
            text = yaml.safe_dump(task)
            if re.search(r"_prosody_turn_secret\b|site\.cfg\.lua\.j2|_prosody_component_passwords"
                         r"|_prosody_secret_lookups|_prosody_jwt_secret\b", text):
                assert task.get("no_log") is True, f"{path.name}: {task['name']}"
