"""Journeys, continued: paths from data, richer checks and captures, retries, conditions, loops,
populations, labels and sharper thresholds, each shown by what a recording server on 127.0.0.1
received from a generated file run with real Locust, and by what the run printed and recorded.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter

from locust_runs import Locust, processes, run_locust
from test_run_journeys import PASSWORD, TOKEN, by_path, compiled, journey, shop_server

ALONE = {"on_start": [], "headers": {}, "flows": [], "endpoints": []}  # a journey without the shop's parts


def alone(**changes):
    return journey(**{**ALONE, **changes})


def summary(rundir):
    return json.loads((rundir / "summary.json").read_text("utf-8"))


# -- paths from data ---------------------------------------------------------------------------------


def test_a_path_from_a_feed_arrives_as_written(tmp_path, make_server):
    server = make_server()
    pages = "page\n/docs/\n/vacation.html\n/a b/\u00fc?q=1#top\n/caf%C3%A9\nno-slash\n"
    simulation = alone(users=1, iterations=5, feeds={"pages": {"file": "pages.csv", "mode": "sequential"}},
                         endpoints=[{"name": "page", "path": "${feed:pages.page}"}])  # fmt: skip
    run = run_locust(compiled(tmp_path, server, simulation, {"pages.csv": pages}), tmp_path / "run")

    assert run.returncode == 1, run  # the row that is not a path fails, nothing sent for it
    received = server.received()
    assert [r.path for r in received] == ["/docs/", "/vacation.html", "/a%20b/%C3%BC", "/caf%C3%A9"], received
    assert received[2].query == {"q": ["1"]}, received[2]
    assert re.search(r"GET +page: path from \$\{feed:pages\.page\} is not a path \(it must start with '/'\); "
                     r'got "no-slash", not sent', run.output), run  # fmt: skip


def test_a_link_of_the_run_s_origin_is_followed_and_a_foreign_one_is_not(tmp_path, make_server):
    server, other = make_server(), make_server()
    links = {"next": f"http://127.0.0.1:{server.port}/next?page=2#part", "away": f"{other.url}/steal"}
    server.set_body(json.dumps(links), "GET", "/links")
    steps = [
        {"name": "links", "path": "/links", "capture": {"next": {"json": "$.next"}, "away": {"json": "$.away"}}},
        {"name": "follow", "path": "${capture:next}", "query": {"size": 5}},
        {"name": "leave", "path": "${capture:away}", "headers": {"Authorization": "Bearer secret-ish"}},
    ]
    simulation = alone(flows=[{"name": "walk", "steps": steps}], users=1, iterations=2)
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run")

    assert run.returncode == 1, run
    assert other.received() == []  # nothing left for the host the configuration did not name
    follows = [r for r in server.received() if r.path == "/next"]
    assert len(follows) == 2 and all(r.query == {"page": ["2"], "size": ["5"]} for r in follows), follows
    assert "/steal" not in by_path(server)
    assert re.search(rf"GET +leave: path from \$\{{capture:away\}}: http://127\.0\.0\.1:{other.port} is another "
                     rf"origin than the run's host http://127\.0\.0\.1:{server.port}, not sent", run.output), run  # fmt: skip


# -- captures ----------------------------------------------------------------------------------------


def pick_run(tmp_path, server, name, seed=5):
    steps = [
        {"name": "list", "path": "/products", "capture": {
            "sku": {"json": "$.items[*].sku", "pick": "random"}, "last": {"json": "$.items[*].sku", "pick": "last"},
            "all": {"json": "$.items[*].sku", "pick": "all"}}},
        {"name": "add", "method": "POST", "path": "/cart", "json": {"sku": "${capture:sku}", "last": "${capture:last}",
                                                                    "all": "${capture:all}"}},
    ]  # fmt: skip
    simulation = alone(flows=[{"name": "buy", "steps": steps}], users=1, iterations=40, seed=seed)
    before = len(server.received())
    run = run_locust(compiled(tmp_path / name, server, simulation), tmp_path / name / "run")
    assert run.returncode == 0, run
    return [json.loads(r.body) for r in server.received()[before:] if r.path == "/cart"]


def test_pick_random_spreads_over_a_list_and_repeats_under_the_same_seed(tmp_path, make_server):
    server = make_server()
    skus = [f"S{i}" for i in range(5)]
    server.set_body(json.dumps({"items": [{"sku": sku} for sku in skus]}), "GET", "/products")
    first, again, other = pick_run(tmp_path, server, "a"), pick_run(tmp_path, server, "b"), pick_run(tmp_path, server, "c", 6)

    assert len(first) == 40
    picked = Counter(body["sku"] for body in first)
    assert set(picked) == set(skus) and max(picked.values()) < 20, picked  # every product, none most of the time
    assert all(body["last"] == "S4" and body["all"] == skus for body in first)
    assert [b["sku"] for b in again] == [b["sku"] for b in first]  # the same seed, the same picks
    assert [b["sku"] for b in other] != [b["sku"] for b in first]


def test_a_failed_check_keeps_the_captures_of_its_step(tmp_path, make_server):
    server = shop_server(make_server)
    steps = [
        {"name": "list", "path": "/products", "continue_on_failure": True,
         "checks": [{"json": "$.items", "length": 5}], "capture": {"sku": {"json": "$.items[1].sku"}}},
        {"name": "add", "method": "POST", "path": "/cart", "json": {"sku": "${capture:sku}"}, "expect_status": [201]},
    ]  # fmt: skip
    simulation = alone(flows=[{"name": "buy", "steps": steps}], users=1, iterations=3)
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run")

    assert run.returncode == 1, run
    assert re.search(r"GET +list: check \$\.items: expected length 5, got 2", run.output), run
    carts = [json.loads(r.body) for r in server.received() if r.path == "/cart"]
    assert carts == [{"sku": "B2"}] * 3, carts
    assert "not set" not in run.output, run


# -- checks ------------------------------------------------------------------------------------------


def test_the_checks_of_length_type_pattern_values_body_and_status(tmp_path, make_server):
    server = make_server()
    server.set_body("[]", "GET", "/empty")
    server.set_body(json.dumps({"items": [1, 2], "id": "ord-7", "state": "paid", "n": 4}), "GET", "/order")
    passing = [{"json": "$", "type": "array"}, {"json": "$", "length": 0}, {"json": "$.items", "min_length": 2},
               {"json": "$.id", "matches": "^ord-[0-9]+$"}, {"json": "$.n", "matches": "^4$"},
               {"json": "$.state", "one_of": ["paid", "sent"]}, {"body_matches": "\"id\": \"ord"}, {"status": [200, 201]}]
    failing = [({"json": "$.items", "length": 3}, r"check \$\.items: expected length 3, got 2"),
               ({"json": "$.items", "min_length": 5}, r"check \$\.items: expected length 5 or more, got 2"),
               ({"json": "$.id", "matches": "^x"}, r'check \$\.id: expected to match "\^x", got "ord-7"'),
               ({"json": "$.state", "one_of": ["sent"]}, r'check \$\.state: expected one of \["sent"\], got "paid"'),
               ({"json": "$.n", "length": 1}, r"check \$\.n: expected an array, an object or a string to measure, got a number"),
               ({"body_matches": "refund"}, r'check body matches "refund": no match'),
               ({"status": [201]}, r"check status: expected one of \[201\], got 200")]  # fmt: skip
    endpoints = [{"name": "empty_list", "path": "/empty", "checks": passing[:2]},
                 {"name": "good", "path": "/order", "checks": passing[2:]}]
    endpoints += [{"name": f"f{i}", "path": "/order", "checks": [check]} for i, (check, _) in enumerate(failing)]
    simulation = alone(endpoints=endpoints, users=1, iterations=1, task_order="sequential")
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run")

    assert run.returncode == 1, run
    assert by_path(server) == {"/empty": 1, "/order": 1 + len(failing)}
    assert not re.search(r"GET +(empty_list|good): ", run.output), run  # [] is an empty array, not a failure
    for index, (_, message) in enumerate(failing):
        assert re.search(rf"GET +f{index}: {message}", run.output), (message, run)


def test_a_warning_is_counted_and_shown_without_failing_its_request(tmp_path, make_server):
    server = make_server()
    server.set_body(json.dumps({"version": "1.9"}), "GET", "/health")
    checks = [{"json": "$.version", "equals": "2.0", "severity": "warn"}, {"json": "$.version", "exists": True}]
    simulation = journey(**{**ALONE, "endpoints": [{"name": "health", "path": "/health", "checks": checks}]},
                         users=1, iterations=6)  # fmt: skip
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run", "--summary-json", "summary.json", "--junit", "junit.xml")

    assert run.returncode == 0, run  # warnings do not fail a run
    assert by_path(server)["/health"] == 6
    record = summary(tmp_path / "run")
    assert record["failures"] == [], record["failures"]
    assert record["warnings"] == [{"name": "health", "message": 'check $.version: expected "2.0", got "1.9"', "occurrences": 6}]
    assert record["checks"] == [{"name": "health", "made": 12, "failed": 6, "warned": 6}]
    assert re.search(r'health +check \$\.version: expected "2\.0", got "1\.9" \(6x\)', run.stderr), run
    junit = (tmp_path / "run" / "junit.xml").read_text("utf-8")
    assert re.search(r'<testcase classname="app_local_mx\.warnings" name="health check warnings"><skipped message="check', junit), junit


def test_checks_and_warnings_of_workers_are_counted_by_the_master(tmp_path, make_server):
    server = make_server()
    checks = [{"status": [201], "severity": "warn"}]
    simulation = alone(endpoints=[{"name": "ping", "path": "/ping", "checks": checks}], users=2,
                         run_time="3s", thresholds={"checks_failed_ratio": 0.5})  # fmt: skip
    file = compiled(tmp_path, server, simulation)
    run = run_locust(file, tmp_path / "run", *processes(2), "--summary-json", "summary.json")

    assert run.returncode == 3, run  # every check failed: checks_failed_ratio 1 > 0.5
    record = summary(tmp_path / "run")
    sent = by_path(server)["/ping"]
    assert record["checks"][0]["made"] == record["checks"][0]["failed"] == record["warnings"][0]["occurrences"]
    assert sent - 4 <= record["checks"][0]["made"] <= sent, (sent, record["checks"])  # in flight at the end
    (row,) = record["thresholds"]
    assert (row["key"], row["measured"], row["passed"]) == ("checks_failed_ratio", 1.0, False)


# -- retries, conditions, loops ----------------------------------------------------------------------


def test_retries_are_attempts_the_server_saw_and_the_record_counted(tmp_path, make_server):
    server = make_server()
    server.set_statuses_in_turn("GET", "/flaky", [503, 503, 200])
    steps = [{"name": "flaky", "path": "/flaky", "retry": {"times": 2, "on": [503], "pause": 0.05}},
             {"name": "after", "path": "/after"}]  # fmt: skip
    simulation = alone(flows=[{"name": "try", "steps": steps}], users=1, iterations=2)
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run", "--summary-json", "summary.json")

    assert by_path(server) == {"/flaky": 6, "/after": 2}  # each iteration passed on its third attempt
    record = summary(tmp_path / "run")
    flaky = next(row for row in record["requests"] if row["name"] == "flaky")
    assert (flaky["requests"], flaky["failures"]) == (6, 4)
    messages = {row["message"]: row["occurrences"] for row in record["failures"]}
    answer = 'answer "{\\"status\\": 503}"'
    assert messages == {f"status 503, {answer}; retried (attempt {n} of 3)": 2 for n in (1, 2)}, messages
    assert run.returncode == 1, run  # the failed attempts are failures, as Locust counts them


def test_a_retry_gives_up_after_its_times_and_on_what_it_does_not_retry(tmp_path, make_server):
    server = make_server()
    server.set_status("GET", "/down", 503)
    server.set_status("GET", "/gone", 404)
    endpoints = [{"name": "down", "path": "/down", "retry": {"times": 2, "on": [503]}},
                 {"name": "gone", "path": "/gone", "retry": {"times": 2, "on": [503, "connection"]}}]  # fmt: skip
    simulation = alone(endpoints=endpoints, users=1, iterations=1, task_order="sequential")
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run")

    assert by_path(server) == {"/down": 3, "/gone": 1}
    assert re.search(r"GET +down: status 503, answer .*$", run.output, re.M), run


def test_when_sends_a_step_only_when_its_capture_holds(tmp_path, make_server):
    server = make_server()
    server.set_body(json.dumps({"flag": "no"}), "GET", "/start")
    steps = [
        {"name": "start", "path": "/start", "continue_on_failure": True,
         "capture": {"flag": {"json": "$.flag"}, "gift": {"json": "$.gift"}}},
        {"name": "if_yes", "path": "/yes", "when": {"capture": "flag", "equals": "yes"}},
        {"name": "if_no", "path": "/no", "when": {"capture": "flag", "equals": "no"}},
        {"name": "with_gift", "path": "/gift", "when": {"capture": "gift", "exists": True}},
        {"name": "without_gift", "path": "/nogift", "when": {"capture": "gift", "exists": False}},
    ]  # fmt: skip
    simulation = alone(flows=[{"name": "branch", "steps": steps}], users=1, iterations=3)
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run")

    assert by_path(server) == {"/start": 3, "/no": 3, "/nogift": 3}, run
    assert re.search(r"GET +start: capture gift: \$\.gift not found", run.output), run


def test_repeat_sends_the_indexes_in_order(tmp_path, make_server):
    server = make_server()
    steps = [{"name": "page", "method": "POST", "path": "/page/${repeat:index}", "query": {"i": "${repeat:index}"},
              "json": {"n": "${repeat:index}"}, "repeat": 4}, {"name": "done", "path": "/done"}]  # fmt: skip
    simulation = alone(flows=[{"name": "pages", "steps": steps}], users=1, iterations=2)
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run")

    assert run.returncode == 0, run
    sent = [(r.path, r.query.get("i"), r.body and json.loads(r.body)) for r in server.received()]
    once = [(f"/page/{i}", [str(i)], {"n": i}) for i in range(4)] + [("/done", None, b"")]
    assert sent == once * 2, sent


# -- populations -------------------------------------------------------------------------------------


def login(email):
    return [{"name": "login", "method": "POST", "path": "/login", "json": {"email": email},
             "capture": {"token": {"json": "$.token"}}}]  # fmt: skip


def test_one_admin_and_four_shoppers_log_in_as_asked(tmp_path, make_server):
    server = shop_server(make_server)
    populations = {
        "admins": {"fixed_count": 1, "headers": {"X-Role": "admin"}, "on_start": login("admin@shop.test"),
                   "endpoints": [{"name": "orders", "label": "GET /admin/orders", "path": "/admin/orders"}]},
        "shoppers": {"weight": 3, "on_start": login("shopper@shop.test"), "flows": [BROWSE]},
    }  # fmt: skip
    simulation = alone(users=5, spawn_rate=50, run_time="2s", populations=populations,
                         headers={"Authorization": "Bearer ${capture:token}"})  # fmt: skip
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run", "--summary-json", "summary.json")

    assert run.returncode == 0, run
    received = server.received()
    logins = Counter(json.loads(r.body)["email"] for r in received if r.path == "/login")
    assert logins == {"admin@shop.test": 1, "shopper@shop.test": 4}, logins
    admins = {r.client for r in received if r.header("X-Role") == "admin"}
    assert len(admins) == 1 and {r.path for r in received if r.client in admins} == {"/login", "/admin/orders"}
    assert {r.path for r in received if r.client not in admins} == {"/login", "/products"}
    assert all(r.header("Authorization") == f"Bearer {TOKEN}" for r in received if r.path != "/login")
    names = {row["name"] for row in summary(tmp_path / "run")["requests"]}
    assert names == {"GET /admin/orders", "login", "list", None}, names
    assert re.search(r"population +admins: exactly 1 user\(s\)", run.stderr), run


BROWSE = {"name": "browse", "steps": [{"name": "list", "path": "/products"}]}


def test_a_smoke_test_runs_one_user_of_each_population_and_fixed_counts_hold_at_run_time(tmp_path, make_server):
    server = shop_server(make_server)
    populations = {
        "admins": {"fixed_count": 2, "on_start": login("admin@shop.test"), "endpoints": [{"name": "orders", "path": "/admin/orders"}]},
        "shoppers": {"fixed_count": 3, "on_start": login("shopper@shop.test"), "flows": [BROWSE]},
    }  # fmt: skip
    file = compiled(tmp_path, server, alone(users=5, run_time="5s", populations=populations))
    run = run_locust(file, tmp_path / "run", "--smoke")

    assert run.returncode == 0, run
    assert Counter(r.path for r in server.received()) == {"/login": 2, "/admin/orders": 1, "/products": 1}
    server.clear()
    fewer, more = (run_locust(file, tmp_path / "run", "-u", users, "--check-config") for users in ("4", "6"))
    assert fewer.returncode == more.returncode == 2, (fewer, more)
    assert "users 4 is fewer than the populations' fixed counts, 5 (admins 2, shoppers 3): run with -u 5 or more" in fewer.output
    assert "users 6, but every population has a fixed_count and they add up to 5 (admins 2, shoppers 3): run with -u 5" in more.output
    assert server.received() == []


# -- thresholds --------------------------------------------------------------------------------------


def spike_run(tmp_path, server, spike_seconds):
    simulation = alone(endpoints=[{"name": "home", "path": "/"}], users=2, run_time="8s",
                         think_time_seconds=0.05, thresholds={"avg_ms": 100, "for": "2s"})  # fmt: skip
    file = compiled(tmp_path, server, simulation)
    with Locust(file, tmp_path / "run") as locust:
        assert server.wait_for(5, timeout=20)
        time.sleep(1.5)
        server.set_delay(0.3, "GET", "/")
        time.sleep(spike_seconds)
        server.set_delay(0, "GET", "/")
        return locust.wait()


def test_a_one_second_spike_does_not_breach_a_threshold_for_2s(tmp_path, make_server):
    run = spike_run(tmp_path, make_server(), 1)

    assert run.returncode == 0, run
    assert re.search(r"avg_ms +<= 100 for 2s measured worst second \d+(\.\d+)?, [01](\.\d)?s in a row past the limit pass", run.stderr), run


def test_a_longer_spike_breaches_a_threshold_for_2s(tmp_path, make_server):
    run = spike_run(tmp_path, make_server(), 4)

    assert run.returncode == 3, run
    found = re.search(r"avg_ms +<= 100 for 2s measured worst second (\d+)(\.\d+)?, ([\d.]+)s in a row past the limit FAIL", run.stderr)
    assert found and int(found.group(1)) >= 250 and float(found.group(3)) >= 2, run


def test_an_abort_level_stops_the_run_while_the_end_judges_its_own(tmp_path, make_server):
    server = shop_server(make_server)
    server.set_status("POST", "/cart/c42/pay", 500)  # a third of the flow's requests fail
    thresholds = {"error_ratio": 0.5, "abort": {"after": "1s", "error_ratio": 0.05}}
    simulation = journey(endpoints=[], run_time="40s", thresholds=thresholds)
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run", env=PASSWORD)

    assert run.returncode == 3, run
    assert run.seconds < 15, run
    assert re.search(r"threshold breached: abort error_ratio 0\.\d+ breached its limit 0\.05: aborting the run", run.output), run
    assert re.search(r"all requests +error_ratio +<= 0\.5 +measured 0\.\d+ +pass", run.stderr), run
    assert re.search(r"abort +error_ratio +<= 0\.05 +measured 0\.\d+ +FAIL", run.stderr), run


def test_labels_name_the_statistics_and_thresholds_judge_by_label(tmp_path, make_server):
    server = make_server()
    server.set_delay(0.5, "POST", "/api/items")  # far from GET's, even on a busy machine
    endpoints = [{"name": "list_items", "label": "GET /api/items", "path": "/api/items"},
                 {"name": "add_item", "label": "POST /api/items", "method": "POST", "path": "/api/items"}]  # fmt: skip
    thresholds = {"requests": {"add_item": {"p50_ms": 1000}, "list_items": {"max_ms": 400}}, "tags": {"writes": {"min_rps": 0.1}}}
    endpoints[1]["tags"] = ["writes"]
    simulation = alone(endpoints=endpoints, users=1, run_time="2s", thresholds=thresholds)
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run", "--summary-json", "summary.json")

    assert run.returncode == 0, run
    record = summary(tmp_path / "run")
    assert {row["name"] for row in record["requests"]} == {"GET /api/items", "POST /api/items", None}
    rows = {(row["scope"], row["key"]): row for row in record["thresholds"]}
    assert rows[("add_item", "p50_ms")]["measured"] >= 500  # POST's statistics, not GET's
    assert rows[("list_items", "max_ms")]["passed"] and rows[("tag writes", "min_rps")]["passed"], rows
    assert re.search(r"GET +GET /api/items +\d+", run.stdout + run.stderr), run


# -- a failing iteration keeps its pace ----------------------------------------------------------------


def test_a_failed_step_still_takes_the_pauses_after_it(tmp_path, make_server):
    server = make_server()
    server.set_status("GET", "/broken", 500)
    steps = [{"name": "broken", "path": "/broken"}, {"pause": 0.25}, {"name": "next", "path": "/next"}]
    simulation = alone(flows=[{"name": "f", "steps": steps}], users=1, run_time="2s",
                         think_time_seconds=0)  # fmt: skip
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run")

    assert run.returncode == 1, run
    assert 3 <= by_path(server)["/broken"] <= 10, by_path(server)  # about 2s / 0.25s, not thousands
    assert "/next" not in by_path(server)


def test_failure_messages_that_quote_the_answer_stay_few_whatever_the_target_answers(tmp_path, make_server):
    """A target that answers a new value every time (an id, a time) gives a failed check a new
    message every time: past 20 different ones for a check, the rest are counted under one, so
    Locust's failure table, the report and the record stay small; every failure still counts."""
    server = make_server()
    server.set_numbered_body("", "GET", "/count")  # 1, 2, 3, ...: JSON numbers
    endpoints = [{"name": "count", "path": "/count", "checks": [{"json": "$", "equals": 0}]}]
    simulation = alone(endpoints=endpoints, users=1, iterations=40)
    run = run_locust(compiled(tmp_path, server, simulation), tmp_path / "run", "--summary-json", "summary.json")

    assert run.returncode == 1, run
    assert by_path(server)["/count"] == 40
    failures = summary(tmp_path / "run")["failures"]
    assert sum(f["occurrences"] for f in failures) == 40, failures  # every failure counted
    quoted = [f for f in failures if re.fullmatch(r"check \$: expected 0, got \d+", f["message"])]
    rest = [f for f in failures if f not in quoted]
    assert len(quoted) == 20 and all(f["occurrences"] == 1 for f in quoted), failures
    assert [(f["message"], f["occurrences"]) for f in rest] == [
        ("check $: failed (more than 20 different messages; the rest not quoted)", 20)], failures
