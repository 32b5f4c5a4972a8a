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


def test_failure_keeps_task_host_and_message():
    p = Progress()
    p.handle(ev("playbook_on_task_start", task="load rules"))
    line = p.handle(ev("runner_on_failed", host="meet", task="load rules",
                       res={"msg": "nft: syntax error"}))
    assert line == "FAILED: [meet] load rules: nft: syntax error"
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
