"""`make bench`: figures measured side by side in one run; medians and ratios (machines are noisy).

0. The compile command on a synthetic matrix of 1,000 targets (10 apps x 10 environments x 10
   countries, 12 endpoints each, flows with a JSON capture and a check in some apps), generated
   into a temporary folder: cold, no-op, after editing one simulation, after editing one
   country's vars in the catalog, `compile --check` unchanged and with one stale file; and the
   demo catalog's cold and no-op compile. Wall-clock time of `python -m compiler` as a user
   runs it (interpreter start and imports included), against the targets of issue 9.
1. Compile: a synthetic catalog of many targets, rendered the way the compiler does it (the
   parts shared by every file formatted once) and the naive way (black over each whole file).
2. Generated files: requests per second of one Locust process with FastHttpUser (the default)
   and with HttpUser ("client": "requests"), against the bundled target service on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compiler import render  # noqa: E402
from compiler.problems import Problems  # noqa: E402
from compiler.resolve import resolve_all  # noqa: E402
from compiler.targets import compatible_targets  # noqa: E402
from compiler.validate import load_inputs  # noqa: E402

REPEATS = 3
APPS, ENVIRONMENTS, COUNTRIES = 4, 5, 10  # 200 targets


def synthetic_catalog(folder: Path) -> Path:
    simulation = json.loads((ROOT / "data/simulations/app.json").read_text())
    simulation.pop("overrides")
    simulation["endpoints"] += [
        {"name": f"page_{i}", "path": f"/page/{i}", "query": {"lang": "${locale}"}, "weight": i + 1} for i in range(10)
    ]
    (folder / "simulations").mkdir()
    (folder / "simulations/app.json").write_text(json.dumps(simulation))
    environments = {f"env{i}": {"vars": {"domain": f"env{i}.example.test"}} for i in range(ENVIRONMENTS)}
    countries = {f"c{i}": {"vars": {"locale": f"l{i}", "currency": f"C{i}"}} for i in range(COUNTRIES)}
    apps = {
        f"app{i}": {"simulation": "simulations/app.json", "environments": list(environments), "countries": list(countries), "vars": {"service": f"s{i}"}}
        for i in range(APPS)
    }
    path = folder / "catalog.json"
    path.write_text(json.dumps({"environments": environments, "countries": countries, "apps": apps}))
    return path


def naive_render(target) -> str:
    """What the compiler would cost if it formatted every whole file with black."""
    text = render.render_target(target)
    return render.format_code(text)


def bench_compile() -> None:
    with tempfile.TemporaryDirectory() as folder:
        catalog = synthetic_catalog(Path(folder))
        problems = Problems()
        inputs = load_inputs(catalog, problems)
        refs = compatible_targets(inputs.catalog.data)
        timings: dict[str, list[float]] = {"load+validate+resolve": [], "render (shared parts once)": [], "render (black per whole file)": []}
        lines = 0
        for _ in range(REPEATS):
            render.static_part.cache_clear()
            start = time.perf_counter()
            inputs = load_inputs(catalog, Problems())
            targets = resolve_all(inputs, refs, Problems())
            timings["load+validate+resolve"].append(time.perf_counter() - start)
            start = time.perf_counter()
            files = [render.render_target(t) for t in targets]
            timings["render (shared parts once)"].append(time.perf_counter() - start)
            start = time.perf_counter()
            naive = [naive_render(t) for t in targets]
            timings["render (black per whole file)"].append(time.perf_counter() - start)
            assert files == naive, "the shared parts must format exactly as whole files do"
            lines = files[0].count("\n")
    print(f"compile: {len(refs)} targets, {lines} lines per file, median of {REPEATS} runs")
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, value in medians.items():
        print(f"  {name:<32} {value:7.2f} s  {1000 * value / len(refs):6.1f} ms/target")
    ratio = medians["render (black per whole file)"] / medians["render (shared parts once)"]
    print(f"  rendering is {ratio:.1f}x faster with the shared parts formatted once")
    per_target = sum(medians[n] for n in ("load+validate+resolve", "render (shared parts once)")) / len(refs)
    print(f"  projected for 1000 targets: {1000 * per_target:.0f} s")


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


def bench_clients(seconds: int = 5) -> None:
    port = 8799
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
            for _ in range(REPEATS):
                figures["FastHttpUser"].append(requests_per_second(fast, f"http://127.0.0.1:{port}", seconds))
                figures["HttpUser"].append(requests_per_second(slow, f"http://127.0.0.1:{port}", seconds))
    finally:
        service.terminate()
        service.wait()
    print(f"generated file, one Locust process, 20 users, no think time, {seconds}s, median of {REPEATS}:")
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name, value in medians.items():
        print(f"  {name:<13} {value:8.0f} requests/s")
    print(f"  FastHttpUser sends {medians['FastHttpUser'] / medians['HttpUser']:.1f}x the requests of HttpUser")


# -- the 1,000-target matrix, through the command line -------------------------------------------

MATRIX = (10, 10, 10)  # apps, environments, countries
FLOW_APPS = 3  # the first apps also have a flow with a JSON capture and a check on each step
TARGETS_S = {"cold": 10.0, "no-op": 0.5, "check, unchanged": 0.5, "one simulation edited": 2.0}  # issue 9


def matrix_simulation(index: int) -> dict:
    endpoints = []
    for i in range(12):
        endpoint = {
            "name": f"call_{i}",
            "path": f"/{'${service}'}/v{i}/items",
            "headers": {"Accept-Language": "${locale}", "X-Trace": "bench-${target}-" + str(i)},
            "query": {"currency": "${currency}", "page": str(i), "region": "${region}"},
            "weight": i + 1,
        }
        if i % 3 == 0:
            endpoint.update(method="POST", json={"amount": "${amount}", "currency": "${currency}", "items": [{"sku": f"S{i}", "n": i}]})
        endpoints.append(endpoint)
    simulation = {
        "host": "https://${service}.${country}.${domain}",
        "users": 10,
        "spawn_rate": 2,
        "run_time": "1m",
        "think_time_seconds": {"min": 0.1, "max": 0.5},
        "headers": {"Accept": "application/json", "X-Api-Key": "${env:BENCH_KEY}"},
        "vars": {"amount": 100 + index},
        "endpoints": endpoints,
        "overrides": {"targets": {"env3/c3": {"users": 5}}},
    }
    if index < FLOW_APPS:
        simulation["flows"] = [{
            "name": "checkout",
            "weight": 2,
            "steps": [
                {"name": "cart", "method": "POST", "path": "/cart", "json": {"sku": "A1", "currency": "${currency}"},
                 "capture": {"cart_id": {"json": "$.id"}}, "checks": [{"json": "$.id", "exists": True}]},
                {"name": "pay", "method": "POST", "path": "/cart/${capture:cart_id}/pay", "json": {"amount": "${amount}"},
                 "checks": [{"json": "$.status", "equals": "paid"}]},
            ],
        }]
    return simulation


def matrix_catalog(folder: Path) -> Path:
    apps, environments, countries = MATRIX
    (folder / "simulations").mkdir(parents=True)
    for i in range(apps):
        (folder / f"simulations/app{i}.json").write_text(json.dumps(matrix_simulation(i), indent=2))
    catalog = {
        "environments": {
            f"env{i}": {"vars": {"domain": f"env{i}.example.test"}, "limits": {"max_users": 100, "max_spawn_rate": 10, "max_run_time": "1h"},
                        **({"protected": True} if i == environments - 1 else {})}
            for i in range(environments)
        },
        "countries": {f"c{i}": {"vars": {"locale": f"l{i}", "currency": f"C{i}", "region": f"r{i}"}} for i in range(countries)},
        "apps": {
            f"app{i}": {"simulation": f"simulations/app{i}.json", "environments": [f"env{e}" for e in range(environments)],
                        "countries": [f"c{c}" for c in range(countries)], "vars": {"service": f"svc{i}"}}
            for i in range(apps)
        },
    }
    path = folder / "catalog.json"
    path.write_text(json.dumps(catalog, indent=2))
    return path


def timed_compile(catalog: Path, out: Path, *options: str, expect: int = 0) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "--catalog", str(catalog), "compile", "--out", str(out), *options],
        capture_output=True, text=True, cwd=ROOT,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != expect:
        raise RuntimeError(f"compile {' '.join(options)} exited {result.returncode}, not {expect}:\n{result.stdout}{result.stderr[-2000:]}")
    return elapsed


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def bench_matrix(repeats: int) -> dict[str, float]:
    figures: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        figures.setdefault(name, []).append(seconds)

    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            catalog, out = matrix_catalog(Path(folder) / "data"), Path(folder) / "generated"
            note("cold", timed_compile(catalog, out))
            note("no-op", timed_compile(catalog, out))
            note("check, unchanged", timed_compile(catalog, out, "--check"))
            edit_json(catalog.parent / "simulations/app4.json", lambda s: s["endpoints"][5].update(weight=99))
            note("one simulation edited", timed_compile(catalog, out))
            edit_json(catalog, lambda c: c["countries"]["c7"]["vars"].update(locale="l7-edited"))
            note("one country's vars edited", timed_compile(catalog, out))
            edit_json(catalog.parent / "simulations/app6.json", lambda s: s["overrides"]["targets"]["env3/c3"].update(users=6))
            note("check, one stale file", timed_compile(catalog, out, "--check", expect=1))
    apps, environments, countries = MATRIX
    print(f"compile command, {apps * environments * countries} targets ({apps} apps x {environments} environments x "
          f"{countries} countries, 12 endpoints each, a flow in {FLOW_APPS} apps), wall clock, median of {repeats}:")
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name, value in medians.items():
        goal = TARGETS_S.get(name)
        against = f"  target {goal:4.1f} s  ratio {value / goal:6.2f}" if goal else ""
        print(f"  {name:<28} {value:7.2f} s{against}")
    return medians


def bench_demo(repeats: int) -> None:
    figures: dict[str, list[float]] = {"cold": [], "no-op": []}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            data = Path(folder) / "data"
            shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("results"))
            figures["cold"].append(timed_compile(data / "catalog.json", Path(folder) / "generated"))
            figures["no-op"].append(timed_compile(data / "catalog.json", Path(folder) / "generated"))
    print(f"compile command, the demo catalog (data/), wall clock, median of {repeats}:")
    for name, values in figures.items():
        print(f"  {name:<28} {statistics.median(values):7.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--only", choices=["matrix", "demo", "render", "clients"], nargs="+")
    args = parser.parse_args()
    REPEATS = args.repeats
    parts = args.only or ["matrix", "demo", "render", "clients"]
    if "matrix" in parts:
        bench_matrix(args.repeats)
    if "demo" in parts:
        bench_demo(args.repeats)
    if "render" in parts:
        bench_compile()
    if "clients" in parts:
        bench_clients()
