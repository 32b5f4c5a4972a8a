"""jitsi_sovereign.core.apt: package lists that cannot provide the packages are refreshed first,
whatever their age (issue 9: an image with its lists removed, a recent mtime)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml
from role_files import ROOT, load_source, play_locally, plugin

ACTION = "collections/ansible_collections/jitsi_sovereign/core/plugins/action/apt.py"
READER = "collections/ansible_collections/jitsi_sovereign/core/plugins/modules/state.py"


@pytest.fixture()
def action():
    return plugin("action", "apt")


@pytest.fixture()
def reader(tmp_path, monkeypatch):
    """read_state.py with its apt paths under tmp_path, and a fake apt-get first on PATH that
    knows only the package `known` (any version)."""
    rs = load_source(READER, "jsov_read_state_apt")
    lists = tmp_path / "lists"
    lists.mkdir()
    monkeypatch.setattr(rs, "APT_LISTS", str(lists))
    monkeypatch.setattr(rs, "APT_STAMP", str(tmp_path / "periodic" / "update-success-stamp"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-get.calls"
    fake = bin_dir / "apt-get"
    fake.write_text(f"""#!/bin/sh
echo "$@" >> {calls}
bad=0
for a in "$@"; do
  case "$a" in
    -*|install|known) ;;
    *) echo "E: Unable to locate package $a" >&2; bad=1 ;;
  esac
done
exit $((bad * 100))
""")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    rs.calls = calls
    rs.lists = lists
    return rs


def _age(path: Path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_empty_lists_with_a_recent_mtime_are_not_trusted(reader, action):
    """The image case: no index, directory touched a minute ago."""
    _age(reader.lists, 600)
    state = reader._apt({"names": ["known"], "valid_time": 3600})
    assert state["indexes"] == 0 and 595 <= state["age"] <= 660
    assert state["unavailable"] is None  # nothing to simulate from
    assert not reader.calls.exists()
    reason = action.refresh_reason(state, ["known"], 3600)
    assert reason and "no package index" in reason and "10 min" in reason


def test_complete_recent_lists_are_used_as_they_are(reader, action):
    (reader.lists / "deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages").write_text("")
    (reader.lists / "lock").write_text("")
    _age(reader.lists, 60)
    state = reader._apt({"names": ["known"], "valid_time": 3600})
    assert state == {"indexes": 1, "age": state["age"], "unavailable": []}
    assert "--simulate" in reader.calls.read_text()
    assert action.refresh_reason(state, ["known"], 3600) is None


def test_a_package_the_lists_cannot_provide_means_a_refresh(reader, action):
    """The added-source case: lists present and recent, one name without a candidate."""
    (reader.lists / "x_Packages.lz4").write_text("")
    state = reader._apt({"names": ["known", "jicofo=1.0-1189-1"], "valid_time": 3600})
    assert state["unavailable"] == ["Unable to locate package jicofo=1.0-1189-1"]
    reason = action.refresh_reason(state, ["known", "jicofo=1.0-1189-1"], 3600)
    assert "apt cannot install known, jicofo=1.0-1189-1" in reason
    assert "Unable to locate package jicofo=1.0-1189-1" in reason


def test_old_lists_are_left_to_apt(reader, action):
    """Older than cache_valid_time: apt refreshes them itself, no simulation is spent."""
    (reader.lists / "x_Packages").write_text("")
    _age(reader.lists, 7200)
    state = reader._apt({"names": ["missing-one"], "valid_time": 3600})
    assert state["unavailable"] is None and not reader.calls.exists()
    assert action.refresh_reason(state, ["missing-one"], 3600) is None


def test_the_success_stamp_wins_over_the_directory(reader):
    """As ansible.builtin.apt measures the age: apt's stamp first, then the directory."""
    (reader.lists / "x_Packages").write_text("")
    _age(reader.lists, 60)
    stamp = Path(reader.APT_STAMP)
    stamp.parent.mkdir()
    stamp.write_text("")
    _age(stamp, 7200)
    assert reader._apt({"names": ["known"], "valid_time": 3600})["age"] >= 7200


def test_an_unreadable_host_means_a_refresh(action):
    assert action.refresh_reason(None, ["x"], 3600) == "the host's package lists could not be read"


def test_every_role_installs_through_the_one_rule():
    """No role calls ansible.builtin.apt to install: each goes through jitsi_sovereign.core.apt,
    and none sets the cache arguments itself."""
    installs = 0
    for path in sorted((ROOT / "roles").glob("*/tasks/*.yml")):
        for task in yaml.safe_load(path.read_text()) or []:
            assert "ansible.builtin.apt" not in task, path
            if "jitsi_sovereign.core.apt" in task:
                installs += 1
                args = task["jitsi_sovereign.core.apt"]
                assert not {"update_cache", "cache_valid_time", "state"} & set(args), path
                assert args.get("install_recommends") is False, path
    assert installs == 9


PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Install a package the lists do not have
      jitsi_sovereign.core.apt:
        name: [jsov-no-such-package-9]
        install_recommends: false
        cache_valid_time: {valid}
"""


def _play(tmp_path, valid, *extra):
    book = tmp_path / "pb.yml"
    book.write_text(PLAYBOOK.format(valid=valid))
    res = play_locally(book, tmp_path, *extra)
    return res.returncode, res.stdout, res.stderr


@pytest.mark.skipif(not Path("/var/lib/apt/lists").is_dir() or not any(
    "_Packages" in p.name for p in Path("/var/lib/apt/lists").iterdir()),
    reason="this machine has no apt package index to read")
def test_a_dry_run_through_ansible_playbook_says_why_it_would_refresh(tmp_path):
    """The action reads this machine's real lists (lists that are 'fresh' for a huge
    cache_valid_time, without the package) and, in check mode, reports the install with the
    reason instead of failing: nothing on the machine changes."""
    rc, out, err = _play(tmp_path, 10**9, "--check", "-v")
    text = " ".join((out + err).split())  # warnings are folded over several lines
    assert rc == 0, out + err
    assert "changed: [localhost]" in text and "changed=1" in text
    assert "would refresh the package lists, then install jsov-no-such-package-9" in text
    assert ("Refreshing the package lists first, whatever their age: apt cannot install "
            "jsov-no-such-package-9 from the lists as they are (Unable to locate package "
            "jsov-no-such-package-9)") in text, text
