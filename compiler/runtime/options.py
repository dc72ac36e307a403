"""Options and precedence: the template's values as Locust's defaults, and where each came from.

Part of the runtime inlined into every generated locustfile (compiler/output/render.py). The lines
above the marker are for linters, editors and tests only: in the generated file the prelude,
the configuration block and the earlier parts define these names.
"""

from compiler.runtime.prelude import *  # noqa: F401,F403
from compiler.runtime.configuration import *  # noqa: F401,F403
from compiler.runtime.model import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- options and precedence ------------------------------------------------------------------------

OPTION_FLAGS = {
    "host": "-H/LOCUST_HOST",
    "num_users": "-u/LOCUST_USERS",
    "spawn_rate": "-r/LOCUST_SPAWN_RATE",
    "run_time": "-t/LOCUST_RUN_TIME",
    "html_file": "--html/LOCUST_HTML/REPORT_HTML",
    "seed": "--seed/LOCUST_SEED",
    "iterations": "--iterations/LOCUST_ITERATIONS",
    "task_order": "--task-order/LOCUST_TASK_ORDER",
}
USER_CLASS = {"fasthttp": FastHttpUser, "requests": HttpUser}[CLIENT]
# FastHttpUser takes its timeouts as class attributes (below); HttpUser, per request.
CLIENT_OPTIONS = {"timeout": REQUEST_TIMEOUT_SECONDS} if CLIENT == "requests" else {}
HELLO_SECONDS = 15  # a worker that says nothing about itself this long after connecting is refused
MASTER_SILENCE_SECONDS = 10  # a worker whose master has not answered this long stops by itself
MAX_USERS_PER_PROCESS = 100_000  # far beyond what one Locust process can drive; a typo above it
log = logging.getLogger(TARGET)
# per process: the parser, the report path, runs started, the spawn counter...
run = {"runs": 0, "iterations": 0}


def refuse_a_second_file():
    """Two generated files in one Locust (-f a.py,b.py) would share options, checks and the
    report: each file is a whole run. Say so before Locust fails on duplicate class names."""
    other = getattr(events, "simulation_target", None)
    if other is not None and other != TARGET:
        sys.stderr.write(
            f"{TARGET}: cannot run in one Locust with {other}: a generated file is a whole run; "
            "run the files one after another (python -m compiler run runs several)\n"
        )
        sys.exit(2)
    events.simulation_target = TARGET


refuse_a_second_file()


@events.init_command_line_parser.add_listener
def add_options(parser, **_kwargs):
    """Bake the template's values in as defaults, below cli, env and config file."""
    parser.add_argument(
        "--seed",
        type=int,
        env_var="LOCUST_SEED",
        help="Seed of every user's random generator.",
    )
    parser.add_argument(
        "--check-config",
        action="store_true",
        env_var="LOCUST_CHECK_CONFIG",
        help="Print the resolved configuration, check it and exit (0 ok, 2 invalid).",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--allow-protected",
        action="store_true",
        env_var="LOCUST_ALLOW_PROTECTED",
        help="Allow a run against a protected environment.",
        include_in_web_ui=False,
    )
    add_iteration_options(parser)
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        env_var="LOCUST_ENV_FILE",
        help="Read the ${env:...} variables this file uses from FILE (NAME=VALUE lines); default: "
        ".env in the current folder, when there is one. Variables already set win.",
        include_in_web_ui=False,
    )
    add_record_options(parser)
    add_metrics_options(parser)
    if "REPORT_HTML" in os.environ and "LOCUST_HTML" not in os.environ:
        os.environ["LOCUST_HTML"] = os.environ["REPORT_HTML"]
        run["html_file_variable"] = "REPORT_HTML"
    # The web UI listens on this machine only, unless --web-host says otherwise.
    parser.set_defaults(headless=True, web_host="127.0.0.1", **DEFAULTS)
    run["parser"] = parser


def source_of(dest):
    """Where an option's value came from: cli, env NAME, config file PATH or template."""
    parser = run["parser"]
    action = next(a for a in parser._actions if a.dest == dest)
    for source, settings in parser.get_source_to_settings_dict().items():
        if source == "command_line":
            if any(names_option(arg, action.option_strings) for arg in settings[""][1]):
                return "cli"
        elif source == "environment_variables":
            for variable, (setting_action, _value) in settings.items():
                if setting_action is action:
                    if dest == "html_file":
                        variable = run.get("html_file_variable", variable)
                    return f"env {variable}"
        elif source.startswith("config_file"):
            for key, (setting_action, _value) in settings.items():
                word = ("-" if len(key) == 1 else "--") + key  # `u = 5` works like -u 5
                if setting_action is action or names_option(word, action.option_strings):
                    return f"config file {source.split('|', 1)[1]}"
    if dest == "seed" and SEED_DERIVED_FROM_TARGET:
        return f"template (derived from the target name {TARGET})"
    return "template"


def names_option(arg, option_strings):
    """Whether a command line word sets the option: -u5, -u 5, --users=5, or --use 5, an
    abbreviation argparse accepted only because it is unambiguous."""
    head = arg.split("=", 1)[0]
    for option in option_strings:
        if len(option) == 2 and arg.startswith(option) and not arg.startswith("--"):
            return True
        if head.startswith("--") and len(head) > 2 and option.startswith(head):
            return True
    return False
