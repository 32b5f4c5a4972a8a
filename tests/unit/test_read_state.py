"""The roles' one-command state reader (jitsi_sovereign.core.state: plugins/modules/state.py)."""

from __future__ import annotations

from pathlib import Path

from role_files import load_source

TOP = Path(__file__).resolve().parents[2]
READER = TOP / "collections/ansible_collections/jitsi_sovereign/core/plugins/modules/state.py"


def load(path: Path):
    return load_source(path, "read_state")


def proc(key: str) -> str:
    return " ".join(Path("/proc/sys", key.replace(".", "/")).read_text().split())


def test_one_reader_for_every_role():
    # The collection's state action runs it: no role keeps a copy, nor runs it by hand.
    assert READER.is_file()
    assert not list((TOP / "roles").glob("*/files/read_state.py"))
    for path in (TOP / "roles").rglob("*.yml"):
        text = path.read_text()
        assert "read_state.py" not in text, path
        assert "ansible.builtin.raw" not in text, path
        assert "from_json" not in text, path


def test_sysctl_equal_values_differ_nowhere():
    rs = load(READER)
    keys = ["net.ipv4.ip_forward", "net.ipv4.conf.all.accept_redirects"]
    pairs = [f"{k}={proc(k)}" for k in keys]
    assert rs._sysctl(pairs) == {"missing": [], "differ": []}


def test_sysctl_missing_key_reported():
    rs = load(READER)
    assert rs._sysctl(["net.ipv4.no_such_key=1"]) == {"missing": ["net.ipv4.no_such_key"],
                                                     "differ": []}


def test_forwarding_change_reapplies_everything_after_it():
    rs = load(READER)
    other = "net.ipv4.conf.all.accept_redirects"
    flipped = "0" if proc("net.ipv4.ip_forward") == "1" else "1"
    pairs = sorted([f"{other}={proc(other)}", f"net.ipv4.ip_forward={flipped}"])
    result = rs._sysctl(pairs)
    # ip_forward first: writing it resets per-interface keys, which are then set again.
    assert result["differ"] == [f"net.ipv4.ip_forward={flipped}", f"{other}={proc(other)}"]


def test_user_and_group_ids(capsys, monkeypatch):
    """users/groups -> uids/gids by name, null for a name without an account."""
    import grp
    import json
    import os
    import pwd

    me, my_group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    monkeypatch.setattr("sys.argv", ["read_state", json.dumps(
        {"users": [me, "no-such-user-jsov"], "groups": [my_group, "no-such-group-jsov"]})])
    load(READER).main()
    out = json.loads(capsys.readouterr().out)
    assert out["uids"] == {me: os.getuid(), "no-such-user-jsov": None}
    assert out["gids"] == {my_group: os.getgid(), "no-such-group-jsov": None}
