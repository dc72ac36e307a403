"""The open model's precision and throughput: the generated file with `arrivals` at 200, 1,000
and 2,000 iterations per second, on one Locust process, against nginx on 127.0.0.1.

The simulation is throughput.PLAIN's five endpoints with a constant arrival rate instead of its
users, compiled by the real compiler. Each run lasts --seconds; its run record (--run-record)
gives the rate reached against the rate asked over the whole stage, the dropped iterations and
the start lag (p50, p99: how late iterations started against their schedule). Beside each run,
interleaved (the order reversed every other round), runs the hand-written FastHttpUser file of
the same requests at the same rate limit (tools/bench_locustfiles/handwritten_fasthttp_rate.py:
USERS users paced by constant_throughput to rate / USERS each). measure.py, loaded next to both,
counts the requests of the steady window (from 1 s after the start to the stop); the
throughput ratio is generated / hand-written, the median of the rounds' ratios (target: at
least 0.97).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .common import LOCUST, LOCUSTFILES, PYTHON, ROOT, median, record, run_measured
from .throughput import PLAIN

RATES = (200, 1000, 2000)
USERS = 50  # the hand-written file's users; the generated file may start up to MAX_USERS
MAX_USERS = 200


def compile_arrivals(folder: Path, host: str, seconds: int) -> dict[int, Path]:
    """One generated file per rate, compiled by the real compiler into `folder`."""
    data = folder / "data"
    (data / "simulations").mkdir(parents=True)
    base = {key: value for key, value in PLAIN.items() if key not in ("users", "spawn_rate", "run_time", "think_time_seconds")}
    names = {}
    for rate in RATES:
        simulation = {**base, "arrivals": {"stages": [{"duration": f"{seconds}s", "rate": rate}], "max_users": MAX_USERS}}
        (data / f"simulations/arrive{rate}.json").write_text(json.dumps(simulation, indent=2))
        names[rate] = f"arrive{rate}"
    catalog = {
        "environments": {"bench": {"vars": {"base_url": host}}},
        "countries": {"us": {"vars": {"locale": "en-US"}}},
        "apps": {name: {"simulation": f"simulations/{name}.json", "environments": ["bench"], "countries": ["us"]} for name in names.values()},
    }
    (data / "catalog.json").write_text(json.dumps(catalog, indent=2))
    out = folder / "generated"
    result = run_measured([PYTHON, "-m", "compiler", "--catalog", str(data / "catalog.json"), "compile", "--out", str(out)], timeout=300, cwd=ROOT)
    if result.code != 0:
        raise RuntimeError(f"compiling the open model's simulations failed:\n{result.stdout}{result.stderr[-2000:]}")
    return {rate: out / f"{name}_bench_us.py" for rate, name in names.items()}


def run_one(locustfile: Path, host: str, seconds: int, users: int, env: dict) -> dict:
    """One headless Locust process: measure.py's steady window, and the run record if it wrote one."""
    with tempfile.TemporaryDirectory(prefix="bench-arrivals-") as folder:
        figures_file, record_file = Path(folder) / "figures.json", Path(folder) / "run.json"
        command = [LOCUST, "-f", f"{locustfile},{LOCUSTFILES / 'measure.py'}", "--headless", "-H", host, "-u", str(users),
                   "-r", str(users), "-t", f"{seconds}s", "--only-summary"]
        if "BENCH_RATE_PER_USER" not in env:  # the generated file writes its record
            command += ["--run-record", str(record_file)]
        result = run_measured(command, timeout=seconds + 60, cwd=Path(folder),
                              env={**os.environ, **env, "BENCH_MEASURE_FILE": str(figures_file)})
        if not figures_file.exists():
            raise RuntimeError(f"{locustfile.name}: Locust exited {result.code} without figures:\n{result.stderr[-3000:]}")
        figures = json.loads(figures_file.read_text())
        figures["record"] = json.loads(record_file.read_text()) if record_file.exists() else None
    if "requests" not in figures or figures["total_failures"]:
        raise RuntimeError(f"{locustfile.name}: {figures['total_failures']} failed requests or no steady window "
                           f"(exit {result.code}):\n{result.stderr[-3000:]}")
    figures.update(code=result.code, rps=figures["requests"] / figures["seconds"])
    return figures


def bench_arrivals(nginx_url: str, pairs: int, seconds: int) -> dict:
    """Per rate: precision (reached / asked, start lag) and throughput against the hand-written file."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-open-") as folder:
        files = compile_arrivals(Path(folder), nginx_url, seconds)
        for rate in RATES:
            print(f"arrivals, {rate}/s: one Locust process, {seconds} s each, {pairs} interleaved rounds against nginx at "
                  f"{nginx_url}; the hand-written file: {USERS} users at {rate / USERS:g}/s each (constant_throughput)", flush=True)
            runs: dict[str, list[dict]] = {"generated": [], "hand-written": []}
            variants = [("generated", files[rate], MAX_USERS, {}),
                        ("hand-written", LOCUSTFILES / "handwritten_fasthttp_rate.py", USERS, {"BENCH_RATE_PER_USER": str(rate / USERS)})]
            for round_number in range(1, pairs + 1):
                for name, locustfile, users, env in variants if round_number % 2 else reversed(variants):
                    figures = run_one(locustfile, nginx_url, seconds, users, env)
                    runs[name].append(figures)
                    line = f"  round {round_number}  {name:<13} {figures['rps']:8.1f} requests/s in the steady window"
                    if figures["record"] and figures["record"].get("arrivals"):
                        arrivals = figures["record"]["arrivals"]
                        stage = arrivals["stages"][0]
                        line += (f"; reached {stage['reached_per_second']:.1f}/s of {stage['asked_per_second']:g}/s asked, "
                                 f"{arrivals['dropped_iterations']} dropped, start lag p50 {arrivals['start_lag_ms']['p50']} ms "
                                 f"p99 {arrivals['start_lag_ms']['p99']} ms, {arrivals['users_started']} users")
                    print(line, flush=True)
            results[rate] = summarize(rate, runs)
    return results


def summarize(rate: int, runs: dict[str, list[dict]]) -> dict:
    generated = runs["generated"]
    stages = [run["record"]["arrivals"]["stages"][0] for run in generated]
    precision = median([stage["reached_per_second"] / stage["asked_per_second"] for stage in stages])
    window = median([run["rps"] / rate for run in generated])
    p99 = median([run["record"]["arrivals"]["start_lag_ms"]["p99"] for run in generated])
    dropped = median([run["record"]["arrivals"]["dropped_ratio"] for run in generated])
    ratios = [g["rps"] / h["rps"] for g, h in zip(generated, runs["hand-written"])]
    figures = {"precision": precision, "window": window, "p99": p99, "dropped": dropped, "ratio": median(ratios), "ratios": ratios}
    print(f"  {rate}/s: reached / asked {precision:.4f} (steady window {window:.4f}), dropped {dropped:.2%}, start lag p99 {p99} ms; "
          f"generated / hand-written per round: {', '.join(f'{r:.3f}' for r in ratios)}; median {figures['ratio']:.3f} (target >= 0.97)")
    record("arrivals", f"{rate}/s: reached / asked", precision, "x", note="whole stage, median of rounds")
    record("arrivals", f"{rate}/s: start lag p99", p99, "ms")
    record("arrivals", f"{rate}/s: generated / hand-written FastHttpUser", figures["ratio"], "x", 0.97, at_least=True,
           note=f"median of {len(ratios)} pairs, same rate limit")
    return figures
