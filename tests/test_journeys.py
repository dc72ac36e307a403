"""Journeys in the compiler: layers of the new keys, references, feeds, and the rendered block."""

import copy
import json
import re

import pytest

from compiler.sources.jsonpath import JsonPathError, parse_json_path
from compiler.resolve.model import CaptureRef, FeedRef, JsonPath, Pause, Step, Text
from compiler.output.render import py_literal, py_tuple, render_target
from conftest import CATALOG, ROOT, SIMULATION
from test_resolve import resolve

SPEC_EXAMPLE = {
    "host": "https://${country}.${domain}", "users": 50, "spawn_rate": 5, "run_time": "10m",
    "feeds": {"shoppers": {"file": "feeds/shoppers_${country}.csv", "mode": "unique", "when_exhausted": "stop_user"}},
    "on_start": [
        {"name": "login", "method": "POST", "path": "/login",
         "json": {"email": "${feed:shoppers.email}", "password": "${env:SHOPPER_PASSWORD}"},
         "capture": {"token": {"json": "$.token"}}}
    ],
    "headers": {"Authorization": "Bearer ${capture:token}"},
    "endpoints": [{"name": "home", "path": "/", "weight": 3, "tags": ["browse"]}],
    "flows": [
        {"name": "buy", "weight": 1, "tags": ["checkout"], "steps": [
            {"name": "list", "path": "/products", "query": {"country": "${country}"},
             "checks": [{"json": "$.items", "exists": True}],
             "capture": {"sku": {"json": "$.items[0].sku"}}},
            {"pause": {"min": 1, "max": 3}},
            {"name": "add_to_cart", "method": "POST", "path": "/cart",
             "json": {"sku": "${capture:sku}", "qty": 1, "currency": "${currency}"},
             "expect_status": [200, 201],
             "checks": [{"json": "$.currency", "equals": "${currency}"}, {"max_ms": 800}],
             "capture": {"cart": {"header": "X-Cart-Id"}}},
            {"name": "pay", "method": "POST", "path": "/cart/${capture:cart}/pay",
             "form": {"method": "card"}, "checks": [{"body_contains": "paid"}]}
        ]}
    ],
    "stages": [{"duration": "2m", "users": 20, "spawn_rate": 2},
               {"duration": "5m", "users": 50, "spawn_rate": 5},
               {"duration": "1m", "users": 0, "spawn_rate": 10}],
    "thresholds": {"error_ratio": 0.01, "p95_ms": 800, "min_rps": 20,
                   "requests": {"pay": {"p99_ms": 1500, "error_ratio": 0}}, "abort": {"after": "30s"}},
}

