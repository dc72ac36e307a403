"""Flows, on_start and feeds: steps in order as one task; rows drawn per user or iteration.

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

# ---- the generated file holds what follows ----
# -- flows, on_start and feeds ---------------------------------------------------------------------


class FlowTask:
    """One iteration of a flow: its steps in order, as one task. A failed step ends the
    iteration's requests unless it says continue_on_failure, and the pauses after it are still
    taken (a failing user keeps its pace); a pause is drawn from the user's generator."""

    def __init__(self, flow, missing, headers=None):
        self.name = self.__name__ = flow.name
        self.steps = [
            Request(step, missing, headers) if isinstance(step, Step) else step
            for step in flow.steps
        ]
        if flow.tags:
            self.locust_tag_set = set(flow.tags)  # Locust's --tags and --exclude-tags read it
        self.feeds = sorted(
            {ref.feed for step in flow.steps for ref in references(vars(step), FromFeed)}
        )

    def __call__(self, taskset):
        user = taskset.user
        rows = user.rows
        if self.feeds:
            rows = dict(rows)
            for feed in self.feeds:
                if feed not in rows:
                    rows[feed] = draw(
                        feed, user
                    )  # one row per feed, for every step of the iteration
        run_steps(self.steps, user, Scope(dict(user.captures), rows), keep_pace=True)


def run_steps(steps, user, scope, keep_pace=False):
    """Whether every step that had to pass passed. After a step that failed (and had to pass),
    no request is sent; with keep_pace (a flow's iteration), the pauses after it are taken all
    the same, so a failing iteration lasts as a passing one would (on_start stops at once)."""
    for index, step in enumerate(steps):
        if isinstance(step, Pause):
            # a greenlet's sleep: Locust patched time
            time.sleep(user.rng.uniform(step.min, step.max))
        elif not step.run(user, scope) and not step.continue_on_failure:
            if keep_pace:
                for later in steps[index + 1 :]:
                    if isinstance(later, Pause):
                        time.sleep(user.rng.uniform(later.min, later.max))
            return False
    return True


def tasks_of(population, missing, headers):
    """Every endpoint (a flow of one step) and every flow of a population, as Locust tasks with
    their weights; `headers` are the population's (over HEADERS)."""
    tasks = []
    for endpoint in population.endpoints:
        task = Request(endpoint, missing, headers)
        if endpoint.tags:
            task.locust_tag_set = set(endpoint.tags)
        tasks.append((task, endpoint.weight))
    tasks += [(FlowTask(flow, missing, headers), flow.weight) for flow in population.flows]
    return tasks


def population_headers(population):
    """A population's headers over the simulation's (names ignore case)."""
    own = {name.lower() for name in population.headers}
    return {
        **{name: value for name, value in HEADERS.items() if name.lower() not in own},
        **population.headers,
    }


def feeds_of_on_start(steps):
    """The feeds on_start reads: the user's own, drawn once."""
    return sorted(
        {
            ref.feed
            for step in steps
            if isinstance(step, Step)
            for ref in references(vars(step), FromFeed)
        }
    )


# Feeds. A feed that on_start uses is the user's: drawn once. Any other is drawn for each
# iteration of a flow that uses it. random: from the user's generator; sequential: the next row
# of this process, wrapping; unique: each row at most once in the whole run, every worker
# included (the master hands the rows out).

feed_state = {"next": {}, "asked": itertools.count(), "answers": {}}


def draw(feed, user):
    rows, mode = FEEDS[feed].rows, FEEDS[feed].mode
    if mode == "random":
        return user.rng.choice(rows)
    if mode == "sequential":
        position = feed_state["next"].get(feed, 0)
        feed_state["next"][feed] = position + 1
        return rows[position % len(rows)]
    index = take_unique(feed)
    if index is None:
        exhausted(feed)
    return rows[index]


def take_unique(feed):
    """The index of a row no other user of the run had, or None when none is left."""
    runner = run.get("runner")
    if not isinstance(runner, WorkerRunner):
        return next_unique(feed)
    number = next(feed_state["asked"])
    # a gevent event: Locust patched threading
    answer = feed_state["answers"][number] = [threading.Event(), None]
    runner.send_message("simulation_feed_take", {"feed": feed, "number": number})
    if not answer[0].wait(timeout=MASTER_SILENCE_SECONDS):
        feed_state["answers"].pop(number, None)
        raise StopUser()  # the master is gone; this worker stops by itself soon
    return feed_state["answers"].pop(number)[1]


def next_unique(feed):
    """On the master (or the only process): hand out the next row's index, once."""
    position = feed_state["next"].get(feed, 0)
    if position >= len(FEEDS[feed].rows):
        return None
    feed_state["next"][feed] = position + 1
    return position


def exhausted(feed):
    """A unique feed with no row left: this user stops, or the whole run does."""
    policy = FEEDS[feed].when_exhausted
    if not feed_state.get(f"said {feed}"):
        feed_state[f"said {feed}"] = True
        log.warning(
            "feed %s has no unused row left (%s rows): %s",
            feed,
            len(FEEDS[feed].rows),
            (
                "stopping the run (when_exhausted stop_run)"
                if policy == "stop_run"
                else "users that need one stop (when_exhausted stop_user)"
            ),
        )
    if policy == "stop_run":
        stop_the_run(f"feed {feed} exhausted")
    raise StopUser()


def stop_the_run(reason):
    """Stop the whole run from any process: the master (or the only process) quits."""
    runner = run.get("runner")
    if isinstance(runner, WorkerRunner):
        runner.send_message("simulation_stop_run", {"reason": reason})
    elif not run.get("stopping_run"):
        run["stopping_run"] = reason
        threading.Thread(target=runner.quit, daemon=True).start()


def serve_unique_feeds(runner):
    """On the master: rows of unique feeds for the workers, and a worker's call to stop."""

    def take(environment, msg):
        index = next_unique(msg.data["feed"])
        if index is None and FEEDS[msg.data["feed"]].when_exhausted == "stop_run":
            exhausted_on_master(msg.data["feed"])
        runner.send_message(
            "simulation_feed_row",
            {"number": msg.data["number"], "index": index},
            client_id=msg.node_id,
        )

    def exhausted_on_master(feed):
        if not feed_state.get(f"said {feed}"):
            feed_state[f"said {feed}"] = True
            log.warning(
                "feed %s has no unused row left (%s rows): stopping the run (when_exhausted stop_run)",
                feed,
                len(FEEDS[feed].rows),
            )
        stop_the_run(f"feed {feed} exhausted")

    def stop(environment, msg):
        stop_the_run(msg.data["reason"])

    runner.register_message("simulation_feed_take", take)
    runner.register_message("simulation_stop_run", stop)


def receive_unique_rows(runner):
    def row(environment, msg):
        answer = feed_state["answers"].get(msg.data["number"])
        if answer is not None:
            answer[1] = msg.data["index"]
            answer[0].set()

    runner.register_message("simulation_feed_row", row)
