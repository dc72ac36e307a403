"""CPU instructions per request of a generated locustfile and of the hand-written one: the
throughput comparison without the machine's noise.

On a shared machine requests per second move by 10 to 20 % from one run to the next, more than
the difference to measure. Instructions executed do not depend on what else runs: each file runs
in one Locust process under valgrind's cachegrind (`--cache-sim=no`, counting instructions
only; Debian's package, unpacked like nginx), one user, no think time (the open model: RATE
iterations a second, the hand-written file paced to it), against nginx; once for
SHORT_SECONDS and once for LONG_SECONDS. With one user every request goes the same way through
gevent's loop, and the figure repeats within 0.1 % (with 5 users, within 1 %: how many answers
one turn of the loop handles varies). The difference of the two runs' instructions divided by
the difference of their requests is the cost of one request, start and stop cancelled out.
The files of a comparison run side by side. A ratio (hand-written /
generated) of 1 means the same work per request; requests per second follow it on a machine
where the Locust process is the bottleneck.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from .common import LOCUSTFILES, PYTHON, record, run_measured_together
from .debian import CACHE, installed_or_unpacked
from .throughput import CHECKED, FAST, HANDWRITTEN, PASSWORD, RATE

# Each kind's hand-written files; the open model's is paced to the generated file's rate, so both
# send the same requests and the figure is what each request costs, the schedule's work included.
COMPARED = {**HANDWRITTEN, "arrivals": {FAST: "handwritten_fasthttp_rate.py"}}

USERS = 1
SHORT_SECONDS, LONG_SECONDS = 10, 40


def valgrind() -> tuple[Path, dict]:
    binary = installed_or_unpacked("valgrind", "usr/bin/valgrind", "BENCH_VALGRIND")
    env = {}
    if CACHE in binary.parents:  # unpacked: its tools are not where it was built to look
        env["VALGRIND_LIB"] = str(CACHE / "valgrind/usr/libexec/valgrind")
    return binary, env


def counted_runs(binary: Path, env: dict, locustfiles: list[Path], host: str, seconds: int) -> list[tuple[int, int]]:
    """(instructions, requests) of each file, one Locust process each under cachegrind, side by side."""
    with tempfile.TemporaryDirectory(prefix="bench-valgrind-") as folder:
        runs = []
        for index, locustfile in enumerate(locustfiles):
            figures_file = Path(folder) / f"figures-{index}.json"
            command = [str(binary), "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                       PYTHON, "-m", "locust", "-f", f"{locustfile},{LOCUSTFILES / 'measure.py'}", "--headless", "-H", host,
                       "-u", str(USERS), "-r", "1000", "-t", f"{seconds}s", "--only-summary"]
            runs.append((command, Path(folder), {**os.environ, **env, "BENCH_PASSWORD": PASSWORD, "BENCH_MEASURE_FILE": str(figures_file)}))
        counts = []
        for index, (locustfile, result) in enumerate(zip(locustfiles, run_measured_together(runs, timeout=seconds + 600))):
            match = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
            figures_file = Path(folder) / f"figures-{index}.json"
            if not match or not figures_file.exists():
                raise RuntimeError(f"{locustfile.name} under valgrind: exit {result.code}\n{result.stderr[-2000:]}")
            figures = json.loads(figures_file.read_text())
            if figures["total_failures"]:
                raise RuntimeError(f"{locustfile.name} under valgrind: {figures['total_failures']} failed requests")
            counts.append((int(match.group(1).replace(",", "")), figures["total_requests"]))
        return counts


def bench_instructions(nginx_url: str, generated: dict[str, Path], kinds: tuple[str, ...] = ("plain", "flow", "arrivals")) -> dict:
    binary, env = valgrind()
    env = {**env, "BENCH_RATE_PER_USER": str(RATE / USERS)}  # the open model's hand-written file
    print(f"instructions: one Locust process under valgrind's cachegrind, {USERS} users, no think time, "
          f"({LONG_SECONDS} s run - {SHORT_SECONDS} s run) / (their requests' difference)", flush=True)
    results = {}
    for kind in kinds:
        files = {"generated": generated[kind], **{name: LOCUSTFILES / file for name, file in COMPARED[kind].items() if name in (FAST, CHECKED)}}
        short = counted_runs(binary, env, list(files.values()), nginx_url, SHORT_SECONDS)
        long = counted_runs(binary, env, list(files.values()), nginx_url, LONG_SECONDS)
        counts = {name: (b[0] - a[0]) / (b[1] - a[1]) for name, a, b in zip(files, short, long)}
        ratio = {name: count / counts["generated"] for name, count in counts.items() if name != "generated"}
        print(f"  {kind}: instructions per request: " + ", ".join(f"{name} {count:,.0f}" for name, count in counts.items()), flush=True)
        for name, value in ratio.items():
            print(f"    {name} / generated: {value:.3f}")
            record("instructions", f"{kind}: {name} / generated", value, "x", 0.97 if name == FAST else None, at_least=True,
                   note="the throughput ratio without the noise")
        for name, count in counts.items():
            record("instructions", f"{kind}: {name} instructions/request", count, "instr")
        results[kind] = {"counts": counts, "ratio": ratio}
    return results
