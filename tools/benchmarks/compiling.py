"""The compile command's figures: the 1,000-target matrix, the demo catalog, rendering with the
shared parts formatted once, and how cost grows with targets and endpoints (the scale table).

Every compile runs `python -m compiler` as a user does, in a process of its own (interpreter
start and imports included), on a synthetic catalog written into a temporary folder.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from .common import PYTHON, ROOT, Finished, record, run_measured

from compiler.output import layout, render  # noqa: E402
from compiler.problems import Problems  # noqa: E402
from compiler.resolve.catalog import resolve_all  # noqa: E402
from compiler.sources.targets import compatible_targets  # noqa: E402
from compiler.sources.validate import load_inputs  # noqa: E402

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


BLACK_SAMPLE = 20  # targets formatted with black too: black takes about 0.2 s a block


def configuration(target) -> str:
    return render._environment().get_template("target.py.j2").render(t=target)


def floor_render(target) -> str:
    """The floor: the same file put together without laying the configuration out."""
    parts = [render.static_part(name) for name in ("prelude", *render.RUNTIME_PARTS)]
    return render.with_header(render.describe(target) + parts[0] + configuration(target) + "".join(parts[1:]))


def bench_render(repeats: int) -> None:
    """Per target: resolving, rendering as the compiler does (the configuration laid out by
    compiler/output/layout.py), the floor (the same text without laying out), and black on the
    configuration block, which the compiler did before: the same bytes, checked here too."""
    with tempfile.TemporaryDirectory() as folder:
        catalog = synthetic_catalog(Path(folder))
        problems = Problems()
        inputs = load_inputs(catalog, problems)
        refs = compatible_targets(inputs.catalog.data)
        timings: dict[str, list[float]] = {
            "load+validate+resolve": [], "render, laid out": [], "floor, not laid out": [], "black per block": [],
        }  # fmt: skip
        for _ in range(repeats):
            render.static_part.cache_clear()
            layout._STATEMENTS.clear()
            start = time.perf_counter()
            inputs = load_inputs(catalog, Problems())
            targets = resolve_all(inputs, refs, Problems())
            timings["load+validate+resolve"].append((time.perf_counter() - start) / len(targets))
            start = time.perf_counter()
            files = [render.render_target(t) for t in targets]
            timings["render, laid out"].append((time.perf_counter() - start) / len(targets))
            start = time.perf_counter()
            [floor_render(t) for t in targets]
            timings["floor, not laid out"].append((time.perf_counter() - start) / len(targets))
            sample = targets[:BLACK_SAMPLE]
            start = time.perf_counter()
            blocks = [render.format_code(configuration(t)) for t in sample]
            timings["black per block"].append((time.perf_counter() - start) / len(sample))
            assert all(block in text for block, text in zip(blocks, files)), "layout must give black's bytes"
    print(f"render: {len(refs)} targets ({BLACK_SAMPLE} with black), per target, median of {repeats} runs")
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, value in medians.items():
        print(f"  {name:<28} {1000 * value:7.2f} ms/target")
        record("render", f"per target, {name}", 1000 * value, "ms")
    print(f"  laying out costs {medians['render, laid out'] / medians['floor, not laid out']:.2f}x the floor; "
          f"black per block was {medians['black per block'] / medians['render, laid out']:.0f}x the whole render")


# -- the 1,000-target matrix, through the command line -------------------------------------------

MATRIX = (10, 10, 10)  # apps, environments, countries
FLOW_APPS = 3  # the first apps also have a flow with a JSON capture and a check on each step
COMPILE_TIMEOUT = 3 * 3600  # a cold compile of 5,000 targets takes about 20 minutes before the direct emitter
TARGETS_S = {"cold": 10.0, "no-op": 0.5, "check, unchanged": 0.5, "one simulation edited": 2.0}  # issue 9


def matrix_simulation(index: int, count: int = 12) -> dict:
    endpoints = []
    for i in range(count):
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


def matrix_catalog(folder: Path, shape: tuple[int, int, int] = MATRIX, endpoints: int = 12, protected: int = 1) -> Path:
    """`protected`: how many environments, the last ones, are protected."""
    apps, environments, countries = shape
    (folder / "simulations").mkdir(parents=True)
    for i in range(apps):
        simulation = matrix_simulation(i, endpoints)
        if environments <= 3 or countries <= 3:  # its override names env3/c3
            del simulation["overrides"]
        (folder / f"simulations/app{i}.json").write_text(json.dumps(simulation, indent=2))
    catalog = {
        "environments": {
            f"env{i}": {"vars": {"domain": f"env{i}.example.test"}, "limits": {"max_users": 100, "max_spawn_rate": 10, "max_run_time": "1h"},
                        **({"protected": True} if i >= environments - protected else {})}
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


def compile_command(catalog: Path, out: Path, *options: str, expect: int = 0) -> Finished:
    """`python -m compiler compile` as a user runs it: its wall time and peak RSS."""
    result = run_measured([PYTHON, "-m", "compiler", "--catalog", str(catalog), "compile", "--out", str(out), *options],
                          timeout=COMPILE_TIMEOUT, cwd=ROOT)
    if result.code != expect:
        raise RuntimeError(f"compile {' '.join(options)} exited {result.code}, not {expect}:\n{result.stdout}{result.stderr[-2000:]}")
    return result


def timed_compile(catalog: Path, out: Path, *options: str, expect: int = 0) -> float:
    return compile_command(catalog, out, *options, expect=expect).seconds


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


COLD_MATRIX: list[Finished] = []  # the cold compiles of the 1,000-target matrix this run made, for memory and scale
MATRIX_OUTPUT: list[dict] = []  # the size of its generated files (output_figures)


def cold_matrix_compile() -> Finished:
    """A cold compile of the 1,000-target matrix: one made earlier in this run, else a new one."""
    if not COLD_MATRIX:
        with tempfile.TemporaryDirectory(prefix="bench-matrix-") as folder:
            COLD_MATRIX.append(compile_command(matrix_catalog(Path(folder) / "data"), Path(folder) / "generated"))
    return COLD_MATRIX[0]


def bench_matrix(repeats: int) -> dict[str, float]:
    figures: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        figures.setdefault(name, []).append(seconds)

    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-matrix-") as folder:
            catalog, out = matrix_catalog(Path(folder) / "data"), Path(folder) / "generated"
            cold = compile_command(catalog, out)
            COLD_MATRIX.append(cold)
            MATRIX_OUTPUT.append(output_figures(out))
            note("cold", cold.seconds)
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
        record("matrix", f"1,000 targets, {name}", value, "s", goal)
    return medians


def bench_demo(repeats: int) -> None:
    figures: dict[str, list[float]] = {"cold": [], "no-op": []}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-demo-") as folder:
            data = Path(folder) / "data"
            shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("results"))
            figures["cold"].append(timed_compile(data / "catalog.json", Path(folder) / "generated"))
            figures["no-op"].append(timed_compile(data / "catalog.json", Path(folder) / "generated"))
    print(f"compile command, the demo catalog (data/), wall clock, median of {repeats}:")
    for name, values in figures.items():
        print(f"  {name:<28} {statistics.median(values):7.2f} s")
        record("demo", f"demo catalog, {name}", statistics.median(values), "s")


# -- how cost grows with targets and endpoints ------------------------------------------------------

# (apps, environments, countries) for each number of targets; every app has 12 endpoints and the
# first FLOW_APPS apps a flow, as in the 1,000-target matrix (which is the 1,000 row), and one
# environment is protected. The 10,000 row is the large matrix (below): 8 endpoints, 5 protected.
SCALE_SHAPES = {10: (1, 1, 10), 100: (1, 10, 10), 1000: MATRIX, 5000: (50, 10, 10), 10000: (20, 25, 20)}
ENDPOINT_COUNTS = (12, 48)  # at 100 targets

# -- the large matrix: 10,000 targets, as large organisations have them (issue 19) ---------------

LARGE = (20, 25, 20)  # apps, environments (the last LARGE_PROTECTED protected), countries
LARGE_ENDPOINTS, LARGE_PROTECTED = 8, 5
LARGE_TARGETS_S = {"cold": 60.0, "no-op": 1.0, "check, unchanged": 1.0, "one simulation edited": 5.0}
LARGE_RSS_MIB = 300.0  # the compiler's peak RSS, cold


def output_figures(out: Path) -> dict:
    """The output's size in all (MiB) and per file (KB)."""
    sizes = [path.stat().st_size for path in out.glob("*.py")]
    return {"mib_out": sum(sizes) / 2**20, "kb_per_file": sum(sizes) / max(len(sizes), 1) / 1000}


