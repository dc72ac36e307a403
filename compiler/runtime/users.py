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
from compiler.runtime.sending import *  # noqa: F401,F403
from compiler.runtime.flows import *  # noqa: F401,F403
from compiler.runtime.load import *  # noqa: F401,F403
from compiler.runtime.iterations import *  # noqa: F401,F403
from compiler.runtime.arrivals import *  # noqa: F401,F403
from compiler.runtime.arrival_figures import *  # noqa: F401,F403
from compiler.runtime.thresholds import *  # noqa: F401,F403
from compiler.runtime.checks import *  # noqa: F401,F403
from compiler.runtime.records import *  # noqa: F401,F403
from compiler.runtime.distributed import *  # noqa: F401,F403
from compiler.runtime.reports import *  # noqa: F401,F403
from compiler.runtime.run import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- the simulated users ---------------------------------------------------------------------------


class Simulation(TaskSet):
    """Draws each task (a flow, or an endpoint: a flow of one step) and each think time from the
    user's own seeded generator; runs on_start's steps once when the user starts. One per
    population (a subclass each, with populations), set up at init (prepare)."""

    population = POPULATIONS[0]
    tasks = []  # set at init; filtered by --tags and --exclude-tags when a run starts
    every = []  # before the filter
    weights = {}
    on_start_steps = []
    user_feeds = []  # the feeds on_start reads: drawn once per user
    think = (0.0, 0.0)  # (min, max - min) seconds: what rng.uniform draws
    pacing = {}
    plan = (
        None  # (tasks, cumulative weights, total, last index, only drawn), per filtered task list
    )

    def on_start(self):
        user = self.user
        for feed in self.user_feeds:
            user.rows[feed] = draw(feed, user)
        if not run_steps(self.on_start_steps, user, user.scope):
            raise StopUser()  # the failed step's reason is in the failure table

    def get_next_task(self):
        """The next iteration: with arrivals, the one this user's ticket is for; one task drawn
        by weight, or with task_order sequential every task in order."""
        tasks, user, plan = self.tasks, self.user, self.plan
        if plan is not None and plan[0] is tasks and plan[4]:  # a draw by weight, nothing else
            run["iterations"] += 1
            user.iterations += 1
            return tasks[bisect_right(plan[1], user.rng.random() * plan[2], 0, plan[3])]
        if not tasks:
            raise StopUser()  # its population has no task left after --tags or --exclude-tags
        if run["open"]:
            start_ticketed_iteration(user)
        run["iterations"] += 1
        user.iterations += 1
        if run["sequential"]:
            return every_task(tasks)
        if plan is None or plan[0] is not tasks:  # once, after the tags filtered the tasks
            cum_weights = list(itertools.accumulate(self.weights[t] for t in tasks))
            only_drawn = not run["open"] and not self.pacing  # the first lines above suffice
            plan = (tasks, cum_weights, cum_weights[-1] + 0.0, len(tasks) - 1, only_drawn)
            type(self).plan = plan
        if self.pacing:
            user.iteration_started = time.monotonic()
        _tasks, cum_weights, total, last, _only_drawn = plan
        # The task rng.choices(tasks, cum_weights=cum_weights) draws, the same way, without its list.
        return tasks[bisect_right(cum_weights, user.rng.random() * total, 0, last)]

    def _sleep(self, seconds):
        """Locust's sleep between iterations. With arrivals, wait_time has just waited for the
        user's ticket and returns 0: a sleep(0) then is only one more turn of gevent's loop."""
        if seconds > 0 or not run["open"]:
            GEVENT.sleep(seconds)

    def wait_time(self):
        user = self.user
        if run["open"]:  # until the schedule hands this user its next ticket
            return wait_for_ticket(user)
        if run["per_user"] is not None and user.iterations >= run["per_user"]:
            raise StopUser()  # its iterations are done
        if self.pacing:  # the next iteration starts `pace` seconds after this one started
            elapsed = time.monotonic() - user.iteration_started
            return max(0.0, pace_seconds(user, self.pacing) - elapsed)
        low, span = self.think
        if not span:  # a fixed think time (no think time): nothing to draw
            return low
        return low + span * user.rng.random()  # what rng.uniform(low, low + span) draws


