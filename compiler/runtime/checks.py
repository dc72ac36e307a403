"""Checks before any load, and the printed configuration.

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

# ---- the generated file holds what follows ----
# -- checks before any load ------------------------------------------------------------------------


def guard_for(host):
    """(protected environment or None, limits) for a run aimed at `host`: this target's, made
    stricter by those of a protected environment whose host it is, whatever file runs it."""
    limits, protected_by = dict(LIMITS), ENVIRONMENT if PROTECTED else None
    for protected_host, (environment, its_limits) in PROTECTED_HOSTS.items():
        if origin(protected_host) == origin(str(host)):
            protected_by = protected_by or environment
            for key, value in its_limits.items():
                if value is not None and (
                    limits[key] is None or seconds_of(value) < seconds_of(limits[key])
                ):
                    limits[key] = value
    return protected_by, limits


def seconds_of(limit):
    return parse_timespan(limit) if isinstance(limit, str) else limit


def host_problems(host, allow_protected):
    """What is wrong with aiming the run at `host`, from the command line or the web UI."""
    if not str(host).startswith(("http://", "https://")):
        return [f"host {host!r} must start with http:// or https://"]
    protected_by, _limits = guard_for(host)
    if protected_by and not allow_protected:
        own = protected_by == ENVIRONMENT and origin(host) == origin(DEFAULTS["host"])
        what = (
            f"environment {protected_by} is protected"
            if own
            else f"{host} is a host of environment {protected_by}, which is protected"
        )
        return [f"{what}: add --allow-protected (or LOCUST_ALLOW_PROTECTED=true) to run against it"]
    return []


def problems_with(options, workers=1):
    """Everything about the run's settings that must stop it before any load."""
    found = []
    if options.num_users is not None and options.num_users < 0:
        found.append(f"users {options.num_users} must be 0 or more")
    found += host_problems(options.host, options.allow_protected)
    protected_by, limits = guard_for(options.host)
    whose = f"environment {protected_by or ENVIRONMENT}"
    found += iteration_problems(options)
    if open_model(options):  # users start as the schedule needs them, up to num_users
        found += arrival_problems_before(options, workers)
        users, rate, run_time, where = options.num_users or 0, 0, options.run_time, "arrivals' max_"
    elif STAGES and not options.smoke:  # the stages decide: every stage, and the whole shape
        plan = stage_plan(options)
        users, rate, run_time = max(s[1] for s in plan), max(s[2] for s in plan), plan[-1][0]
        where = "a stage's "
    else:
        users, rate, run_time, where = (
            options.num_users or 0,
            options.spawn_rate or 0,
            options.run_time,
            "",
        )
    if limits["max_users"] is not None and users > limits["max_users"]:
        found.append(
            f"{where}users {users} is above the max_users of {whose}, {limits['max_users']}"
        )
    elif users > MAX_USERS_PER_PROCESS * workers:
        found.append(
            f"users {users} is more than {workers} Locust process(es) can start (at most "
            f"{MAX_USERS_PER_PROCESS} each): spread them over workers (--processes, --master/--worker)"
        )
    if limits["max_spawn_rate"] is not None and rate > limits["max_spawn_rate"]:
        found.append(
            f"{where}spawn_rate {rate:g} is above the max_spawn_rate of {whose}, {limits['max_spawn_rate']}"
        )
    if limits["max_run_time"] is not None:
        limit = parse_timespan(limits["max_run_time"])
        if not run_time or run_time > limit:  # Locust runs forever on 0
            shown = f"{run_time}s" if run_time else "0 (no limit)"
            what = "the stages' duration" if STAGES and not options.smoke else "run_time"
            found.append(
                f"{what} {shown} is above the max_run_time of {whose}, {limits['max_run_time']} ({limit}s)"
            )
    if options.html_file:
        found += report_problems(options.html_file)
    for flag, path in record_paths(options).items():
        if path:
            found += [problem.replace("html report", flag, 1) for problem in report_problems(path)]
    return found + metrics_problems(options)


def report_problems(path):
    """Whether the HTML report can be written where asked, checked before any load by writing
    a file there: a device, a folder or a folder no file can be made in is refused."""
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            return [f"html report {path} is a folder; name a file"]
        if not stat.S_ISREG(os.stat(path).st_mode):
            return [
                f"html report {path} is not a regular file (a device or a pipe?); name a file or a new name"
            ]
    except (FileNotFoundError, NotADirectoryError):
        pass  # a new name, or a link to none; its folder is checked below
    except OSError as error:
        return [f"html report {path} cannot be written: {error.strerror}"]
    existing = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    try:
        probe, probe_path = tempfile.mkstemp(prefix=".report-probe-", dir=existing)
        os.close(probe)
        os.remove(probe_path)
    except OSError as error:
        return [
            f"html report {path} cannot be written: {existing} is not a writable folder ({error.strerror})"
        ]
    return []


