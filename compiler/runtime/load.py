"""Pacing and the load shape (stages).

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

# ---- the generated file holds what follows ----
# -- pacing and load shape -------------------------------------------------------------------------


def pace_seconds(user, pacing=PACING):
    """How long each task iteration of a user takes at least under its pacing (its population's,
    or PACING), or None."""
    if "iteration_seconds" in pacing:
        return pacing["iteration_seconds"]
    if "iterations_per_second" in pacing:
        return 1 / pacing["iterations_per_second"]
    if "total_iterations_per_second" in pacing:  # spread over the running users of every worker
        users = run.get("users_in_run") or user.environment.runner.target_user_count or 1
        return users / pacing["total_iterations_per_second"]
    return None


def share_users_in_run(runner, user_count):
    """The master tells its workers how many users the whole run has, for a total rate."""
    run["users_in_run"] = user_count
    if isinstance(runner, MasterRunner):
        for client_id in run.get("admitted", ()):
            runner.send_message("simulation_users", user_count, client_id=client_id)


def receive_users_in_run(runner):
    runner.register_message(
        "simulation_users", lambda environment, msg: run.update(users_in_run=msg.data)
    )


def stage_plan(options):
    """The stages as Locust will run them: (end second, users, spawn rate), with -u and -r as
    caps of every stage and -t ending the run earlier."""
    plan, end = [], 0
    caps = run.setdefault("stage_caps", (options.num_users, options.spawn_rate))  # as given, before
    for stage in STAGES:  # Locust's headless defaults (1 user at 1/s) fill them in
        end += parse_timespan(stage["duration"])
        users, rate = stage["users"], stage["spawn_rate"]
        if caps[0] is not None:
            users = min(users, caps[0])
        if caps[1] is not None:
            rate = min(rate, caps[1])
        plan.append((end, users, rate))
    if options.run_time:  # stages that start before -t, the last one cut at -t
        plan = [
            (min(end, options.run_time), users, rate)
            for i, (end, users, rate) in enumerate(plan)
            if i == 0 or plan[i - 1][0] < options.run_time
        ]
    return plan


if STAGES:

    class Stages(LoadTestShape):
        """The simulation's stages: each holds its users (reached at its spawn rate) for its
        duration; -t ends the run earlier; -u and -r cap every stage."""

        use_common_options = True  # this shape reads -u, -r and -t itself

        def tick(self):
            elapsed = self.get_run_time()
            for end, users, rate in stage_plan(self.runner.environment.parsed_options):
                if elapsed < end:
                    return users, rate
            return None
