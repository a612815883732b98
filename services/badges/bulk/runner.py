"""Where the bulk worker runs: as a task of the service process, or in processes of its own.

``BADGES_BULK_WORKER_PROCESSES`` = 0 (the default): one worker task beside the requests, giving
the event loop back between rows. n > 0: n worker processes, started and stopped with the
service and never outliving it (on Linux the kernel kills them when the service process dies, so
killing the service stops its workers at once, as a crash would); the service process then only
serves requests. Signing is CPU work, so processes are how one replica uses several cores; the
claim protocol that makes replicas safe (worker.py) makes them safe too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence

from fastapi import FastAPI

from services.badges.bulk.worker import BulkWorker
from services.badges.deps import badges_state
from services.badges.openbadges.documents import Urls
from services.badges.settings import BadgesSettings
from services.badges.vault import KeyVault, Signer, load_kek
from shared.db import create_engine, create_sessionmaker
from shared.logging import configure_logging
from shared.settings import Environment

logger = logging.getLogger("practicum.badges.bulk")

_STOP_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1


def worker_for(app: FastAPI) -> BulkWorker:
    """A worker sharing the app's database sessions, keys and settings."""
    state = badges_state(app)
    return BulkWorker(sessionmaker=state.sessionmaker, urls=state.urls, signer=state.signer, settings=state.settings)


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """The app's bulk workers, from start-up to shut-down (a batch in flight may finish)."""
    settings = badges_state(app).settings
    if not settings.bulk_worker_enabled:
        yield
    elif settings.bulk_worker_processes:
        async with _processes(settings):
            yield
    else:
        stop = asyncio.Event()
        task = asyncio.create_task(worker_for(app).run_forever(stop), name="badges-bulk-worker")
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(task, timeout=_STOP_TIMEOUT_S)
            except TimeoutError:
                logger.warning("bulk worker did not stop in time; its leases will expire")


@contextlib.asynccontextmanager
async def _processes(settings: BadgesSettings) -> AsyncIterator[None]:
    # spawn, not fork: a forked child would share the parent's event loop and connections.
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_child, args=(settings, os.getpid()), name=f"badges-bulk-{n}", daemon=True)
        for n in range(settings.bulk_worker_processes)
    ]
    for child in children:
        child.start()
    try:
        yield
    finally:
        for child in children:
            child.terminate()  # SIGTERM: stop after the batch in flight
        await asyncio.to_thread(_join, children)


def _join(children: Sequence[multiprocessing.process.BaseProcess]) -> None:
    for child in children:
        child.join(_STOP_TIMEOUT_S)
        if child.is_alive():
            logger.warning("bulk worker process did not stop in time; killed, its leases will expire")
            child.kill()
            child.join()


def _child(settings: BadgesSettings, parent: int) -> None:
    """A worker process: the bulk worker alone, on an engine of its own."""
    if sys.platform.startswith("linux"):
        # Die with the service, whatever kills it: a worker must not go on alone.
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        return  # the service died before that took effect
    if settings.environment is not Environment.test:
        configure_logging(service="badges", level=settings.log_level, json_lines=settings.log_json)
    asyncio.run(_work(settings))


async def _work(settings: BadgesSettings) -> None:
    engine = create_engine(settings.database_url, schema=settings.db_schema, pool_size=2)
    worker = BulkWorker(
        sessionmaker=create_sessionmaker(engine),
        urls=Urls(settings.public_base_url),
        signer=Signer(KeyVault(load_kek(settings))),
        settings=settings,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await worker.run_forever(stop)
    finally:
        await engine.dispose()
