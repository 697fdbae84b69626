import pytest
from django.core.management import call_command


def test_schema_generates_and_validates_without_a_warning(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    schema = (tmp_path / "schema.yml").read_text()
    for scheme in ("ApiKey:", "tokenAuth:", "cookieAuth:"):
        assert scheme in schema
    assert "ErrorEnvelope" in schema


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
