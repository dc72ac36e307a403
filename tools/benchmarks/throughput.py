"""Requests per second of a generated locustfile against hand-written ones, against nginx.

Two synthetic simulations are compiled by the real compiler (`python -m compiler compile`) into
a temporary folder: PLAIN, five endpoints with weights, common and own headers, a query and a
JSON body; FLOW, one flow of three steps (log in, open a cart, pay), each checked, the token
captured from the first answer's JSON and sent in the next steps' Authorization header, the
cart's id captured and sent in the last step's path. tools/bench_locustfiles/ holds the same
requests written by hand, with FastHttpUser and with HttpUser.

Each file runs in one Locust process, headless: 20 users spawned at once, no think time, for
--seconds, against nginx on 127.0.0.1 (tools/benchmarks/nginx.py). tools/bench_locustfiles/
measure.py, loaded next to it, counts the requests sent from 1 s after the last user was
spawned to the moment the run starts stopping (so the ramp and the stop are left out), and the
process's CPU time over the same window. The runs are interleaved, generated then hand-written
(FastHttpUser) then hand-written HttpUser, --pairs times; the figure is the median of the
per-pair ratios generated / hand-written.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import LOCUST, LOCUSTFILES, PYTHON, ROOT, median, record, run_measured
from .nginx import free_port

USERS = 20
PASSWORD = "bench-password"  # ${env:BENCH_PASSWORD}, for the generated and the hand-written flow
HEADERS = {"Accept": "application/json", "Accept-Language": "${locale}", "X-Client": "bench"}

# What nginx answers (tools/benchmarks/nginx.py): location -> JSON, status 200, any method.
ANSWERS = {
    "= /": '{"page": "home"}',
    "= /api/items": '{"items": [{"id": 41}, {"id": 42}], "page": 1}',
    "= /api/items/42": '{"id": 42, "name": "Forty-two"}',
    "= /api/profile": '{"user": "bench", "plan": "free"}',
    "= /api/events": '{"accepted": true}',
    "= /flow/login": '{"token": "t0k3n-bench-0001", "expires_in": 3600}',
    "= /flow/cart": '{"id": "cart-4242", "status": "open", "items": 1}',
    "~ ^/flow/cart/[^/]+/pay$": '{"status": "paid", "cart": "cart-4242"}',
}

RUN = {"users": USERS, "spawn_rate": USERS, "run_time": "10s"}  # -u, -r and -t override them
PLAIN = {
    "host": "${base_url}",
    **RUN,
    "think_time_seconds": 0,
    "headers": HEADERS,
    "endpoints": [
        {"name": "home", "path": "/", "weight": 1},
        {"name": "items", "path": "/api/items", "query": {"page": "1", "lang": "${locale}"}, "weight": 5},
        {"name": "item", "path": "/api/items/42", "weight": 3},
        {"name": "profile", "path": "/api/profile", "headers": {"X-Trace": "bench-profile"}, "weight": 2},
        {"name": "event", "method": "POST", "path": "/api/events", "json": {"kind": "view", "item": 42}, "weight": 1},
    ],
}
BEARER = {"Authorization": "Bearer ${capture:token}"}
FLOW = {
    "host": "${base_url}",
    **RUN,
    "think_time_seconds": 0,
    "headers": HEADERS,
    "flows": [{
        "name": "checkout",
        "steps": [
            {"name": "login", "method": "POST", "path": "/flow/login", "json": {"user": "bench", "password": "${env:BENCH_PASSWORD}"},
             "capture": {"token": {"json": "$.token"}}, "checks": [{"json": "$.token", "exists": True}]},
            {"name": "cart", "method": "POST", "path": "/flow/cart", "headers": BEARER, "json": {"sku": "A1", "qty": 1},
             "capture": {"cart": {"json": "$.id"}}, "checks": [{"json": "$.status", "equals": "open"}]},
            {"name": "pay", "method": "POST", "path": "/flow/cart/${capture:cart}/pay", "headers": BEARER,
             "checks": [{"json": "$.status", "equals": "paid"}]},
        ],
    }],
}
IDLE = {**PLAIN, "think_time_seconds": {"min": 1, "max": 2}}  # the memory benchmark's 1,000 users
# The instructions benchmark's open model: PLAIN's endpoints at RATE iterations a second (one
# user can carry it under valgrind), against the hand-written file paced to the same rate.
RATE = 50
ARRIVING = {**{k: v for k, v in PLAIN.items() if k not in ("users", "spawn_rate", "run_time", "think_time_seconds")},
            "arrivals": {"stages": [{"duration": "10m", "rate": RATE}], "max_users": 10}}  # fmt: skip

FAST, CHECKED, SLOW = "hand-written FastHttpUser", "hand-written FastHttpUser, checks in the file", "hand-written HttpUser"
HANDWRITTEN = {  # the files of tools/bench_locustfiles/ each generated file is measured against
    "plain": {FAST: "handwritten_fasthttp_plain.py", CHECKED: "handwritten_fasthttp_plain_checked.py", SLOW: "handwritten_httpuser_plain.py"},
    "flow": {FAST: "handwritten_fasthttp_flow.py", SLOW: "handwritten_httpuser_flow.py"},  # checks in the file already
}


def compile_simulations(folder: Path, host: str) -> dict[str, Path]:
    """The generated files of PLAIN, FLOW, IDLE and ARRIVING for `host`, compiled by the real compiler."""
    data = folder / "data"
    (data / "simulations").mkdir(parents=True)
    simulations = {"plain": PLAIN, "flow": FLOW, "idle": IDLE, "arrivals": ARRIVING}
    for name, simulation in simulations.items():
        (data / f"simulations/{name}.json").write_text(json.dumps(simulation, indent=2))
    catalog = {
        "environments": {"bench": {"vars": {"base_url": host}}},
        "countries": {"us": {"vars": {"locale": "en-US"}}},
        "apps": {name: {"simulation": f"simulations/{name}.json", "environments": ["bench"], "countries": ["us"]} for name in simulations},
    }
    (data / "catalog.json").write_text(json.dumps(catalog, indent=2))
    out = folder / "generated"
    result = run_measured([PYTHON, "-m", "compiler", "--catalog", str(data / "catalog.json"), "compile", "--out", str(out)], timeout=300, cwd=ROOT)
    if result.code != 0:
        raise RuntimeError(f"compiling the benchmark's simulations failed:\n{result.stdout}{result.stderr[-2000:]}")
    return {name: out / f"{name}_bench_us.py" for name in simulations}


def run_locust(locustfile: Path, host: str, users: int, spawn_rate: int, seconds: int, env: dict | None = None) -> dict:
    """One headless Locust process on `locustfile`: measure.py's figures, its peak RSS and exit code."""
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as folder:
        figures_file = Path(folder) / "figures.json"
        command = [LOCUST, "-f", f"{locustfile},{LOCUSTFILES / 'measure.py'}", "--headless", "-H", host,
                   "-u", str(users), "-r", str(spawn_rate), "-t", f"{seconds}s", "--only-summary"]
        result = run_measured(command, timeout=seconds + 60, cwd=Path(folder),
                              env={**os.environ, **(env or {}), "BENCH_PASSWORD": PASSWORD, "BENCH_MEASURE_FILE": str(figures_file)})
        if not figures_file.exists():
            raise RuntimeError(f"{locustfile.name}: Locust exited {result.code} without figures:\n{result.stderr[-3000:]}")
        figures = json.loads(figures_file.read_text())
    figures.update(code=result.code, max_rss_kib=result.max_rss_kib, stderr=result.stderr)
    if "requests" not in figures or figures["total_failures"]:
        raise RuntimeError(f"{locustfile.name}: {figures['total_failures']} failed requests or no steady window "
                           f"(exit {result.code}):\n{result.stderr[-3000:]}")
    figures["rps"] = figures["requests"] / figures["seconds"]
    figures["cpu_ms_per_request"] = 1000 * figures["cpu_seconds"] / figures["requests"]
    return figures


