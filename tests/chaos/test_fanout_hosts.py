"""One 200,000-recipient event fanned out by ranges on three hosts at once, each a
network namespace with its own address and no loopback shared with the machine
(tests/chaos/hosts.py), against PostgreSQL and the broker on the machine: every host
takes ranges (each one's share is printed), one host's workers are SIGKILLed midway,
the other two finish its ranges, and every recipient has exactly one inbox item.

The broker is a parameter: a variant names how the hosts reach it (a forwarded port on
their gateway) and how the test process and the workers are pointed at it.
"""

import os
from collections import Counter
from dataclasses import dataclass
from urllib.parse import quote, urlparse

import pytest
from django.conf import settings
from django.db import connection

from apps.events.models import Event, FanoutState
from apps.notifications.models import FanOutRange, UserNotification
from apps.notifications.publish import event_publish

from ..worker import Worker, wait_until
from .helpers import make_audience
from .hosts import hosts_create, hosts_supported

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(hosts_supported() is not None, reason=f"no network namespaces: {hosts_supported()}"),
]

RECIPIENTS = int(os.environ.get("CHAOS_HOSTS_RECIPIENTS", 200_000))
HOSTS = 3
WORKER_ENV = {
    "FANOUT_RANGES_FROM": "10000",
    "FANOUT_RANGE_SIZE": "2000",  # 100 ranges: enough for every host to take several
    "FANOUT_CHUNK_SIZE": "500",  # several chunks per range: the kill lands inside ranges
    # What a killed host held comes back to the queue this soon (Redis).
    "CELERY_VISIBILITY_TIMEOUT": "10",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
    # A host killed while holding the restore lock must not stall the others' restore.
    "CELERY_UNACKED_MUTEX_EXPIRE": "3",
}


@dataclass(frozen=True)
class BrokerVariant:
    name: str
    port: int  # on the machine's loopback
    url_template: str  # with {address} and {port}: the broker as a host reaches it
    node: object = None  # the private RabbitMQ node, whose consumers the test lists


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_variant(request, broker):
    """The private Redis, or a fresh vhost of the private RabbitMQ node
    (conftest's rabbitmq_broker), which the test process then publishes to as well."""
    if request.param == "redis":
        return BrokerVariant("redis", broker.port, "redis://{address}:{port}/0")
    node = request.getfixturevalue("rabbitmq_broker")
    url = "amqp://guest:guest@{address}:{port}/" + quote(node.vhost, safe="")
    return BrokerVariant("rabbitmq", node.port, url, node)


@pytest.fixture
def hosts():
    made = hosts_create(HOSTS)
    yield made
    for host in made:
        host.delete()


def host_env(host, broker_variant: BrokerVariant) -> dict:
    """The environment of a worker on `host`: the test database and the broker through
    the host's own gateway."""
    db = connection.settings_dict
    pg = host.forward(int(db["PORT"]))
    redis_port = host.forward(urlparse(settings.REDIS_URL).port)
    env = {
        **WORKER_ENV,
        "DATABASE_URL": f"postgres://{db['USER']}@{host.gateway}:{pg}/{db['NAME']}",
        "TEST_REDIS_URL": f"redis://{host.gateway}:{redis_port}/0",
        # settings_test takes the broker from TEST_BROKER_URL (else the Redis above).
        "TEST_BROKER_URL": f"redis://{host.gateway}:{redis_port}/0",
    }
    if broker_variant.name != "redis":
        broker_port = host.forward(broker_variant.port)
        env["TEST_BROKER_URL"] = broker_variant.url_template.format(address=host.gateway, port=broker_port)
    return env


def shares(event) -> dict[str, tuple[int, int]]:
    """Per worker: ranges it finished, and the items of those ranges."""
    done = FanOutRange.objects.filter(event=event, done_at__isnull=False)
    rows = done.values_list("taken_by", "notifications_created")
    ranges, items = Counter(), Counter()
    for taken_by, made in rows:
        ranges[taken_by] += 1
        items[taken_by] += made
    return {name: (ranges[name], items[name]) for name in ranges}


def test_three_hosts_share_an_event_and_two_finish_what_a_killed_one_held(hosts, broker_variant, event_types):
    created = event_types["scenario.created"]
    make_audience(created, RECIPIENTS, channels=["in_app"])
    for host in hosts:
        # Its own loopback: the machine's servers are not there, only behind the gateway.
        assert not host.reaches("127.0.0.1", int(connection.settings_dict["PORT"]))

    workers = {}
    try:
        for host in hosts:
            env = host_env(host, broker_variant)
            assert host.reaches(host.gateway, urlparse(env["DATABASE_URL"]).port)
            workers[host.name] = Worker(host.name, queues="fanout", concurrency=2, env=env, prefix=host.prefix).start()
        if broker_variant.node is not None:  # every host's worker reads the fan-out queues there
            node = broker_variant.node
            listed = node.ctl("list_consumers", "-p", node.vhost, "--quiet", "--no-table-headers", "queue_name")
            assert sum(line.startswith("fanout") for line in listed.splitlines()) >= HOSTS, listed
        nodes = {host.name: workers[host.name].name.replace("%h", os.uname().nodename) for host in hosts}
        victim = hosts[-1].name

        event, _ = event_publish(event_type=created, data={"name": "Big"})  # autocommit: enqueued now
        ranges = FanOutRange.objects.filter(event_id=event.pk)

        def midway_every_host_took_ranges_and_the_victim_holds_one():
            done = list(ranges.filter(done_at__isnull=False).values_list("taken_by", flat=True))
            holding = ranges.filter(done_at__isnull=True, taken_by=nodes[victim]).exists()
            return len(done) * 3 >= ranges.count() and set(done) >= set(nodes.values()) and holding

        wait_until(midway_every_host_took_ranges_and_the_victim_holds_one, timeout=120, interval=0.02)
        workers[victim].kill()  # SIGKILL, main process and pool children
        held = list(ranges.filter(done_at__isnull=True, taken_by=nodes[victim]).values_list("pk", flat=True))
        left = ranges.filter(done_at__isnull=True).count()
        print(f"\nkilled {victim} holding ranges {held}; {left} of {ranges.count()} ranges left")
        assert held and left

        wait_until(lambda: Event.objects.get(pk=event.pk).fanout_state == FanoutState.DONE, timeout=180, interval=0.1)
    finally:
        for worker in workers.values():
            worker.kill()

    by_worker = shares(event)
    for host in hosts:
        finished, items = by_worker.get(nodes[host.name], (0, 0))
        print(f"{host.name} ({host.address}): {finished} ranges finished, {items} items")
    assert all(by_worker.get(node, (0, 0))[0] > 0 for node in nodes.values())
    # The ranges the killed host held were finished by the others.
    assert not FanOutRange.objects.filter(pk__in=held, taken_by=nodes[victim]).exists()
    assert not ranges.filter(done_at__isnull=True).exists()

    items = UserNotification.objects.filter(event=event)
    assert items.count() == RECIPIENTS
    assert items.values("user_id").distinct().count() == RECIPIENTS
    event.refresh_from_db()
    assert event.recipient_count == RECIPIENTS
