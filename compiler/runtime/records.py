"""Run records: run.json, JUnit XML and a JSON summary, written by the master (or the only
process) when asked, so CI that runs plain `locust -f` gets them too.

Part of the runtime inlined into every generated locustfile (compiler/output/render.py). The lines
above the marker are for linters, editors and tests only: in the generated file the prelude,
the configuration block and the earlier parts define these names.
"""

from compiler.runtime.prelude import *  # noqa: F401,F403
from compiler.runtime.configuration import *  # noqa: F401,F403
from compiler.runtime.model import *  # noqa: F401,F403
from compiler.runtime.options import *  # noqa: F401,F403
from compiler.runtime.secrets import *  # noqa: F401,F403
from compiler.runtime.iterations import *  # noqa: F401,F403
from compiler.runtime.arrivals import *  # noqa: F401,F403
from compiler.runtime.arrival_figures import *  # noqa: F401,F403
from compiler.runtime.thresholds import *  # noqa: F401,F403
from compiler.runtime.checks import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- run records -----------------------------------------------------------------------------------

RECORD_OPTIONS = {  # option -> (environment variable, what it writes)
    "--run-record": (
        "LOCUST_RUN_RECORD",
        "the run record (run.json): configuration, verdicts, statistics",
    ),
    "--junit": ("LOCUST_JUNIT", "JUnit XML: one test case per threshold and per request name"),
    "--summary-json": (
        "LOCUST_SUMMARY_JSON",
        "a JSON summary: per-request statistics and verdicts",
    ),
}
RECORD_FORMAT = 1  # of run.json and the summary; bumped when a field changes meaning
# Locust writes its CSV history every second but flushes it every 5 s; `python -m compiler run`
# reads the history for its progress lines, so it is flushed as often as it is written.
locust_stats.CSV_STATS_FLUSH_INTERVAL_SEC = locust_stats.CSV_STATS_INTERVAL_SEC


def add_record_options(parser):
    for flag, (variable, what) in RECORD_OPTIONS.items():
        parser.add_argument(
            flag,
            metavar="FILE",
            env_var=variable,
            default=None,
            help=f"Write {what} to FILE.",
            include_in_web_ui=False,
        )


def record_paths(options):
    return {flag: getattr(options, flag[2:].replace("-", "_")) for flag in RECORD_OPTIONS}


def request_statistics(stats):
    """Per request name and method, and for all requests: counts, ratios, latencies."""
    rows = []
    for entry in [*sorted(stats.entries.values(), key=lambda e: (e.name, e.method)), stats.total]:
        count = entry.num_requests
        rows.append(
            {
                "name": entry.name if entry is not stats.total else None,
                "method": entry.method or None,
                "requests": count,
                "failures": entry.num_failures,
                "error_ratio": entry.num_failures / count if count else None,
                "rps": entry.total_rps,
                "avg_ms": entry.avg_response_time if count else None,
                "min_ms": entry.min_response_time if count else None,
                "max_ms": entry.max_response_time if count else None,
                **{
                    f"p{p}_ms": entry.get_response_time_percentile(p / 100) if count else None
                    for p in (50, 90, 95, 99)
                },
            }
        )
    return rows


def failure_messages(stats):
    """Per request name: (message, occurrences), as the failure table shows them."""
    found = {}
    for error in stats.errors.values():
        message = error.error if isinstance(error.error, str) else str(error.error)
        found.setdefault(error.name, []).append((without_secrets(message), error.occurrences))
    return found


def verdict_rows(rows):
    return [
        {
            "scope": what,
            "key": key,
            "limit": limit,
            "measured": measured,
            "shown": shown_measure(key, measured, held, what),
            "passed": passed,
            **({"for": held["for"], "longest_seconds": held["longest"]} if held else {}),
        }
        for what, key, limit, measured, passed, held in rows
    ]


def check_rows():
    """Per request name with checks: checks made, failed (warnings included) and warned."""
    made, said = check_totals()
    return [
        {
            "name": name,
            "made": counts[0],
            "failed": counts[1],
            "warned": sum(said.get(name, {}).values()),
        }
        for name, counts in sorted(made.items())
        if counts[0]
    ]


def warning_rows():
    """Each check warning (a check with severity warn that failed): name, message, occurrences."""
    return [
        {"name": name, "message": without_secrets(message), "occurrences": count}
        for name, messages in sorted(check_totals()[1].items())
        for message, count in sorted(messages.items(), key=lambda item: -item[1])
    ]


def summary_of(environment, outcome):
    stats = environment.runner.stats
    figures = run.get("arrival_figures")
    return {
        "format": RECORD_FORMAT,
        "target": TARGET,
        "exit_code": outcome["code"],
        "passed": outcome["code"] == 0,
        "problems": outcome["problems"],
        "ended_by": how_the_run_ended(),
        "dropped_iterations": figures["dropped_iterations"] if figures else None,
        "arrivals": figures,
        "generator": run.get("generator"),
        "thresholds": verdict_rows(outcome["thresholds"]),
        "requests": request_statistics(stats),
        "failures": [
            {"name": name, "message": message, "occurrences": count}
            for name, messages in sorted(failure_messages(stats).items())
            for message, count in messages
        ],
        "checks": check_rows(),
        "warnings": warning_rows(),
    }