def set_up_populations(missing):
    """At init: each population's tasks, login and pace, as its task set's; the requests they send."""
    requests = []
    for taskset in TASK_SETS:
        population = taskset.population
        headers = population_headers(population)
        tasks = tasks_of(population, missing, headers)
        taskset.every = taskset.tasks = [task for task, _ in tasks]
        taskset.weights = {task: weight for task, weight in tasks}
        taskset.on_start_steps = [
            Request(step, missing, headers) if isinstance(step, Step) else step
            for step in population.on_start
        ]
        taskset.user_feeds = feeds_of_on_start(population.on_start)
        low, high = population.think_time_seconds
        taskset.think, taskset.pacing = (low, high - low), population.pacing
        requests += [step for task in taskset.tasks for step in getattr(task, "steps", [task])]
        requests += taskset.on_start_steps
    return [request for request in requests if isinstance(request, Request)]


def filter_by_tags(environment):
    """When a run starts, in every process: each population's tasks that --tags and
    --exclude-tags leave (Locust's rule, done here so that a population left with none keeps
    its users, which log in and stop, instead of failing to start)."""
    options = environment.parsed_options
    tags = set(options.tags) if options and options.tags else None
    excluded = set(options.exclude_tags) if options and options.exclude_tags else set()
    for taskset in TASK_SETS:
        own = [(task, getattr(task, "locust_tag_set", set())) for task in taskset.every]
        taskset.tasks = [
            task for task, its in own if (tags is None or its & tags) and not its & excluded
        ]


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
    filter_by_tags(environment)
    reset_tallies()
    run["user_numbers"] = itertools.count()  # the same seeds for the same users, run after run
    run["started"] = True  # from now on Locust handles SIGTERM, and so Ctrl-C
    run["iterations"], run["started_at"] = 0, time.time()
    settle_the_run(environment)
    for taskset in TASK_SETS:
        taskset.plan = None  # drawn anew for this run's tasks, model and pace
    if run["open"]:
        begin_arrivals(environment)
    streaks.clear()
    run.update(abort_seen={}, aborted_by=None)
    if isinstance(environment.runner, WorkerRunner):
        return  # the master judges the thresholds
    if ABORT and "for" not in ABORT:
        threading.Thread(
            target=abort_on_breach, args=(environment.runner, ABORT["after"]), daemon=True
        ).start()
    if windowed():
        threading.Thread(target=watch_windows, args=(environment.runner,), daemon=True).start()


class SimulatedUser(USER_CLASS):
    abstract = NAMED_POPULATIONS  # with populations, each is a user class of its own (below)
    host = DEFAULTS["host"]
    tasks = [] if NAMED_POPULATIONS else [Simulation]  # Locust adds a base class's tasks to its own
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
        self.iterations, self.ticket, self.waiter = 0, None, None
        self.clients = {None: self.client}
        if CLIENT == "requests":  # redirects are this file's to follow: python-requests would
            self.client.get_redirect_target = lambda _response: None  # still parse Location
        else:
            judged_here(self.client)

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
            self.clients[timeout] = judged_here(
                FastHttpSession(
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
            )
        return self.clients[timeout]


def user_class_of(population):
    """A population's Locust user class, named after it, with a task set of its own."""
    taskset = type(f"{population.name}_tasks", (Simulation,), {"population": population})
    return type(
        population.name,
        (SimulatedUser,),
        {
            "tasks": [taskset],
            "population_tasks": taskset,
            "weight": population.weight,
            "fixed_count": population.fixed_count,
            "abstract": False,
            "__module__": __name__,
        },
    )


TASK_SETS = [Simulation]
if (
    NAMED_POPULATIONS
):  # Locust finds user classes among the file's names (the compiler keeps them apart)
    USER_CLASSES = [user_class_of(each) for each in POPULATIONS]
    TASK_SETS = [user_class.population_tasks for user_class in USER_CLASSES]
    globals().update({user_class.__name__: user_class for user_class in USER_CLASSES})
