"""``make run``: migrate the embedded databases, then run gateway + three services as processes.

Each service is its own uvicorn process (as in production); their output is prefixed with the
service name. Ctrl-C or SIGTERM stops all of them. A service that dies is reported and left
down (so a failure stays visible); start it again from another terminal with
``.venv/bin/python -m shared.devrun <service>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from importlib import import_module

from shared.migrations import upgrade
from shared.settings import ServiceSettings

SERVICES = ("catalog", "credentials", "badges", "gateway")
COLOURS = {"catalog": "36", "credentials": "35", "badges": "33", "gateway": "32"}


def settings_for(service: str) -> ServiceSettings:
    module = import_module(f"services.{service}.settings")
    cls: type[ServiceSettings] = getattr(module, f"{service.capitalize()}Settings")
    return cls()


def uvicorn_command(service: str, settings: ServiceSettings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"services.{service}.app:create_app",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--no-access-log",
        # Longer than the gateway's pool keep-alive, so the gateway always closes first.
        "--timeout-keep-alive",
        "75",
        "--log-level",
        "warning",
    ]


def migrate(services: tuple[str, ...]) -> None:
    """Dev mode upgrades automatically; production runs `make migrate` (or alembic) on purpose."""
    for service in services:
        upgrade(service, settings_for(service).database_url)


async def _pump(name: str, stream: asyncio.StreamReader) -> None:
    colour = COLOURS.get(name, "0")
    prefix = f"\x1b[{colour}m{name:>11} |\x1b[0m " if sys.stdout.isatty() else f"{name:>11} | "
    while line := await stream.readline():
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


async def supervise(services: tuple[str, ...]) -> int:
    processes: dict[str, asyncio.subprocess.Process] = {}
    pumps = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for service in services:
        settings = settings_for(service)
        proc = await asyncio.create_subprocess_exec(
            *uvicorn_command(service, settings),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        assert proc.stdout is not None
        processes[service] = proc
        pumps.append(asyncio.create_task(_pump(service, proc.stdout)))
        print(f"started {service} (pid {proc.pid}) on http://{settings.host}:{settings.port}", flush=True)

    if "gateway" in processes:
        gw = settings_for("gateway")
        print(f"\nPracticum is starting: API docs at http://{gw.host}:{gw.port}/docs\n", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def watch(name: str, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        if not stop.is_set():
            print(
                f"{name} exited with code {code}; start it again with: {sys.executable} -m shared.devrun {name}",
                flush=True,
            )

    watchers = [asyncio.create_task(watch(n, p)) for n, p in processes.items()]
    await stop.wait()
    print("stopping…", flush=True)
    for proc in processes.values():
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes.values())), timeout=15)
    except TimeoutError:
        for proc in processes.values():
            if proc.returncode is None:
                proc.kill()
    await asyncio.gather(*watchers, *pumps, return_exceptions=True)
    print("stopped", flush=True)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="*", help=f"any of {', '.join(SERVICES)}; default: all four")
    parser.add_argument("--no-migrate", action="store_true", help="skip `alembic upgrade head`")
    args = parser.parse_args()
    services = tuple(args.services) or SERVICES
    unknown = set(services) - set(SERVICES)
    if unknown:
        parser.error(f"unknown service(s): {', '.join(sorted(unknown))}; choose from {', '.join(SERVICES)}")
    if not args.no_migrate:
        migrate(services)
    raise SystemExit(asyncio.run(supervise(services)))


if __name__ == "__main__":
    main()