def run_record(environment, outcome):
    options = environment.parsed_options
    return {
        **summary_of(environment, outcome),
        "app": APP,
        "environment": ENVIRONMENT,
        "country": COUNTRY,
        "configuration": configuration_record(options),
        "seed": options.seed,
        "run_id": options.run_id,
        "started": run.get("started_at"),
        "ended": time.time(),
        "iterations": run["iterations"],
        "stages": STAGES,
        "pacing": PACING,
        "file_digest": DIGEST,
        "locust_version": LOCUST_VERSION,
        "python_version": sys.version.split()[0],
        "workers": (
            len(run.get("ever_admitted", ())) if isinstance(environment.runner, MasterRunner) else 0
        ),
    }


def junit_of(environment, outcome):
    """One test case per threshold and per request name (its failures are its checks' and its
    statuses'), the way CI systems read JUnit XML."""
    cases = []
    for row in outcome["thresholds"]:
        what, key, limit, measured, passed, held = row
        name = f"{what} {threshold_name(what, key, limit, held)}"
        value = shown_measure(key, measured, held, what)
        cases.append(
            ("thresholds", name, None if passed else f"measured {value}", f"measured {value}")
        )
    figures = run.get("arrival_figures")
    if figures:
        cases.append(arrival_case(figures))
    messages = failure_messages(environment.runner.stats)
    for entry in sorted(
        environment.runner.stats.entries.values(), key=lambda e: (e.name, e.method)
    ):
        found = messages.get(entry.name, [])
        text = "; ".join(f"{message} ({count}x)" for message, count in found)
        cases.append(
            (
                "requests",
                f"{entry.method} {entry.name}",
                text or None,
                f"{entry.num_requests} requests, {entry.num_failures} failed",
            )
        )
    warned = {}
    for row in warning_rows():
        warned.setdefault(row["name"], []).append(f"{row['message']} ({row['occurrences']}x)")
    failed = sum(1 for case in cases if case[2])
    suite = ElementTree.Element(
        "testsuite", name=TARGET, tests=str(len(cases)), failures=str(failed), errors="0"
    )
    properties = ElementTree.SubElement(
        suite, "properties"
    )  # how the run ended, as JUnit readers show it
    ElementTree.SubElement(properties, "property", name="ended_by", value=how_the_run_ended())
    for classname, name, failure, output in cases:
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"{TARGET}.{classname}", name=name
        )
        if failure:
            ElementTree.SubElement(case, "failure", message=failure).text = failure
        ElementTree.SubElement(case, "system-out").text = output
    for name, messages in sorted(warned.items()):  # warnings: counted, shown, not failed
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"{TARGET}.warnings", name=f"{name} check warnings"
        )
        text = "; ".join(messages)
        ElementTree.SubElement(case, "skipped", message=text).text = text
        suite.set("tests", str(int(suite.get("tests")) + 1))
        suite.set("skipped", str(int(suite.get("skipped", "0")) + 1))
    for problem in outcome["problems"]:
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"{TARGET}.run", name="the run did what was asked"
        )
        ElementTree.SubElement(case, "failure", message=problem).text = problem
        suite.set("tests", str(int(suite.get("tests")) + 1))
        suite.set("failures", str(int(suite.get("failures")) + 1))
    suites = ElementTree.Element("testsuites")
    suites.append(suite)
    return xml_text(ElementTree.tostring(suites, encoding="unicode", xml_declaration=True)) + "\n"


def arrival_case(figures):
    """The arrivals as one test case: it fails when more than max_dropped_ratio were dropped."""
    ratio, most = figures["dropped_ratio"], figures["max_dropped_ratio"]
    shown = "no iteration scheduled" if ratio is None else f"{ratio:.2%}"
    output = (
        f"{figures['dropped_iterations']} of {figures['scheduled']} iterations dropped ({shown}); "
        + "; ".join(
            f"stage {number} asked {stage['asked_per_second']:.4g}/s reached {stage['reached_per_second']:.4g}/s"
            for number, stage in enumerate(figures["stages"], 1)
            if stage["seconds"]
        )
    )
    failed = ratio is not None and ratio > most
    return (
        "arrivals",
        f"dropped iterations <= {most:.2%}",
        f"dropped {shown} of the scheduled iterations" if failed else None,
        output,
    )


def write_records(environment, outcome):
    """Write every record asked for; what could not be written."""
    writers = {"--run-record": lambda: json.dumps(run_record(environment, outcome), indent=2) + "\n",
               "--summary-json": lambda: json.dumps(summary_of(environment, outcome), indent=2) + "\n",
               "--junit": lambda: junit_of(environment, outcome)}  # fmt: skip
    problems = []
    for flag, path in record_paths(environment.parsed_options).items():
        if path:
            try:
                write_atomically(path, without_secrets(writers[flag]()))
            except OSError as error:
                problems.append(f"{flag} {path} could not be written: {error.strerror or error}")
            except (ValueError, TypeError) as error:  # a bug of ours, said, never a lost record
                problems.append(
                    f"{flag} {path} could not be written: {type(error).__name__}: {error}"
                )
    return problems


def write_atomically(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    partial = run["writing"] = f"{path}.{os.getpid()}.tmp"
    try:
        with open(partial, "w", encoding="utf-8", errors="backslashreplace") as file:
            file.write(text)
        os.replace(partial, path)
    except OSError:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    finally:
        run.pop("writing", None)
