"""jitsi_sovereign.core.files (module and action plugin).

The module's steps are tested on a real directory (tmp_path); one test runs the pair through
ansible-playbook on localhost: template rendering on the controller, idempotence, a refused
validation that leaves the old file, and a secret content that never reaches the output.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import stat
import subprocess

import pytest
from role_files import play_locally, plugin

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


M = plugin("modules", "files")


class FakeModule:
    """run_command only (what ensure_file uses for validate)."""

    def run_command(self, argv):
        res = subprocess.run(argv, capture_output=True, text=True, check=False)
        return res.returncode, res.stdout, res.stderr


def _item(dest, content, mode="0640", **extra):
    return {"dest": str(dest), "content": content, "mode": mode, "owner": ME, "group": MY_GROUP,
            **extra}


def test_writes_then_changes_nothing(tmp_path):
    dest = tmp_path / "a.conf"
    assert M.ensure_file(FakeModule(), _item(dest, "x=1\n"), False, False) == (True, None)
    assert dest.read_text() == "x=1\n"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640
    assert M.ensure_file(FakeModule(), _item(dest, "x=1\n"), False, False) == (False, None)
    # No temporary file left next to it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.conf"]


def test_mode_drift_is_fixed_in_place(tmp_path):
    dest = tmp_path / "a.conf"
    dest.write_text("x=1\n")
    dest.chmod(0o666)
    inode = dest.stat().st_ino
    changed, _ = M.ensure_file(FakeModule(), _item(dest, "x=1\n", mode="0600"), False, False)
    assert changed
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert dest.stat().st_ino == inode


def test_check_mode_reports_and_writes_nothing(tmp_path):
    dest = tmp_path / "a.conf"
    dest.write_text("old\n")
    changed, diff = M.ensure_file(FakeModule(), _item(dest, "new\n"), True, True)
    assert changed
    # base64: Ansible masks a no_log content wherever it appears in a result, even inside
    # the old content; the action plugin decodes it.
    assert diff == {"before_header": str(dest), "after_header": str(dest), "before_b64": "b2xkCg=="}
    assert dest.read_text() == "old\n"


def test_check_mode_treats_removed_paths_as_gone(tmp_path):
    """acme -> provided: a link is removed and a file written at its path, in one call."""
    (tmp_path / "cert.pem").symlink_to("/nonexistent/live/cert.pem")
    item = _item(tmp_path / "cert.pem", "PEM\n")
    assert M.ensure_file(FakeModule(), item, True, False, [str(tmp_path / "cert.pem")])[0]
    with pytest.raises(M.Failure, match="not a regular file"):
        M.ensure_file(FakeModule(), item, True, False)
    link = {"dest": str(tmp_path / "l"), "src": "x"}
    (tmp_path / "l").symlink_to("x")
    assert M.ensure_link(link, True, [str(tmp_path / "l")]) is True
    assert M.ensure_link(link, True) is False


def test_validate_percent_escapes(tmp_path):
    """As Ansible's validate: %s is the candidate, %% a literal %."""
    dest = tmp_path / "f"
    out = tmp_path / "out"
    validate = f"/bin/sh -c 'printf \"%%s|\" \"$1\" > {out}' sh %s"
    M.ensure_file(FakeModule(), _item(dest, "x\n", validate=validate), False, False)
    printed = out.read_text()
    assert printed.endswith("/candidate|") and "%" not in printed


def test_secret_file_has_no_diff(tmp_path):
    dest = tmp_path / "s"
    dest.write_text("old-secret\n")
    item = _item(dest, "new-secret\n", secret=True)
    changed, diff = M.ensure_file(FakeModule(), item, False, True)
    assert changed and diff is None
    assert dest.read_text() == "new-secret\n"


def test_refused_candidate_leaves_the_old_file(tmp_path):
    dest = tmp_path / "run.sh"
    dest.write_text("echo ok\n")
    with pytest.raises(M.Failure, match=r"refused by `/bin/sh -n %s` \(exit 2\)"):
        M.ensure_file(FakeModule(), _item(dest, "echo 'unterminated\n", validate="/bin/sh -n %s"),
                      False, False)
    assert dest.read_text() == "echo ok\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.sh"]


