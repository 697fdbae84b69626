import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_health_ok_when_database_and_broker_answer(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_503_when_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")
    assert body["error"]["code"] == "unavailable"
    assert "broker" in body["error"]["message"]


@pytest.mark.django_db(transaction=True)
def test_health_503_when_database_is_down(client):
    original_port = connection.settings_dict["PORT"]
    connection.close()
    connection.close_pool()  # the next pool is made from the settings below
    connection.settings_dict["PORT"] = "1"
    try:
        response = client.get("/health/")
    finally:
        connection.close()
        connection.close_pool()
        connection.settings_dict["PORT"] = original_port
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"].startswith("error: ")
    assert body["checks"]["broker"] == "ok"


def test_health_refuses_writes(client):
    assert client.post("/health/").status_code == 405
