"""The typed, immutable model of one target: what the templates see, and nothing else.

Resolution turns raw JSON into these dataclasses. Strings that read the process environment at
run time are `Text` values (literal parts and `EnvRef`s), so no secret is ever known here.
Every leaf of the resolved configuration remembers where it was set (`Origin`), and a string
made with variables which ones and where each was set (`Expansion`), for `explain`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Union


@dataclass(frozen=True)
class EnvRef:
    """`${env:NAME}`: read from the environment when the locustfile starts."""

    name: str


@dataclass(frozen=True)
class CaptureRef:
    """`${capture:NAME}`: a value an earlier step (or on_start) captured, read when sent."""

    name: str


@dataclass(frozen=True)
class FeedRef:
    """`${feed:FEED.COLUMN}`: a column of the row the user (or iteration) drew from a feed."""

    feed: str
    column: str


@dataclass(frozen=True)
class RepeatRef:
    """`${repeat:index}`: the number of this sending of a repeated step, 0 to N-1."""


RuntimeRef = Union[EnvRef, CaptureRef, FeedRef, RepeatRef]


@dataclass(frozen=True)
class Text:
    """A string with `${env:NAME}`, `${capture:NAME}`, `${feed:FEED.COLUMN}` or `${repeat:index}`
    parts, joined at run time. A string that is exactly one capture, feed or repeat reference is
    the bare reference."""

    parts: tuple[Union[str, EnvRef, CaptureRef, FeedRef, RepeatRef], ...]


RuntimeString = Union[str, Text, CaptureRef, FeedRef, RepeatRef]


def as_written(value: Any) -> Any:
    """A `Text` or `EnvRef` as the config wrote it, `${env:NAME}` for each part read at run
    time; any other value as it is."""
    if isinstance(value, EnvRef):
        return "${env:" + value.name + "}"
    if isinstance(value, CaptureRef):
        return "${capture:" + value.name + "}"
    if isinstance(value, FeedRef):
        return "${feed:" + value.feed + "." + value.column + "}"
    if isinstance(value, RepeatRef):
        return "${repeat:index}"
    if isinstance(value, Text):
        return "".join(as_written(part) for part in value.parts)
    return value


@dataclass(frozen=True)
class Origin:
    """Where a resolved value was set: its layer and its place in a file."""

    layer: str  # template, environments.qa, countries.mx, targets.qa/mx, default, derived
    file: str = ""
    pointer: str = ""

    def __str__(self) -> str:
        return f"{self.layer} ({self.file} {self.pointer or '/'})" if self.file else self.layer


BUILT_IN = Origin("built-in")  # app, environment, country, target
AT_RUN_TIME = Origin("read at run time")  # ${env:NAME}


@dataclass(frozen=True)
class Expansion:
    """A `${...}` that a resolved string was made with, and where its value comes from: the
    text's origin says which layer wrote `${currency}`, this says which layer set `currency`."""

    placeholder: str  # ${currency}, ${env:APP_TOKEN}
    source: Origin  # BUILT_IN, AT_RUN_TIME, catalog (file, pointer), or a simulation layer

    def __str__(self) -> str:
        return f"{self.placeholder} from {self.source}" if self.source.file else f"{self.placeholder} {self.source}"


@dataclass(frozen=True)
class ThinkTime:
    min: float
    max: float


@dataclass(frozen=True)
class Limits:
    max_users: int | None = None
    max_spawn_rate: float | None = None
    max_run_time: str | None = None


@dataclass(frozen=True)
class JsonPath:
    """A JSON path of the supported subset (`$`, `.name`, `['name']`, `[index]`; `[*]`, None among
    the steps, in a capture), parsed."""

    text: str
    steps: tuple[Union[str, int, None], ...]


@dataclass(frozen=True)
class Step:
    """One request: of a flow, of on_start, or (as an `Endpoint`) a flow of its own."""

    name: str
    method: str
    path: RuntimeString
    headers: Mapping[str, RuntimeString]
    query: Mapping[str, Any]  # str, Text, a reference, or a tuple of them (a repeated parameter)
    json: Any  # None when absent; frozen JSON otherwise (MappingProxyType and tuples)
    body: RuntimeString | None
    expect_status: tuple[int, ...]
    follow_redirects: bool  # to the same origin only; a redirect elsewhere always fails
    form: Mapping[str, RuntimeString] | None = None  # sent URL-encoded
    capture: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))  # name -> {"json": JsonPath} | ...
    checks: tuple[Mapping[str, Any], ...] = ()  # {"json": JsonPath, "exists": bool} | ...
    timeout_seconds: float | None = None  # None: the simulation's request_timeout_seconds
    max_answer_bytes: int | None = None  # None: the simulation's
    continue_on_failure: bool = False
    label: str | None = None  # Locust's request name when set (free text); else `name`
    when: Mapping[str, Any] | None = None  # {"capture", "exists"} | {"capture", "equals"}
    retry: Mapping[str, Any] | None = None  # {"times", "on", "pause"}
    repeat: int | None = None  # sent this many times in a row, ${repeat:index} 0 to N-1

    @property
    def request_name(self) -> str:
        """The name Locust's statistics, reports and failures show: the label, else the name."""
        return self.label if self.label is not None else self.name


