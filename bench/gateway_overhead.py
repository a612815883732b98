"""What the gateway hop costs: the same request sent straight to the catalog and through the gateway.

One run starts its own catalog service and a gateway in front of it (real uvicorn processes, started
exactly as ``shared/devrun.py`` starts them, on free loopback ports, with a throw-away data directory,
the outbox dispatcher off and logging at WARNING), then measures, in alternating order so that drift on
a shared machine hits both sides alike:

* throughput: requests per second with ``--connections`` concurrent keep-alive connections for
  ``--duration`` seconds, direct and through the gateway, ``--rounds`` times each; the report gives
  every round and the medians, and the ratio gateway/direct of the medians;
* latency: one keep-alive connection sending one request at a time (no queueing, so the figures are
  the service time of one request) for ``--latency-duration`` seconds, direct and through the gateway;
  the report gives p50 and p99 of each, and the added p50/p99 (gateway minus direct, of the medians);
* CPU per request of every process during the throughput runs (from /proc), which says where the time
  goes: on a 2-core machine the load generator, the gateway and the catalog all share the same cores;
  and how busy the whole machine was, so a run disturbed by other processes says so (a warning is
  printed when they took more than 10% of it).

What is measured is ``GET /healthz`` of the catalog: a FastAPI route with the service's request
middleware, a pydantic response model and no database. A cheap upstream is the point: the proxy's
cost is what is left to see, whereas a DB-bound endpoint (``/v1/ops/catalog/outbox`` hits SQLite)
would hide it behind the service's own work and flatter the ratio. The gateway does not route
``/healthz`` (it answers its own), so this run starts it with ``GATEWAY_ROUTES`` = the default table
plus ``"/healthz": "catalog"``; the proxy matches before the gateway's own routes, so every request
to the gateway's ``/healthz`` takes the same code path as any proxied resource. ``--path`` measures
another catalog path instead (it must be routed to the catalog by the default table).

Targets (from the issue): gateway throughput >= 0.5 of direct, added p50 <= 0.5 ms. They are reported
as met or missed, never asserted: the exit code is 0 whenever the measurement itself ran.

The load generator is ``wrk`` when it is on PATH (``apt-get install wrk``): written in C, it takes a
small share of a core, while a Python generator competes with the servers for the same two cores
and caps what it can measure. Without wrk an aiohttp client (keep-alive, N concurrent workers, uvloop
when installed) is used; the report says which.

Run from the repository root: ``.venv/bin/python bench/gateway_overhead.py [--duration 5] [--rounds 3]``
(wrk takes whole seconds, so durations are rounded for it). One run takes about
``rounds * 2 * (duration + latency_duration)`` seconds plus start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    # Run as a script (`python bench/gateway_overhead.py`): the project's packages live at the root.
    sys.path.insert(0, str(REPO_ROOT))

from services.catalog.settings import CatalogSettings  # noqa: E402
from services.gateway.identity.keys import active_key, write_key  # noqa: E402
from services.gateway.identity.tokens import TokenService  # noqa: E402
from services.gateway.settings import DEFAULT_ROUTES, GatewaySettings  # noqa: E402
from shared.auth import PublicKeyRing  # noqa: E402
from shared.devrun import uvicorn_command  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

HOST = "127.0.0.1"
TARGET_RATIO = 0.5
TARGET_ADDED_P50_MS = 0.5
AUTH_PATH = "/v1/ops/catalog/whoami"
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

# wrk calls done() once at the end; printing one JSON line is simpler and more precise than parsing
# its human-readable summary (which rounds latencies to two decimals of the chosen unit).
WRK_REPORT_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,"
    .. "\\"status\\":%d,\\"timeout\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d,\\"mean_us\\":%.1f}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


# --- processes ----------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


def free_port() -> int:
    # The port may in theory be taken again before uvicorn binds it; on loopback that does not happen
    # in practice, and a clash shows up as a server that does not start (reported with its log).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_server(name: str, command: list[str], env: dict[str, str], port: int, log_dir: Path) -> Server:
    log_path = log_dir / f"{name}.log"
    log: IO[bytes] = log_path.open("wb")
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own session: Ctrl-C reaches the benchmark only, which then stops the servers in order.
        start_new_session=True,
    )
    log.close()
    return Server(name=name, port=port, process=process, log_path=log_path)


def stop_server(server: Server) -> None:
    if server.process.poll() is not None:
        return
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def wait_until_answers(server: Server, path: str, expect: str, timeout_s: float = 60.0) -> None:
    """Poll until ``path`` answers 200 with ``expect`` in its body; a dead process fails at once."""
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(server.base_url + path, timeout=2) as response:
                body = response.read().decode(errors="replace")
                if response.status == 200 and expect in body:
                    return
                last_error = f"HTTP {response.status}: {body[:200]}"
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(exc)
        time.sleep(0.1)
    log = server.log_path.read_text(errors="replace")[-4000:]
    state = f"exited with code {server.process.returncode}" if server.process.poll() is not None else "timed out"
    raise RuntimeError(f"{server.name} did not become ready ({state}; last: {last_error}).\nLog tail:\n{log}")


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc), None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the ")" that closes comm: state is field 3, utime 14 and stime 15 (1-based, man proc).
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu_ticks() -> tuple[int, int, int, int] | None:
    """(busy, idle, steal, irq) clock ticks of the whole machine so far (Linux /proc/stat), else None."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user.
    values = [int(x) for x in first[1:9]]
    idle = values[3] + values[4]
    steal = values[7]
    # Interrupt and softirq time (loopback TCP is mostly softirq) is charged to no process.
    irq = values[5] + values[6]
    return sum(values) - idle - steal, idle, steal, irq


