"""`make run`'s supervisor: migrates, starts four processes, stops them all on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx

from tests.support import SERVICES, free_port

ROOT = Path(__file__).resolve().parents[1]


async def test_supervisor_starts_everything_and_stops_cleanly(tmp_path: Path) -> None:
    ports = {service: free_port() for service in SERVICES}
    env = {key: value for key, value in os.environ.items() if not key.startswith(tuple(s.upper() for s in SERVICES))}
    for service, port in ports.items():
        prefix = service.upper()
        env[f"{prefix}_PORT"] = str(port)
        env[f"{prefix}_DATA_DIR"] = str(tmp_path / "var")
        env[f"{prefix}_LOG_JSON"] = "true"
        if service != "gateway":
            env[f"GATEWAY_{prefix}_URL"] = f"http://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.devrun",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['gateway']}") as client:
            status = 0
            for _ in range(300):
                try:
                    status = (await client.get("/readyz")).status_code
                except httpx.TransportError:
                    status = 0
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            assert status == 200, "the system did not become ready within 30 s"
            ready = (await client.get("/readyz")).json()
        assert {s["name"] for s in ready["services"]} == set(SERVICES)
        assert sorted(p.name for p in (tmp_path / "var").iterdir() if p.suffix == ".sqlite3") == sorted(
            f"{s}.sqlite3" for s in SERVICES
        )
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            # Stop it as make run's user would, so its children stop too: a SIGKILLed supervisor
            # leaves four servers running for the rest of the suite.
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.communicate(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()
    text = output.decode()
    assert process.returncode == 0
    assert f"API docs at http://127.0.0.1:{ports['gateway']}/docs" in text
    assert "stopped" in text.splitlines()[-1]
    # Every child's lines are prefixed with its name, and none is left running.
    for service in SERVICES:
        assert f"{service:>11} | " in text
        async with httpx.AsyncClient() as probe:
            try:
                await probe.get(f"http://127.0.0.1:{ports[service]}/healthz")
            except httpx.TransportError:
                continue
        raise AssertionError(f"{service} still answers after the supervisor stopped")
