"""Fetching a posted recording_url: a local HTTP server stands in for the CRM's file host."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.fetcher import AddressPolicy, BlockedAddress
from service.tenants.service import TenantCredentials
from tests.conftest import AUDIO, make_settings, new_tenant
from tests.support import metadata, post_webhook, wait_for

WAV = (AUDIO / "short_mono.wav").read_bytes()


class FileHost(BaseHTTPRequestHandler):
    """A stand-in file host: good, flaky, missing, slow and huge files, and redirects."""

    hits: dict[str, int] = {}

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        FileHost.hits[self.path] = FileHost.hits.get(self.path, 0) + 1
        if self.path == "/ok.wav":
            self._send(200, WAV)
        elif self.path == "/flaky.wav":
            if FileHost.hits[self.path] <= 2:
                self._send(503, b"busy")
            else:
                self._send(200, WAV)
        elif self.path == "/missing.wav":
            self._send(404, b"no")
        elif self.path == "/slow.wav":
            self.send_response(200)
            self.send_header("Content-Length", str(len(WAV)))
            self.end_headers()
            self.wfile.write(WAV[:100])
            self.wfile.flush()
            time.sleep(4)
        elif self.path == "/huge.wav":
            self.send_response(200)
            self.end_headers()  # no Content-Length: the limit must hold while streaming
            try:
                for _ in range(400):
                    self.wfile.write(b"\0" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/to-ok":
            self._redirect("/ok.wav")
        elif self.path == "/to-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif self.path == "/to-ftp":
            self._redirect("ftp://example.com/x.wav")
        else:
            self._send(404, b"")

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "audio/wav")
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def file_host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FileHost)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def fetch_client(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, TenantCredentials]]:
    settings = make_settings(
        database_url,
        tmp_path,
        fetch={"allow_hosts": ["127.0.0.1"], "max_bytes": 1_000_000, "read_timeout_s": 1.0},
        jobs={"max_attempts": 4},
    )
    creds = new_tenant(settings)
    with TestClient(create_app(settings)) as c:
        yield c, creds


def _post_url(c: TestClient, creds: TenantCredentials, url: str) -> str:
    body = json.dumps({"event": "recording.created", **metadata(), "recording_url": url}).encode()
    r = post_webhook(c, creds, body)
    assert r.status_code == 202, r.text
    return str(r.json()["conversation_id"])


def test_url_is_fetched_and_transcribed(
    fetch_client: tuple[TestClient, TenantCredentials], file_host: str
) -> None:
    c, creds = fetch_client
    conv = wait_for(c, creds, _post_url(c, creds, f"{file_host}/ok.wav"))
    assert conv["status"] == "done", conv["error"]
    assert conv["segments"]


def test_redirect_to_allowed_host_is_followed(
    fetch_client: tuple[TestClient, TenantCredentials], file_host: str
) -> None:
    c, creds = fetch_client
    conv = wait_for(c, creds, _post_url(c, creds, f"{file_host}/to-ok"))
    assert conv["status"] == "done", conv["error"]


def test_server_errors_are_retried(
    fetch_client: tuple[TestClient, TenantCredentials], file_host: str
) -> None:
    c, creds = fetch_client
    FileHost.hits.pop("/flaky.wav", None)
    conv = wait_for(c, creds, _post_url(c, creds, f"{file_host}/flaky.wav"))
    assert conv["status"] == "done", conv["error"]
    assert FileHost.hits["/flaky.wav"] == 3


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/missing.wav", "fetch_http_error"),
        ("/huge.wav", "fetch_too_large"),
        ("/to-metadata", "fetch_blocked_address"),
        ("/to-ftp", "fetch_invalid_url"),
    ],
)
def test_permanent_fetch_failures(
    fetch_client: tuple[TestClient, TenantCredentials], file_host: str, path: str, code: str
) -> None:
    c, creds = fetch_client
    conv = wait_for(c, creds, _post_url(c, creds, f"{file_host}{path}"))
    assert conv["status"] == "failed"
    assert conv["error"]["code"] == code, conv["error"]


def test_slow_host_times_out_after_retries(
    fetch_client: tuple[TestClient, TenantCredentials], file_host: str
) -> None:
    c, creds = fetch_client
    FileHost.hits.pop("/slow.wav", None)
    conv = wait_for(c, creds, _post_url(c, creds, f"{file_host}/slow.wav"), timeout=120)
    assert conv["status"] == "failed"
    assert conv["error"]["code"] == "fetch_timeout"
    assert FileHost.hits["/slow.wav"] == 4  # every attempt was made, with backoff between


def test_loopback_is_refused_without_allowlist(
    database_url: str, tmp_path: Path, file_host: str
) -> None:
    settings = make_settings(database_url, tmp_path)
    creds = new_tenant(settings)
    with TestClient(create_app(settings)) as c:
        FileHost.hits.pop("/ok.wav", None)
        conv = wait_for(c, creds, _post_url(c, creds, f"{file_host}/ok.wav"))
        for host in ("localhost", "[::1]", "0.0.0.0", "127.1"):
            port = file_host.rsplit(":", 1)[1]
            other = wait_for(c, creds, _post_url(c, creds, f"http://{host}:{port}/ok.wav"))
            assert (
                other["status"] == "failed" and other["error"]["code"] == "fetch_blocked_address"
            ), host
    assert conv["status"] == "failed" and conv["error"]["code"] == "fetch_blocked_address"
    assert "/ok.wav" not in FileHost.hits  # refused before connecting


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
    ],
)
def test_internal_addresses_are_blocked(address: str) -> None:
    with pytest.raises(BlockedAddress):
        AddressPolicy.from_settings([]).check("files.example", ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_allowed(address: str) -> None:
    AddressPolicy.from_settings([]).check("files.example", ipaddress.ip_address(address))


def test_allowlist_by_network_and_host() -> None:
    policy = AddressPolicy.from_settings(["10.0.0.0/8", "crm.internal"])
    policy.check("anything", ipaddress.ip_address("10.9.9.9"))
    policy.check("crm.internal", ipaddress.ip_address("192.168.5.5"))
    with pytest.raises(BlockedAddress):
        policy.check("other", ipaddress.ip_address("192.168.5.5"))