def loaded_speedups(pid: int) -> str:
    """Which native event loop and HTTP parser the process has loaded (uvicorn's ``auto`` picks)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return "unknown (no /proc)"
    loop = "uvloop" if "/uvloop/loop." in maps else "asyncio"
    http = "httptools" if "/httptools/parser/" in maps else "h11"
    parts = [f"loop={loop}", f"http={http}"]
    if "/aiohttp/" in maps:
        parts.append("aiohttp-C-parser=" + ("yes" if "/aiohttp/_http_parser." in maps else "no"))
    return " ".join(parts)


# --- load generators ------------------------------------------------------------------------------


@dataclass
class RunResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    loadgen_cpu_s: float | None = None
    server_cpu_s: dict[str, float] = field(default_factory=dict)
    # Whole machine during the run, in CPU seconds: (busy, idle, steal, irq); busy includes irq and
    # other tenants of the machine.
    machine_cpu_s: tuple[float, float, float, float] | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


class LoadGenerator:
    name = "?"

    def run(self, url: str, *, connections: int, duration: float, headers: dict[str, str] | None = None) -> RunResult:
        raise NotImplementedError


class WrkLoadGenerator(LoadGenerator):
    def __init__(self, wrk: str, threads: int, script: Path) -> None:
        self.wrk = wrk
        self.threads = threads
        self.script = script
        version = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        first_line = (version.stdout or version.stderr).splitlines()[0] if (version.stdout or version.stderr) else ""
        self.name = f"wrk ({first_line.split(' Copyright')[0].strip() or wrk})"

    def run(self, url: str, *, connections: int, duration: float, headers: dict[str, str] | None = None) -> RunResult:
        threads = max(1, min(self.threads, connections))
        seconds = max(1, round(duration))  # wrk takes whole seconds only
        command = [self.wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(self.script)]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        command.append(url)
        # wrk is our child: its CPU time shows up in RUSAGE_CHILDREN once it has been waited for.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        line = next((x for x in completed.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
        if completed.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip() or completed.stdout}")
        data = json.loads(line.removeprefix("WRK_JSON "))
        errors = sum(int(data[key]) for key in ("connect", "read", "write", "status", "timeout"))
        return RunResult(
            requests=int(data["requests"]),
            seconds=int(data["duration_us"]) / 1e6,
            errors=errors,
            p50_ms=int(data["p50_us"]) / 1000,
            p99_ms=int(data["p99_us"]) / 1000,
            loadgen_cpu_s=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        )


class PythonLoadGenerator(LoadGenerator):
    """aiohttp with keep-alive and one worker per connection; a fallback, it competes for the CPU."""

    def __init__(self) -> None:
        try:
            import uvloop
        except ImportError:
            self.loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
            loop = "asyncio"
        else:
            self.loop_factory = uvloop.new_event_loop
            loop = "uvloop"
        self.name = f"python (aiohttp client on {loop}, in the benchmark process)"

    def run(self, url: str, *, connections: int, duration: float, headers: dict[str, str] | None = None) -> RunResult:
        before = resource.getrusage(resource.RUSAGE_SELF)
        with asyncio.Runner(loop_factory=self.loop_factory) as runner:
            result = runner.run(self._load(url, connections, duration, headers or {}))
        after = resource.getrusage(resource.RUSAGE_SELF)
        result.loadgen_cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return result

    @staticmethod
    async def _load(url: str, connections: int, duration: float, headers: dict[str, str]) -> RunResult:
        import aiohttp

        latencies_ns: list[int] = []
        errors = 0
        connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=60)
        async with aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
            headers=headers,
        ) as session:
            deadline = time.perf_counter() + duration

            async def worker() -> None:
                nonlocal errors
                while time.perf_counter() < deadline:
                    started = time.perf_counter_ns()
                    try:
                        async with session.get(url) as response:
                            await response.read()
                            ok = response.status == 200
                    except (aiohttp.ClientError, OSError):
                        errors += 1
                        continue
                    if ok:
                        latencies_ns.append(time.perf_counter_ns() - started)
                    else:
                        errors += 1

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            seconds = time.perf_counter() - started
        latencies_ns.sort()
        return RunResult(
            requests=len(latencies_ns),
            seconds=seconds,
            errors=errors,
            p50_ms=percentile(latencies_ns, 50) / 1e6,
            p99_ms=percentile(latencies_ns, 99) / 1e6,
        )


def percentile(sorted_values: list[int], pct: float) -> float:
    """Nearest-rank percentile (what wrk's histogram reports too), 0 for no samples."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def measure(
    generator: LoadGenerator,
    url: str,
    servers: list[Server],
    *,
    connections: int,
    duration: float,
    headers: dict[str, str] | None = None,
) -> RunResult:
    """One load run, with the CPU each server process used during it."""
    before = {s.name: process_cpu_s(s.process.pid) for s in servers}
    machine_before = machine_cpu_ticks()
    result = generator.run(url, connections=connections, duration=duration, headers=headers)
    machine_after = machine_cpu_ticks()
    for server in servers:
        start, end = before[server.name], process_cpu_s(server.process.pid)
        if start is not None and end is not None:
            result.server_cpu_s[server.name] = end - start
    if machine_before is not None and machine_after is not None:
        busy, idle, steal, irq = (b - a for a, b in zip(machine_before, machine_after, strict=True))
        result.machine_cpu_s = (busy / CLK_TCK, idle / CLK_TCK, steal / CLK_TCK, irq / CLK_TCK)
    return result


