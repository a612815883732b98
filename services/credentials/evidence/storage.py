"""Evidence storage: where the bytes of uploaded evidence live, behind one small interface.

The database records an evidence item's key, size and SHA-256; the bytes themselves go through an
``EvidenceStore``. ``put`` streams chunks to the backend while counting and hashing them, and stops
at ``max_bytes`` (``EvidenceTooLarge``, a 413 problem) without leaving anything behind. An object
appears under its key only once it is complete, so no error, cancellation or crash leaves half a
file where a reader could find it.

Keys are opaque to the store and chosen by the service, never by the client (e.g.
``f"{tenant_id}/{uuid4()}"``): one to eight ``/``-separated segments of ASCII letters, digits,
``.``, ``_`` and ``-``, none starting with ``.``. Anything else (``..``, absolute paths, NUL,
backslashes) is an ``InvalidEvidenceKey``, a programming error rather than a client mistake.

``LocalEvidenceStore`` keeps objects as files under a root directory (mode 0o600, directories
0o700); blocking IO runs in worker threads.

An S3-compatible backend plugs in as another class with the same four methods, built in
``create_app`` from the settings instead of ``LocalEvidenceStore`` (nothing else changes): ``put``
does a multipart upload (e.g. with aioboto3 or obstore), hashing and counting each part as it is
sent and calling ``AbortMultipartUpload`` when the limit is passed or anything fails, so that the
object becomes visible only at ``CompleteMultipartUpload``; ``open`` is a ``GetObject`` whose body
is read in chunks (``NoSuchKey`` becomes ``EvidenceNotFound``); ``delete`` is ``DeleteObject``;
``exists`` is ``HeadObject``. Key validation is shared through ``validate_key``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import stat
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from shared.problems import PayloadTooLarge

DEFAULT_CHUNK_SIZE = 256 * 1024
MAX_KEY_LENGTH = 1024
MAX_KEY_DEPTH = 8
FILE_MODE = 0o600
DIR_MODE = 0o700

_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")
_PARTIAL_PREFIX = ".partial-"
_T = TypeVar("_T")

Chunks = AsyncIterable[bytes] | Iterable[bytes]
"""What ``put`` accepts: an async iterator of chunks (a request or upload stream) or a plain one."""


@dataclass(frozen=True)
class StoredObject:
    """A complete object: its key, its size in bytes and the hex SHA-256 of its content."""

    key: str
    size: int
    sha256: str


class EvidenceTooLarge(PayloadTooLarge):
    """The upload passed its size limit; nothing was stored."""

    title = "Evidence file too large"
    slug = "credentials/evidence-too-large"

    def __init__(self, *, max_bytes: int) -> None:
        super().__init__(f"the file is larger than the limit of {max_bytes} bytes", max_bytes=max_bytes)
        self.max_bytes = max_bytes


class InvalidEvidenceKey(ValueError):
    """A key that is not a valid evidence key (it could name something outside the store)."""


class EvidenceNotFound(LookupError):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no evidence object under key {key!r}")
        self.key = key


def validate_key(key: str) -> tuple[str, ...]:
    """The key's segments, or ``InvalidEvidenceKey`` when the key could escape a store or is malformed."""
    if not isinstance(key, str) or not key:
        raise InvalidEvidenceKey("an evidence key must be a non-empty string")
    if "\x00" in key:
        raise InvalidEvidenceKey("an evidence key must not contain NUL")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidEvidenceKey(f"an evidence key must be at most {MAX_KEY_LENGTH} characters")
    if key.startswith("/"):
        raise InvalidEvidenceKey("an evidence key must be relative, not an absolute path")
    segments = tuple(key.split("/"))
    if len(segments) > MAX_KEY_DEPTH:
        raise InvalidEvidenceKey(f"an evidence key must have at most {MAX_KEY_DEPTH} segments")
    for segment in segments:
        if not _SEGMENT.fullmatch(segment):
            raise InvalidEvidenceKey(
                f"evidence key segment {segment!r} is not allowed: use ASCII letters, digits, '.', '_' and '-',"
                " not starting with '.'"
            )
    return segments


