"""`make bench`: the figures of issues 9 and 19, measured side by side in one run; medians and ratios.

Sections (`--only NAME ...` runs some, `--skip NAME ...` leaves some out; all by default):

- matrix: the compile command on a synthetic matrix of 1,000 targets (10 apps x 10 environments
  x 10 countries, 12 endpoints each, a flow with a JSON capture and a check in some apps):
  cold, no-op, one simulation edited, one country's vars edited, `--check` unchanged and with
  one stale file; wall clock of `python -m compiler` as a user runs it.
- large: the compile command on 10,000 targets (20 apps x 25 environments, 5 of them protected,
  x 20 countries, 8 endpoints each): cold and its peak RSS, no-op, `--check` unchanged, one
  simulation edited (500 targets), with the targets of issue 19; the output's bytes per file.
- demo: the demo catalog (data/), cold and no-op.
- render: rendering with the parts shared by every file formatted once, against black over
  each whole file.
- clients: the generated demo file with FastHttpUser and with HttpUser, against the bundled
  target service.
- throughput: requests per second of generated locustfiles against hand-written FastHttpUser
  and HttpUser ones with the same requests, against nginx, interleaved, plain and with a flow.
- instructions: CPU instructions per request of the same generated and hand-written files under
  valgrind: the throughput ratio without the machine's noise (plain, flow, and the open model
  at a rate, against a hand-written file paced to it).
- arrivals: the open model's precision (rate reached / asked, start-lag p99) at 200, 1,000 and
  2,000 iterations per second on one process, and its throughput against a hand-written
  FastHttpUser at the same rate limit.
- memory: peak RSS of one Locust process with 1,000 users (generated and hand-written), and of
  the compiler on the 1,000-target matrix, cold.
- scale: cold, no-op, `--check` and the bytes per file at 10, 100, 1,000, 5,000 and 10,000
  targets (`--max-targets` stops earlier; the 10,000 row is the large section's when it ran),
  and at 100 targets with 12 and 48 endpoints per simulation.
- tests: how long the test suite (`make test`) takes.

Everything runs on 127.0.0.1, in temporary folders, bounded in time; nginx and valgrind come
from Debian's packages, unpacked without root when not installed (tools/benchmarks/debian.py). The modules of tools/benchmarks/ say how each is measured.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import arrivals, compiling, instructions, memory, throughput  # noqa: E402
from benchmarks.common import PYTHON, print_summary, record, run_measured  # noqa: E402
from benchmarks.nginx import Nginx, find_nginx, version  # noqa: E402

SECTIONS = ["matrix", "large", "demo", "render", "clients", "throughput", "instructions", "arrivals", "memory", "scale", "tests"]
TESTS_TIMEOUT = 3600


def bench_tests() -> float:
    """The suite as `make test` runs it, without pytest's cache: wall clock and its last line."""
    command = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    print(f"tests: {' '.join(command[1:])} ...", flush=True)
    result = run_measured(command, timeout=TESTS_TIMEOUT, cwd=ROOT)
    last = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"  {result.seconds:.0f} s, exit {result.code}: {last}")
    record("tests", "make test, wall clock", result.seconds, "s", note=last if result.code == 0 else f"exit {result.code}: {last}")
    return result.seconds


def load_sections(parts: list[str], args: argparse.Namespace) -> None:
    """throughput, instructions, arrivals and memory share one nginx; all but arrivals, one compile of their simulations."""
    binary = find_nginx()
    print(f"nginx: {binary} ({version(binary)})", flush=True)
    with Nginx(throughput.ANSWERS, binary) as nginx, tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        generated = throughput.compile_simulations(Path(folder), nginx.url)
        if "throughput" in parts:
            throughput.bench_throughput(nginx.url, args.pairs, args.seconds, tuple(args.kinds), generated)
        if "instructions" in parts:
            instructions.bench_instructions(nginx.url, generated, tuple(args.kinds))
        if "arrivals" in parts:
            arrivals.bench_arrivals(nginx.url, args.pairs, args.seconds)
        if "memory" in parts:
            memory.bench_memory(nginx.url, generated, args.memory_runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SECTIONS, nargs="+", help="run these sections only")
    parser.add_argument("--skip", choices=SECTIONS, nargs="+", default=[], help="leave these sections out")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each compile figure (matrix, demo, render, clients)")
    parser.add_argument("--pairs", type=int, default=5, help="interleaved rounds of the throughput runs (at least 5)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each throughput run")
    parser.add_argument("--kinds", choices=["plain", "flow", "arrivals"], nargs="+", default=["plain", "flow", "arrivals"],
                        help="throughput (plain, flow) and instructions (all three): which simulations")
    parser.add_argument("--memory-runs", type=int, default=3, help="interleaved rounds of the 1,000-user runs")
    parser.add_argument("--max-targets", type=int, default=10000, choices=sorted(compiling.SCALE_SHAPES),
                        help="the largest row of the scale table")
    args = parser.parse_args(argv)
    parts = [part for part in (args.only or SECTIONS) if part not in args.skip]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (nginx, temporary folders) on SIGTERM too
    matrix = large = None
    try:
        if "matrix" in parts:
            matrix = compiling.bench_matrix(args.repeats)
        if "large" in parts:
            large = compiling.bench_large(args.repeats)
        if "demo" in parts:
            compiling.bench_demo(args.repeats)
        if "render" in parts:
            compiling.bench_render(args.repeats)
        if "clients" in parts:
            throughput.bench_clients(args.repeats)
        if {"throughput", "instructions", "arrivals", "memory"} & set(parts):
            load_sections(parts, args)
        if "scale" in parts:
            compiling.bench_scale(args.max_targets, matrix, large)
        if "tests" in parts:
            bench_tests()
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        print_summary()
        return 130
    print_summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
