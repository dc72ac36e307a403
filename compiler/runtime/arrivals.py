"""The open model: a schedule of arrivals released by one greenlet per process to waiting users,
the users started as the schedule needs them, the share of each worker, and what the run did.

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

# ---- the generated file holds what follows ----
# -- the open model: arrivals ----------------------------------------------------------------------

SHARE_AHEAD_SECONDS = (
    0.5  # a new division of the schedule holds from this far ahead (its message's way)
)
START_LAG_WARNING_MS = 50  # a start lag p99 above this: the latencies include the generator's delay
END_BACKSTOP_SECONDS = 5  # Locust's own run time: the schedule's end, this much later


def plan_of(arrivals):
    """Per stage: (start second, end second, rate at its start, rate at its end, iterations the
    schedule starts before it on average)."""
    plan, start, before, rate = [], 0, 0.0, arrivals.get("start_rate", 0)
    for stage in arrivals.get("stages", ()):
        seconds = parse_timespan(stage["duration"])
        plan.append((start, start + seconds, rate, stage["rate"], before))
        before += (rate + stage["rate"]) / 2 * seconds
        start, rate = start + seconds, stage["rate"]
    return plan


ARRIVAL_PLAN = plan_of(ARRIVALS)
ARRIVALS_SECONDS = ARRIVAL_PLAN[-1][1] if ARRIVAL_PLAN else 0
ARRIVAL_ENDS = [end for _start, end, _first, _last, _before in ARRIVAL_PLAN]


def arrival_second(expected):
    """The second at which the schedule has started `expected` iterations on average: the inverse
    of the integrated rate, linear ramps stage by stage; None after the last stage."""
    for start, end, first, last, before in ARRIVAL_PLAN:
        inside, seconds = expected - before, end - start
        if inside < (first + last) / 2 * seconds:
            if inside <= 0:
                return start
            slope = (last - first) / seconds / 2  # first * t + slope * t**2 == inside
            return start + 2 * inside / (first + (first * first + 4 * slope * inside) ** 0.5)
    return None


def schedule(seed, limit):
    """(number, second) of every iteration of the whole run, the same in every process, so that
    workers can share it: constant, evenly spaced (the middle of each 1/rate); poisson,
    exponential gaps drawn from the seed. `limit` iterations in all, or until the last stage."""
    rng, poisson = random.Random(f"{seed}/arrivals"), ARRIVALS["distribution"] == "poisson"
    expected, number = 0.0, 0
    while limit is None or number < limit:
        expected = expected + rng.expovariate(1.0) if poisson else number + 0.5
        second = arrival_second(expected)
        if second is None:
            return
        yield number, second
        number += 1


arrivals = {"shares": [], "origin": None}  # this process's: reset after each run
WHOLE_SCHEDULE = [(0, 0, 1)]  # the shares of a process that releases every iteration itself
WAITER = sys.modules["gevent.hub"].Waiter


def reset_arrivals():
    arrivals.clear()
    arrivals.update(
        shares=[],  # (from second, index, count): take the iterations whose number % count == index
        origin=None,  # time.monotonic() of the schedule's second 0
        cap=None,  # the users this process may start
        idle=deque(),  # users waiting for a ticket
        size=0,  # users started and not stopped
        users=0,  # users started in all
        counts=[[0, 0, 0] for _ in ARRIVAL_PLAN],  # per stage: scheduled, started, dropped
        lags={},  # start lag, milliseconds to 3 significant digits -> iterations
        lag_max=0.0,
        exhausted=False,  # every iteration of this process's share released
        done_said=False,
        woken=threading.Event(),  # a share arrived
        greenlet=None,
        workers={},  # on the master: each worker's last report
        done_workers={},  # on the master: worker -> whether it did every iteration asked for
        end=0,  # the schedule's last second: the run's time
        complete=False,  # every iteration asked for (iterations) released
    )


reset_arrivals()


def begin_arrivals(environment):
    """At the start of a run: the local process releases the schedule itself; a worker once its
    master gave it a share (which may come before the run starts on the worker: a worker's
    figures are reset when the next run starts, not when one stops); the master once it has
    started its workers (see hear_arrivals)."""
    runner = environment.runner
    if not isinstance(runner, WorkerRunner) or arrivals.get("stale"):
        reset_arrivals()
    if isinstance(runner, MasterRunner):
        return
    if not isinstance(runner, WorkerRunner):
        arrivals.update(origin=time.monotonic(), shares=list(WHOLE_SCHEDULE), cap=run["max_users"])
        arrivals["end"] = run["arrivals_run_time"]
    # a greenlet of the runner's own group: it goes when the runner quits
    arrivals["greenlet"] = runner.greenlet.spawn(release_the_schedule, environment)


def share_the_schedule(runner):
    """On the master, at the start and whenever the counted workers change: each worker's share
    (every n-th iteration of the schedule, from now on), its share of max_users, the run's clock."""
    if not run["open"] or arrivals["origin"] is None or run.get("workers_quit"):
        return
    workers = sorted(run.get("admitted", ()), key=runner.get_worker_index)
    elapsed = time.monotonic() - arrivals["origin"]
    start = elapsed + SHARE_AHEAD_SECONDS if arrivals.get("shared") else 0
    arrivals["shared"] = True
    for index, client_id in enumerate(workers):
        cap = run["max_users"] // len(workers) + (index < run["max_users"] % len(workers))
        share = {
            "from": start,
            "index": index,
            "count": len(workers),
            "cap": cap,
            "elapsed": elapsed,
            "end": run["arrivals_run_time"],
        }
        runner.send_message("simulation_arrivals", share, client_id=client_id)
    if workers and start:
        log.info(
            "arrivals: the schedule is divided among %s worker(s) from %.1fs on",
            len(workers),
            start,
        )


