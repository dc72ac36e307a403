"""The configuration block's steps, endpoints, flows and feeds, typed: the block writes them as
plain dicts (what a reviewer reads); the runtime works with these frozen records.

Part of the runtime inlined into every generated locustfile (compiler/output/render.py). The lines
above the marker are for linters, editors and tests only: in the generated file the prelude and
the configuration block define these names.
"""

from compiler.runtime.prelude import *  # noqa: F401,F403
from compiler.runtime.configuration import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# ---- How it runs. This part is the same in every generated file. ----

# -- the configuration, typed ----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One request of a flow (or of on_start), as the template and its overrides define it."""

    name: str
    method: str
    path: object  # str or Text
    headers: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)  # a list value repeats the parameter
    json: object = None
    body: object = None  # a raw body: str or Text
    form: dict = None  # sent URL-encoded
    expect_status: tuple = ()  # statuses that pass; empty: Locust's rule (>= 400 fails)
    follow_redirects: bool = True  # to the same origin; a redirect elsewhere always fails
    # name -> {"json": Json} | {"header": ..} | {"regex": ..}, "default"
    capture: dict = field(default_factory=dict)
    checks: tuple = ()  # {"json": Json, "exists": bool} | {"json": Json, "equals": value} | ...
    timeout_seconds: float = None  # this step's; default: REQUEST_TIMEOUT_SECONDS
    max_answer_bytes: int = None  # this step's; default: MAX_ANSWER_BYTES
    continue_on_failure: bool = False  # else a failed step ends the iteration of its flow
    label: str = None  # Locust's request name when set; else `name`
    when: dict = None  # {"capture", "exists"} | {"capture", "equals"}: sent only when it holds
    retry: dict = None  # {"times", "on", "pause"}: attempts again on those failures
    repeat: int = None  # sent this many times in a row, RepeatIndex() 0 to N-1


@dataclass(frozen=True)
class Endpoint(Step):
    """An independent request: a flow of one step, chosen by weight."""

    weight: int = 1
    tags: tuple = ()


@dataclass(frozen=True)
class Pause:
    """A pause step: seconds drawn uniformly from the user's generator."""

    min: float
    max: float


@dataclass(frozen=True)
class Flow:
    """Steps run in order as one task, chosen by weight among the flows and endpoints."""

    name: str
    steps: tuple
    weight: int = 1
    tags: tuple = ()


@dataclass(frozen=True)
class Feed:
    """Rows of a CSV or JSON file, embedded: only the columns the simulation uses."""

    mode: str  # random, sequential or unique
    columns: tuple
    rows: tuple  # of tuples, in the file's order
    when_exhausted: str = "stop_user"  # unique feeds: stop_user or stop_run


@dataclass(frozen=True)
class Population:
    """One kind of user, a Locust user class: its share of the users (weight, or exactly
    fixed_count), its login, headers (over HEADERS), tasks, pace and tags."""

    name: str
    on_start: tuple
    endpoints: tuple
    flows: tuple
    think_time_seconds: tuple = (0, 0)
    pacing: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    tags: tuple = ()
    weight: int = 1
    fixed_count: int = 0


def step_of(fields):
    """One step of the configuration block: a pause (`{"pause": {"min", "max"}}`) or a request."""
    return Pause(**fields["pause"]) if "pause" in fields else Step(**fields)


def flow_of(fields):
    return Flow(**{**fields, "steps": tuple(map(step_of, fields["steps"]))})


def population_of(name, fields):
    return Population(
        **{
            **fields,
            "name": name,
            "on_start": tuple(map(step_of, fields["on_start"])),
            "endpoints": tuple(Endpoint(**endpoint) for endpoint in fields["endpoints"]),
            "flows": tuple(map(flow_of, fields["flows"])),
        }
    )


ON_START = [step_of(fields) for fields in ON_START]
ENDPOINTS = [Endpoint(**fields) for fields in ENDPOINTS]
FLOWS = [flow_of(fields) for fields in FLOWS]
FEEDS = {name: Feed(**fields) for name, fields in FEEDS.items()}
# The kinds of user: the configuration's populations, or the template's own keys as the one.
NAMED_POPULATIONS = bool(POPULATIONS)
POPULATIONS = [population_of(name, fields) for name, fields in POPULATIONS.items()] or [
    Population(
        "SimulatedUser",
        tuple(ON_START),
        tuple(ENDPOINTS),
        tuple(FLOWS),
        THINK_TIME_SECONDS,
        PACING,
    )
]
