"""The API as an outside caller reaches it: requests to the live server, as one caller,
and the check of the error envelope its refusals come in."""

import requests


class Api:
    """requests against the live server, as one caller (an Authorization header, or none)."""

    def __init__(self, base_url, authorization=""):
        self.base_url = base_url
        self.session = requests.Session()
        if authorization:
            self.session.headers["Authorization"] = authorization

    def __getattr__(self, method):
        def call(path, body=None, **kwargs):
            return getattr(self.session, method)(self.base_url + path, json=body, timeout=10, **kwargs)

        return call


def assert_envelope(response, status, code=None) -> dict:
    """The answer is `status` with the envelope (a message, and `code` when given); returns the error."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] and (code is None or error["code"] == code)
    return error