# --- the benchmark --------------------------------------------------------------------------------


@dataclass
class Side:
    """Everything measured on one side (direct or via the gateway), one entry per round."""

    label: str
    load: list[RunResult] = field(default_factory=list)
    latency: list[RunResult] = field(default_factory=list)

    def median_rps(self) -> float:
        return statistics.median(r.rps for r in self.load)

    def median_p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.latency)

    def median_p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.latency)

    def cpu_us_per_request(self) -> dict[str, float]:
        """Median over rounds of each process's CPU microseconds per request under load."""
        names = sorted({name for r in self.load for name in r.server_cpu_s})
        out: dict[str, float] = {}
        for name in names:
            values = [
                r.server_cpu_s[name] / r.requests * 1e6 for r in self.load if name in r.server_cpu_s and r.requests
            ]
            if values:
                out[name] = statistics.median(values)
        loadgen = [r.loadgen_cpu_s / r.requests * 1e6 for r in self.load if r.loadgen_cpu_s is not None and r.requests]
        if loadgen:
            out["load generator"] = statistics.median(loadgen)
        return out

    def cpu_shares(self) -> tuple[float, float, float, float, float] | None:
        """Medians over the load runs, as shares of the machine's CPU: (ours, irq, others, idle, steal).

        "others" is busy time not used by the benchmark's processes (kernel threads, other tenants of
        a shared machine): when it is large, the run was disturbed and its figures are low.
        """
        rows = []
        for r in self.load:
            if r.machine_cpu_s is None:
                continue
            busy, idle, steal, irq = r.machine_cpu_s
            total = busy + idle + steal
            if total <= 0:
                continue
            ours = min(busy - irq, sum(r.server_cpu_s.values()) + (r.loadgen_cpu_s or 0.0))
            others = max(0.0, busy - irq - ours)
            rows.append((ours / total, irq / total, others / total, idle / total, steal / total))
        if not rows:
            return None
        a, b, c, d, e = (statistics.median(x[i] for x in rows) for i in range(5))
        return a, b, c, d, e


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--duration",
        type=float,
        default=5.0,
        help="seconds per throughput run (default 5; wrk rounds to whole seconds)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of direct+gateway, alternating (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections under load (default 32)")
    parser.add_argument(
        "--latency-duration", type=float, default=3.0, help="seconds per concurrency-1 latency run (default 3)"
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load on each side before measuring")
    parser.add_argument(
        "--loadgen", choices=("auto", "wrk", "python"), default="auto", help="auto: wrk when on PATH, else python"
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: leaves cores to the servers)")
    parser.add_argument("--path", default="/healthz", help="catalog path to request (default /healthz)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.latency_duration <= 0 or args.rounds < 1 or args.connections < 1:
        parser.error("--duration and --latency-duration must be > 0, --rounds and --connections >= 1")
    if not args.path.startswith("/"):
        parser.error("--path must start with '/'")
    return args


def choose_generator(choice: str, threads: int, workdir: Path) -> LoadGenerator:
    wrk = shutil.which("wrk")
    if choice == "wrk" and wrk is None:
        raise SystemExit("--loadgen wrk: wrk is not on PATH (Debian: apt-get install wrk)")
    if choice in ("auto", "wrk") and wrk is not None:
        script = workdir / "report.lua"
        script.write_text(WRK_REPORT_LUA)
        return WrkLoadGenerator(wrk, threads, script)
    return PythonLoadGenerator()


@contextmanager
def services(workdir: Path) -> Iterator[tuple[Server, Server]]:
    """Catalog and gateway up and answering; both stopped on the way out, whatever happened."""
    catalog_port, gateway_port = free_port(), free_port()
    catalog = CatalogSettings(port=catalog_port, data_dir=workdir, log_level="WARNING", outbox_enabled=False)
    # Routes to the other services point at closed ports: nothing in this benchmark reaches them.
    gateway = GatewaySettings(
        port=gateway_port,
        data_dir=workdir,
        log_level="WARNING",
        outbox_enabled=False,
        catalog_url=f"http://{HOST}:{catalog_port}",
        credentials_url=f"http://{HOST}:{free_port()}",
        badges_url=f"http://{HOST}:{free_port()}",
        routes={**DEFAULT_ROUTES, "/healthz": "catalog"},
    )
    # Settings reach the servers as environment variables, as in production; the benchmark's own
    # environment must not leak a CATALOG_*/GATEWAY_* override into them.
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "GATEWAY_"))}
    base_env["PYTHONUNBUFFERED"] = "1"
    catalog_env = {
        **base_env,
        "CATALOG_PORT": str(catalog.port),
        "CATALOG_DATA_DIR": str(workdir),
        "CATALOG_DATABASE_URL": catalog.database_url,
        "CATALOG_OUTBOX_ENABLED": "false",
        "CATALOG_LOG_LEVEL": "WARNING",
    }
    gateway_env = {
        **base_env,
        "GATEWAY_PORT": str(gateway.port),
        "GATEWAY_DATA_DIR": str(workdir),
        "GATEWAY_DATABASE_URL": gateway.database_url,
        "GATEWAY_OUTBOX_ENABLED": "false",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_CATALOG_URL": gateway.catalog_url,
        "GATEWAY_CREDENTIALS_URL": gateway.credentials_url,
        "GATEWAY_BADGES_URL": gateway.badges_url,
        "GATEWAY_ROUTES": json.dumps(gateway.routes),
    }
    # The gateway's signing key exists before it starts, so the benchmark can mint an access
    # token the gateway will accept (the catalog reads the public half from the same place).
    write_key(gateway.keys_dir)
    # Migrations first (blocking, as `make run` does): a service is only "ready" at head.
    upgrade("catalog", catalog.database_url)
    upgrade("gateway", gateway.database_url)

    started: list[Server] = []
    try:
        started.append(start_server("catalog", uvicorn_command("catalog", catalog), catalog_env, catalog.port, workdir))
        wait_until_answers(started[0], "/healthz", '"catalog"')
        started.append(start_server("gateway", uvicorn_command("gateway", gateway), gateway_env, gateway.port, workdir))
        # Answered by the catalog through the proxy: proves the route is in place, not just the port.
        wait_until_answers(started[1], "/healthz", '"catalog"')
        yield started[0], started[1]
    finally:
        for server in reversed(started):
            stop_server(server)


