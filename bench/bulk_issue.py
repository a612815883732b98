"""Bulk issuance end to end: 10,000 badges through the gateway's HTTP API on PostgreSQL.

One run creates its own database (``bench_bulk``; refused: ``test`` and system databases),
drops and migrates the badges and gateway schemas in it, and starts a gateway and the badges
service as real uvicorn processes (as ``shared/devrun.py`` starts them; throw-away data
directory, outbox off, logging at WARNING; ``BENCH_PROCESSES``, default 2, is the badges
service's ``BADGES_BULK_WORKER_PROCESSES``: 0 runs its bulk worker in the service process, n in
n processes of its own). As the dev API client ``demo-lms`` it creates an issuer and an
achievement, then times ``POST /v1/badges/bulk`` with a CSV of ``BENCH_ROWS`` rows (``BENCH_BAD`` of them with
a bad email) until ``GET /v1/jobs/{id}`` says ``done``, and prints rows, seconds, rows/s.

Then it verifies a random sample of the issued credentials (``BENCH_SAMPLE``, fetched through
the gateway) twice: with the project's verifier (``POST /v1/verify``: proof, key, status, schema,
dates) and with the independent Digital Bazaar verifier (interop/node/verify-di.mjs, fetching
did.json and the status lists from the gateway), and prints how many each verified.

Never part of ``make test``; run ``.venv/bin/python bench/bulk_issue.py`` from the repository root
(``BENCH_PG_URL`` to point elsewhere). Needs ``npm ci --prefix interop/node`` for the second verifier.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from shared.devrun import uvicorn_command
from shared.migrations import upgrade

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_bulk")
ROWS = int(os.environ.get("BENCH_ROWS", "10000"))
BAD = int(os.environ.get("BENCH_BAD", "0"))
SAMPLE = int(os.environ.get("BENCH_SAMPLE", "20"))
PROCESSES = os.environ.get("BENCH_PROCESSES", "2")
BATCH = os.environ.get("BENCH_BATCH", "")
TARGET_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def refuse_test_database(url: str) -> str:
    name = (make_url(url).database or "").lower()
    if name == "test" or name.startswith("test_") or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to use the database {name!r}: test and system databases are not for benchmarks")
    return name


async def fresh_database(url: str) -> None:
    name = refuse_test_database(url)
    parts = make_url(url)
    dsn = {"host": parts.host or "127.0.0.1", "port": parts.port or 5432, "user": parts.username or "postgres"}
    admin = await asyncpg.connect(**dsn, password=parts.password, database="postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(**dsn, password=parts.password, database=name)
    try:
        for schema in ("badges", "gateway"):
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
    for service in ("badges", "gateway"):
        await asyncio.to_thread(upgrade, service, url)


class Servers:
    """The gateway and the badges processes, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.gateway_port = free_port()
        self.badges_port = free_port()
        self.base = f"http://127.0.0.1:{self.gateway_port}"

    def start(self) -> None:
        from services.badges.settings import BadgesSettings
        from services.gateway.settings import GatewaySettings

        env = {k: v for k, v in os.environ.items() if not k.startswith(("BADGES_", "GATEWAY_"))}
        env["PYTHONUNBUFFERED"] = "1"
        badges_env = {
            **env,
            "BADGES_DATA_DIR": str(self.workdir),
            "BADGES_DATABASE_URL": PG_URL,
            "BADGES_OUTBOX_ENABLED": "false",
            "BADGES_DEV_SEED": "false",
            "BADGES_LOG_LEVEL": "WARNING",
            "BADGES_PUBLIC_BASE_URL": self.base,
            **({"BADGES_BULK_BATCH_SIZE": BATCH} if BATCH else {}),
        }
        badges_env["BADGES_PORT"] = str(self.badges_port)
        badges_env["BADGES_BULK_WORKER_PROCESSES"] = PROCESSES
        settings = BadgesSettings(port=self.badges_port, data_dir=self.workdir, database_url=PG_URL)
        self._spawn("badges", uvicorn_command("badges", settings), badges_env)
        gateway = GatewaySettings(port=self.gateway_port, data_dir=self.workdir, database_url=PG_URL)
        gateway_env = {
            **env,
            "GATEWAY_PORT": str(self.gateway_port),
            "GATEWAY_DATA_DIR": str(self.workdir),
            "GATEWAY_DATABASE_URL": PG_URL,
            "GATEWAY_OUTBOX_ENABLED": "false",
            "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_PUBLIC_BASE_URL": self.base,
            "GATEWAY_BADGES_URL": f"http://127.0.0.1:{self.badges_port}",
        }
        self._spawn("gateway", uvicorn_command("gateway", gateway), gateway_env)

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))

    async def ready(self) -> None:
        urls = [f"{self.base}/healthz", f"http://127.0.0.1:{self.badges_port}/healthz"]
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as client:
            for url in urls:
                while True:
                    try:
                        if (await client.get(url)).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                        raise SystemExit(f"a server did not start; see the logs in {self.workdir}")
                    await asyncio.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def csv_rows(achievement_id: str) -> tuple[bytes, set[int]]:
    """The CSV, and the numbers of its rows with a bad email."""
    bad = set(random.sample(range(1, ROWS + 1), BAD)) if BAD else set()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "external_id",
            "achievement_id",
            "recipient_email",
            "recipient_name",
            "result.plan",
            "evidence_url",
            "narrative",
        ]
    )
    for n in range(1, ROWS + 1):
        email = f"educator{n}.example" if n in bad else f"educator{n}@district.example"
        writer.writerow(
            [
                f"academy-2026-{n:05d}",
                achievement_id,
                email,
                f"Educator {n}",
                "proficient",
                f"https://portfolio.example/educator{n}/lesson-plan",
                f"Completed the summer academy (cohort {n % 12 + 1}).",
            ]
        )
    return out.getvalue().encode(), bad


