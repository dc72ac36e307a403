"""What a target's configuration block defines (templates/target.py.j2), with example values:
the names the runtime parts read, for linters, editors and tests. Never inlined; a test checks
that every generated file defines exactly these names."""

from compiler.runtime.prelude import *  # noqa: F401,F403

TARGET = "example_local_mx"
APP, ENVIRONMENT, COUNTRY = "example", "local", "mx"
DEFAULTS = {
    "host": "http://127.0.0.1:8765",
    "num_users": 1,
    "spawn_rate": 1,
    "run_time": "10s",
    "html_file": None,
    "seed": 1,
    "iterations": None,
    "task_order": "weighted",
}
SEED_DERIVED_FROM_TARGET = False
LIMITS = {"max_users": None, "max_spawn_rate": None, "max_run_time": None}
PROTECTED = False
PROTECTED_HOSTS = {}
CLIENT = "fasthttp"
REQUEST_TIMEOUT_SECONDS = 60
MAX_ANSWER_BYTES = 64 * 1024 * 1024
THINK_TIME_SECONDS = (0, 0)
HEADERS = {}
ENDPOINTS = [{"name": "home", "method": "GET", "path": "/", "weight": 1}]
ON_START = []
FLOWS = []
FEEDS = {}
PACING = {}
STAGES = []
ARRIVALS = {}
THRESHOLDS = {}
JUDGED_NAMES = {}
POPULATIONS = {}
