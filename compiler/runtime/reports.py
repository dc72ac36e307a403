"""The run's files: Locust's CSVs rewritten with the final statistics, a folder of its own for
each run, the HTML report written atomically (an earlier one kept under another name).

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

# ---- the generated file holds what follows ----
# -- the run's files -------------------------------------------------------------------------------


def write_final_csvs(environment):
    """Locust's CSV writer writes every second and closes without a last write, so its files
    miss the run's end: the final statistics are written here, the same as the record's, each
    file replaced whole (the history gains its last row). What could not be written."""
    prefix = environment.parsed_options.csv_prefix
    if not prefix:
        return []
    partial = f"{prefix}.{os.getpid()}.final"
    writer = None
    try:
        writer = locust_stats.StatsCSVFileWriter(
            environment,
            locust_stats.PERCENTILES_TO_REPORT,
            partial,
            environment.parsed_options.stats_history_enabled,
        )
        for handle, columns, rows in (
            (
                writer.requests_csv_filehandle,
                writer.requests_csv_columns,
                writer._requests_data_rows,
            ),
            (writer.failures_csv_filehandle, writer.failures_columns, writer._failures_data_rows),
            (
                writer.exceptions_csv_filehandle,
                writer.exceptions_columns,
                writer._exceptions_data_rows,
            ),
        ):
            target = csv.writer(handle)
            target.writerow(columns)
            rows(target)
        history = f"{prefix}_stats_history.csv"
        if os.path.exists(history):
            with open(history, "a", newline="") as file:
                writer._stats_history_data_rows(csv.writer(file), time.time())
        writer.close_files()
        writer = None
        for kind in ("stats", "failures", "exceptions"):
            os.replace(f"{partial}_{kind}.csv", f"{prefix}_{kind}.csv")
    except OSError as error:
        return [
            f"the final statistics could not be written to {prefix}_*.csv: {error.strerror or error}"
        ]
    finally:
        if writer is not None:
            writer.close_files()
        for kind in ("stats", "stats_history", "failures", "exceptions"):
            with contextlib.suppress(OSError):
                os.remove(f"{partial}_{kind}.csv")
    return []


def into_a_run_folder(options):
    """A run with the template's report path goes into a folder of its own beside it, as
    `python -m compiler run` does (data/results/<target>/<UTC time>/report.html, with its run
    record): every run in one place, none overwritten, each one listed by the results index.
    A report path from the command line, a variable or a config file is used as it is."""
    if not options.html_file or source_of("html_file") != "template":
        return None
    base = os.path.dirname(options.html_file)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for number in itertools.count(1):
        folder = os.path.join(base, stamp if number == 1 else f"{stamp}-{number}")
        try:
            os.makedirs(folder)
            break
        except FileExistsError:
            continue
        except OSError as error:
            return f"the run's folder {folder} could not be made: {error.strerror or error}"
    options.html_file = os.path.join(folder, os.path.basename(options.html_file))
    if not options.run_record:
        options.run_record = os.path.join(folder, "run.json")
    log.info("This run's folder: %s (report and run record)", folder)
    return None


def write_report(environment, path):
    """Write the HTML report atomically, also when the run was interrupted; what went wrong,
    if anything. An earlier report at the same path is kept under a name with its time."""
    options = copy.copy(environment.parsed_options)
    options.html_file = path
    process_html_filename(options)
    path = options.html_file
    partial = run["writing"] = f"{path}.{os.getpid()}.tmp"
    try:
        problems = report_problems(path)
        if problems:
            return problems
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(partial, "w", encoding="utf-8") as report:
            report.write(without_secrets(get_html_report(environment, show_download_link=False)))
        if os.path.lexists(path):
            log.info("The earlier report at %s is kept as %s", path, keep_earlier(path))
        os.replace(partial, path)
    except OSError as error:
        if os.path.exists(partial):
            os.remove(partial)
        return [f"the HTML report could not be written to {path}: {error.strerror or error}"]
    finally:
        run.pop("writing", None)
    log.info("HTML report written to %s", path)
    return []


def keep_earlier(path):
    """Give the earlier report a second name, from the time it was written (report.html ->
    report.20261124-013005.html), never one in use; the report's own name is replaced next."""
    stem, extension = os.path.splitext(path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(os.path.getmtime(path)))
    for number in itertools.count(1):
        kept = (
            f"{stem}.{stamp}{extension}" if number == 1 else f"{stem}.{stamp}-{number}{extension}"
        )
        try:
            os.link(path, kept)  # fails if the name is taken, even by a run writing right now
            return kept
        except FileExistsError:
            continue
        except OSError:  # no hard links here: a rename, checked first
            if not os.path.lexists(kept):
                os.rename(path, kept)
                return kept
