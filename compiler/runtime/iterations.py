"""Iterations, the task order and a smoke test: how many task iterations each user (or, with
arrivals, the whole run) runs, in which order, and the run that ends when every user is done.

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
from compiler.runtime.answers import *  # noqa: F401,F403
from compiler.runtime.sending import *  # noqa: F401,F403
from compiler.runtime.flows import *  # noqa: F401,F403
from compiler.runtime.load import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- iterations, task order and a smoke test -------------------------------------------------------

# What this run does, settled when it starts (the master's options have reached the workers):
# the open model or not, iterations per user (closed) or in all (open), the task order.
run.update(open=False, per_user=None, in_all=None, sequential=False)


def add_iteration_options(parser):
    parser.add_argument(
        "--iterations",
        type=int,
        env_var="LOCUST_ITERATIONS",
        help="Task iterations per user (with arrivals: in all); the run ends when every user is done.",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--task-order",
        choices=["weighted", "sequential"],
        env_var="LOCUST_TASK_ORDER",
        help="weighted: one task by weight per iteration; sequential: every task once, in order.",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        env_var="LOCUST_SMOKE",
        help="A smoke test: one user, every endpoint and flow once, in order; any failure fails.",
        include_in_web_ui=False,
    )


def take_smoke_options(environment, options):
    """--smoke: one user (one of each population) runs one iteration of every task in order (the
    closed model, no stages), and the thresholds are not judged: a failed request fails the run."""
    if options.smoke:  # with populations, one user of each
        options.num_users, options.spawn_rate = len(POPULATIONS), len(POPULATIONS)
        for user_class in environment.user_classes if NAMED_POPULATIONS else ():
            user_class.fixed_count = 1
        options.iterations, options.task_order = 1, "sequential"
        environment.shape_class = None
        if STAGES and not options.run_time:  # the stages' duration still bounds the run
            options.run_time = sum(parse_timespan(stage["duration"]) for stage in STAGES)


def open_model(options):
    """Whether the run starts iterations at the arrivals' rate (a smoke test is one user)."""
    return bool(ARRIVALS) and not options.smoke


def settle_the_run(environment):
    """At the start of each run, in every process: what the options ask of this run."""
    options = environment.parsed_options
    run["open"] = open_model(options)
    run["sequential"] = options.task_order == "sequential"
    run["per_user"] = None if run["open"] else options.iterations
    run["in_all"] = options.iterations if run["open"] else None
    run["users_stopped"], run["all_spawned"] = 0, False
    run.update(end_asked=False, ended_by=None, end_at=None, end_wall=None)


def iteration_problems(options):
    """What the run's options ask that it cannot do: checked before any load."""
    found = population_problems(options)
    if options.iterations is not None and options.iterations < 1:
        found.append(f"iterations {options.iterations} must be 1 or more")
    elif options.iterations is not None and STAGES and not options.smoke:
        found.append(
            "--iterations needs users (N per user) or arrivals (N in all), not this file's stages, "
            "whose users change over the run"
        )
    return found


def population_problems(options):
    """Users against the populations' fixed counts (they start first): enough users for them, and
    without a weighted population, exactly their sum."""
    fixed = {p.name: p.fixed_count for p in POPULATIONS if NAMED_POPULATIONS and p.fixed_count}
    if not fixed or options.smoke or STAGES or ARRIVALS or options.num_users is None:
        return []
    total, users = sum(fixed.values()), options.num_users
    counts = ", ".join(f"{name} {count}" for name, count in fixed.items())
    if users < total:
        return [
            f"users {users} is fewer than the populations' fixed counts, {total} ({counts}): "
            f"run with -u {total} or more"
        ]
    if len(fixed) == len(POPULATIONS) and users != total:
        return [
            f"users {users}, but every population has a fixed_count and they add up to {total} ({counts}): "
            f"run with -u {total}"
        ]
    return []