def take_share(environment, msg):
    """On a worker: its share of the schedule, and the run's clock (the master's)."""
    share = msg.data
    if arrivals.get("stale"):  # the share of a new run
        reset_arrivals()
    if arrivals["origin"] is None:
        arrivals["origin"] = time.monotonic() - share["elapsed"]
    arrivals["shares"].append((share["from"], share["index"], share["count"]))
    arrivals["cap"], arrivals["end"] = share["cap"], share["end"]
    arrivals["woken"].set()


def share_at(second):
    for start, index, count in reversed(arrivals["shares"]):
        if start <= second:
            return index, count
    return None, None


def release_the_schedule(environment):
    """The schedule of this process, released iteration by iteration at its time to a waiting
    user; a user is started when none waits, up to the cap; else the iteration is dropped. If it
    fails, the run stops: it would go on without its load."""
    try:
        release(environment)
    except Exception as error:  # GreenletExit (the run stops) is not an Exception
        log.error("arrivals: the schedule failed (%s): stopping the run", type(error).__name__)
        run["arrivals_failed"] = f"the arrivals' schedule failed ({type(error).__name__})"
        stop_the_run(run["arrivals_failed"])


def release(environment):
    runner = environment.runner
    while not arrivals["shares"]:
        arrivals["woken"].wait()  # a greenlet's wait: Locust patched threading
    origin, idle, counts, last = arrivals["origin"], arrivals["idle"], arrivals["counts"], -1
    shares, loop = arrivals["shares"], GEVENT.get_hub().loop
    for number, second in schedule(environment.parsed_options.seed, run["in_all"]):
        if second >= arrivals["end"]:  # -t shorter than the stages
            break
        last = number
        if shares != WHOLE_SCHEDULE:  # divided among workers: this process's share only
            index, count = share_at(second)
            if index is None or number % count != index:
                continue
        due = origin + second
        while time.monotonic() < due:
            time.sleep(due - time.monotonic())  # a greenlet's sleep: Locust patched time
        stage = counts[min(bisect_right(ARRIVAL_ENDS, second), len(counts) - 1)]
        stage[0] += 1
        while idle and idle[0].greenlet.dead:
            idle.popleft()
        if idle:
            user = idle.popleft()
            user.ticket = (stage, due)
            loop.run_callback(wake_for_ticket, user)
        elif arrivals["size"] < arrivals["cap"]:
            arrivals["size"] += 1
            arrivals["users"] += 1
            (user,) = runner.spawn_users({runner.user_classes[0].__name__: 1})
            user.ticket = (stage, due)  # before it runs: its on_start, then this iteration
        else:
            stage[2] += 1  # every user busy, none left to start: dropped, never sent late
    arrivals["exhausted"] = True
    arrivals["complete"] = run["in_all"] is not None and last + 1 >= run["in_all"]
    check_done(runner)  # every iteration asked for released: the end may be now
    end = origin + arrivals["end"]
    while time.monotonic() < end:
        time.sleep(end - time.monotonic())
    check_done(runner, at_the_end=True)


def start_ticketed_iteration(user):
    """A user starts the iteration its ticket is for: how late against the schedule."""
    if user.ticket is None:
        wait_for_ticket(user)
    stage, due = user.ticket
    user.ticket = None
    stage[1] += 1
    lag = (time.monotonic() - due) * 1000
    bucket = bucket_response_time(lag)  # 3 significant digits, as response times are kept
    arrivals["lags"][bucket] = arrivals["lags"].get(bucket, 0) + 1
    if lag > arrivals["lag_max"]:
        arrivals["lag_max"] = lag


def wait_for_ticket(user):
    """Between iterations (Locust's wait: a waiting user stops at once when the run does): among
    the idle users until the schedule hands this one a ticket."""
    arrivals["idle"].append(user)
    if arrivals["exhausted"]:
        check_done(run["runner"])
    if user.ticket is None:  # not handed one yet: wait in the loop until wake_for_ticket
        user.waiter = WAITER()
        try:
            user.waiter.get()
        finally:
            user.waiter = None
    return 0