def access_token(workdir: Path) -> str:
    """A token as the gateway issues it: verified (then cached) by the gateway, which mints the
    internal token the catalog verifies on every request."""
    settings = GatewaySettings(data_dir=workdir)
    key = active_key(settings.keys_dir)
    assert key is not None
    tokens = TokenService(
        key=key,
        key_ring=PublicKeyRing(settings.keys_dir),
        issuer=settings.public_base_url.rstrip("/"),
        access_ttl_s=3600,
        internal_ttl_s=settings.internal_token_ttl_s,
    )
    return str(tokens.issue(subject="client:bench", tenant_id="bench", kind="client", scopes=frozenset()))


def run_benchmark(
    args: argparse.Namespace, generator: LoadGenerator, catalog: Server, gateway: Server, workdir: Path
) -> None:
    direct = Side("direct")
    via = Side("via gateway")
    authed = Side("with token")
    targets = {
        direct.label: catalog.base_url + args.path,
        via.label: gateway.base_url + args.path,
        # The cheapest authenticated route: the gateway verifies the bearer token (cached) and
        # mints an internal token; the catalog verifies that and answers who the caller is.
        authed.label: gateway.base_url + AUTH_PATH,
    }
    headers = {direct.label: {}, via.label: {}, authed.label: {"Authorization": f"Bearer {access_token(workdir)}"}}
    for label, url in targets.items():
        # A path that fails (404, 502, 401…) would be measured as fast errors: refuse it up front.
        try:
            request = urllib.request.Request(url, headers=headers[label])
            with urllib.request.urlopen(request, timeout=5) as response:
                response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise RuntimeError(f"GET {url} does not answer 200: {exc}") from exc

    print(f"warming up every side for {args.warmup:g} s each…", flush=True)
    for label, url in targets.items():
        if args.warmup > 0:
            generator.run(url, connections=args.connections, duration=args.warmup, headers=headers[label])

    for round_no in range(args.rounds):
        # ABBA order: a slow drift of the machine does not favour one side.
        order = [direct, via, authed] if round_no % 2 == 0 else [authed, via, direct]
        for side in order:
            procs = [catalog] if side is direct else [gateway, catalog]
            result = measure(
                generator,
                targets[side.label],
                procs,
                connections=args.connections,
                duration=args.duration,
                headers=headers[side.label],
            )
            side.load.append(result)
            print(
                f"round {round_no + 1}/{args.rounds} {side.label:>11}: {result.rps:9.0f} req/s"
                f" ({result.requests} requests, {result.errors} errors, p50 {result.p50_ms:.2f} ms under load)",
                flush=True,
            )
        for side in reversed(order):
            result = generator.run(
                targets[side.label], connections=1, duration=args.latency_duration, headers=headers[side.label]
            )
            side.latency.append(result)
            print(
                f"round {round_no + 1}/{args.rounds} {side.label:>11}: p50 {result.p50_ms:.3f} ms,"
                f" p99 {result.p99_ms:.3f} ms at concurrency 1 ({result.requests} requests)",
                flush=True,
            )

    report(args, generator, catalog, gateway, direct, via, authed)


