"""Read a role's files and render its templates with Ansible's own templar, for the
unit tests of the roles (no host needed). Imported by the test modules next to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "meet.example.org"
# The project's collection (its plugins): collections/ansible_collections/jitsi_sovereign/core.
COLLECTION = ROOT / "collections" / "ansible_collections" / "jitsi_sovereign" / "core"


def load_source(path: Path | str, name: str | None = None):
    """A Python file of the project that is not in a package (a module, an action or filter
    plugin, a script shipped by a role) loaded as a module. path: absolute, or relative to
    the top of the checkout."""
    import importlib.util

    path = ROOT / path
    spec = importlib.util.spec_from_file_location(name or f"jsov_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plugin(kind: str, name: str):
    """A plugin of the collection (kind: action, modules, filter, lookup, test, plugin_utils),
    imported by its package name through Ansible's collection loader, as Ansible imports it
    (so its own imports resolve, and the templar finds the collection's plugins afterwards)."""
    import importlib

    # Through Ansible's collection finder, as the templar finds the collection's tests and
    # filters: a plain sys.path import of ansible_collections first would leave the finder,
    # installed later in the session, without the collection's metadata.
    _collection_loader()
    return importlib.import_module(
        f"ansible_collections.jitsi_sovereign.core.plugins.{kind}.{name}")


def play_locally(book: Path, tmp_path: Path, *extra: str):
    """ansible-playbook of this environment on `book` against localhost (local connection),
    with the project's ansible.cfg (its modules and action plugins); the CompletedProcess."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / ".ansible-tmp"))
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(book),
         "-e", f"ansible_python_interpreter={sys.executable}", *extra],
        capture_output=True, text=True, env=env, check=False)


def role_yaml(role: str, *parts: str) -> Any:
    import yaml

    return yaml.safe_load((ROOT / "roles" / role / Path(*parts)).read_text())


def site_roles() -> list[tuple[str, dict]]:
    """playbooks/site.yml's roles in the order they run: (name, its `roles:` entry or its
    import_role task)."""
    import yaml

    (play,) = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    found = [(r["role"], r) for r in play["roles"]]
    for task in play["tasks"]:
        for sub in task.get("block", [task]):
            if "ansible.builtin.import_role" in sub:
                found.append((sub["ansible.builtin.import_role"]["name"], sub))
    return found


def state_request(role: str) -> dict:
    """The request of the role's one read of the host (the jitsi_sovereign.core.state task of
    tasks/read_state.yml), untemplated: template it with templar(role, ...)."""
    (task,) = [t for t in role_yaml(role, "tasks", "read_state.yml")
               if "jitsi_sovereign.core.state" in t]
    return task["jitsi_sovereign.core.state"]


def trusted(value: Any) -> Any:
    """Role files are trusted templates for Ansible (data loaded by PyYAML is not)."""
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return value


def templar(role: str, extra: dict, *, with_vars: bool = True):
    """Ansible's templar over the role's defaults (and vars/main.yml), the meeting domain
    and ``extra`` (which wins)."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    variables = {**trusted(role_yaml(role, "defaults", "main.yml")),
                 **(trusted(role_yaml(role, "vars", "main.yml")) if with_vars else {}),
                 "jitsi_sovereign_domain": DOMAIN, "ansible_managed": "Ansible managed",
                 **extra}
    _collection_loader()
    loader = DataLoader()
    loader.set_basedir(str(ROOT / "roles" / role))
    return Templar(loader=loader, variables=variables)


def _collection_loader() -> None:
    """Ansible's plugin loader with the project's collection, once per test session (the
    roles' templates name jitsi_sovereign.core's tests and filters)."""
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    if not any(isinstance(f, _AnsibleCollectionFinder) for f in __import__("sys").meta_path):
        init_plugin_loader([str(ROOT / "collections")])


# The facts a preflight reads (the play gathers them: distribution, virtual).
FACTS = {"distribution": "Debian", "distribution_major_version": "13",
         "distribution_version": "13.2", "virtualization_type": "kvm",
         "virtualization_role": "guest"}


def preflight_problems(role: str, facts: dict | None = None, **over: Any) -> list[str]:
    """The messages of the role's preflight rules that fail (tasks/preflight.yml: each
    assert task with a `_rules` list of {ok, msg}), for the role's defaults and `over`."""
    problems: list[str] = []
    for task in role_yaml(role, "tasks", "preflight.yml"):
        if "ansible.builtin.assert" not in task or "_rules" not in task.get("vars", {}):
            continue
        facts = FACTS if facts is None else facts
        t = templar(role, {**trusted(task["vars"]), "ansible_facts": facts,
                           "ansible_check_mode": False, "inventory_hostname": "meet1",
                           **over})
        problems += t.template(trusted("{{ _problems }}"))
    return [" ".join(str(p).split()) for p in problems]


def render(templar_, role: str, template: str) -> str:
    """One of the role's templates (path under templates/), rendered."""
    return templar_.template(trusted((ROOT / "roles" / role / "templates" / template).read_text()))


def assert_defaults_match_specs(role: str, *, folded: bool = False) -> None:
    """defaults/main.yml and meta/argument_specs.yml declare the same variables, all
    prefixed with the role's name and described; the values live in defaults/main.yml only
    (one home), and each value that is not a template is of the type its spec declares.
    ``folded`` is accepted for the callers written before (no longer needed)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    defaults = role_yaml(role, "defaults", "main.yml")
    options = role_yaml(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)
    for name, spec in options.items():
        assert name.startswith(f"{role}_"), name
        assert "default" not in spec, f"{name}: its default belongs in defaults/main.yml"
        assert spec.get("description"), name
    plain = {k: v for k, v in defaults.items() if "{{" not in str(v)}
    result = ArgumentSpecValidator({k: options[k] for k in plain}).validate(plain)
    assert not result.error_messages, result.error_messages