EXPECTED_BLOCK = '''THINK_TIME_SECONDS = (0, 0)  # (min, max), uniform; (0, 0) with pacing
# {} or one of iteration_seconds, iterations_per_second (per user), total_iterations_per_second.
PACING = {}
HEADERS = {"Authorization": Text("Bearer ", Captured("token"))}

# Run once by each user when it starts; its captures and feed rows stay for the user's life.
ON_START = [
    {
        "name": "login",
        "method": "POST",
        "path": "/login",
        "json": {"email": FromFeed("shoppers", "email"), "password": Text(Env("SHOPPER_PASSWORD"))},
        "capture": {
            "token": {"json": Json("$.token", "token")},
        },
    },
]

# Chosen by weight, with the flows: an endpoint is a flow of one step.
ENDPOINTS = [
    {
        "name": "home",
        "method": "GET",
        "path": "/",
        "weight": 3,
        "tags": ("browse",),
    },
]

# Each iteration of a flow runs its steps in order; a failed step ends it (unless continue_on_failure).
FLOWS = [
    {
        "name": "buy",
        "weight": 1,
        "tags": ("checkout",),
        "steps": [
            {
                "name": "list",
                "method": "GET",
                "path": "/products",
                "query": {"country": "mx"},
                "capture": {
                    "sku": {"json": Json("$.items[0].sku", "items", 0, "sku")},
                },
                "checks": [
                    {"json": Json("$.items", "items"), "exists": True},
                ],
            },
            {"pause": {"min": 1, "max": 3}},
            {
                "name": "add_to_cart",
                "method": "POST",
                "path": "/cart",
                "json": {"sku": Captured("sku"), "qty": 1, "currency": "MXN"},
                "expect_status": [200, 201],
                "capture": {
                    "cart": {"header": "X-Cart-Id"},
                },
                "checks": [
                    {"json": Json("$.currency", "currency"), "equals": "MXN"},
                    {"max_ms": 800},
                ],
            },
            {
                "name": "pay",
                "method": "POST",
                "path": Text("/cart/", Captured("cart"), "/pay"),
                "form": {"method": "card"},
                "checks": [
                    {"body_contains": "paid"},
                ],
            },
        ],
    },
]

# Kinds of users, each a Locust user class with its own login, tasks and pace, its headers over
# HEADERS and its tags on each of its tasks: users are shared by weight, or exactly fixed_count of
# them (started first). {}: the template's own keys above are the one kind.
POPULATIONS = {}

# A load shape: each stage runs `duration` at `users`, reached at `spawn_rate`. [] for none.
STAGES = [
    {"duration": "2m", "users": 20, "spawn_rate": 2},
    {"duration": "5m", "users": 50, "spawn_rate": 5},
    {"duration": "1m", "users": 0, "spawn_rate": 10},
]

# The open model: task iterations started at a rate (per second, for the whole run) whatever the
# answers' latency, by at most max_users users (DEFAULTS' num_users, -u); {} for the closed model.
ARRIVALS = {}

# Pass or fail at the end of the run (exit 3 when any fails), or second by second with "for";
# "abort" judges during the run; {} for none.
THRESHOLDS = {
    "error_ratio": 0.01,
    "p95_ms": 800,
    "min_rps": 20,
    "requests": {"pay": {"p99_ms": 1500, "error_ratio": 0}},
    "abort": {"after": "30s"},
}
# The request names (Locust's: labels included) each threshold of requests.<name> and tags.<tag> judges.
JUDGED_NAMES = {"requests": {"pay": ["pay"]}}

# A run aimed at the host of a protected environment (-H, LOCUST_HOST, the web UI) is protected
# too, and held to that environment's limits, whatever file runs it: host -> (environment, limits).
PROTECTED_HOSTS = {
    "https://mx.example.com": (
        "prod",
        {"max_users": 100, "max_spawn_rate": None, "max_run_time": None},
    ),
}

# The rows of each feed this target reads, embedded: only the columns it uses (sorted), rows in the
# file's order.
FEEDS = {
    "shoppers": {
        "mode": "unique",
        "when_exhausted": "stop_user",
        "columns": ("email",),
        "rows": (("a@shop.test",), ("b@shop.test",)),
    },
}
'''


ROOMY = copy.deepcopy(CATALOG)
ROOMY["environments"]["prod"]["limits"] = {"max_users": 100}


@pytest.fixture
def journey(project, tmp_path):
    """project(simulation) with feed files for mx and br next to the catalog."""
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "shoppers_mx.csv").write_text("name,email\nAna,a@shop.test\nBeto,b@shop.test\n")
    (tmp_path / "feeds" / "shoppers_br.csv").write_text("email,name\nc@shop.test,Caio\n")
    return lambda catalog=None, simulation=None: project(catalog or ROOMY, simulation)


def test_the_spec_example_renders_the_contract(journey):
    targets, problems = resolve(journey, SPEC_EXAMPLE)
    assert problems == []
    source = render_target(targets["shop_qa_mx"])
    start = source.index("THINK_TIME_SECONDS")
    end = source.index("\n\n\n", source.index("THRESHOLDS = "))
    assert source[start:end + 1] == EXPECTED_BLOCK
    assert '"num_users": None,\n    "spawn_rate": None,\n    "run_time": None,' in source
    br = targets["shop_qa_br"].feeds[0]
    assert (br.columns, br.rows) == (("email",), (("c@shop.test",),))


def test_json_paths_of_the_subset():
    assert parse_json_path("$") == ()
    assert parse_json_path("$.items[0].sku") == ("items", 0, "sku")
    assert parse_json_path("$['a b'][-1]") == ("a b", -1)
    for text in ("$.items[*]", "$..a", "items", "$.a[0:2]"):
        with pytest.raises(JsonPathError):
            parse_json_path(text)
    assert py_literal(JsonPath("$", ())) == "Json('$')"


