"""A dispatcher in its own process, for the crash test: it delivers, then "crashes".

After delivering ``--hang-after`` events it stops before recording the last delivery and
waits to be killed, exactly the window where a real crash would leave a delivered event
still marked pending.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.catalog.models import OutboxEvent
from shared.db import create_engine, create_sessionmaker
from shared.events import EventEnvelope
from shared.outbox import DispatchPolicy, HttpEventSink, OutboxDispatcher


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--receiver", required=True)
    parser.add_argument("--hang-after", type=int, required=True)
    parser.add_argument("--lease", type=float, default=1.0)
    args = parser.parse_args()

    engine = create_engine(args.database_url, schema="catalog")
    sink = HttpEventSink({"test": args.receiver})
    delivered = 0

    async def deliver(envelope: EventEnvelope) -> None:
        nonlocal delivered
        await sink(envelope)
        delivered += 1
        print(f"delivered {envelope.id}", flush=True)
        if delivered >= args.hang_after:
            print("hanging", flush=True)
            await asyncio.Event().wait()  # killed here, before the success is recorded

    dispatcher = OutboxDispatcher(
        sessionmaker=create_sessionmaker(engine),
        model=OutboxEvent,
        deliver=deliver,
        policy=DispatchPolicy(batch_size=100, lease_s=args.lease, poll_interval_s=0.05, delivery_timeout_s=0.2),
        name="doomed-worker",
    )
    await dispatcher.run_forever(asyncio.Event())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