@dataclass(frozen=True)
class Endpoint(Step):
    """An independent request, chosen by weight: a flow of one step (no capture of its own)."""

    weight: int = 1
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pause:
    min: float
    max: float


@dataclass(frozen=True)
class Flow:
    name: str
    weight: int
    tags: tuple[str, ...]
    steps: tuple[Union[Step, Pause], ...]


@dataclass(frozen=True)
class Population:
    """One Locust user class: its share of the users (weight, or exactly fixed_count), its own
    login, headers (over the simulation's), tasks, pace and tags."""

    name: str
    weight: int | None  # None with fixed_count
    fixed_count: int | None
    think_time: ThinkTime
    pacing: Mapping[str, float]
    tags: tuple[str, ...]  # added to every flow and endpoint of the population
    headers: Mapping[str, RuntimeString]
    on_start: tuple[Union[Step, Pause], ...]
    endpoints: tuple[Endpoint, ...]
    flows: tuple[Flow, ...]


@dataclass(frozen=True)
class Feed:
    """The rows of a feed file that a target uses: only the columns referenced, sorted."""

    name: str
    file: str  # as resolved, relative to the catalog's folder
    mode: str  # random, sequential, unique
    when_exhausted: str  # stop_user, stop_run
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]  # strings (CSV) or JSON scalars, in the file's order


@dataclass(frozen=True)
class Stage:
    duration: str
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class ArrivalStage:
    duration: str  # as written, Locust's format
    rate: float  # iterations per second at the end of the stage


@dataclass(frozen=True)
class Arrivals:
    """The open model: iterations started at a rate whatever the answers' latency."""

    stages: tuple[ArrivalStage, ...]
    start_rate: float  # the rate the first stage ramps from (its own rate when not set)
    max_users: int
    distribution: str  # constant or poisson
    max_dropped_ratio: float


@dataclass(frozen=True)
class ProtectedHost:
    """The host of a target in a protected environment: a run aimed at it is protected, and
    held to that environment's limits, whatever file runs it."""

    host: str
    environment: str
    limits: Limits


@dataclass(frozen=True)
class Target:
    name: str  # <app>_<environment>_<country>, also the generated file's stem
    app: str
    environment: str
    country: str
    sources: tuple[str, ...]  # catalog and simulation, relative to the catalog's folder
    host: str
    users: int | None  # None with stages, which decide; with arrivals, their max_users (-u)
    spawn_rate: float | None  # None with stages or arrivals
    run_time: str | None  # None with stages, which decide (-t ends a run earlier); with arrivals, theirs
    report_html: str | None
    seed: int
    seed_derived: bool
    think_time: ThinkTime
    client: str  # fasthttp or requests
    request_timeout_seconds: float  # from sending to the last byte of the answer
    max_answer_bytes: int  # of one answer's body, read at most
    headers: Mapping[str, RuntimeString]
    endpoints: tuple[Endpoint, ...]
    limits: Limits
    protected: bool
    protected_hosts: tuple[ProtectedHost, ...]  # of every protected target in the catalog
    on_start: tuple[Union[Step, Pause], ...]
    flows: tuple[Flow, ...]
    feeds: tuple[Feed, ...]  # the feeds the target uses, sorted by name
    pacing: Mapping[str, float]  # {} or one of iteration_seconds, iterations_per_second, total_...
    stages: tuple[Stage, ...]
    arrivals: Arrivals | None  # None: the closed model (users)
    iterations: int | None  # per user (closed model) or in all (arrivals); None: until run_time
    task_order: str  # weighted or sequential
    thresholds: Mapping[str, Any]  # frozen, in the merged order
    # The request names (labels included) each threshold scope of requests.<name> and
    # tags.<tag> judges: {"requests": {name: (label, ...)}, "tags": {tag: (label, ...)}}.
    judged_names: Mapping[str, Mapping[str, tuple[str, ...]]]
    origins: Mapping[str, Origin]  # JSON pointer in the resolved configuration -> where it was set
    # JSON pointer of a resolved string (an object key's `${...}` counts for its value) -> the
    # variables it was made with, in order; strings without any are not listed.
    expansions: Mapping[str, tuple[Expansion, ...]]
    populations: tuple[Population, ...] = ()  # () : the template's own keys are the one population
    # The feed files read while resolving it (path -> feeds.read_feed's digest), declared ones
    # it does not use too: inputs of the file for the manifest (manifest.py), not of its text.
    feeds_read: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def origin_of(self, pointer: str) -> Origin:
        return locate(self.origins, pointer)


def locate(origins: Mapping[str, Origin], pointer: str) -> Origin:
    """Where the value at `pointer` was set: the nearest recorded pointer at or above it, with
    the rest of the path appended (an item of a list, say)."""
    suffix = ""
    while pointer not in origins and pointer:
        pointer, last = pointer.rsplit("/", 1)
        suffix = f"/{last}{suffix}"
    origin = origins.get(pointer, Origin("default"))
    return Origin(origin.layer, origin.file, origin.pointer + suffix) if origin.file else origin


def freeze(value: Any) -> Any:
    """JSON data made immutable: objects become read-only mappings, arrays tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    return value


def host_entry(target: Target) -> str:
    """What a protected target gives the protected hosts of every file, as the manifest records it."""
    return repr(ProtectedHost(target.host, target.environment, target.limits))