def test_literals_of_runtime_references():
    assert py_literal(CaptureRef("sku")) == "Captured('sku')"
    assert py_literal(FeedRef("shoppers", "email")) == "FromFeed('shoppers', 'email')"
    assert py_literal(Text(("/cart/", CaptureRef("c")))) == "Text('/cart/', Captured('c'))"
    assert py_tuple(("a",)) == "('a',)" and py_tuple((("a",), ("b",))) == "(('a',), ('b',))" and py_tuple(()) == "()"


def test_flows_and_on_start_merge_by_name_steps_replace(journey):
    simulation = copy.deepcopy(SPEC_EXAMPLE)
    simulation["on_start"].append({"pause": 2})
    simulation["overrides"] = {
        "environments": {"qa": {
            "flows": [{"name": "buy", "weight": 4, "steps": [{"name": "only", "path": "/only"}]},
                      {"name": "browse", "steps": [{"name": "list2", "path": "/l"}]}],
            "on_start": [{"name": "login", "path": "/signin", "capture": {"token": {"header": "X-Token"}}}],
        }},
        "countries": {"br": {"flows": [{"name": "buy", "enabled": False}], "on_start": [{"name": "login", "enabled": False}]}},
    }
    simulation["headers"] = {}
    del simulation["thresholds"]["requests"]
    targets, problems = resolve(journey, simulation)
    assert problems == []
    mx = targets["shop_qa_mx"]
    assert [(f.name, f.weight, [s.name for s in f.steps]) for f in mx.flows] == [("buy", 4, ["only"]), ("browse", 1, ["list2"])]
    login = mx.on_start[0]
    assert (login.path, login.method, dict(login.capture)) == ("/signin", "POST", {"token": {"header": "X-Token"}})
    assert mx.on_start[1] == Pause(2, 2)
    assert mx.origin_of("/on_start/login/path").layer == "environments.qa"
    assert mx.origin_of("/flows/buy/steps/0/path").pointer == "/overrides/environments/qa/flows/0/steps/0/path"
    br = targets["shop_qa_br"]
    assert [f.name for f in br.flows] == ["browse"] and br.on_start == (Pause(2, 2),)
    assert [f.name for f in targets["shop_prod_mx"].flows] == ["buy"]


def test_feeds_and_thresholds_merge_key_by_key_stages_and_pacing_replace(journey):
    simulation = copy.deepcopy(SPEC_EXAMPLE)
    simulation["pacing"] = {"iteration_seconds": 2}
    simulation["overrides"] = {
        "environments": {"qa": {"feeds": {"shoppers": {"mode": "random"}}, "pacing": {"iterations_per_second": 0.5},
                                "thresholds": {"p95_ms": 900, "requests": {"pay": {"error_ratio": 0.1}}},
                                "stages": [{"duration": "1m", "users": 3, "spawn_rate": 1}]}},
    }
    targets, problems = resolve(journey, simulation)
    assert problems == []
    qa, prod = targets["shop_qa_mx"], targets["shop_prod_mx"]
    assert qa.feeds[0].mode == "random" and qa.feeds[0].when_exhausted == "stop_user"
    assert dict(qa.pacing) == {"iterations_per_second": 0.5} and dict(prod.pacing) == {"iteration_seconds": 2}
    assert qa.think_time.min == qa.think_time.max == 0
    assert qa.thresholds["p95_ms"] == 900 and qa.thresholds["error_ratio"] == 0.01
    assert dict(qa.thresholds["requests"]["pay"]) == {"p99_ms": 1500, "error_ratio": 0.1}
    assert [s.users for s in qa.stages] == [3] and len(prod.stages) == 3
    assert qa.origin_of("/thresholds/requests/pay/p99_ms").layer == "template"


def test_without_stages_users_spawn_rate_run_time_stay_required(project):
    simulation = copy.deepcopy(SIMULATION)
    del simulation["users"]
    simulation["overrides"] = {"environments": {"qa": {"users": 3}}}
    targets, problems = resolve(project, simulation)
    assert problems == [
        "/: missing required key 'users' (after overrides): a simulation without stages or arrivals needs users, "
        "spawn_rate and run_time (for target shop_prod_mx)"
    ]
    assert targets["shop_qa_mx"].users == 3


