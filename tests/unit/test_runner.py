"""The progress display is built from ansible-runner's event stream."""

from __future__ import annotations

from pathlib import Path

from jitsi_sovereign.inventory import Inventory
from jitsi_sovereign.runner import Progress, reproduce_command


def ev(kind: str, **data) -> dict:
    return {"event": kind, "event_data": data}


def test_counts_per_host_and_changed_lines():
    p = Progress()
    assert p.handle(ev("playbook_on_play_start", play="Harden")) == "PLAY Harden"
    p.handle(ev("playbook_on_task_start", task="sshd config"))
    assert p.handle(ev("runner_on_ok", host="a", task="sshd config", res={"changed": True})) \
        == "changed: [a] sshd config"
    assert p.handle(ev("runner_on_ok", host="b", task="sshd config", res={"changed": False})) \
        is None
    p.handle(ev("runner_on_skipped", host="b", task="sshd config"))
    assert p.counts["a"] == {"ok": 1, "changed": 1, "failed": 0, "unreachable": 0, "skipped": 0}
    assert p.counts["b"] == {"ok": 1, "changed": 0, "failed": 0, "unreachable": 0, "skipped": 1}
    assert p.changed_tasks == [("a", "sshd config")]
    assert p.tasks_done == 1


def test_a_censored_change_is_still_a_change():
    """no_log censors the result down to one message: the callback's line tells."""
    p = Progress()
    censored = {"censored": "the output has been hidden due to the fact that 'no_log: true' "
                            "was specified for this result"}
    line = p.handle(dict(ev("runner_on_ok", host="a", task="Copy the secret", res=censored),
                         stdout="changed: [a]"))
    assert line == "changed: [a] Copy the secret"
    assert p.handle(dict(ev("runner_on_ok", host="a", task="Read the secret", res=censored),
                         stdout="ok: [a]")) is None
    assert p.counts["a"]["changed"] == 1 and p.counts["a"]["ok"] == 2


def test_a_task_warning_is_shown_under_its_task():
    """e.g. jitsi_sovereign.core.apt saying why it refreshes the package lists first."""
    p = Progress()
    why = "Refreshing the package lists first, whatever their age: no package index."
    assert p.handle(ev("runner_on_ok", host="a", task="Install", res={
        "changed": True, "warnings": [why]})) == f"changed: [a] Install\n  warning: {why}"
    assert p.handle(ev("runner_on_ok", host="a", task="Read", res={
        "changed": False, "warnings": ["odd"]})) == "note: [a] Read\n  warning: odd"
    # A no_log result never shows its warnings (they could quote what it hides).
    assert p.handle(ev("runner_on_ok", host="a", task="Secret", res={
        "changed": False, "_ansible_no_log": True, "warnings": ["s3cr3t"]})) is None
    # Ansible's notice about its own temporary directory is no news for the user.
    assert p.handle(ev("runner_on_ok", host="a", task="First", res={"changed": False, "warnings": [
        "Module remote_tmp /root/.ansible/tmp did not exist and was created with a mode of "
        "0700"]})) is None
    assert p.counts["a"]["ok"] == 4 and p.counts["a"]["changed"] == 1


def test_failure_keeps_task_host_and_message():
    p = Progress()
    p.handle(ev("playbook_on_task_start", task="load rules"))
    line = p.handle(ev("runner_on_failed", host="meet", task="load rules",
                       res={"msg": "nft: syntax error"}))
    assert line == "FAILED: [meet] load rules (details at the end)"
    assert p.counts["meet"]["failed"] == 1
    (f,) = p.failures
    assert (f.host, f.task, f.message, f.unreachable) == ("meet", "load rules",
                                                          "nft: syntax error", False)


def test_ignored_failure_is_not_a_failure():
    p = Progress()
    p.handle(ev("runner_on_failed", host="h", task="probe", ignore_errors=True, res={"msg": "x"}))
    assert p.failures == [] and p.counts["h"]["failed"] == 0


def test_unreachable_and_no_log_message_hidden():
    p = Progress()
    p.handle(ev("runner_on_unreachable", host="h", task="Gathering Facts",
                res={"msg": "ssh: connect to host h port 22: Connection timed out"}))
    p.handle(ev("runner_on_failed", host="h", task="set secret",
                res={"_ansible_no_log": True, "msg": "the secret is hunter2"}))
    assert p.failures[0].unreachable
    assert "hunter2" not in p.failures[1].message
    assert "hidden" in p.failures[1].message


def test_loop_failure_message_collects_items():
    p = Progress()
    p.handle(ev("runner_on_failed", host="h", task="t", res={"results": [
        {"failed": False, "msg": "fine"}, {"failed": True, "msg": "item 2 broke"}]}))
    assert p.failures[0].message == "item 2 broke"


def test_reproduce_command_never_echoes_extra_var_values(tmp_path):
    inv = Inventory(path=tmp_path / "hosts.yml", hosts=[])
    cmd = reproduce_command(inv, Path("/x/site.yml"), check=True, diff=False, limit="meet1",
                            tags=None, extra_var_names=["jwt_secret"])
    assert "ansible-playbook -i" in cmd and "--check" in cmd and "--limit meet1" in cmd
    assert "ANSIBLE_CONFIG=" in cmd
    assert cmd.endswith("-e ...  # with jwt_secret")


def test_run_playbook_runs_ansible_for_real(tmp_path, monkeypatch):
    """A real ansible-playbook run on localhost through ansible-runner: events, counts, log."""
    import io

    from rich.console import Console

    from jitsi_sovereign import paths, runner

    (tmp_path / "playbooks").mkdir()
    (tmp_path / "roles").mkdir()
    (tmp_path / "ansible.cfg").write_text("[defaults]\ninterpreter_python = auto_silent\n")
    (tmp_path / "playbooks" / "t.yml").write_text(
        "- name: Local\n  hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Something that changes\n      ansible.builtin.command: 'true'\n"
        "    - name: Something that fails\n      ansible.builtin.fail:\n"
        "        msg: 'boom {{ marker }}'\n")
    inv_file = tmp_path / "hosts.yml"
    inv_file.write_text("all:\n  hosts:\n    here:\n      ansible_connection: local\n"
                        f"      ansible_python_interpreter: {__import__('sys').executable}\n")
    monkeypatch.setattr(paths, "ansible_dir", lambda: tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    out = io.StringIO()
    result = runner.run_playbook(Inventory(path=inv_file, hosts=[]), playbook="t.yml",
                                 extra_vars={"marker": "m1"}, console=Console(file=out))
    assert not result.ok and result.rc != 0
    assert result.stats["here"]["changed"] == 1 and result.stats["here"]["failed"] == 1
    (failure,) = result.failures
    assert (failure.host, failure.task, failure.message) == ("here", "Something that fails",
                                                             "boom m1")
    assert (result.log_dir / "stdout").is_file()
    text = out.getvalue()
    assert "Something that fails" in text and "Reproduce with:" in text
    assert "m1" not in text.split("Reproduce with:")[1]  # extra var values are never echoed
    # Nor on ansible-playbook's argv (ps, artifacts/<id>/command): a private file, removed.
    command = (result.log_dir / "command").read_text()
    assert '"-e", "@' in command and "m1" not in command and "marker" not in command
    assert not list((tmp_path / "state").rglob("extravars-*"))