def report(
    args: argparse.Namespace,
    generator: LoadGenerator,
    catalog: Server,
    gateway: Server,
    direct: Side,
    via: Side,
    authed: Side,
) -> None:
    d_rps, g_rps = direct.median_rps(), via.median_rps()
    ratio = g_rps / d_rps if d_rps else 0.0
    added_p50 = via.median_p50() - direct.median_p50()
    added_p99 = via.median_p99() - direct.median_p99()
    errors = sum(r.errors for side in (direct, via, authed) for r in side.load + side.latency)
    a_rps = authed.median_rps()
    auth_p50 = authed.median_p50() - via.median_p50()
    auth_p99 = authed.median_p99() - via.median_p99()

    def met(ok: bool) -> str:
        return "met" if ok else "MISSED"

    def rounds(values: list[float], fmt: str) -> str:
        return "  ".join(format(v, fmt) for v in values)

    print()
    print("=" * 78)
    print("Gateway overhead: catalog direct vs through the gateway")
    print("=" * 78)
    print(f"endpoint        GET {args.path} on the catalog (via the gateway: same path, proxied)")
    print(f"load generator  {generator.name}")
    print(f"load            {args.connections} connections x {args.duration:g} s per run; latency: 1 connection")
    print(f"                x {args.latency_duration:g} s per run; {args.rounds} rounds, ABBA order, medians reported")
    print(f"machine         {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform(terse=True)}")
    print(f"catalog         pid {catalog.process.pid}: {loaded_speedups(catalog.process.pid)}")
    print(f"gateway         pid {gateway.process.pid}: {loaded_speedups(gateway.process.pid)}")
    print()
    print(f"{'throughput (req/s)':<22}{'median':>10}   rounds")
    print(f"{'  direct':<22}{d_rps:>10.0f}   {rounds([r.rps for r in direct.load], '.0f')}")
    print(f"{'  via gateway':<22}{g_rps:>10.0f}   {rounds([r.rps for r in via.load], '.0f')}")
    print(f"{'  ratio gateway/direct':<22}{ratio:>10.2f}   target >= {TARGET_RATIO:.2f}: {met(ratio >= TARGET_RATIO)}")
    print()
    print(f"{'latency, conc. 1 (ms)':<22}{'p50':>10}{'p99':>10}   p50 per round")
    print(
        f"{'  direct':<22}{direct.median_p50():>10.3f}{direct.median_p99():>10.3f}"
        f"   {rounds([r.p50_ms for r in direct.latency], '.3f')}"
    )
    print(
        f"{'  via gateway':<22}{via.median_p50():>10.3f}{via.median_p99():>10.3f}"
        f"   {rounds([r.p50_ms for r in via.latency], '.3f')}"
    )
    print(
        f"{'  added by gateway':<22}{added_p50:>+10.3f}{added_p99:>+10.3f}"
        f"   target added p50 <= {TARGET_ADDED_P50_MS:.2f} ms: {met(added_p50 <= TARGET_ADDED_P50_MS)}"
    )
    print()
    print(f"authentication: GET {AUTH_PATH} with a bearer token, via the gateway (vs {args.path} without)")
    print(f"{'  throughput (req/s)':<22}{a_rps:>10.0f}   {rounds([r.rps for r in authed.load], '.0f')}")
    print(
        f"{'  latency (ms)':<22}{authed.median_p50():>10.3f}{authed.median_p99():>10.3f}"
        f"   {rounds([r.p50_ms for r in authed.latency], '.3f')}"
    )
    share = a_rps / g_rps if g_rps else 0.0
    print(f"{'  added by auth':<22}{auth_p50:>+10.3f}{auth_p99:>+10.3f}   throughput {share:.2f} of unauthenticated")
    print()
    print("CPU per request under load (us, median of rounds)")
    for side in (direct, via, authed):
        cpu = side.cpu_us_per_request()
        parts = ", ".join(f"{name} {value:.0f}" for name, value in cpu.items())
        print(f"  {side.label:<12} {parts or 'n/a'}; total {sum(cpu.values()):.0f}")
    print("machine CPU during load runs (share of all cores, median of rounds)")
    for side in (direct, via, authed):
        shares = side.cpu_shares()
        if shares is None:
            print(f"  {side.label:<12} n/a")
            continue
        ours, irq, others, idle, steal = shares
        print(
            f"  {side.label:<12} benchmark {ours:.0%}, kernel irq {irq:.0%}, other processes {others:.0%},"
            f" idle {idle:.0%}, steal {steal:.0%}"
        )
    disturbed = [s.label for s in (direct, via, authed) if (shares := s.cpu_shares()) is not None and shares[2] > 0.1]
    if disturbed:
        print(
            f"\nWARNING: other processes used more than 10% of the machine during the {' and '.join(disturbed)}"
            "\nruns: they competed with the benchmark, so those figures are low; run again on a quiet machine."
        )
    if errors:
        print(f"\nWARNING: {errors} failed or non-2xx requests; the figures above are suspect.")
    if isinstance(generator, PythonLoadGenerator):
        print(
            "\nNOTE: the Python load generator shares the machine's cores with both servers and caps the"
            "\nthroughput it can see; install wrk for figures closer to the servers' own limits."
        )
    print()
    print(
        f"summary: direct {d_rps:.0f} req/s, via gateway {g_rps:.0f} req/s, ratio {ratio:.2f}"
        f" ({met(ratio >= TARGET_RATIO)}); added p50 {added_p50:.3f} ms ({met(added_p50 <= TARGET_ADDED_P50_MS)}),"
        f" added p99 {added_p99:.3f} ms; authentication adds p50 {auth_p50:.3f} ms,"
        f" throughput {a_rps:.0f} req/s"
    )


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so the `finally` that stops the servers runs, as on Ctrl-C.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="practicum-bench-") as tmp:
        workdir = Path(tmp)
        generator = choose_generator(args.loadgen, args.threads, workdir)
        print(f"load generator: {generator.name}", flush=True)
        print(f"starting catalog and gateway (data dir {workdir})…", flush=True)
        try:
            with services(workdir) as (catalog, gateway):
                run_benchmark(args, generator, catalog, gateway, workdir)
        except KeyboardInterrupt:
            print("\ninterrupted; servers stopped", file=sys.stderr)
            return 130
        except RuntimeError as exc:
            print(f"benchmark could not run: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
