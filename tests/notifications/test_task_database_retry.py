"""A database outage inside a task that writes is retried, not lost: each such task
(one at a time, eagerly) meets an OperationalError on its first run and succeeds on
the retry."""

import pytest
from django.db import OperationalError

from apps.notifications import tasks as notification_tasks
from apps.subscriptions import tasks as subscription_tasks

pytestmark = pytest.mark.django_db


class FailsOnce:
    """Raises what a refused or cut connection raises, the first time only."""

    def __init__(self, result=None):
        self.calls, self.result = 0, result

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == 1:
            raise OperationalError("connection to server failed: sorry, too many clients already")
        return self.result


@pytest.mark.parametrize(
    ("module", "function", "task", "args", "result", "calls"),
    [
        (notification_tasks, "_fan_out", notification_tasks.fan_out_task, [1], None, 2),
        # The retry redoes the whole batch (each fan-out resumes where it stopped).
        (notification_tasks, "_fan_out", notification_tasks.fan_out_batch_task, [[1, 2]], None, 3),
        (
            notification_tasks,
            "send_deliveries_cancel",
            notification_tasks.direct_send_cancel_task,
            [1, "ops"],
            (3, []),
            2,
        ),
        (
            subscription_tasks,
            "subscriptions_defaults_sync",
            subscription_tasks.subscriptions_defaults_sync_task,
            [1],
            4,
            2,
        ),
    ],
    ids=lambda value: getattr(value, "name", None),
)
def test_a_database_outage_is_retried(monkeypatch, module, function, task, args, result, calls):
    work = FailsOnce(result)
    monkeypatch.setattr(module, function, work)
    outcome = task.apply(args=args)
    assert outcome.successful(), outcome.traceback
    assert work.calls == calls
    assert outcome.result == (result[0] if isinstance(result, tuple) else result)
