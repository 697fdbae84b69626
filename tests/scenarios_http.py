"""Creating a scenario through the HTTP API of a running server, as a client of it does."""

import json
import urllib.request


def scenario_post(base_url: str, token: str, name: str) -> None:
    """POST /api/v1/scenarios/ with the person's API token; asserts it was created (201)."""
    request = urllib.request.Request(
        f"{base_url}/api/v1/scenarios/",
        data=json.dumps({"name": name}).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
