import pytest
from django.conf import settings
from django.test import override_settings

pytestmark = pytest.mark.django_db


def rates(**rates):
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates})


def test_api_key_over_its_rate_gets_429_with_retry_after(event_types, api_key_client):
    client, other = api_key_client(["read"]), api_key_client(["read"])
    with rates(api_key="3/min", person="100/min"):
        assert [client.get("/api/v1/event-types/").status_code for _ in range(3)] == [200] * 3
        response = client.get("/api/v1/event-types/")
        assert response.status_code == 429
        retry_after = int(response["Retry-After"])
        assert 1 <= retry_after <= 60
        assert response.json()["error"]["code"] == "throttled"
        assert response.json()["error"]["details"] == {"retry_after": retry_after}
        # Another key has its own budget.
        assert other.get("/api/v1/event-types/").status_code == 200


def test_person_over_their_rate_gets_429(make_user, client_for):
    ann, ben = client_for(make_user("ann")), client_for(make_user("ben"))
    with rates(api_key="100/min", person="2/min"):
        assert [ann.get("/api/v1/inbox/").status_code for _ in range(3)] == [200, 200, 429]
        assert ben.get("/api/v1/inbox/").status_code == 200


def test_budget_is_shared_through_redis(event_types, api_key_client):
    """The counter lives in Redis, so every web process sees the same count."""
    import redis

    from apps.common.models import ApiKey

    client = api_key_client(["read"])
    with rates(api_key="5/min", person="100/min"):
        client.get("/api/v1/event-types/")
        key_id = ApiKey.objects.get().pk
        counters = redis.Redis.from_url(settings.REDIS_URL).keys(f"*throttle:api_key:{key_id}:*")
        assert len(counters) == 1
        assert int(redis.Redis.from_url(settings.REDIS_URL).get(counters[0])) == 1


def test_an_unreachable_counter_lets_requests_through(event_types, api_key_client, settings):
    client = api_key_client(["read"])
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    with rates(api_key="1/min", person="1/min"):
        assert [client.get("/api/v1/event-types/").status_code for _ in range(3)] == [200] * 3


def test_a_counter_failing_inside_the_client_lets_requests_through(event_types, api_key_client, monkeypatch):
    """redis-py has failed a fresh connection's handshake with ValueError ("I/O operation
    on closed file") under threads that come and go: allowed, as an unreachable counter."""
    from apps.common import throttling

    class ClosedBufferPipeline:
        def incr(self, key):
            pass

        def expire(self, key, seconds):
            pass

        def execute(self):
            raise ValueError("I/O operation on closed file.")

    class ClosedBufferClient:
        def pipeline(self, transaction=True):
            return ClosedBufferPipeline()

    monkeypatch.setattr(throttling, "redis_client", lambda purpose: ClosedBufferClient())
    client = api_key_client(["read"])
    with rates(api_key="1/min", person="1/min"):
        assert [client.get("/api/v1/event-types/").status_code for _ in range(3)] == [200] * 3