def wake_for_ticket(user):
    """From gevent's loop, once the schedule gave a waiting user its ticket: the user goes on.
    gevent's own handoff (a Waiter switched from the loop), lighter than an Event per user: one
    callback, no links to notify."""
    if user.waiter is not None:  # not stopped in the meantime (its ticket then counts as dropped)
        user.waiter.switch(None)


def arrivals_user_stopped(user):
    """A user that stopped (a failed on_start, a feed, the run's end) leaves the pool; an
    iteration it was given but never started was not sent: it counts as dropped."""
    if user.ticket is not None:
        user.ticket[0][2] += 1
        user.ticket = None
    if user in arrivals["idle"]:
        arrivals["idle"].remove(user)
    arrivals["size"] -= 1
    if arrivals["exhausted"]:
        check_done(run["runner"])


def check_done(runner, at_the_end=False):
    """This process is done with its share at the schedule's end (the run's time), or before it
    when every iteration asked for (iterations) was released and every user waits again. The run
    ends when every process is (the master hears from each worker): ended by its iterations when
    all were done, else by its time."""
    if arrivals["done_said"] or not arrivals["exhausted"]:
        return
    finished = arrivals["complete"] and len(arrivals["idle"]) >= arrivals["size"]
    if not (finished or at_the_end):
        return
    arrivals["done_said"] = True
    if isinstance(runner, WorkerRunner):
        runner.send_message("simulation_arrivals_done", {"iterations": finished})
    else:
        schedule_over(finished)


def schedule_over(finished):
    if finished:
        end_the_run("iterations", f"the {run['in_all']} iterations asked for are done")
    else:
        end_the_run(None, f"the arrivals' schedule is over ({run['arrivals_run_time']}s)")


def keep_the_schedules_users(runner):
    """On a worker: Locust's spawn messages (0 users, the master's dispatch) must not stop the
    users the schedule started."""
    start_worker = runner.start_worker

    def keep(user_classes_count, **kwargs):
        if run["open"]:
            user_classes_count = dict(runner.user_classes_count)
        return start_worker(user_classes_count, **kwargs)

    runner.start_worker = keep
    runner.register_message("simulation_arrivals", take_share)


def report_arrivals(client_id, data):
    """A worker's figures so far, with each report of its statistics (the last one too)."""
    if run["open"] and arrivals["origin"] is not None:
        data["simulation_arrivals"] = {
            key: arrivals[key] for key in ("counts", "lags", "lag_max", "users")
        }


def hear_arrivals(environment, runner):
    """On the master: the workers' figures, and which workers are done with their iterations."""

    def report(client_id, data):
        if "simulation_arrivals" in data:
            arrivals["workers"][client_id] = data["simulation_arrivals"]

    def done(environment, msg):
        arrivals["done_workers"][msg.node_id] = msg.data["iterations"]
        if set(run.get("admitted", ())) <= set(arrivals["done_workers"]):
            schedule_over(all(arrivals["done_workers"].values()))

    def started(user_count, **_kwargs):  # the workers have their spawn messages: the clock starts
        if run["open"] and arrivals["origin"] is None:
            arrivals["origin"] = time.monotonic()
            share_the_schedule(runner)

    environment.events.worker_report.add_listener(report)
    environment.events.spawning_complete.add_listener(started)
    runner.register_message("simulation_arrivals_done", done)


def stop_arrivals(environment, **_kwargs):
    """The run stops: no iteration is released any more (Locust stops the users). The figures
    stay for the last reports; the next run's start (or share) resets them."""
    if arrivals.get("greenlet") is not None:
        arrivals["greenlet"].kill(block=False)
        arrivals["greenlet"] = None
    arrivals["stale"] = True


def fit_run_time(options):
    """With arrivals the run ends with their last stage: a longer -t, or none, is cut to it. The
    event loop's clock is brought up to date first: gevent reads it when Locust sets its run
    time, and starting a file takes a moment in which the clock stands still, so the run would
    end that much before its schedule does."""
    if not open_model(options):
        return
    if not options.run_time or options.run_time > ARRIVALS_SECONDS:
        run["run_time_cut"] = f"{options.run_time}s" if options.run_time else "none"
        options.run_time = ARRIVALS_SECONDS
    time.sleep(0.001)  # one turn of the event loop, which reads the clock anew


def hand_the_end_to_the_schedule(options):
    """After the checks and the printout: the schedule ends the run (end_with_the_schedule), and
    Locust's own run time becomes a backstop a few seconds later."""
    if open_model(options):
        run["arrivals_run_time"] = options.run_time
        options.run_time = options.run_time + END_BACKSTOP_SECONDS