def protected_hosts(shape: tuple[int, int, int], protected: int) -> int:
    """The protected hosts of a matrix (every target has a host of its own)."""
    apps, _environments, countries = shape
    return apps * countries * protected


def scale_row(shape: tuple[int, int, int], endpoints: int, protected: int = 1) -> dict:
    """Cold, no-op and unchanged --check of one matrix; the cold compile's peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
        catalog, out = matrix_catalog(Path(folder) / "data", shape, endpoints, protected), Path(folder) / "generated"
        cold = compile_command(catalog, out)
        if shape == MATRIX and endpoints == 12:
            COLD_MATRIX.append(cold)
        noop = timed_compile(catalog, out)
        check = timed_compile(catalog, out, "--check")
        return {"cold": cold.seconds, "rss_mib": cold.max_rss_kib / 1024, "no-op": noop, "check": check, **output_figures(out)}


def bench_large(repeats: int) -> dict[str, float]:
    """The large matrix through the command line: cold (and its peak RSS), no-op, unchanged
    --check, one simulation edited (its 500 targets); medians of `repeats`, with their ratios."""
    figures: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        figures.setdefault(name, []).append(seconds)

    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-large-") as folder:
            catalog = matrix_catalog(Path(folder) / "data", LARGE, LARGE_ENDPOINTS, LARGE_PROTECTED)
            out = Path(folder) / "generated"
            cold = compile_command(catalog, out)
            note("cold", cold.seconds)
            note("peak RSS, cold", cold.max_rss_kib / 1024)
            for name, value in output_figures(out).items():
                note(name, value)
            note("no-op", timed_compile(catalog, out))
            note("check, unchanged", timed_compile(catalog, out, "--check"))
            edit_json(catalog.parent / "simulations/app4.json", lambda s: s["endpoints"][5].update(weight=99))
            note("one simulation edited", timed_compile(catalog, out))
    apps, environments, countries = LARGE
    print(f"compile command, {apps * environments * countries:,} targets ({apps} apps x {environments} environments, "
          f"{LARGE_PROTECTED} protected, x {countries} countries, {LARGE_ENDPOINTS} endpoints each, a flow in "
          f"{FLOW_APPS} apps), wall clock, median of {repeats}:")
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name in ("cold", "no-op", "check, unchanged", "one simulation edited"):
        goal = LARGE_TARGETS_S[name]
        label = name + (" (500 targets)" if name == "one simulation edited" else "")
        print(f"  {label:<34} {medians[name]:7.2f} s  target {goal:4.1f} s  ratio {medians[name] / goal:6.2f}")
        record("large", f"10,000 targets, {label}", medians[name], "s", goal)
    rss = medians["peak RSS, cold"]
    print(f"  {'peak RSS, cold':<34} {rss:7.0f} MiB  target {LARGE_RSS_MIB:.0f} MiB  ratio {rss / LARGE_RSS_MIB:6.2f}")
    record("large", "10,000 targets, peak RSS, cold", rss, "MiB", LARGE_RSS_MIB)
    print(f"  output: {medians['mib_out']:.0f} MiB, {medians['kb_per_file']:.0f} KB per file")
    record("large", "10,000 targets, output per file", medians["kb_per_file"], "KB")
    return {**medians, "check": medians["check, unchanged"], "rss_mib": rss}


def bench_scale(max_targets: int, known: dict[str, float] | None = None, large: dict[str, float] | None = None) -> list[dict]:
    """The scale table: one run of each row (the cold compiles take minutes at 1,000 targets and
    more). The 1,000-target row takes the matrix section's medians when it ran just before, the
    10,000-target row the large section's."""
    rows = []
    plan = [(targets, shape, LARGE_ENDPOINTS if targets == 10000 else 12) for targets, shape in SCALE_SHAPES.items()
            if targets <= max_targets]
    plan += [(100, SCALE_SHAPES[100], count) for count in ENDPOINT_COUNTS if count != 12]
    print(f"compile command, cost by targets and endpoints per simulation (one run each; --max-targets {max_targets}):")
    print(f"  {'targets':>7}  {'apps x envs x countries':<24} {'endpoints':>9}  {'protected':>9}  {'cold':>8}  "
          f"{'per target':>10}  {'peak RSS':>9}  {'no-op':>7}  {'check':>7}  {'output':>9}  {'per file':>8}")
    for targets, shape, endpoints in plan:
        protected = LARGE_PROTECTED if targets == 10000 else 1
        if targets == 1000 and endpoints == 12 and known and MATRIX_OUTPUT:  # the matrix section's medians
            figures = {"cold": known["cold"], "no-op": known["no-op"], "check": known["check, unchanged"],
                       "rss_mib": statistics.median(c.max_rss_kib for c in COLD_MATRIX) / 1024,
                       "mib_out": statistics.median(f["mib_out"] for f in MATRIX_OUTPUT),
                       "kb_per_file": statistics.median(f["kb_per_file"] for f in MATRIX_OUTPUT)}
        elif targets == 10000 and large:
            figures = large
        else:
            figures = scale_row(shape, endpoints, protected)
        hosts = protected_hosts(shape, protected)
        rows.append({"targets": targets, "shape": shape, "endpoints": endpoints, "protected_hosts": hosts, **figures})
        print(f"  {targets:>7}  {' x '.join(map(str, shape)):<24} {endpoints:>9}  {hosts:>9}  {figures['cold']:7.2f}s  "
              f"{1000 * figures['cold'] / targets:8.1f}ms  {figures['rss_mib']:7.0f}MiB  {figures['no-op']:6.2f}s  "
              f"{figures['check']:6.2f}s  {figures['mib_out']:6.1f}MiB  {figures['kb_per_file']:6.0f}KB", flush=True)
        label = f"{targets:,} targets" + (f", {endpoints} endpoints" if endpoints not in (12, LARGE_ENDPOINTS) else "")
        targeted = targets == 1000 and endpoints == 12 and not known  # else the matrix section's rows say it
        record("scale", f"{label}, cold", figures["cold"], "s", TARGETS_S["cold"] if targeted else None)
        record("scale", f"{label}, no-op", figures["no-op"], "s", TARGETS_S["no-op"] if targeted else None)
        record("scale", f"{label}, output per file", figures["kb_per_file"], "KB")
    return rows
