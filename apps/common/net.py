"""Outbound HTTP to URLs that people supply (webhook endpoints, push endpoints).

Such a URL must not reach the service's own network: every address its host resolves
to is checked, and the request then connects to the vetted address itself (Host header
and TLS name kept), so a DNS answer that changes between the check and the connect
(DNS rebinding) cannot swap in an internal address. Redirects are never followed.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from .net_deadline import POOL_CLASSES, DeadlineExceeded, RequestDeadline

# Cloud instance metadata services: link-local or private already, named for a clear refusal.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Enough of a receiver's answer to record; the rest is never read.
MAX_RESPONSE_BYTES = 64 * 1024


class UnsafeURL(ValueError):
    """The URL may not be called: bad form, refused address or plain http. Permanent."""


class HostNotFound(OSError):
    """The host did not resolve (now). Worth a retry at send time, a 400 at registration."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: mapped (::ffff:a.b.c.d), compatible
    (::a.b.c.d), NAT64, 6to4 or Teredo. Connecting to it reaches that IPv4 address."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    return None


def address_refusal(address: str) -> str | None:
    """Why an address may not be called, or None when it is a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = address_refusal(str(embedded))
            return f"{reason} (carried in IPv6 {ip})" if reason else None
    if ip in METADATA_ADDRESSES:
        return f"cloud metadata address {ip}"
    for label, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return f"{label} address {ip}"
    if not ip.is_global:
        return f"non-public address {ip}"
    return None


def host_is_allowed(host: str) -> bool:
    """Hosts named in WEBHOOK_ALLOWED_HOSTS skip the address check (tests, development)."""
    return host.lower() in {h.lower() for h in settings.WEBHOOK_ALLOWED_HOSTS}


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in the resolver's order. Numeric forms such as
    2130706433 or 0x7f.1 resolve like the system's own clients would read them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotFound(f"host {host!r} does not resolve: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise HostNotFound(f"host {host!r} has no address")
    return addresses


@dataclass(frozen=True)
class Destination:
    """A vetted URL: where to connect, and what to call the host while doing so."""

    scheme: str
    host: str
    port: int
    target: str  # path and query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    def url_for(self, address: str) -> str:
        literal = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{literal}:{self.port}{self.target}"


def url_destination(url: str) -> Destination:
    """Parse, resolve and vet a URL. Raises UnsafeURL (refused for good) or
    HostNotFound (may resolve later)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeURL("only http and https URLs can be called")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("URLs with credentials in them are not accepted")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("the URL has no host")
    port = port or DEFAULT_PORTS[scheme]
    allowed = host_is_allowed(host)
    addresses = resolve(host, port)
    if not allowed:
        for address in addresses:
            reason = address_refusal(address)
            if reason:
                raise UnsafeURL(f"{host} resolves to {reason}, which is refused")
        if scheme != "https":
            raise UnsafeURL("the URL must use https")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme=scheme, host=host, port=port, target=target, addresses=tuple(addresses))


class PinnedAdapter(HTTPAdapter):
    """Connects to the address in the URL but speaks TLS to the host named on the
    request (SNI and certificate check), so the vetted address is the one used. Its
    connections obey the deadline of the request they serve (net_deadline)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        hostname = getattr(request, "pinned_hostname", None)
        if hostname and host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = hostname
            pool_kwargs["assert_hostname"] = hostname
        return host_params, pool_kwargs


def _never_connected(exc: requests.ConnectionError) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


class GuardedClient:
    """POSTs to vetted, pinned addresses. Its `post` has the shape of requests'
    (url, data=, headers=, timeout=) so SDKs that take a session (pywebpush) use it.
    Thread-safe: one client serves a whole batch sent in parallel."""

    def __init__(self, *, timeouts: tuple[float, float] | None = None, verify: bool | str = True):
        self.timeouts = tuple(timeouts or settings.WEBHOOK_TIMEOUTS)
        self.verify = verify
        self.adapter = PinnedAdapter(pool_connections=16, pool_maxsize=16, max_retries=0)

    def close(self) -> None:
        self.adapter.close()

    def post(self, url: str, data=None, headers=None, timeout=None, **_ignored) -> requests.Response:
        """One request, ended at OUTBOUND_REQUEST_DEADLINE_SECONDS whatever the receiver
        does: then DeadlineExceeded, a requests.Timeout."""
        seconds = settings.OUTBOUND_REQUEST_DEADLINE_SECONDS
        with RequestDeadline(seconds) as deadline:
            try:
                response = self._post(url, data, headers, timeout or self.timeouts, deadline)
            except Exception as exc:
                if deadline.expired:  # whatever the cut socket raised (reset, incomplete read, ...)
                    raise DeadlineExceeded(f"no complete answer within the {seconds:g} s deadline") from exc
                raise
            if deadline.expired:  # the cut came as an end of file: the body read may be short
                raise DeadlineExceeded(f"no complete answer within the {seconds:g} s deadline")
            return response

    def _post(self, url, data, headers, timeout, deadline: RequestDeadline) -> requests.Response:
        destination = url_destination(url)
        headers = {**dict(headers or {}), "Host": destination.host_header}
        last_error: requests.ConnectionError | None = None
        # Try each vetted address until one accepts the connection.
        for address in destination.addresses:
            request = requests.Request("POST", destination.url_for(address), data=data, headers=headers).prepare()
            request.pinned_hostname = destination.host
            try:
                response = self.adapter.send(
                    request, stream=True, timeout=_capped(timeout, deadline.remaining()), verify=self.verify
                )
            except requests.ConnectionError as exc:
                if not _never_connected(exc):
                    raise
                last_error = exc
                continue
            return _read_capped(response, url)
        raise last_error  # type: ignore[misc]


def _capped(timeout, remaining: float) -> tuple[float, float]:
    """(connect, read) timeouts no longer than the time the request has left: the
    connect and TLS handshake happen before the deadline's watchdog can see a socket."""
    connect, read = timeout if isinstance(timeout, tuple | list) else (timeout, timeout)
    remaining = max(remaining, 0.001)
    return min(connect, remaining), min(read, remaining)


def _read_capped(response: requests.Response, url: str) -> requests.Response:
    """Read at most MAX_RESPONSE_BYTES of the body: an endless answer must not fill memory."""
    try:
        body = response.raw.read(MAX_RESPONSE_BYTES, decode_content=True) or b""
    finally:
        response.close()
    # requests' documented behaviour for a read body; set here because the body was capped.
    response._content = body
    response._content_consumed = True
    response.url = url  # the URL as given, not the pinned address
    return response
