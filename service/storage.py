"""Content-addressed blob store for recordings: atomic writes, nothing half-written is visible."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from service.errors import PayloadTooLarge


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """A blob that is durably in the store."""

    key: str
    size: int


class BlobStore(Protocol):
    """What the service needs from a blob store (local disk today, S3-like stores later)."""

    def begin(self, *, max_bytes: int) -> BlobWriter:
        """Start writing a new blob of at most max_bytes."""
        ...

    def local_path(self, key: str) -> Path:
        """A local file holding the blob (downloaded first by remote stores)."""
        ...

    def exists(self, key: str) -> bool:
        """Whether the blob is stored."""
        ...

    def check(self) -> None:
        """Raise if the store cannot be written now (readiness probe)."""
        ...


class BlobWriter:
    """Streams bytes to a temporary file while hashing; commit() makes it a blob atomically."""

    def __init__(self, store: LocalBlobStore, max_bytes: int) -> None:
        self._store = store
        self._max = max_bytes
        self._hash = hashlib.sha256()
        self.size = 0
        fd, name = tempfile.mkstemp(dir=store.tmp_dir, prefix="upload-")
        self._tmp = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._done = False

    def write(self, data: bytes | memoryview) -> None:
        """Append data; raises PayloadTooLarge past the limit."""
        self.size += len(data)
        if self.size > self._max:
            raise PayloadTooLarge(f"file is larger than the limit of {self._max} bytes")
        self._hash.update(data)
        self._file.write(data)

    def commit(self) -> StoredBlob:
        """Flush to disk and move into place under the content hash."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        key = self._hash.hexdigest()
        target = self._store.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # os.replace is atomic: readers see no file or the whole file. Same content, same key,
        # so replacing an existing blob is harmless.
        os.replace(self._tmp, target)
        _fsync_dir(target.parent)
        self._done = True
        return StoredBlob(key=key, size=self.size)

    def abort(self) -> None:
        """Throw the partial upload away."""
        if not self._done:
            self._file.close()
            self._tmp.unlink(missing_ok=True)
            self._done = True


class LocalBlobStore:
    """Blobs as files under root/ab/cd/<sha256>."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        """Where a blob with this key lives."""
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def begin(self, *, max_bytes: int) -> BlobWriter:
        """Start writing a new blob."""
        return BlobWriter(self, max_bytes)

    def put_file(self, src: BinaryIO, *, max_bytes: int) -> StoredBlob:
        """Copy a readable file into the store."""
        writer = self.begin(max_bytes=max_bytes)
        try:
            while chunk := src.read(1024 * 1024):
                writer.write(chunk)
            return writer.commit()
        except BaseException:
            writer.abort()
            raise

    def local_path(self, key: str) -> Path:
        """The blob's file."""
        return self.path_for(key)

    def exists(self, key: str) -> bool:
        """Whether the blob is stored."""
        return self.path_for(key).is_file()

    def check(self) -> None:
        """Write and remove a probe file; raises OSError when the disk is not writable."""
        probe = self.tmp_dir / f"probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()
        if shutil.disk_usage(self.root).free < 64 * 1024 * 1024:
            raise OSError("less than 64 MiB free on the blob store's disk")

    def clean_tmp(self, older_than_s: float = 24 * 3600) -> int:
        """Remove abandoned partial uploads (a crash mid-upload leaves them); returns the count."""
        import time

        cutoff = time.time() - older_than_s
        removed = 0
        for path in self.tmp_dir.glob("upload-*"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
