"""The simulated users: the task set that picks and paces iterations, and the Locust user class
of this target's client.

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
from compiler.runtime.flows import *  # noqa: F401,F403
from compiler.runtime.load import *  # noqa: F401,F403
from compiler.runtime.iterations import *  # noqa: F401,F403
from compiler.runtime.arrivals import *  # noqa: F401,F403
from compiler.runtime.arrival_figures import *  # noqa: F401,F403
from compiler.runtime.thresholds import *  # noqa: F401,F403
from compiler.runtime.checks import *  # noqa: F401,F403
from compiler.runtime.records import *  # noqa: F401,F403
from compiler.runtime.distributed import *  # noqa: F401,F403
from compiler.runtime.run_files import *  # noqa: F401,F403
from compiler.runtime.run import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- the simulated users ---------------------------------------------------------------------------


THINK_SPAN = THINK_TIME_SECONDS[1] - THINK_TIME_SECONDS[0]


class Simulation(TaskSet):
    """Draws each task (a flow, or an endpoint: a flow of one step) and each think time from the
    user's own seeded generator; runs on_start's steps once when the user starts."""

    tasks = []  # set at init; Locust's --tags and --exclude-tags may filter them
    weights = {}
    on_start_steps = []

    def on_start(self):
        user = self.user
        for feed in USER_FEEDS:
            user.rows[feed] = draw(feed, user)
        if not run_steps(self.on_start_steps, user, user.scope):
            raise StopUser()  # the failed step's reason is in the failure table

    def get_next_task(self):
        """The next iteration: with arrivals, the one this user's ticket is for; one task drawn
        by weight, or with task_order sequential every task in order."""
        tasks, user = self.tasks, self.user
        if run["open"]:
            start_ticketed_iteration(user)
        run["iterations"] += 1
        user.iterations += 1
        if run["sequential"]:
            return every_task(tasks)
        if run.get("weighted") is not tasks:  # once, after Locust filtered the tasks by tags
            cum_weights = list(itertools.accumulate(self.weights[t] for t in tasks))
            run["weighted"], run["draw"] = tasks, (
                cum_weights,
                cum_weights[-1] + 0.0,
                len(tasks) - 1,
            )
        if PACING:
            user.iteration_started = time.monotonic()
        cum_weights, total, last = run["draw"]
        # The task rng.choices(tasks, cum_weights=cum_weights) draws, the same way, without its list.
        return tasks[bisect_right(cum_weights, user.rng.random() * total, 0, last)]

    def wait_time(self):
        user = self.user
        if run["open"]:  # until the schedule hands this user its next ticket
            return wait_for_ticket(user)
        if run["per_user"] is not None and user.iterations >= run["per_user"]:
            raise StopUser()  # its iterations are done
        if PACING:  # the next iteration starts `pace` seconds after this one started
            return max(0.0, pace_seconds(user) - (time.monotonic() - user.iteration_started))
        return (
            THINK_TIME_SECONDS[0] + THINK_SPAN * user.rng.random()
        )  # what rng.uniform(*THINK_TIME_SECONDS) draws


def report_iterations(client_id, data):
    """A worker's iterations since its last report, for the master's rate reached."""
    data["simulation_iterations"], run["iterations_reported"] = (
        run["iterations"] - run.get("iterations_reported", 0),
        run["iterations"],
    )


def count_worker_iterations(client_id, data):
    run["iterations"] += data.get("simulation_iterations", 0)


@events.test_start.add_listener
def count_users_from_zero(environment, **_kwargs):
    run["user_numbers"] = itertools.count()  # the same seeds for the same users, run after run
    run["started"] = True  # from now on Locust handles SIGTERM, and so Ctrl-C
    run["iterations"], run["started_at"] = 0, time.time()
    settle_the_run(environment)
    if run["open"]:
        begin_arrivals(environment)
    if "abort" in THRESHOLDS and not isinstance(environment.runner, WorkerRunner):
        threading.Thread(
            target=abort_on_breach,
            args=(environment.runner, THRESHOLDS["abort"]["after"]),
            daemon=True,
        ).start()


class SimulatedUser(USER_CLASS):
    host = DEFAULTS["host"]
    tasks = [Simulation]
    network_timeout = connection_timeout = REQUEST_TIMEOUT_SECONDS  # FastHttpUser's

    def __init__(self, environment):
        super().__init__(environment)
        options = environment.parsed_options
        seed = options.seed if options is not None else DEFAULTS["seed"]
        worker_index = environment.runner.worker_index if environment.runner else 0
        # Same seed, worker and spawn number: the same requests and think times, every run.
        self.rng = random.Random(f"{seed}/{worker_index}/{next(run['user_numbers'])}")
        self.captures, self.rows = {}, {}  # on_start's: for the user's life
        self.scope = Scope(self.captures, self.rows)  # what the endpoints see
        self.iteration_started = time.monotonic()
        self.iterations, self.ticket, self.ticket_ready = 0, None, threading.Event()
        self.clients = {None: self.client}
        if CLIENT == "requests":  # redirects are this file's to follow: python-requests would
            self.client.get_redirect_target = lambda _response: None  # still parse Location

    def on_stop(self):
        if run["open"]:
            arrivals_user_stopped(self)
        else:
            closed_user_stopped(self)

    def client_for(self, timeout):
        """The HTTP client for a step's own timeout_seconds. FastHttpUser fixes its timeouts per
        client: a step with its own gets a client of its own; HttpUser takes it per request."""
        if timeout is None or CLIENT == "requests":
            return self.client
        if timeout not in self.clients:
            self.clients[timeout] = FastHttpSession(
                base_url=self.host,
                request_event=self.environment.events.request,
                user=self,
                network_timeout=timeout,
                connection_timeout=timeout,
                max_retries=self.max_retries,
                max_redirects=self.max_redirects,
                insecure=self.insecure,
                concurrency=self.concurrency,
            )
        return self.clients[timeout]
