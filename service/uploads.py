"""Streaming request bodies: JSON kept in memory (small), multipart files streamed to the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from service.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from service.storage import BlobWriter, LocalBlobStore

FLUSH_BYTES = 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024


@dataclass
class FilePart:
    """The uploaded file, written to a temporary blob not yet committed."""

    writer: BlobWriter
    filename: str | None
    content_type: str | None


@dataclass
class ReceivedBody:
    """A fully received body: either raw JSON, or multipart fields and at most one file."""

    kind: str  # "json" | "multipart"
    json: bytes = b""
    fields: dict[str, bytes] = field(default_factory=dict)
    file: FilePart | None = None

    def discard(self) -> None:
        """Drop the uncommitted file, if any."""
        if self.file is not None:
            self.file.writer.abort()


class _MultipartCollector:
    """Callbacks for python-multipart's streaming parser."""

    def __init__(self, store: LocalBlobStore, max_file: int, max_field: int) -> None:
        self.store = store
        self.max_file = max_file
        self.max_field = max_field
        self.fields: dict[str, bytes] = {}
        self.file: FilePart | None = None
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._buf = bytearray()
        self._pending: list[bytes] = []  # file bytes waiting to be written off the event loop
        self.finished = False

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._name = None
        self._is_file = False
        self._buf = bytearray()

    def _header_end(self) -> None:
        self._headers[bytes(self._header_field).decode("latin-1").lower()] = bytes(
            self._header_value
        )
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition = self._headers.get("content-disposition", b"")
        _, params = parse_options_header(disposition)
        name = params.get(b"name")
        if name is None:
            raise BadRequest("a multipart part has no name", code="malformed_multipart")
        self._name = name.decode("utf-8", "replace")
        if self._name == "file":
            if self.file is not None:
                raise BadRequest("send exactly one 'file' part", code="malformed_multipart")
            filename = params.get(b"filename")
            ctype = self._headers.get("content-type")
            self._is_file = True
            self.file = FilePart(
                writer=self.store.begin(max_bytes=self.max_file),
                filename=filename.decode("utf-8", "replace")[:255] if filename else None,
                content_type=ctype.decode("latin-1")[:255] if ctype else None,
            )

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self._pending.append(data[start:end])
            return
        self._buf.extend(data[start:end])
        if len(self._buf) > self.max_field:
            raise PayloadTooLarge(
                f"multipart field {self._name!r} is over {self.max_field} bytes",
                code="field_too_large",
            )

    def _part_end(self) -> None:
        if not self._is_file and self._name is not None:
            if self._name in self.fields:
                raise BadRequest(f"field {self._name!r} sent twice", code="malformed_multipart")
            if len(self.fields) >= 20:
                raise BadRequest("too many multipart fields", code="malformed_multipart")
            self.fields[self._name] = bytes(self._buf)

    def _end(self) -> None:
        self.finished = True

    def take_pending(self) -> list[bytes]:
        out, self._pending = self._pending, []
        return out


async def receive_body(
    request: Request,
    *,
    store: LocalBlobStore,
    max_file_bytes: int,
    max_json_bytes: int,
    on_chunk: Callable[[bytes], None] | None = None,
) -> ReceivedBody:
    """Read the whole body, streaming a multipart 'file' part to disk; on_chunk sees raw bytes."""
    ctype_header = request.headers.get("content-type", "")
    ctype, params = parse_options_header(ctype_header)
    max_total = max_file_bytes + MULTIPART_OVERHEAD + max_json_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit():
        limit = max_json_bytes if ctype == b"application/json" else max_total
        if int(declared) > limit:
            raise PayloadTooLarge(f"request body is {declared} bytes, over the limit of {limit}")
    if ctype == b"application/json":
        return await _receive_json(request, max_json_bytes, on_chunk)
    if ctype == b"multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary:
            raise BadRequest("multipart body without a boundary", code="malformed_multipart")
        return await _receive_multipart(
            request, boundary, store, max_file_bytes, max_json_bytes, max_total, on_chunk
        )
    raise UnsupportedMediaType(
        "send application/json, or multipart/form-data with 'metadata' and 'file' parts"
    )


async def _receive_json(
    request: Request, limit: int, on_chunk: Callable[[bytes], None] | None
) -> ReceivedBody:
    buf = bytearray()
    try:
        async for chunk in request.stream():
            if on_chunk is not None:
                on_chunk(chunk)
            buf.extend(chunk)
            if len(buf) > limit:
                raise PayloadTooLarge(f"JSON body is over the limit of {limit} bytes")
    except ClientDisconnect as exc:
        raise BadRequest("the client disconnected mid-body", code="incomplete_body") from exc
    return ReceivedBody(kind="json", json=bytes(buf))


async def _receive_multipart(
    request: Request,
    boundary: bytes,
    store: LocalBlobStore,
    max_file: int,
    max_field: int,
    max_total: int,
    on_chunk: Callable[[bytes], None] | None,
) -> ReceivedBody:
    collector = _MultipartCollector(store, max_file, max_field)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    total = 0
    pending: list[bytes] = []
    pending_bytes = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_total:
                raise PayloadTooLarge(f"request body is over the limit of {max_total} bytes")
            if on_chunk is not None:
                on_chunk(chunk)
            parser.write(chunk)
            for piece in collector.take_pending():
                pending.append(piece)
                pending_bytes += len(piece)
            if pending_bytes >= FLUSH_BYTES and collector.file is not None:
                await _flush(collector.file.writer, pending)
                pending, pending_bytes = [], 0
        parser.finalize()
        if collector.file is not None:
            pending.extend(collector.take_pending())
            await _flush(collector.file.writer, pending)
    except ClientDisconnect as exc:
        _abort(collector)
        raise BadRequest("the client disconnected mid-upload", code="incomplete_body") from exc
    except PayloadTooLarge:
        _abort(collector)
        raise
    except BadRequest:
        _abort(collector)
        raise
    except Exception as exc:  # the parser's own errors on malformed input
        _abort(collector)
        raise BadRequest(f"malformed multipart body: {exc}", code="malformed_multipart") from exc
    if not collector.finished:
        _abort(collector)
        raise BadRequest("multipart body ended early (truncated)", code="malformed_multipart")
    return ReceivedBody(kind="multipart", fields=collector.fields, file=collector.file)


async def _flush(writer: BlobWriter, pieces: list[bytes]) -> None:
    if pieces:
        data = b"".join(pieces)
        # Disk writes off the event loop so other requests keep flowing during a big upload.
        await anyio.to_thread.run_sync(writer.write, data)


def _abort(collector: _MultipartCollector) -> None:
    if collector.file is not None:
        collector.file.writer.abort()