@runtime_checkable
class EvidenceStore(Protocol):
    """Where evidence bytes live. Implementations: ``LocalEvidenceStore``; S3-compatible (see module doc)."""

    async def put(self, key: str, chunks: Chunks, *, max_bytes: int) -> StoredObject:
        """Store the chunks under ``key`` (replacing any object there) and return its size and SHA-256.

        Raises ``EvidenceTooLarge`` as soon as more than ``max_bytes`` arrive. Whatever goes wrong
        (too large, an exception raised by ``chunks`` itself, cancellation), nothing is left behind
        and an earlier object under the key is untouched.
        """
        ...

    async def open(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        """The object's content as chunks; ``EvidenceNotFound`` (raised here, before any chunk) if absent."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove the object; False when there was none (deleting twice is not an error)."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether a complete object is stored under the key."""
        ...


class _ReadsAsync(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


async def read_chunks(source: _ReadsAsync, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
    """Chunks of anything with ``async read(size)`` (Starlette's ``UploadFile``), for ``put``."""
    while chunk := await source.read(chunk_size):
        yield chunk


async def iterate_chunks(chunks: Chunks) -> AsyncIterator[bytes]:
    """Any ``Chunks`` as an async iterator (so sync lists of chunks work wherever streams do)."""
    if isinstance(chunks, bytes | bytearray | memoryview):
        # A bytes object is an iterable of ints; taking it for chunks would be a silent bug.
        raise TypeError("expected an iterable of byte chunks, not a bytes object: wrap it as [data]")
    if isinstance(chunks, AsyncIterable):
        async for chunk in chunks:
            yield chunk
    else:
        for chunk in chunks:
            yield chunk


class _ThreadedFile:
    """A file descriptor used only from worker threads and released only when no thread uses it.

    When the awaiting task is cancelled while a read or write runs in a thread, that thread keeps
    going; closing the descriptor under it could make its write land in whatever file next reuses
    the number. So ``release`` waits (through a callback) for the call in flight, then closes the
    descriptor and removes ``unlink_path`` if it is still set.
    """

    def __init__(self) -> None:
        self.fd: int | None = None
        self.unlink_path: str | None = None
        self.size = 0
        self.hasher = hashlib.sha256()
        self._in_flight: asyncio.Future[Any] | None = None

    async def run(self, function: Callable[..., _T], *args: Any) -> _T:
        task = asyncio.ensure_future(asyncio.to_thread(function, *args))
        self._in_flight = task
        result: _T = await asyncio.shield(task)
        return result

    def open_fd(self) -> int:
        if self.fd is None:
            raise RuntimeError("the file is not open")
        return self.fd

    def write(self, chunk: bytes) -> None:
        """In a worker thread: append and hash one chunk."""
        fd = self.open_fd()
        view = memoryview(chunk)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        self.hasher.update(chunk)

    def read(self, size: int) -> bytes:
        """In a worker thread: the next chunk, empty at the end."""
        return os.read(self.open_fd(), size)

    def release(self) -> None:
        in_flight = self._in_flight
        if in_flight is not None and not in_flight.done():
            in_flight.add_done_callback(self._release_after)
        else:
            self._release_now()

    def _release_after(self, in_flight: asyncio.Future[Any]) -> None:
        if not in_flight.cancelled():
            in_flight.exception()  # mark it retrieved: the error that matters was raised already
        self._release_now()

    def _release_now(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        path, self.unlink_path = self.unlink_path, None
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


class LocalEvidenceStore:
    """Evidence as files under ``root``: ``root/<key>``, written through a temporary file + ``os.replace``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).absolute()

    def __repr__(self) -> str:
        return f"LocalEvidenceStore({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        """Where the object for ``key`` lives (lexically inside the root; symlinks are checked on use)."""
        return self.root.joinpath(*validate_key(key))

    async def put(self, key: str, chunks: Chunks, *, max_bytes: int) -> StoredObject:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        final = self.path_for(key)
        partial = _ThreadedFile()
        try:
            await partial.run(self._open_partial, partial, final)
            async for chunk in iterate_chunks(chunks):
                if not chunk:
                    continue
                if partial.size + len(chunk) > max_bytes:
                    raise EvidenceTooLarge(max_bytes=max_bytes)
                partial.size += len(chunk)
                await partial.run(partial.write, bytes(chunk))
            await partial.run(self._commit, partial, final)
        except BaseException:
            partial.release()
            raise
        return StoredObject(key=key, size=partial.size, sha256=partial.hasher.hexdigest())

    async def open(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        path = self.path_for(key)
        if not await asyncio.to_thread(self._is_object, path):
            raise EvidenceNotFound(key)
        return self._read(key, path, chunk_size)

    async def delete(self, key: str) -> bool:
        path = self.path_for(key)
        return await asyncio.to_thread(self._delete, path)

    async def exists(self, key: str) -> bool:
        path = self.path_for(key)
        return await asyncio.to_thread(self._is_object, path)

    async def remove_partials(self, *, older_than: float = 24 * 3600) -> int:
        """Remove temporary files a hard crash (kill -9, power loss) left behind; how many went.

        Meant for a start-up or periodic job: a normal error or cancellation never leaves any.
        ``older_than`` (seconds) keeps uploads in progress safe.
        """
        return await asyncio.to_thread(self._remove_partials, time.time() - older_than)

    # --- blocking helpers: run in worker threads ---------------------------------------------

    def _inside_root(self, path: Path) -> bool:
        root = os.path.realpath(self.root)
        return os.path.commonpath([root, os.path.realpath(path)]) == root

    def _make_dirs(self, directory: Path) -> None:
        if not self.root.is_dir():
            self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            os.chmod(self.root, DIR_MODE)
        current = self.root
        for part in directory.relative_to(self.root).parts:
            current = current / part
            try:
                current.mkdir(mode=DIR_MODE)
            except FileExistsError:
                pass
            else:
                os.chmod(current, DIR_MODE)  # mkdir's mode is filtered through the umask
            if not self._inside_root(current):
                raise InvalidEvidenceKey(f"{current} resolves outside the evidence root (a symlink?)")

    def _open_partial(self, partial: _ThreadedFile, final: Path) -> None:
        self._make_dirs(final.parent)
        # mkstemp creates the file with mode 0o600 and O_EXCL, in the final directory so that
        # os.replace is an atomic rename within one filesystem.
        partial.fd, partial.unlink_path = tempfile.mkstemp(prefix=_PARTIAL_PREFIX, dir=final.parent)
        os.fchmod(partial.fd, FILE_MODE)

    @staticmethod
    def _commit(partial: _ThreadedFile, final: Path) -> None:
        fd, partial_path = partial.open_fd(), partial.unlink_path
        if partial_path is None:
            raise RuntimeError("the partial object has no path")
        os.fsync(fd)
        partial.fd = None
        os.close(fd)
        os.replace(partial_path, final)
        partial.unlink_path = None
        # The rename itself must reach the disk, or a crash could bring back the old directory entry.
        directory = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _is_object(self, path: Path) -> bool:
        try:
            status = os.lstat(path)
        except FileNotFoundError:
            return False
        except NotADirectoryError:
            return False
        return stat.S_ISREG(status.st_mode) and self._inside_root(path)

    def _delete(self, path: Path) -> bool:
        if not self._is_object(path):
            return False
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True

    def _remove_partials(self, cutoff: float) -> int:
        removed = 0
        if not self.root.is_dir():
            return 0
        for directory, _dirs, files in os.walk(self.root):
            for name in files:
                if not name.startswith(_PARTIAL_PREFIX):
                    continue
                path = os.path.join(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    if os.lstat(path).st_mtime < cutoff:
                        os.unlink(path)
                        removed += 1
        return removed

    @staticmethod
    def _open_for_reading(handle: _ThreadedFile, path: Path) -> None:
        handle.fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)

    async def _read(self, key: str, path: Path, chunk_size: int) -> AsyncIterator[bytes]:
        handle = _ThreadedFile()
        try:
            try:
                await handle.run(self._open_for_reading, handle, path)
            except (FileNotFoundError, NotADirectoryError) as exc:  # deleted since open() looked
                raise EvidenceNotFound(key) from exc
            while chunk := await handle.run(handle.read, chunk_size):
                yield chunk
        finally:
            handle.release()
