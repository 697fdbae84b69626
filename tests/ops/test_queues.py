"""notifications_project/queues.py: the queues the settings declare and the -Q list of
each worker group, derived from the priorities."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from apps.common.priorities import PRIORITIES, URGENT
from notifications_project.queues import CHANNELS, GROUPS, PRIORITISED_KINDS, declared_queues, worker_queues

ROOT = Path(__file__).resolve().parents[2]


def priority_of(queue: str) -> str:
    _, _, suffix = queue.rpartition(".")
    return suffix if suffix in PRIORITIES else "normal"


def test_the_settings_declare_the_derived_queues():
    assert [queue.name for queue in settings.CELERY_TASK_QUEUES] == declared_queues()
    assert len(set(declared_queues())) == len(declared_queues())
    assert list(CHANNELS) == settings.NOTIFICATION_CHANNELS
    every = {f"{kind}.{p}" if p != "normal" else kind for kind in PRIORITISED_KINDS for p in PRIORITIES}
    assert set(declared_queues()) == every | {"default", "maintenance", "integrations"}


@pytest.mark.parametrize("group", list(GROUPS))
def test_a_group_polls_known_queues_once_each_highest_priority_first(group):
    queues = worker_queues(group)
    assert queues and len(queues) == len(set(queues))
    assert set(queues) <= set(declared_queues())
    ranks = [PRIORITIES.index(priority_of(queue)) for queue in queues]
    assert ranks == sorted(ranks), queues


def test_the_all_group_consumes_everything_and_the_split_groups_share_it_out():
    assert set(worker_queues("all")) == set(declared_queues())
    split = [worker_queues(group) for group in ("fanout", "channels", "maintenance")]
    assert sorted(sum(split, [])) == sorted(declared_queues())


def test_the_urgent_group_takes_only_critical_and_high_work_of_every_kind():
    assert {priority_of(queue) for queue in worker_queues("urgent")} == set(URGENT)
    assert {queue.rpartition(".")[0] for queue in worker_queues("urgent")} == set(PRIORITISED_KINDS)


def test_a_channel_group_takes_that_channel_at_every_priority():
    assert set(worker_queues("email")) == {"email.critical", "email.high", "email", "email.low"}


def run(*args):
    command = [sys.executable, "-m", "notifications_project.queues", *args]
    return subprocess.run(command, cwd=ROOT, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)


def test_the_command_prints_a_group_without_any_settings():
    result = run("urgent")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ",".join(worker_queues("urgent")) + "\n"


def test_the_command_refuses_an_unknown_group():
    result = run("emails")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "invalid choice: 'emails'" in result.stderr
