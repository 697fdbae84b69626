"""Acceptances are recorded while the batch is sent, not after it: a real SMTP server on
127.0.0.1 looks in the database (its own connection) as each message arrives and counts
the deliveries already `sent`. With a window of 1, every earlier message is recorded
before the next one is sent; with a window of W over C connections, at most W per
connection are behind. That is what bounds a crash's resends."""

import psycopg
import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test import override_settings

from apps.common.channels import Channel
from apps.delivery.dispatch import deliveries_dispatch
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus

from ..channels.conftest import fan_out  # noqa: F401
from ..sinks import free_port

pytestmark = pytest.mark.django_db(transaction=True)

BATCH = 80  # four shares of 20: the provider opens one connection per 20 messages at most


class WitnessHandler:
    """Accepts every message and notes how many deliveries the database had as `sent`
    when it arrived."""

    def __init__(self):
        db = connection.settings_dict
        self.db = psycopg.connect(
            dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or 5432
        )
        self.db.autocommit = True
        self.recorded_at_arrival: list[int] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        with self.db.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {Delivery._meta.db_table} WHERE status = %s", [DeliveryStatus.SENT])
            self.recorded_at_arrival.append(cursor.fetchone()[0])
        return "250 OK"


@pytest.fixture
def witness():
    handler = WitnessHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_PROVIDER="smtp",
        SENDGRID_API_KEY="",
    ):
        yield handler
    controller.stop()
    handler.db.close()


def send_batch_of(make_user, fan_out) -> list[int]:  # noqa: F811
    people = [make_user(f"p{i}") for i in range(BATCH)]
    ids = sorted(d.pk for d in fan_out(people, Channel.EMAIL).values())
    assert sorted(deliveries_dispatch(channel_key="email", delivery_ids=ids).steps["sent"]) == ids
    return ids


@pytest.mark.parametrize(("window", "connections"), [(1, 1), (1, 4), (8, 1), (8, 4)])
def test_acceptances_are_recorded_within_the_window_per_connection(
    window,
    connections,
    witness,
    make_user,
    fan_out,  # noqa: F811
    settings,
):
    settings.DELIVERY_ACCEPTANCE_WINDOW = window
    settings.EMAIL_SMTP_PARALLEL_CONNECTIONS = connections
    ids = send_batch_of(make_user, fan_out)

    seen = witness.recorded_at_arrival
    assert len(seen) == BATCH
    # At the i-th arrival (0-based) i messages had been accepted before it; at most
    # `window` per connection may still be unrecorded (the one arriving is in flight).
    behind = [i - recorded for i, recorded in enumerate(seen)]
    assert max(behind) <= window * connections - 1, behind
    if window == 1 and connections == 1:
        assert seen == list(range(BATCH)), "each acceptance recorded before the next send"
    if window > 1:
        assert max(behind) > 0, "the window lets a connection send on before its record"
    # One `sent` history row per delivery, whether written early or with the batch.
    assert DeliveryEvent.objects.filter(delivery_id__in=ids, status=DeliveryStatus.SENT).count() == BATCH
