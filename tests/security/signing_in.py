"""Signing in over HTTP as a browser does: the CSRF token from a form, then the admin's
login form posted with it."""

import re

import requests


def form_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def admin_signed_in(live_server, user) -> requests.Session:
    """A session signed in through /admin/login/ (the test users' password is secret-pass-1)."""
    browser = requests.Session()
    login = live_server.url + "/admin/login/"
    token = form_token(browser.get(login).text)
    response = browser.post(
        login,
        data={"username": user.username, "password": "secret-pass-1", "csrfmiddlewaretoken": token, "next": "/admin/"},
        headers={"Referer": login},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return browser
