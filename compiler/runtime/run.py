"""The run: prepare, hold the limits, report and judge; the simulated users.

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
from compiler.runtime.iterations import *  # noqa: F401,F403
from compiler.runtime.arrivals import *  # noqa: F401,F403
from compiler.runtime.arrival_figures import *  # noqa: F401,F403
from compiler.runtime.thresholds import *  # noqa: F401,F403
from compiler.runtime.metrics import *  # noqa: F401,F403
from compiler.runtime.checks import *  # noqa: F401,F403
from compiler.runtime.records import *  # noqa: F401,F403
from compiler.runtime.distributed import *  # noqa: F401,F403
from compiler.runtime.reports import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- the run: prepare, hold the limits, report and judge -----------------------------------------


@events.init.add_listener
def prepare(environment, runner, web_ui=None, **_kwargs):
    """Resolve, check and print the configuration; stop with exit code 2 before any load."""
    options = environment.parsed_options
    # read once: not the web UI's
    run["runner"], run["allow_protected"] = runner, bool(options.allow_protected)
    stop_on_signals()
    env_file, from_file, env_problems = read_env_file(options)  # before any ${env:...} is read
    run["env_file"] = (env_file, from_file)
    missing = set()
    requests = set_up_populations(missing)
    environment._tasks_filtered = True  # by filter_by_tags, when a run starts
    hide_secrets()
    secrets = env_problems + unset_variables(missing) + unsendable_headers(requests)
    environment.events.test_stopping.add_listener(stop_arrivals)
    if isinstance(runner, WorkerRunner):  # the master checks and reports the run
        options.html_file = None  # and writes the report: a worker's would replace an earlier one
        if options.locustfile == "-":
            print(
                f"{TARGET}: received {os.path.basename(__file__)} from the master (sha256 {DIGEST})",
                file=sys.stderr,
                flush=True,
            )
        environment.events.quitting.add_listener(report_last_statistics)  # before Locust's goodbye
        if options.check_config:
            print(describe(options), flush=True)
        receive_unique_rows(runner)
        receive_users_in_run(runner)
        environment.events.report_to_master.add_listener(report_iterations)
        environment.events.report_to_master.add_listener(report_tallies)
        if ARRIVALS:
            keep_the_schedules_users(runner)
            environment.events.report_to_master.add_listener(report_arrivals)
        join_as_checked_worker(environment, runner, secrets)
        return
    take_smoke_options(environment, options)
    fit_run_time(options)
    workers = options.expect_workers if isinstance(runner, MasterRunner) else 1
    problems = problems_with(options, workers) + secrets
    print(describe(options), file=sys.stdout if options.check_config else sys.stderr, flush=True)
    if problems:
        sys.stderr.write(
            f"{TARGET}: invalid configuration, no request sent:\n"
            + "".join(f"  - {problem}\n" for problem in problems)
        )
        stop_forked_workers(runner, options)
        sys.exit(2)
    if options.check_config:
        print(f"{TARGET}: configuration ok, no request sent", flush=True)
        stop_forked_workers(runner, options)
        sys.exit(0)
    problem = into_a_run_folder(options)
    if problem:
        sys.stderr.write(f"{TARGET}: invalid configuration, no request sent:\n  - {problem}\n")
        stop_forked_workers(runner, options)
        sys.exit(2)
    if isinstance(runner, MasterRunner):
        admit_checked_workers(runner)
        serve_unique_feeds(runner)
        environment.events.worker_report.add_listener(count_worker_iterations)
        environment.events.worker_report.add_listener(hear_tallies)
        if ARRIVALS:
            hear_arrivals(environment, runner)
    watch_stopped_users(environment, runner)
    # This file writes the HTML report itself, at every shutdown: Locust skips it on SIGTERM.
    run["html_file"] = run["html_file_asked"] = options.html_file
    options.html_file = None
    hand_the_end_to_the_schedule(options)
    hold_limits(environment, runner)
    serve_metrics(environment)
    if web_ui is not None:
        refuse_bad_starts_in_the_web_ui(environment, web_ui)


def stop_on_signals():
    """Ctrl-C (SIGINT) stops the run every time, the way SIGTERM does: report, summary, exit code.
    Python's own handler raises KeyboardInterrupt wherever the process happens to be, and one
    raised inside a finalizer is lost: the run would go on. Before the run starts (a master
    waiting for its workers), Locust does not handle SIGTERM yet: the process exits at once
    (130, or 143 on SIGTERM), as it does on a second Ctrl-C; a report half written is removed."""

    def exit_now(signum, when):
        if run.get("writing") and os.path.exists(run["writing"]):
            os.remove(run["writing"])
        os.write(
            2,
            f"{TARGET}: {'interrupted' if signum == signal.SIGINT else 'terminated'} {when}: exiting now\n".encode(),
        )
        os._exit(128 + signum)

    def interrupt(signum, _frame):
        if run.get("interrupted") or not run.get("started"):
            exit_now(signum, "again" if run.get("interrupted") else "before the run started")
        run["interrupted"] = True
        os.write(2, f"{TARGET}: Ctrl-C: stopping the run\n".encode())
        send_leaving("interrupted by Ctrl-C")
        os.kill(os.getpid(), signal.SIGTERM)  # Locust's SIGTERM handler runs in its event loop

    signal.signal(signal.SIGINT, interrupt)
    # then Locust's
    signal.signal(signal.SIGTERM, lambda signum, _frame: exit_now(signum, "before the run started"))


def send_leaving(reason):
    runner = run.get("runner")
    if isinstance(runner, WorkerRunner):
        runner.send_message("simulation_leaving", {"reason": reason})


def report_last_statistics(environment, **_kwargs):
    """A worker that stops on its own (Ctrl-C reaches every process of the terminal's group)
    sends what it has not reported yet before it says goodbye; Locust's worker would not, and the
    report would miss its last seconds."""
    environment.runner.stop()
    environment.runner._send_stats()


def stop_forked_workers(runner, options, seconds=10):
    """With --processes, a master that exits at init leaves the workers it forked running
    (Locust 2.47 misreads waitpid when it tries to stop them): let them connect, then quit them."""
    if not (isinstance(runner, MasterRunner) and options.processes):
        return
    deadline = time.monotonic() + seconds
    while len(runner.clients.all) < options.expect_workers and time.monotonic() < deadline:
        time.sleep(0.1)
    runner.quit()


def hold_limits(environment, runner):
    """Keep every start within the limits (the web UI's form, the w/W keys: every change goes
    through runner.start): a host that must not be run against is refused, users and spawn
    rate are capped at the limits of the host's environment."""
    start = runner.start

    def start_within_limits(user_count, spawn_rate, *args, **kwargs):
        problems = host_problems(environment.host, run["allow_protected"])
        if problems:
            log.error("not started: %s", "; ".join(problems))
            return
        protected_by, limits = guard_for(environment.host)
        if runner.state in ("ready", "stopped"):
            run["runs"] += 1  # a new run, not a change of users: it gets its own deadline
            run.get("sent_away", set()).clear()
            if limits["max_run_time"] is not None:
                threading.Thread(
                    target=stop_at_max_run_time,
                    args=(runner, run["runs"], limits["max_run_time"]),
                    daemon=True,
                ).start()
        whose = protected_by or ENVIRONMENT
        user_count = capped("users", user_count, limits["max_users"], whose)
        spawn_rate = capped("spawn_rate", spawn_rate, limits["max_spawn_rate"], whose)
        if open_model(environment.parsed_options):  # the schedule starts the users, not Locust
            if runner.state not in ("ready", "stopped") and not isinstance(runner, MasterRunner):
                log.warning("the arrivals start the users: a change of users is not applied")
                return None
            if runner.state in ("ready", "stopped"):
                run["max_users"] = user_count
            user_count, spawn_rate = 0, 1  # a master still dispatches to a worker that joins
        share_users_in_run(runner, user_count)
        return start(user_count, spawn_rate, *args, **kwargs)

    runner.start = start_within_limits


WEB_UI_FIELDS = {
    "user_count",
    "spawn_rate",
    "host",
    "run_time",
    "user_classes",
    "shape_class",
    "profile",
    "seed",
}


def refuse_bad_starts_in_the_web_ui(environment, web_ui):
    """The web UI's form sets the host of each run: one the run would refuse is refused there,
    with the reason, before Locust starts anything."""
    from locust.web import jsonify, request  # Locust's web UI is a Flask app: Flask's own

    @web_ui.app.before_request
    def check_swarm():
        if request.method == "POST" and request.path.endswith("/swarm"):
            other = sorted(set(request.form) - WEB_UI_FIELDS)
            if other:  # Locust would set any option the form names: --allow-protected, say
                message = f"the web UI may set users, spawn rate, host, run time and seed, not {', '.join(other)}"
                return jsonify({"success": False, "message": message, "host": environment.host})
            # as Locust reads it
            host = (
                str(request.form.get("host") or environment.host).replace("<", "").replace(">", "")
            )
            problems = host_problems(host, run["allow_protected"])
            if problems:
                return jsonify(
                    {"success": False, "message": "; ".join(problems), "host": environment.host}
                )
        return None


def stop_at_max_run_time(runner, number, max_run_time):
    """The web UI can start a run with any run time; max_run_time stops it all the same."""
    time.sleep(parse_timespan(max_run_time))  # Locust has made this a greenlet's sleep
    if run["runs"] == number and runner.state not in ("stopping", "stopped"):
        log.warning(
            "the max_run_time of environment %s, %s, reached: stopping", ENVIRONMENT, max_run_time
        )
        runner.stop()


def capped(name, value, limit, environment):
    if limit is None or value <= limit:
        return value
    log.warning("%s %s capped at environment %s's limit %s", name, value, environment, limit)
    return limit


@events.quitting.add_listener
def finish(environment, **_kwargs):
    """At every shutdown of the master (or the only process): gather the workers' last
    statistics, write the report, and judge whether the run did what was asked."""
    if isinstance(environment.runner, WorkerRunner) or run.get("finished"):
        return
    run["finished"], run["ending"] = True, time.monotonic()
    run["state_at_finish"] = environment.runner.state  # still running: a signal stopped it
    quit_workers(environment.runner)
    failures = []
    if run.get("html_file"):
        failures += write_report(environment, run.pop("html_file"))
    failures += counted_losses()
    stats = environment.runner.stats
    if stats.total.num_requests == 0:
        failures.append(
            "no request was sent (no user ran long enough, or the run was stopped before)"
        )
    if PACING.get("total_iterations_per_second"):
        seconds = time.time() - run["started_at"] if run.get("started_at") else 0
        reached = run["iterations"] / seconds if seconds else 0
        sys.stderr.write(
            f"{TARGET}: iterations per second: target {PACING['total_iterations_per_second']:g}, reached {reached:.3g} ({run['iterations']} iterations)\n"
        )
    if run.get("stopping_run"):
        sys.stderr.write(f"{TARGET}: the run was stopped early: {run['stopping_run']}\n")
        if run["stopping_run"].startswith("the arrivals' schedule failed"):
            failures.append(run["stopping_run"])
    if run["open"] and arrivals["origin"] is not None:
        run["arrival_figures"] = arrival_figures()
        sys.stderr.write("\n".join(arrival_lines(run["arrival_figures"])) + "\n")
        failures += arrival_problems(run["arrival_figures"])
    run["generator"] = generator_health(
        isinstance(environment.runner, MasterRunner), run.get("arrival_figures")
    )
    busiest = max(run["generator"]["processes"], key=lambda p: p["peak_cpu_percent"])
    sys.stderr.write(
        f"{TARGET}: the generator's peak CPU: {busiest['peak_cpu_percent']:g}% ({busiest['process']})\n"
        + "".join(
            f"{TARGET}: warning: {line}\n"
            for line in run["generator"]["warnings"]
            if "start lag" not in line  # the arrivals' lines said it already
        )
    )
    ended = how_the_run_ended()
    if ended == "iterations":
        sys.stderr.write(f"{TARGET}: the run ended as asked: every user finished its iterations\n")
    elif ended in EARLY_ENDINGS and not any(EARLY_ENDINGS[ended] in line for line in failures):
        failures.append(EARLY_ENDINGS[ended])  # never passed: it did not run as long as asked
    warned = warning_rows()
    if warned:
        sys.stderr.write(
            f"{TARGET}: check warnings (severity warn: counted, the requests passed):\n"
            + "".join(
                f"  {row['name']:<20} {row['message']} ({row['occurrences']}x)\n" for row in warned
            )
        )
    judged = THRESHOLDS and not environment.parsed_options.smoke
    rows = verdicts(stats) if judged else []
    if judged:
        breached = [row for row in rows if not row[4]]
        sys.stderr.write(threshold_table(rows) + "\n")
        sys.stderr.write(
            f"{TARGET}: {len(breached)} of {len(rows)} threshold(s) failed\n"
            if breached
            else f"{TARGET}: every threshold passed\n"
        )
    outcome = {
        "problems": failures,
        "thresholds": rows,
        "code": exit_code(environment, failures, rows),
    }
    failures += write_final_csvs(environment)
    failures += write_records(environment, outcome)
    if failures:
        sys.stderr.write(
            f"{TARGET}: the run did not do what was asked:\n"
            + "".join(f"  - {line}\n" for line in failures)
        )
    environment.process_exit_code = exit_code(environment, failures, rows)


EARLY_ENDINGS = {  # how a run may end before it did what was asked: exit 1, never passed
    "interrupted": "the run was interrupted (Ctrl-C, SIGTERM, or a client that went away) before its end",
    "feed_exhausted": "the run was stopped early: a feed with when_exhausted stop_run had no row left",
}  # worker_lost: counted_losses() names the workers among the failures already


def exit_code(environment, failures, thresholds):
    """1 when the run did not do what was asked; with thresholds, 3 when one failed, else 0
    (failed requests alone do not fail such a run); without, Locust's rule (1 on failures)."""
    if failures:
        return 1
    if THRESHOLDS and not environment.parsed_options.smoke:
        return 3 if run.get("aborted") or any(not row[4] for row in thresholds) else 0
    if environment.process_exit_code is not None:
        return environment.process_exit_code
    runner = environment.runner
    return (
        environment.parsed_options.exit_code_on_error if runner.errors or runner.exceptions else 0
    )