def test_validator_sees_the_candidate(tmp_path):
    dest = tmp_path / "run.sh"
    marker = tmp_path / "seen"
    validate = f"/bin/sh -c 'cat \"$1\" > {marker}' sh %s"
    M.ensure_file(FakeModule(), _item(dest, "echo new\n", validate=validate), False, False)
    assert marker.read_text() == "echo new\n"
    assert dest.read_text() == "echo new\n"


def test_unknown_group_fails_outside_check_mode(tmp_path):
    item = _item(tmp_path / "a", "x\n", group="no-such-group-jsov")
    with pytest.raises(M.Failure, match="group 'no-such-group-jsov' does not exist"):
        M.ensure_file(FakeModule(), item, False, False)
    assert M.ensure_file(FakeModule(), item, True, False)[0] is True


@pytest.mark.parametrize("mode", ["rw-r--r--", "99999"])
def test_bad_mode_is_named(tmp_path, mode):
    with pytest.raises(M.Failure, match=mode):
        M.ensure_file(FakeModule(), _item(tmp_path / "a", "x\n", mode=mode), False, False)


def test_a_link_is_not_written_through(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("keep\n")
    (tmp_path / "a").symlink_to(target)
    with pytest.raises(M.Failure, match="not a regular file"):
        M.ensure_file(FakeModule(), _item(tmp_path / "a", "x\n"), False, False)
    assert target.read_text() == "keep\n"


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_dirs_links_and_removals(tmp_path):
    d = {"path": str(tmp_path / "x" / "y"), "mode": "0750", "owner": ME, "group": MY_GROUP}
    assert M.ensure_dir(d, False) is True
    assert stat.S_IMODE((tmp_path / "x" / "y").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "x").stat().st_mode) == 0o755 & ~_umask()  # a parent
    assert M.ensure_dir(d, False) is False

    link = {"dest": str(tmp_path / "l"), "src": "x/y"}
    (tmp_path / "l").write_text("a file of an earlier layout\n")
    assert M.ensure_link(link, False) is True
    assert os.readlink(tmp_path / "l") == "x/y"
    assert M.ensure_link(link, False) is False

    assert M.remove(str(tmp_path / "l"), False) is True
    assert M.remove(str(tmp_path / "l"), False) is False
    with pytest.raises(M.Failure, match="is a directory"):
        M.remove(str(tmp_path / "x"), False)


PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    value: {value}
  tasks:
    - name: Write the files
      jitsi_sovereign.core.files:
        dirs: [{{path: "{out}/sub", mode: "0750", owner: "{me}", group: "{group}"}}]
        files:
          - {{dest: "{out}/a.conf", src: t.j2, mode: "0644", owner: "{me}", group: "{group}"}}
          - {{dest: "{out}/sub/secret", content: "token-{value}-s3cr3t", mode: "0600",
              owner: "{me}", group: "{group}", secret: true}}
          - {{dest: "{out}/run.sh", content: "{script}", mode: "0755", owner: "{me}",
              group: "{group}", validate: "/bin/sh -n %s"}}
          - {{dest: "{out}/disabled", content: "x", mode: "0644", enabled: false}}
