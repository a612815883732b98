"""The evidence store: streamed, hashed, size-limited writes that never leave half an object behind."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.datastructures import UploadFile

from services.credentials.evidence.storage import (
    EvidenceNotFound,
    EvidenceStore,
    EvidenceTooLarge,
    InvalidEvidenceKey,
    LocalEvidenceStore,
    StoredObject,
    read_chunks,
    validate_key,
)


def files_under(root: Path) -> list[str]:
    """Every file below root (hidden ones too), relative, sorted."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if not path.is_dir())


async def slow_chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        await asyncio.sleep(0)  # let other uploads interleave
        yield data[start : start + size]


async def read_all(store: EvidenceStore, key: str, chunk_size: int = 1000) -> bytes:
    return b"".join([chunk async for chunk in await store.open(key, chunk_size=chunk_size)])


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "evidence"


@pytest.fixture
def store(root: Path) -> LocalEvidenceStore:
    return LocalEvidenceStore(root)


def test_local_store_satisfies_the_interface(store: LocalEvidenceStore) -> None:
    assert isinstance(store, EvidenceStore)


async def test_round_trip_matches_hashlib(store: LocalEvidenceStore, root: Path) -> None:
    data = os.urandom(300_000)

    stored = await store.put("tenant-1/0f9c2b7e", slow_chunks(data, 65_536), max_bytes=1_000_000)

    assert stored == StoredObject(key="tenant-1/0f9c2b7e", size=len(data), sha256=hashlib.sha256(data).hexdigest())
    assert await store.exists("tenant-1/0f9c2b7e")
    assert await read_all(store, "tenant-1/0f9c2b7e", chunk_size=4096) == data
    assert files_under(root) == ["tenant-1/0f9c2b7e"]


