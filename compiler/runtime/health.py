"""The generator's own health: peak CPU per process, and whether the load generator was
saturated, so that latencies that include its own delay say so.

Part of the runtime inlined into every generated locustfile (compiler/output/render.py). The lines
above the marker are for linters, editors and tests only: in the generated file the prelude,
the configuration block and the earlier parts define these names.
"""

from compiler.runtime.prelude import *  # noqa: F401,F403
from compiler.runtime.configuration import *  # noqa: F401,F403
from compiler.runtime.model import *  # noqa: F401,F403
from compiler.runtime.options import *  # noqa: F401,F403
from compiler.runtime.secrets import *  # noqa: F401,F403
from compiler.runtime.values import *  # noqa: F401,F403
from compiler.runtime.requests import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- the generator's own health -------------------------------------------------------------------

SATURATED_CPU_PERCENT = 90  # a process this busy adds its own delay to every response time
SATURATED_SHARE = 0.10  # of the run's seconds, in any one process
CPU_SAMPLE_SECONDS = 1.0
health = {"peak": 0.0, "samples": 0, "busy": 0, "workers": {}}


def watch_cpu():
    """Sample this process's CPU time every second, from the standard library's os.times()."""
    last_times, last_clock = os.times(), time.monotonic()
    while True:
        GEVENT.sleep(CPU_SAMPLE_SECONDS)
        times, clock = os.times(), time.monotonic()
        spent = (times.user - last_times.user) + (times.system - last_times.system)
        percent = 100 * spent / max(clock - last_clock, 1e-6)
        last_times, last_clock = times, clock
        health["peak"] = max(health["peak"], percent)
        health["samples"] += 1
        health["busy"] += percent > SATURATED_CPU_PERCENT


@events.test_start.add_listener
def start_watching_cpu(environment, **_kwargs):
    if health.get("watcher") is None:
        health["watcher"] = GEVENT.spawn(watch_cpu)


@events.report_to_master.add_listener
def report_cpu(client_id, data):
    data["simulation_cpu"] = {k: health[k] for k in ("peak", "samples", "busy")}


@events.worker_report.add_listener
def note_worker_cpu(client_id, data):
    if "simulation_cpu" in data:
        health["workers"][client_id] = data["simulation_cpu"]


def generator_health(master, figures):
    """Peak CPU per process and whether the generator was saturated, with the warnings."""
    own = {k: health[k] for k in ("peak", "samples", "busy")}
    named = [("master" if master else "this process", own)]
    named += [
        (f"worker {client_id}", found) for client_id, found in sorted(health["workers"].items())
    ]
    processes = [
        {
            "process": name,
            "peak_cpu_percent": round(found["peak"], 1),
            "busy_share": round(found["busy"] / found["samples"], 3) if found["samples"] else None,
        }
        for name, found in named
    ]
    warnings = [
        f"the load generator was saturated: {p['process']} used over {SATURATED_CPU_PERCENT}% CPU for "
        f"{p['busy_share']:.0%} of the run; its latencies include the generator's own delay: spread "
        "the load over more processes (--processes) or machines"
        for p in processes
        if master is False or p["process"] != "master"  # a master sends nothing itself
        if p["busy_share"] is not None and p["busy_share"] > SATURATED_SHARE
    ]
    if figures and figures.get("warning"):
        warnings.append(figures["warning"])
    return {"processes": processes, "saturated": bool(warnings), "warnings": warnings}