def bench_throughput(nginx_url: str, pairs: int, seconds: int, kinds: tuple[str, ...] = ("plain", "flow"), generated: dict | None = None) -> dict:
    """Interleaved runs, generated / hand-written FastHttpUser / hand-written HttpUser, `pairs` times."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as folder:
        files = generated or compile_simulations(Path(folder), nginx_url)
        for kind in (kind for kind in kinds if kind in HANDWRITTEN):  # at a rate limit: arrivals.py
            variants = {"generated": files[kind], **{name: LOCUSTFILES / file for name, file in HANDWRITTEN[kind].items()}}
            runs: dict[str, list[dict]] = {name: [] for name in variants}
            print(f"throughput, {kind}: one Locust process, {USERS} users, no think time, {seconds} s each, "
                  f"{pairs} interleaved rounds (the order reversed every other round) against nginx at {nginx_url}")
            for round_number in range(1, pairs + 1):
                order = list(variants.items())
                for name, locustfile in order if round_number % 2 else reversed(order):
                    figures = run_locust(locustfile, nginx_url, USERS, 1000, seconds)
                    runs[name].append(figures)
                    print(f"  round {round_number}  {name:<48} {figures['rps']:8.0f} requests/s  "
                          f"{figures['cpu_ms_per_request']:.3f} CPU ms/request  ({figures['requests']} in {figures['seconds']:.1f} s)", flush=True)
            results[kind] = summarize(kind, runs)
    return results


def summarize(kind: str, runs: dict[str, list[dict]]) -> dict:
    """Medians, and for each hand-written file the median of the per-round ratios generated / it."""
    generated = runs["generated"]
    figures: dict = {"pairs": len(generated), "rps": {}, "ratio": {}, "ratios": {}, "cpu_ratio": {}}
    for name, values in runs.items():
        figures["rps"][name] = median([r["rps"] for r in values])
        if name != "generated":
            figures["ratios"][name] = [g["rps"] / h["rps"] for g, h in zip(generated, values)]
            figures["ratio"][name] = median(figures["ratios"][name])
            figures["cpu_ratio"][name] = median([h["cpu_ms_per_request"] / g["cpu_ms_per_request"] for g, h in zip(generated, values)])
    print("  medians: " + ", ".join(f"{name} {value:.0f}" for name, value in figures["rps"].items()) + " requests/s")
    for name, ratios in figures["ratios"].items():
        print(f"  generated / {name}, per round: {', '.join(f'{r:.3f}' for r in ratios)}; median {figures['ratio'][name]:.3f}"
              f"{' (target >= 0.97)' if name == FAST else ''}; CPU per request, {name} / generated: median {figures['cpu_ratio'][name]:.3f}")
    for name, value in figures["rps"].items():
        record("throughput", f"{kind}: {name} requests/s", value, "req/s")
    for name, value in figures["ratio"].items():
        record("throughput", f"{kind}: generated / {name}", value, "x", 0.97 if name == FAST else None, at_least=True,
               note=f"median of {len(generated)} pairs")
    return figures


# -- the generated demo file with each client, against the bundled target service ----------------


def requests_per_second(locustfile: Path, host: str, seconds: int) -> float:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "locust"), "-f", str(locustfile), "-H", host, "-u", "20", "-r", "20",
         "-t", f"{seconds}s", "--only-summary", "--html", ""],
        capture_output=True, text=True, timeout=seconds + 60, cwd=locustfile.parent,
        env={**os.environ, "APP_TOKEN": "bench"},
    )
    match = re.search(r"Aggregated\s+(\d+)", result.stdout + result.stderr)
    if not match:
        raise RuntimeError(f"no summary from locust:\n{result.stderr[-2000:]}")
    return int(match.group(1)) / seconds


def bench_clients(repeats: int, seconds: int = 5) -> None:
    """The older figure: the generated demo file with FastHttpUser and HttpUser, against the
    bundled target service (tools/target_service.py)."""
    port = free_port()
    service = subprocess.Popen([sys.executable, str(ROOT / "tools/target_service.py"), "--port", str(port), "--seconds", "300"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(1)
        with tempfile.TemporaryDirectory() as folder:
            source = (ROOT / "generated/app_local_mx.py").read_text()
            source = source.replace("THINK_TIME_SECONDS = (0.05, 0.2)", "THINK_TIME_SECONDS = (0, 0)")
            fast = Path(folder) / "fast.py"
            fast.write_text(source)
            slow = Path(folder) / "requests_client.py"
            slow.write_text(source.replace('CLIENT = "fasthttp"', 'CLIENT = "requests"'))
            figures: dict[str, list[float]] = {"FastHttpUser": [], "HttpUser": []}
            for _ in range(repeats):
                figures["FastHttpUser"].append(requests_per_second(fast, f"http://127.0.0.1:{port}", seconds))
                figures["HttpUser"].append(requests_per_second(slow, f"http://127.0.0.1:{port}", seconds))
    finally:
        service.terminate()
        service.wait()
    print(f"generated file, one Locust process, 20 users, no think time, {seconds}s, median of {repeats}:")
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name, value in medians.items():
        print(f"  {name:<13} {value:8.0f} requests/s")
    print(f"  FastHttpUser sends {medians['FastHttpUser'] / medians['HttpUser']:.1f}x the requests of HttpUser")