"""


def _play(tmp_path, value, script="echo ok", *extra):
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "t.j2").write_text("# {{ ansible_managed }}\nvalue={{ value }}\n")
    (tmp_path / "out").mkdir(exist_ok=True)
    book = tmp_path / "pb.yml"
    book.write_text(PLAYBOOK.format(value=value, out=tmp_path / "out", me=ME, group=MY_GROUP,
                                    script=script))
    res = play_locally(book, tmp_path, *extra)
    return res.returncode, res.stdout + res.stderr


def test_through_ansible_playbook(tmp_path):
    rc, out = _play(tmp_path, 1, "echo ok", "--diff")
    assert rc == 0, out
    assert "changed=1" in out
    assert (tmp_path / "out" / "a.conf").read_text() == "# Ansible managed\nvalue=1\n"
    assert "+value=1" in out  # the diff of the rendered template
    assert "s3cr3t" not in out  # a secret file is never shown
    assert not (tmp_path / "out" / "disabled").exists()  # enabled: false leaves it out

    rc, out = _play(tmp_path, 1, "echo ok", "--diff")
    assert rc == 0 and "changed=0" in out, out

    # A line added behind our back: the diff shows that line going, not a masked file.
    with (tmp_path / "out" / "a.conf").open("a") as handle:
        handle.write("tampered=1\n")
    rc, out = _play(tmp_path, 1, "echo ok", "--diff")
    assert rc == 0 and "-tampered=1" in out and "-********" not in out, out

    rc, out = _play(tmp_path, 2, "echo 'unterminated", "-vvv")
    assert rc != 0
    assert "refused by `/bin/sh -n %s`" in out
    assert "s3cr3t" not in out.split("TASK [Write the files]")[1].split("fatal:")[1]
    # Files before the refused one were written, the refused one kept its old content.
    assert (tmp_path / "out" / "a.conf").read_text().endswith("value=2\n")
    assert (tmp_path / "out" / "run.sh").read_text() == "echo ok"


def test_the_controller_skips_the_host_only_when_the_read_shows_everything_as_wanted():
    A = plugin("action", "files")
    sha = hashlib.sha1(b"hello\n").hexdigest()
    args = {"files": [{"dest": "/e/a", "content": "hello\n", "mode": "0640", "group": "prosody"}],
            "dirs": [{"path": "/e", "mode": "755"}], "links": [{"dest": "/e/l", "src": "a"}],
            "absent": ["/e/old"]}
    current = {"files": {"/e/a": {"sha1": sha, "mode": "0640", "uid": 0, "gid": 107},
                         "/e/old": None},
               "dirs": {"/e": {"mode": "0755", "uid": 0, "gid": 0}},
               "links": {"/e/l": "a", "/e/old": None},
               "gids": {"prosody": 107}}
    assert A._all_as_wanted(args, current)
    # Each difference, and each thing the read does not tell, sends the module.
    assert not A._all_as_wanted(args, dict(current, gids={}))                    # gid not read
    assert not A._all_as_wanted(args, dict(current, gids={"prosody": None}))     # no group yet
    assert not A._all_as_wanted(args, dict(current, gids={"prosody": 108}))      # other gid
    for path, change in [("files", {"/e/a": dict(current["files"]["/e/a"], sha1="0" * 40)}),
                         ("files", {"/e/a": dict(current["files"]["/e/a"], mode="0644")}),
                         ("files", {"/e/a": None}),
                         ("files", {"/e/old": {"sha1": sha, "mode": "0644", "uid": 0, "gid": 0}}),
                         ("dirs", {"/e": None}),
                         ("links", {"/e/l": "b"}),
                         ("links", {"/e/old": "dangling"})]:
        changed = dict(current, **{path: dict(current[path], **change)})
        assert not A._all_as_wanted(args, changed), (path, change)
    assert not A._all_as_wanted(args, {"files": {}, "dirs": {}, "links": {}})


def test_the_controller_tells_a_user_from_a_group_of_the_same_name():
    """The owner's number comes from the read's uids, the group's from its gids."""
    A = plugin("action", "files")
    sha = hashlib.sha1(b"x\n").hexdigest()
    args = {"files": [{"dest": "/e/c", "content": "x\n", "mode": "0400", "owner": "jicofo",
                       "group": "jicofo"}]}
    current = {"files": {"/e/c": {"sha1": sha, "mode": "0400", "uid": 105, "gid": 108}},
               "uids": {"jicofo": 105}, "gids": {"jicofo": 108}}
    assert A._all_as_wanted(args, current)
    assert not A._all_as_wanted(args, dict(current, gids={"jicofo": 105}))
    assert not A._all_as_wanted(args, dict(current, uids={"jicofo": None}))


def test_loose_modes_of_the_secrets_directory(tmp_path):
    loose = plugin("filter", "secrets").loose_modes
    secrets = tmp_path / "secrets"
    assert loose(secrets) == []  # missing: nothing to protect yet
    (secrets / "host").mkdir(parents=True, mode=0o700)
    secrets.chmod(0o700)
    (secrets / "host" / "turn_secret").write_text("x")
    (secrets / "host" / "turn_secret").chmod(0o600)
    assert loose(secrets) == []
    (secrets / "host" / "turn_secret").chmod(0o640)
    (secrets / "host").chmod(0o750)
    assert loose(secrets) == [str(secrets / "host"), str(secrets / "host" / "turn_secret")]