async def run(servers: Servers) -> None:
    async with httpx.AsyncClient(base_url=servers.base, timeout=120) as client:
        token = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "badges:issue badges:read"},
            auth=("demo-lms", "demo-lms-secret"),
        )
        token.raise_for_status()
        client.headers["authorization"] = f"Bearer {token.json()['access_token']}"
        issuer = await client.post(
            "/v1/issuers", json={"name": "Bench District", "url": "https://bench.example", "email": "pl@bench.example"}
        )
        issuer.raise_for_status()
        achievement = await client.post(
            "/v1/achievements",
            json={
                "issuer_id": issuer.json()["id"],
                "name": "Summer Academy 2026",
                "description": "Completed the district's summer academy.",
                "criteria": {"narrative": "Attend every session and submit a lesson plan."},
                "result_descriptions": [
                    {
                        "key": "plan",
                        "name": "Lesson plan",
                        "levels": [
                            {"key": "developing", "name": "Developing"},
                            {"key": "proficient", "name": "Proficient"},
                        ],
                    }
                ],
            },
        )
        achievement.raise_for_status()
        body, bad = csv_rows(achievement.json()["id"])

        start = time.perf_counter()
        submitted = await client.post("/v1/badges/bulk", content=body, headers={"content-type": "text/csv"})
        accepted = time.perf_counter() - start
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        while True:
            job = (await client.get(f"/v1/jobs/{job_id}", params={"limit": 1})).json()
            if job["status"] == "done":
                break
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - start

        print(f"rows {ROWS} ({len(body) / 1e6:.1f} MB CSV), bad rows {BAD}, bulk worker processes {PROCESSES}")
        print(f"accepted (202) after      {accepted:8.2f} s")
        print(
            f"job done after            {elapsed:8.2f} s   "
            f"(target <= {TARGET_S:.0f} s: {'met' if elapsed <= TARGET_S else 'MISSED'})"
        )
        print(f"issued {job['done']}, failed {job['failed']}, pending {job['pending']}")
        print(f"rows/s end to end         {ROWS / elapsed:8.1f}")
        assert (job["done"], job["failed"]) == (ROWS - BAD, BAD), job
        reported: set[int] = set()
        page: dict[str, Any] | None = (await client.get(f"/v1/jobs/{job_id}/errors", params={"limit": 500})).json()
        while page is not None:
            reported |= {error["row"] for error in page["items"]}
            page = (await client.get(page["next"])).json() if page["next"] else None
        assert reported == bad, "the errors name exactly the bad rows"
        print(f"row errors reported       {len(reported)}, exactly the rows with a bad email")

        await verify_sample(client, servers.base, job_id)


async def verify_sample(client: httpx.AsyncClient, base: str, job_id: str) -> None:
    """Real verification of random issued credentials, by both verifiers."""
    rows = sorted(random.sample(range(1, ROWS + 1), min(SAMPLE * 2, ROWS)))
    credentials: list[dict[str, Any]] = []
    for row in rows:
        page = (await client.get(f"/v1/jobs/{job_id}/badges", params={"after": row - 1, "limit": 1})).json()
        if page["items"] and len(credentials) < SAMPLE:
            badge = (await client.get(page["items"][0]["links"]["badge"])).json()
            credentials.append(badge["credential"])
    ours = 0
    for credential in credentials:
        report = await client.post("/v1/verify", json={"credential": credential})
        ours += bool(report.status_code == 200 and report.json()["verified"])
    node = ROOT / "interop" / "node"
    theirs: int | str = "not run (npm ci --prefix interop/node)"
    if (node / "node_modules").is_dir():
        requests = [{"credential": c, "allowFetchPrefixes": [base + "/"]} for c in credentials]
        process = await asyncio.create_subprocess_exec(
            "node", str(node / "verify-di.mjs"), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate(json.dumps(requests).encode())
        answers = json.loads(out)
        theirs = sum(1 for answer in answers if answer.get("verified") is True)
    print(
        f"verified sample           {ours}/{len(credentials)} by Practicum's verifier, "
        f"{theirs}/{len(credentials)} by Digital Bazaar's"
    )


def main() -> None:
    refuse_test_database(PG_URL)
    asyncio.run(fresh_database(PG_URL))
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
        servers = Servers(Path(tmp))
        servers.start()
        try:
            asyncio.run(servers.ready())
            asyncio.run(run(servers))
        finally:
            servers.stop()


if __name__ == "__main__":
    main()
