"""The outbound guard: which addresses are refused, and that a request goes to the
vetted address with the host's name kept in the Host header and in TLS."""

import socket
import ssl

import pytest
import requests
import trustme
from django.test import override_settings

from apps.common.net import (
    MAX_RESPONSE_BYTES,
    GuardedClient,
    HostNotFound,
    UnsafeURL,
    address_refusal,
    url_destination,
)

from ..http_receiver import Answer, Receiver


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.1", "private"),
        ("fd12::1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "non-public"),
        ("::ffff:127.0.0.1", "loopback address 127.0.0.1 (carried in IPv6"),
        ("::ffff:10.0.0.1", "private address 10.0.0.1 (carried"),
        ("::ffff:169.254.169.254", "cloud metadata address 169.254.169.254 (carried"),
        ("::127.0.0.1", "loopback address 127.0.0.1 (carried"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata address 169.254.169.254 (carried"),
        ("2002:7f00:1::", "loopback address 127.0.0.1 (carried"),
    ],
)
def test_refused_addresses(address, reason):
    assert reason in (address_refusal(address) or "")


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert address_refusal(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",  # decimal
        "http://0x7f000001/",  # hex
        "http://017700000001/",  # octal
        "http://0x7f.1/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "https://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://0/",
    ],
)
def test_integer_and_mapped_hosts_resolve_to_what_they_mean_and_are_refused(url):
    with pytest.raises(UnsafeURL, match="refused"):
        url_destination(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "only http and https"),
        ("http://user:pw@8.8.8.8/", "credentials"),
        ("http:///nohost", "no host"),
        ("http://8.8.8.8:99999/", "not a valid URL"),
        ("http://8.8.8.8/hook", "must use https"),  # public, but plain http outside the allow-list
    ],
)
def test_malformed_or_plain_http_urls_are_refused(url, message):
    with pytest.raises(UnsafeURL, match=message):
        url_destination(url)


def test_an_unresolvable_host_is_not_found_rather_than_refused():
    with pytest.raises(HostNotFound):
        url_destination("https://no-such-host.invalid/hook")


def test_allow_listed_names_pass_but_their_address_written_out_does_not():
    destination = url_destination("http://localhost:8080/a?b=1")
    assert destination.addresses == ("127.0.0.1",) or "127.0.0.1" in destination.addresses
    assert (destination.host_header, destination.target) == ("localhost:8080", "/a?b=1")
    with pytest.raises(UnsafeURL):
        url_destination("http://127.0.0.1:8080/a")
    with override_settings(WEBHOOK_ALLOWED_HOSTS=[]), pytest.raises(UnsafeURL, match="loopback"):
        url_destination("http://localhost:8080/a")


def test_the_name_is_resolved_once_and_the_connection_goes_to_that_address(monkeypatch):
    """DNS rebinding needs a second lookup of the name; there is none. (The real resolver
    is watched, not replaced.)"""
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def watched(host, *args, **kwargs):
        lookups.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", watched)
    with Receiver() as receiver:
        response = GuardedClient().post(receiver.url("/pinned"), data=b"{}", headers={"X-Test": "1"})
    assert response.status_code == 200
    assert lookups.count("localhost") == 1
    assert set(lookups) - {"localhost"} <= {"127.0.0.1"}  # the connection used the vetted address
    [request] = receiver.requests
    assert request.headers["host"] == f"localhost:{receiver.port}"
    assert request.headers["x-test"] == "1"
    assert response.url == receiver.url("/pinned")


def test_redirects_come_back_as_answers_never_followed():
    with Receiver() as target, Receiver(Answer(307, headers={"Location": "/elsewhere"})) as redirecting:
        response = GuardedClient().post(redirecting.url("/start"), data=b"x")
    assert response.status_code == 307 and response.headers["Location"] == "/elsewhere"
    assert [r.path for r in redirecting.requests] == ["/start"]
    assert target.requests == []


def test_an_endless_answer_is_read_only_up_to_the_cap():
    with Receiver(Answer(200, body=b"x" * (MAX_RESPONSE_BYTES * 4))) as big:
        response = GuardedClient().post(big.url(), data=b"")
    assert len(response.content) == MAX_RESPONSE_BYTES


@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA()


def tls_context(ca, name):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(name).configure_cert(context)
    return context


def test_tls_to_the_pinned_address_checks_the_certificate_for_the_hostname_and_sends_sni(
    certificate_authority, tmp_path
):
    """The connection goes to 127.0.0.1, yet TLS is spoken to `localhost`: SNI and the
    certificate check use the name (the certificate has no IP in it)."""
    ca_file = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca_file))
    with Receiver(tls=tls_context(certificate_authority, "localhost")) as receiver:
        response = GuardedClient(verify=str(ca_file)).post(receiver.url("/secure"), data=b"{}")
    assert response.status_code == 200
    [request] = receiver.requests
    assert request.sni == "localhost"
    assert request.headers["host"] == f"localhost:{receiver.port}"


def test_tls_refuses_a_certificate_for_another_name(certificate_authority, tmp_path):
    ca_file = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca_file))
    with (
        Receiver(tls=tls_context(certificate_authority, "other.example")) as receiver,
        pytest.raises(requests.exceptions.SSLError),
    ):
        GuardedClient(verify=str(ca_file)).post(receiver.url("/secure"), data=b"{}")
    assert receiver.requests == []