def unsendable_headers(requests):
    """Header values made with ${env:...} that HTTP cannot carry as they are; what the variables
    hold is not shown, only what is wrong with it."""
    found = []
    for request in requests:
        for name, raw in request.raw_headers.items():
            value = request.headers.get(name)
            if not isinstance(value, str):  # made with a capture: checked when it is sent
                continue
            if any(ord(c) < 32 or ord(c) == 127 for c in value):
                why = "holds a line break or another control character (a newline at the end of the variable?)"
            elif not value.isascii():
                why = "holds characters other than ASCII, which a header cannot carry as they are"
            elif value.startswith((" ", "\t")):
                why = "starts with a space, which python-requests refuses and HTTP drops"
            else:
                continue
            line = f"header {name} ({redact(raw)}) {why}"
            if line not in found:
                found.append(line)
    return found


def unset_variables(missing):
    return [
        f"environment variable {name} is {'set but empty' if name in os.environ else 'not set'}; "
        "the simulation reads it as ${env:" + name + "} (set it, or write it in .env or --env-file)"
        for name in sorted(missing)
    ]


def configuration_record(options):
    """The resolved run settings, each with where it came from; secrets stay redacted."""
    values = {
        "host": options.host, "num_users": options.num_users, "spawn_rate": options.spawn_rate,
        "run_time": run.get("arrivals_run_time", options.run_time),
        "html_file": run.get("html_file_asked", options.html_file), "seed": options.seed,
        "iterations": options.iterations, "task_order": options.task_order,
    }  # fmt: skip
    protected_by, limits = guard_for(options.host)
    return {
        **{
            dest: {"value": value, "source": source_of(dest), "option": OPTION_FLAGS[dest]}
            for dest, value in values.items()
        },
        "limits": limits,
        "protected": protected_by,
        "client": CLIENT,
        "headers": redact(HEADERS),
    }


def describe(options):
    """The resolved configuration, each value with its source; secrets stay redacted."""
    undecided = "set by the stages" if STAGES else "none"
    shown = {
        "host": options.host,
        "num_users": options.num_users if options.num_users is not None else undecided,
        "spawn_rate": f"{options.spawn_rate:g}" if options.spawn_rate is not None else undecided,
        "run_time": f"{options.run_time}s" if options.run_time is not None else undecided,
        "html_file": options.html_file or "none",
        "seed": options.seed,
    }
    lines = [f"Simulation {TARGET} (app {APP}, environment {ENVIRONMENT}, country {COUNTRY})"]
    if EDITED_BY_HAND:
        lines.append(
            f"  {'warning':<11} this file was edited by hand since it was generated (its body no longer "
            "matches its compiler-digest): it runs as it is; move the change into the sources and "
            "`make compile`"
        )
    width = max(
        42, *(len(str(value)) + 1 for value in shown.values())
    )  # a long path keeps its column
    for dest, value in shown.items():
        lines.append(f"  {dest:<11} {value!s:<{width}} {source_of(dest)} [{OPTION_FLAGS[dest]}]")
    protected_by, limits = guard_for(options.host)
    if str(options.host).rstrip("/") != DEFAULTS["host"].rstrip("/"):
        also = (
            f"; it is a host of protected environment {protected_by}"
            if protected_by and protected_by != ENVIRONMENT
            else ""
        )
        lines.append(
            f"  {'warning':<11} host {options.host} is not the catalog's host for {TARGET} ({DEFAULTS['host']}){also}"
        )
    shown_limits = ", ".join(f"{key}={value}" for key, value in limits.items() if value is not None)
    lines.append(f"  {'limits':<11} {shown_limits or 'none'}")
    lines.append(
        f"  {'protected':<11} {'yes, environment ' + protected_by if protected_by else 'no'}"
    )
    lines.append(
        f"  {'client':<11} {USER_CLASS.__name__}, requests time out after {REQUEST_TIMEOUT_SECONDS:g}s"
    )
    if open_model(options):
        lines.append(arrival_line(options))
        if run.get("run_time_cut") is not None:
            lines.append(
                f"  {'':<11} the run ends with the arrivals' last stage, at {ARRIVALS_SECONDS}s "
                f"(run_time {run['run_time_cut']} asked)"
            )
    elif not NAMED_POPULATIONS:  # with populations, each says its own
        lines.append(pace_line(PACING, THINK_TIME_SECONDS))
    env_file, from_file = run.get("env_file", (None, []))
    if env_file:
        taken = ", ".join(from_file) or "none of the variables this file reads"
        lines.append(f"  {'env_file':<11} {env_file}: {taken}")
    lines += iteration_lines(options)
    for key, value in redact(HEADERS).items():
        lines.append(f"  {'header':<11} {key}: {value}")
    for population in POPULATIONS:
        lines += task_lines(population, options)
    for name, feed in FEEDS.items():
        lines.append(
            f"  {'feed':<11} {name}: {len(feed.rows)} rows, {feed.mode}"
            + (f", when exhausted {feed.when_exhausted}" if feed.mode == "unique" else "")
        )
    if STAGES and not options.smoke:
        plan = stage_plan(options)
        lines.append(
            f"  {'stages':<11} "
            + ", ".join(f"until {end:g}s {users} users at {rate:g}/s" for end, users, rate in plan)
            + " (-u and -r cap every stage, -t ends the run earlier)"
        )
    lines += threshold_lines()
    return "\n".join(lines)