def iteration_lines(options):
    """The printout's lines of iterations and task order."""
    lines = []
    if options.smoke:
        lines.append(
            f"  {'smoke':<11} one user, one pass of every endpoint and flow in order; thresholds are "
            "not judged: a failed request fails the run [--smoke/LOCUST_SMOKE]"
        )
    elif options.iterations is not None:
        each = "in all" if ARRIVALS else "per user"
        lines.append(
            f"  {'iterations':<11} {f'{options.iterations} {each}':<42} {source_of('iterations')} "
            "[--iterations/LOCUST_ITERATIONS] (the run ends when every user is done)"
        )
    if options.task_order == "sequential" and not options.smoke:
        lines.append(
            f"  {'task_order':<11} {options.task_order:<42} {source_of('task_order')} "
            "[--task-order/LOCUST_TASK_ORDER]"
        )
    return lines


class EveryTask:
    """One iteration of task_order sequential: every task once, in the written order (endpoints,
    then flows), as Locust's --tags and --exclude-tags left them."""

    __name__ = "every task"

    def __init__(self, tasks):
        self.every = tasks  # not `tasks`: Locust would take it for a TaskSet

    def __call__(self, taskset):
        for task in self.every:
            task(taskset)


def every_task(tasks):
    if run.get("every_task_of") is not tasks:
        run["every_task_of"], run["every_task"] = tasks, EveryTask(tasks)
    return run["every_task"]


# The closed model with iterations: each user stops after its own; the run ends when every user
# the run asked for has stopped (whatever stopped it: its iterations, a failed on_start, a feed).


def closed_user_stopped(user):
    runner = run.get("runner")
    if run["per_user"] is None or runner is None or runner.state not in ("spawning", "running"):
        return
    if isinstance(runner, WorkerRunner):
        runner.send_message("simulation_user_stopped", 1)
    else:
        count_stopped_users(runner, 1)


def count_stopped_users(runner, count):
    """On the master (or the only process): users stopped so far; the end when all have."""
    run["users_stopped"] += count
    if run["all_spawned"] and run["users_stopped"] >= runner.target_user_count:
        end_the_run(
            "iterations", f"every user ({run['users_stopped']}) has finished its iterations"
        )


def watch_stopped_users(environment, runner):
    """On the master (or the only process): users stopped on the workers, and the end of the
    ramp (a user may finish before the last one is spawned)."""

    def spawned(user_count, **_kwargs):
        run["all_spawned"] = True
        if run["per_user"] is not None:
            count_stopped_users(runner, 0)

    environment.events.spawning_complete.add_listener(spawned)
    if isinstance(runner, MasterRunner):
        runner.register_message(
            "simulation_user_stopped",
            lambda environment, msg: count_stopped_users(runner, msg.data),
        )


def end_the_run(how, why):
    """End the run because it did what was asked: every user done ("iterations"), or the
    arrivals' schedule over (None: its time). The master (or the only process) quits, as at
    the end of Locust's run time."""
    if run.get("end_asked") or run.get("finished"):
        return
    run["end_asked"], run["ended_by"] = True, how
    run["end_at"], run["end_wall"] = time.monotonic(), time.time()  # the figures' end
    log.info("%s: ending the run", why)
    threading.Thread(target=run["runner"].quit, daemon=True).start()


def how_the_run_ended():
    """How the run ended, for the printout, the record, the summary and JUnit: iterations (every
    user finished its iterations), interrupted (a signal stopped the run: Locust quit while it
    still ran), aborted (a threshold's abort, or the arrivals' schedule failed), feed_exhausted
    (stop_run), worker_lost, or run_time (its time, or the arrivals' schedule, ran out)."""
    stopping = str(run.get("stopping_run") or "")
    if run.get("ended_by"):
        return run["ended_by"]
    if run.get("interrupted") or run.get("state_at_finish") in ("spawning", "running"):
        return "interrupted"
    if run.get("aborted") or run.get("arrivals_failed"):
        return "aborted"
    if stopping.startswith("feed "):
        return "feed_exhausted"
    if counted_losses():  # the workers lost while the run was on (distributed.py)
        return "worker_lost"
    return "run_time"
