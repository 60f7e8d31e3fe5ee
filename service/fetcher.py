"""Fetch a posted recording_url into the blob store, refusing internal addresses."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore

from service.jobs.errors import PermanentError, TransientError
from service.settings import FetchSettings
from service.storage import LocalBlobStore, StoredBlob

MAX_REDIRECTS = 5
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedAddress(PermanentError):
    """The URL resolves to an address we never fetch from (loopback, private, metadata...)."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(
            "fetch_blocked_address",
            f"refusing to fetch from {host} ({address}): not a public address",
        )


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which hosts may be contacted: public addresses, plus an explicit allowlist."""

    allow_hosts: frozenset[str]
    allow_networks: tuple[IpNetwork, ...]

    @classmethod
    def from_settings(cls, allow: Iterable[str]) -> AddressPolicy:
        """Split allowlist entries into host names and CIDR networks."""
        hosts: set[str] = set()
        nets: list[IpNetwork] = []
        for entry in allow:
            entry = entry.strip().lower()
            if not entry:
                continue
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry)
        return cls(frozenset(hosts), tuple(nets))

    def check(self, host: str, address: IpAddress) -> None:
        """Raise BlockedAddress unless the address is public or allowed."""
        if host.lower() in self.allow_hosts:
            return
        if any(address in net for net in self.allow_networks):
            return
        mapped = getattr(address, "ipv4_mapped", None)
        effective = mapped if mapped is not None else address
        # is_global is False for loopback, private, link-local (incl. 169.254.169.254 metadata),
        # CGNAT, documentation, reserved and unspecified ranges.
        if not effective.is_global or effective.is_multicast:
            raise BlockedAddress(host, str(address))


class GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself, checks every address, and connects only to a checked one."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise PermanentError("fetch_dns_error", f"cannot resolve {host}: {exc}") from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        # Check all of them: a name with one public and one private address is refused.
        for address in addresses:
            self.policy.check(host, address)
        # Connecting to the address we checked (not the name again) defeats DNS rebinding.
        return super().connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError("fetch_invalid_url", f"only http(s) URLs can be fetched: {url!r}")
    if parts.username or parts.password:
        raise PermanentError("fetch_invalid_url", "URLs with credentials are not fetched")


def fetch_to_store(
    url: str, *, store: LocalBlobStore, settings: FetchSettings
) -> tuple[StoredBlob, str | None]:
    """Stream url into the store; returns the blob and the response's content type."""
    policy = AddressPolicy.from_settings(settings.allow_hosts)
    timeouts = {
        "connect": settings.connect_timeout_s,
        "read": settings.read_timeout_s,
        "write": settings.read_timeout_s,
        "pool": settings.connect_timeout_s,
    }
    deadline = time.monotonic() + settings.total_timeout_s
    with httpcore.ConnectionPool(network_backend=GuardedBackend(policy), retries=0) as pool:
        for _ in range(MAX_REDIRECTS + 1):
            _check_url(url)
            try:
                with pool.stream(
                    "GET",
                    url,
                    headers={"User-Agent": "dealsight-fetch/1", "Accept": "*/*"},
                    extensions={"timeout": timeouts},
                ) as response:
                    status = response.status
                    headers = {k.decode().lower(): v.decode("latin-1") for k, v in response.headers}
                    if status in (301, 302, 303, 307, 308) and "location" in headers:
                        url = urljoin(url, headers["location"])
                        continue
                    _raise_for_status(status, url)
                    length = headers.get("content-length", "")
                    if length.isdigit() and int(length) > settings.max_bytes:
                        raise PermanentError(
                            "fetch_too_large",
                            f"recording is {length} bytes, over the limit of {settings.max_bytes}",
                        )
                    blob = _stream_body(response, store=store, settings=settings, deadline=deadline)
                    return blob, headers.get("content-type")
            except httpcore.TimeoutException as exc:
                raise TransientError("fetch_timeout", f"timed out fetching {url}: {exc}") from exc
            except (httpcore.ConnectError, httpcore.ReadError, httpcore.RemoteProtocolError) as exc:
                raise TransientError("fetch_network_error", f"fetching {url}: {exc}") from exc
            except httpcore.UnsupportedProtocol as exc:
                raise PermanentError("fetch_invalid_url", str(exc)) from exc
    raise PermanentError("fetch_too_many_redirects", f"more than {MAX_REDIRECTS} redirects")


def _raise_for_status(status: int, url: str) -> None:
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        raise TransientError("fetch_http_error", f"{url} answered HTTP {status}")
    raise PermanentError("fetch_http_error", f"{url} answered HTTP {status}")


def _stream_body(
    response: httpcore.Response, *, store: LocalBlobStore, settings: FetchSettings, deadline: float
) -> StoredBlob:
    writer = store.begin(max_bytes=settings.max_bytes)
    try:
        for chunk in response.iter_stream():
            if time.monotonic() > deadline:
                raise TransientError(
                    "fetch_timeout", f"download took longer than {settings.total_timeout_s:.0f} s"
                )
            writer.write(chunk)
        return writer.commit()
    except Exception as exc:
        writer.abort()
        from service.errors import PayloadTooLarge

        if isinstance(exc, PayloadTooLarge):
            raise PermanentError(
                "fetch_too_large", f"recording is over the limit of {settings.max_bytes} bytes"
            ) from exc
        raise
