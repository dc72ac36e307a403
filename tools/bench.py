"""`make bench`: figures measured side by side in one run; medians and ratios (machines are noisy).

1. Compile: a synthetic catalog of many targets, rendered the way the compiler does it (the
   parts shared by every file formatted once) and the naive way (black over each whole file).
2. Generated files: requests per second of one Locust process with FastHttpUser (the default)
   and with HttpUser ("client": "requests"), against the bundled target service on 127.0.0.1.
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


if __name__ == "__main__":
    bench_compile()
    bench_clients()