def pace_line(pacing, think_time):
    if pacing:
        ((key, value),) = pacing.items()
        return f"  {'pacing':<11} {key} {value:g}"
    return f"  {'think_time':<11} {seconds_span(*think_time)}"


def task_lines(population, options):
    """A population's share, pace and headers (with populations), its on_start and its tasks,
    each with its share of the population's iterations."""
    lines = []
    if NAMED_POPULATIONS:
        weights = sum(p.weight for p in POPULATIONS if not p.fixed_count)
        share = (
            f"exactly {population.fixed_count} user(s)"
            if population.fixed_count
            else f"weight {population.weight}/{weights} of the other users"
        )
        tags = f", tags {', '.join(population.tags)}" if population.tags else ""
        pace = pace_line(population.pacing, population.think_time_seconds).split(None, 1)
        lines.append(f"  {'population':<11} {population.name}: {share}, {pace[0]} {pace[1]}{tags}")
        for key, value in redact(population.headers).items():
            lines.append(f"  {'header':<11} {key}: {value} ({population.name})")
        if options.tags or options.exclude_tags:
            own = [set(task.tags) for task in (*population.endpoints, *population.flows)]
            tags_asked, excluded = set(options.tags or ()) or None, set(options.exclude_tags or ())
            if not any(
                (tags_asked is None or its & tags_asked) and not its & excluded for its in own
            ):
                lines.append(
                    f"  {'':<11} no task of {population.name} is left by --tags/--exclude-tags: its users "
                    "run on_start and stop"
                )
    total = sum(item.weight for item in (*population.endpoints, *population.flows))
    for step in population.on_start:
        lines.append(f"  {'on_start':<11} {step_line(step)}")
    for endpoint in population.endpoints:
        share = f"{endpoint.weight}/{total}"
        line = (
            f"  {'endpoint':<11} {endpoint.name:<20} {share:<7} {step_line(endpoint, named=False)}"
        )
        lines.append(line)
    for flow in population.flows:
        lines.append(
            f"  {'flow':<11} {flow.name:<20} {f'{flow.weight}/{total}':<7} {len(flow.steps)} steps"
        )
        lines += [f"  {'':<11}   {step_line(step)}" for step in flow.steps]
    return lines


def threshold_lines():
    """The thresholds as the run judges them: each scope's limits, `for`, abort."""
    lines = []
    for what, _names, limits in scopes():
        held = f" for {limits['for']} in a row (judged every second)" if "for" in limits else ""
        for key in (*REQUEST_KEYS, *RUN_KEYS):
            if key in limits:
                sign = ">=" if key.startswith("min_") else "<="
                lines.append(
                    f"  {'threshold':<11} {what} {key} {sign} {limits[key]:g}"
                    + (held if key not in RUN_KEYS else "")
                )
    if ABORT:
        levels = ", ".join(f"{key} {ABORT[key]:g}" for key in ABORT_LEVELS)
        held = f", breached for {ABORT['for']} in a row" if "for" in ABORT else ""
        lines.append(
            f"  {'threshold':<11} abort on the first breach after {ABORT.get('after')}"
            + (
                f" of its own levels ({levels})"
                if levels
                else " of the error ratio and latency limits"
            )
            + held
        )
    return lines


def seconds_span(low, high):
    """'2s' for a constant, '0.5-2s' for a uniform draw."""
    return f"{low:g}s" if low == high else f"{low:g}-{high:g}s"


def step_line(step, named=True):
    if isinstance(step, Pause):
        return f"pause {seconds_span(step.min, step.max)}"
    extras = [f"as {json.dumps(step.label, ensure_ascii=False)}"] if step.label is not None else []
    extras += [f"capture {', '.join(step.capture)}"] if step.capture else []
    extras += [f"{len(step.checks)} check(s)"] if step.checks else []
    if step.when is not None:
        holds = (
            "is set"
            if step.when.get("exists") is True
            else (
                "is not set"
                if "exists" in step.when
                else "equals " + json.dumps(step.when["equals"])
            )
        )
        extras.append(f"only when {step.when['capture']} {holds}")
    if step.retry is not None:
        extras.append(
            f"retry {step.retry['times']}x on {', '.join(map(str, step.retry['on']))}"
            + (f", {step.retry['pause']:g}s apart" if step.retry["pause"] else "")
        )
    if step.repeat is not None:
        extras.append(f"{step.repeat} times in a row")
    return (
        (f"{step.name} " if named else "")
        + f"{step.method} {redact(step.path)}"
        + (f" ({'; '.join(extras)})" if extras else "")
    )