def test_stages_decide_over_users(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation["overrides"] = {"environments": {"prod": {"users": 500, "stages": [{"duration": "1m", "users": 5, "spawn_rate": 1}]}}}
    catalog = copy.deepcopy(CATALOG)
    targets, problems = resolve(project, simulation, catalog)
    assert problems == []
    prod = targets["shop_prod_mx"]
    assert (prod.users, prod.spawn_rate, prod.run_time) == (None, None, None)  # the stages decide


def test_capture_references(journey):
    simulation = copy.deepcopy(SPEC_EXAMPLE)
    simulation["endpoints"][0]["path"] = "/u/${capture:sku}"
    simulation["on_start"][0]["headers"] = {"X-T": "${capture:token}"}
    _, problems = resolve(journey, simulation, names={"shop_qa_mx"})
    assert problems == [
        "/on_start/0/headers/X-T: '${capture:token}' is not captured before it is used: it must be captured by the "
        "earlier steps of on_start ('token' is captured by this step or a later one, from its answer); captured by "
        "then: none (for target shop_qa_mx)",
        "/endpoints/0/path: '${capture:sku}' is not captured before it is used: it must be captured by on_start "
        "(an endpoint is a step of its own); captured by then: token (for target shop_qa_mx)",
    ]


def test_a_capture_patched_by_a_layer_is_replaced_not_merged(journey):
    simulation = copy.deepcopy(SPEC_EXAMPLE)
    simulation["overrides"] = {"targets": {"qa/mx": {"on_start": [{"name": "login", "capture": {"token": {"regex": "t=(\\w+)"}}}]}}}
    targets, problems = resolve(journey, simulation, names={"shop_qa_mx"})
    assert problems == []
    assert dict(targets["shop_qa_mx"].on_start[0].capture["token"]) == {"regex": "t=(\\w+)"}


@pytest.mark.parametrize(
    "content, message",
    [
        ("email\n" + "x@y\n" * 10_001, "has 10001 rows; a feed may embed at most 10,000"),
        ("email\n" + "x" * (1024 * 1024) + "\n", "is larger than 1 MiB"),
        ("email,email\na,b\n", "the header row names column 'email' twice"),
        ("email,name\na\n", "line 2 has 1 fields; the header row has 2"),
        ("", "has no header row"),
    ],
)
def test_feed_files_are_checked(journey, tmp_path, content, message):
    (tmp_path / "feeds" / "shoppers_mx.csv").write_text(content)
    _, problems = resolve(journey, SPEC_EXAMPLE, names={"shop_qa_mx"})
    assert len(problems) == 1 and problems[0].startswith("/feeds/shoppers/file: feed file feeds/shoppers_mx.csv ")
    assert message in problems[0]


def test_json_feeds_keep_their_scalars(journey, tmp_path):
    simulation = copy.deepcopy(SPEC_EXAMPLE)
    simulation["feeds"]["shoppers"]["file"] = "feeds/shoppers.json"
    (tmp_path / "feeds" / "shoppers.json").write_text(json.dumps([{"email": "a@x", "n": 1}, {"email": "b@x", "n": None}]))
    simulation["flows"][0]["steps"][0]["query"]["n"] = "${feed:shoppers.n}"
    targets, problems = resolve(journey, simulation, names={"shop_qa_mx"})
    assert problems == []
    feed = targets["shop_qa_mx"].feeds[0]
    assert feed.columns == ("email", "n") and feed.rows == (("a@x", 1), ("b@x", None))
    step = targets["shop_qa_mx"].flows[0].steps[0]
    assert isinstance(step, Step) and step.query["n"] == FeedRef("shoppers", "n")


def test_every_new_key_is_settable_in_every_layer():
    schema = json.loads(open(ROOT / "compiler/schemas/simulation.schema.json").read())
    top = set(schema["properties"]) - {"$schema", "overrides"}
    assert top == set(schema["$defs"]["layer"]["properties"])
    assert {"flows", "on_start", "feeds", "pacing", "stages", "thresholds"} <= top
    assert re.search("json_path", json.dumps(schema["$defs"]["capture"]))