async def test_files_are_private_to_the_service(store: LocalEvidenceStore, root: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        await store.put("tenant-1/a/b", [b"evidence"], max_bytes=100)
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE((root / "tenant-1/a/b").stat().st_mode) == 0o600
    for directory in (root, root / "tenant-1", root / "tenant-1/a"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


async def test_sync_chunks_and_empty_chunks_are_accepted(store: LocalEvidenceStore) -> None:
    stored = await store.put("t/k", [b"ab", b"", b"cd"], max_bytes=4)

    assert (stored.size, stored.sha256) == (4, hashlib.sha256(b"abcd").hexdigest())
    assert await read_all(store, "t/k") == b"abcd"


async def test_empty_object(store: LocalEvidenceStore) -> None:
    stored = await store.put("t/empty", [], max_bytes=0)

    assert stored.size == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert await read_all(store, "t/empty") == b""


async def test_put_replaces_the_object_under_the_key(store: LocalEvidenceStore, root: Path) -> None:
    await store.put("t/k", [b"first version"], max_bytes=100)
    stored = await store.put("t/k", [b"second"], max_bytes=100)

    assert stored.size == 6
    assert await read_all(store, "t/k") == b"second"
    assert files_under(root) == ["t/k"]


async def test_a_bytes_object_is_not_taken_for_chunks(store: LocalEvidenceStore, root: Path) -> None:
    with pytest.raises(TypeError, match="iterable of byte chunks"):
        await store.put("t/k", b"abc", max_bytes=100)  # type: ignore[arg-type]

    assert files_under(root) == []


async def test_upload_file_chunks(store: LocalEvidenceStore) -> None:
    data = os.urandom(10_000)
    upload = UploadFile(file=io.BytesIO(data), filename="lesson.pdf")

    stored = await store.put("t/upload", read_chunks(upload, chunk_size=3000), max_bytes=len(data))

    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await read_all(store, "t/upload") == data


# --- limits --------------------------------------------------------------------------------------


async def test_exactly_at_the_limit_is_stored(store: LocalEvidenceStore) -> None:
    stored = await store.put("t/k", [b"x" * 60, b"y" * 40], max_bytes=100)

    assert stored.size == 100


async def test_over_the_limit_leaves_nothing_behind(store: LocalEvidenceStore, root: Path) -> None:
    pulled: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for number in range(1000):
            pulled.append(number)
            yield b"z" * 4096

    with pytest.raises(EvidenceTooLarge) as caught:
        await store.put("tenant-1/big", endless(), max_bytes=10_000)

    assert caught.value.status == 413
    assert caught.value.to_dict()["max_bytes"] == 10_000
    assert len(pulled) == 3, "reading stops at the chunk that passes the limit"
    assert not await store.exists("tenant-1/big")
    assert files_under(root) == [], "no final object and no temporary file"


async def test_over_the_limit_keeps_the_earlier_object(store: LocalEvidenceStore, root: Path) -> None:
    await store.put("t/k", [b"good"], max_bytes=10)

    with pytest.raises(EvidenceTooLarge):
        await store.put("t/k", [b"much too long"], max_bytes=10)

    assert await read_all(store, "t/k") == b"good"
    assert files_under(root) == ["t/k"]


async def test_a_failing_source_leaves_nothing_behind(store: LocalEvidenceStore, root: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"half of it"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put("t/k", broken(), max_bytes=100)

    assert files_under(root) == []


async def test_cancelled_upload_leaves_nothing_behind(store: LocalEvidenceStore, root: Path) -> None:
    first_chunk_sent = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        yield b"part one"
        first_chunk_sent.set()
        await asyncio.Event().wait()  # the client never sends the rest
        yield b"never"

    upload = asyncio.create_task(store.put("t/k", stalls(), max_bytes=100))
    await first_chunk_sent.wait()
    for _ in range(100):  # until the first chunk's write has happened in its thread
        if any(name.startswith("t/.partial-") for name in files_under(root)):
            break
        await asyncio.sleep(0.01)
    assert [name for name in files_under(root) if name.startswith("t/.partial-")], "a partial file while uploading"
    assert not await store.exists("t/k"), "nothing under the final key while uploading"

    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload

    assert files_under(root) == []


async def test_negative_limit_is_a_programming_error(store: LocalEvidenceStore) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        await store.put("t/k", [b"x"], max_bytes=-1)


# --- keys ----------------------------------------------------------------------------------------

BAD_KEYS = [
    "",
    "..",
    "../outside",
    "tenant/../../outside",
    "tenant/./k",
    "/etc/passwd",
    "tenant//k",
    "tenant/",
    "tenant/.hidden",
    "tenant/.partial-abc",
    "tenant\\..\\k",
    "tenant/k\x00.pdf",
    "tenant/k\n",
    "tenant/ké",
    "a/" * 8 + "b",
    "t/" + "x" * 256,
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_keys_that_could_escape_are_refused(store: LocalEvidenceStore, tmp_path: Path, key: str) -> None:
    with pytest.raises(InvalidEvidenceKey):
        validate_key(key)
    with pytest.raises(InvalidEvidenceKey):
        await store.put(key, [b"x"], max_bytes=10)
    with pytest.raises(InvalidEvidenceKey):
        await store.open(key)
    with pytest.raises(InvalidEvidenceKey):
        await store.exists(key)
    with pytest.raises(InvalidEvidenceKey):
        await store.delete(key)

    assert files_under(tmp_path) == [], "nothing written anywhere"


@pytest.mark.parametrize(
    "key", ["k", "tenant-1/0f9c2b7e-9d8a-4c4b-9d0e-1a2b3c4d5e6f", "t_1/2026/05/evidence.v2", "a/" * 7 + "b"]
)
def test_ordinary_keys_are_accepted(key: str) -> None:
    assert validate_key(key) == tuple(key.split("/"))


@pytest.fixture
def outside(root: Path, tmp_path: Path) -> Path:
    """A directory outside the root that root/tenant links to."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root.mkdir()
    (root / "tenant").symlink_to(outside)
    return outside


async def test_a_symlink_out_of_the_root_is_refused(store: LocalEvidenceStore, outside: Path) -> None:

    with pytest.raises(InvalidEvidenceKey, match="outside the evidence root"):
        await store.put("tenant/k", [b"x"], max_bytes=10)

    assert files_under(outside) == []


@pytest.fixture
def secret(root: Path, tmp_path: Path) -> Path:
    """A file outside the root that the object path root/tenant/k links to."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not evidence")
    (root / "tenant").mkdir(parents=True)
    (root / "tenant" / "k").symlink_to(secret)
    return secret


async def test_a_symlinked_object_is_not_served(store: LocalEvidenceStore, secret: Path) -> None:
    assert not await store.exists("tenant/k")
    with pytest.raises(EvidenceNotFound):
        await store.open("tenant/k")
    assert not await store.delete("tenant/k")
    assert files_under(secret.parent) == ["evidence/tenant/k", "secret.txt"]


# --- reading and deleting ------------------------------------------------------------------------


async def test_missing_objects(store: LocalEvidenceStore) -> None:
    assert not await store.exists("t/missing")
    with pytest.raises(EvidenceNotFound) as caught:
        await store.open("t/missing")
    assert caught.value.key == "t/missing"
    assert not await store.delete("t/missing")


async def test_a_directory_is_not_an_object(store: LocalEvidenceStore) -> None:
    await store.put("t/sub/k", [b"x"], max_bytes=10)

    assert not await store.exists("t/sub")
    assert not await store.exists("t/sub/k/deeper")


async def test_delete_is_idempotent(store: LocalEvidenceStore, root: Path) -> None:
    await store.put("t/k", [b"x"], max_bytes=10)

    assert await store.delete("t/k")
    assert not await store.exists("t/k")
    assert not await store.delete("t/k")
    assert files_under(root) == []


async def test_object_deleted_between_open_and_reading(store: LocalEvidenceStore) -> None:
    await store.put("t/k", [b"x"], max_bytes=10)
    chunks = await store.open("t/k")
    await store.delete("t/k")

    with pytest.raises(EvidenceNotFound):
        await anext(chunks)


async def test_concurrent_puts_of_different_keys(store: LocalEvidenceStore, root: Path) -> None:
    contents = {f"tenant-{n % 3}/evidence-{n}": os.urandom(20_000 + n * 1_000) for n in range(24)}

    results = await asyncio.gather(
        *(store.put(key, slow_chunks(data, 4_096), max_bytes=100_000) for key, data in contents.items())
    )

    assert {r.key: (r.size, r.sha256) for r in results} == {
        key: (len(data), hashlib.sha256(data).hexdigest()) for key, data in contents.items()
    }
    for key, data in contents.items():
        assert await read_all(store, key, chunk_size=8192) == data
    assert files_under(root) == sorted(contents)


async def test_concurrent_puts_where_some_are_too_large(store: LocalEvidenceStore, root: Path) -> None:
    sizes = {f"t/{n}": 1_000 * n for n in range(1, 11)}

    results = await asyncio.gather(
        *(store.put(key, slow_chunks(b"e" * size, 700), max_bytes=5_000) for key, size in sizes.items()),
        return_exceptions=True,
    )

    assert [type(r).__name__ for r in results] == ["StoredObject"] * 5 + ["EvidenceTooLarge"] * 5
    assert files_under(root) == sorted(key for key, size in sizes.items() if size <= 5_000)


async def test_remove_partials_clears_only_stale_crash_leftovers(store: LocalEvidenceStore, root: Path) -> None:
    await store.put("t/k", [b"kept"], max_bytes=10)
    stale = root / "t" / ".partial-stale"
    stale.write_bytes(b"left by a crash")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    fresh = root / "t" / ".partial-fresh"
    fresh.write_bytes(b"an upload in progress")

    assert await store.remove_partials(older_than=600) == 1
    assert files_under(root) == ["t/.partial-fresh", "t/k"]


async def test_remove_partials_without_a_root(store: LocalEvidenceStore) -> None:
    assert await store.remove_partials() == 0
