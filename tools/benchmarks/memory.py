"""Peak RSS: one Locust process running 1,000 users of a generated file (and of the hand-written
one, for the ratio), and the compiler on the 1,000-target matrix, cold.

Peak RSS is the process's own ru_maxrss from wait4(2) (tools/benchmarks/common.py), the
high-water mark of its whole life. The Locust runs: the PLAIN endpoints with a think time of 1
to 2 s (IDLE in throughput.py; BENCH_THINK_SECONDS=1,2 for the hand-written file), 1,000 users
spawned at 250/s, held for MEMORY_HOLD_SECONDS after the last one started, against nginx.
"""

from __future__ import annotations

from pathlib import Path

from .common import LOCUSTFILES, median, record
from .compiling import cold_matrix_compile
from .throughput import run_locust

MEMORY_USERS = 1000
MEMORY_SPAWN_RATE = 250
MEMORY_HOLD_SECONDS = 6


def bench_memory(nginx_url: str, generated: dict[str, Path], runs: int) -> dict:
    seconds = MEMORY_USERS // MEMORY_SPAWN_RATE + MEMORY_HOLD_SECONDS
    variants = {
        "generated": (generated["idle"], {}),
        "hand-written FastHttpUser": (LOCUSTFILES / "handwritten_fasthttp_plain.py", {"BENCH_THINK_SECONDS": "1,2"}),
    }
    peaks: dict[str, list[float]] = {name: [] for name in variants}
    print(f"memory: one Locust process, {MEMORY_USERS} users (think time 1-2 s), spawned at {MEMORY_SPAWN_RATE}/s, "
          f"{seconds} s; peak RSS, {runs} interleaved rounds")
    for round_number in range(1, runs + 1):
        for name, (locustfile, env) in variants.items():
            figures = run_locust(locustfile, nginx_url, MEMORY_USERS, MEMORY_SPAWN_RATE, seconds, env)
            if figures["users"] != MEMORY_USERS:
                raise RuntimeError(f"{locustfile.name}: {figures['users']} users spawned, not {MEMORY_USERS}")
            peaks[name].append(figures["max_rss_kib"] / 1024)
            print(f"  round {round_number}  {name:<26} {peaks[name][-1]:6.0f} MiB  ({figures['total_requests']} requests)", flush=True)
    generated_mib, handwritten_mib = median(peaks["generated"]), median(peaks["hand-written FastHttpUser"])
    ratio = median([g / h for g, h in zip(peaks["generated"], peaks["hand-written FastHttpUser"])])
    print(f"  medians: generated {generated_mib:.0f} MiB, hand-written {handwritten_mib:.0f} MiB; "
          f"generated / hand-written {ratio:.3f}")
    record("memory", f"Locust, {MEMORY_USERS:,} users, generated peak RSS", generated_mib, "MiB")
    record("memory", f"Locust, {MEMORY_USERS:,} users, hand-written peak RSS", handwritten_mib, "MiB")
    record("memory", "Locust peak RSS, generated / hand-written", ratio, "x")
    compiler = cold_matrix_compile()
    print(f"  compiler, 1,000 targets cold: peak RSS {compiler.max_rss_kib / 1024:.0f} MiB ({compiler.seconds:.1f} s)")
    record("memory", "compiler, 1,000 targets cold, peak RSS", compiler.max_rss_kib / 1024, "MiB")
    return {"generated_mib": generated_mib, "handwritten_mib": handwritten_mib, "ratio": ratio,
            "compiler_mib": compiler.max_rss_kib / 1024}
