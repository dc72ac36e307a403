"""The open model in the compiler: arrivals, iterations and task_order validated (pointer,
suggestion, every problem at once, after layers), resolved, explained and rendered."""

import copy
import re

import pytest

from compiler.output.render import render_target
from compiler.resolve.explain import explain_lines
from compiler.resolve.model import ArrivalStage
from conftest import SIMULATION
from test_resolve import resolve

OPEN = {
    key: value for key, value in SIMULATION.items() if key not in ("users", "spawn_rate", "run_time")
}
OPEN["arrivals"] = {
    "stages": [{"duration": "1m", "rate": 20}, {"duration": "2m", "rate": 100}],
    "start_rate": 5,
    "max_users": 40,
    "distribution": "poisson",
}


def open_simulation(**changes):
    simulation = copy.deepcopy(OPEN)
    simulation.update(changes)
    return simulation


def test_arrivals_resolve_render_and_explain(project):
    simulation = open_simulation(iterations=500, task_order="sequential")
    simulation["overrides"] = {"environments": {"prod": {"arrivals": {"max_users": 5}}}}
    targets, problems = resolve(project, simulation)
    assert problems == []
    qa, prod = targets["shop_qa_mx"], targets["shop_prod_mx"]
    assert qa.arrivals.stages == (ArrivalStage("1m", 20), ArrivalStage("2m", 100))
    assert (qa.arrivals.start_rate, qa.arrivals.max_users, qa.arrivals.distribution) == (5, 40, "poisson")
    assert qa.arrivals.max_dropped_ratio == 0.01  # the default
    assert (qa.users, qa.spawn_rate, qa.run_time) == (40, None, "180s")  # -u is max_users
    assert prod.arrivals.max_users == 5 and prod.arrivals.stages == qa.arrivals.stages  # merged key by key
    assert (qa.iterations, qa.task_order) == (500, "sequential")

    source = render_target(qa)
    block = source[source.index("ARRIVALS = {") : source.index("}\n", source.index("ARRIVALS = {")) + 2]
    assert block == (
        "ARRIVALS = {\n"
        '    "stages": [\n'
        '        {"duration": "1m", "rate": 20},\n'
        '        {"duration": "2m", "rate": 100},\n'
        "    ],\n"
        '    "start_rate": 5,\n'
        '    "max_users": 40,\n'
        '    "distribution": "poisson",\n'
        '    "max_dropped_ratio": 0.01,\n'
        "}\n"
    )
    assert '    "num_users": 40,\n    "spawn_rate": None,\n    "run_time": "180s",' in source
    assert '    "iterations": 500,\n    "task_order": "sequential",\n}' in source

    lines = "\n".join(explain_lines(qa, "catalog.json"))
    assert re.search(r'^users +"\(the arrivals decide, up to max_users 40\)"  <- arrivals$', lines, re.M)
    assert re.search(r'^arrivals\.stages\.1 +"2m to 100/s"  <- template \(simulations/shop\.json /arrivals/stages/1\)$', lines, re.M)
    assert re.search(r"^arrivals\.max_dropped_ratio +0\.01  <- default$", lines, re.M)
    assert re.search(r"^iterations +500  <- template \(simulations/shop\.json /iterations\)$", lines, re.M)
    explained = "\n".join(explain_lines(prod, "catalog.json"))
    assert re.search(r"^arrivals\.max_users +5  <- environments\.prod \(simulations/shop\.json /overrides/environments/prod/arrivals/max_users\)$", explained, re.M)


def test_a_closed_target_renders_no_arrivals_and_weighted_tasks(project):
    targets, problems = resolve(project, copy.deepcopy(SIMULATION), names={"shop_qa_mx"})
    assert problems == []
    source = render_target(targets["shop_qa_mx"])
    assert "\nARRIVALS = {}\n" in source
    assert '    "iterations": None,\n    "task_order": "weighted",\n}' in source


def test_arrivals_replace_the_closed_models_keys_after_layers(project):
    simulation = open_simulation(think_time_seconds=0.5)
    simulation["overrides"] = {
        "environments": {"qa": {"users": 3, "pacing": {"iteration_seconds": 2}}},
        "countries": {"br": {"stages": [{"duration": "1m", "users": 2, "spawn_rate": 1}], "spawn_rate": 2}},
    }
    _, problems = resolve(project, simulation, names={"shop_qa_mx", "shop_qa_br"})
    assert sorted(problems) == sorted([
        "/overrides/countries/br/spawn_rate: arrivals replaces spawn_rate: set one of them, not both (after overrides) (for target shop_qa_br)",
        "/overrides/countries/br/stages: arrivals replaces stages: set one of them, not both (after overrides) (for target shop_qa_br)",
        "/overrides/environments/qa/pacing: arrivals replaces pacing: set one of them, not both (after overrides) (for targets shop_qa_br, shop_qa_mx)",
        "/overrides/environments/qa/pacing: pacing replaces think_time_seconds: set one of them, not both (after overrides) (for targets shop_qa_br, shop_qa_mx)",
        "/overrides/environments/qa/users: arrivals replaces users: set one of them, not both (after overrides) (for targets shop_qa_br, shop_qa_mx)",
        "/think_time_seconds: arrivals replaces think_time_seconds: set one of them, not both (after overrides) (for targets shop_qa_br, shop_qa_mx)",
    ])


def test_arrivals_in_a_layer_name_the_later_key(project):
    """A template of the closed model whose prod layer switches to arrivals: the template's users
    are the problem only where the layer added arrivals, and the layer is the place to look."""
    simulation = copy.deepcopy(SIMULATION)
    simulation["overrides"] = {"environments": {"prod": {"arrivals": {"stages": [{"duration": "1m", "rate": 2}], "max_users": 2}}}}
    targets, problems = resolve(project, simulation)
    assert sorted(problems) == sorted([
        "/overrides/environments/prod/arrivals/max_users: arrivals replaces spawn_rate: set one of them, not both (after overrides) (for target shop_prod_mx)",
        "/overrides/environments/prod/arrivals/max_users: arrivals replaces users: set one of them, not both (after overrides) (for target shop_prod_mx)",
    ])
    assert targets["shop_qa_mx"].arrivals is None


def test_arrivals_stages_limits_and_run_time_are_checked(project):
    simulation = open_simulation(run_time="4m")
    simulation["arrivals"] = {"stages": [{"duration": "0s", "rate": 0}, {"duration": "12m", "rate": 0}], "start_rate": 0, "max_users": 60}
    _, problems = resolve(project, simulation, names={"shop_qa_mx"})
    assert problems == [
        "/arrivals/stages/0/duration: arrivals stage 1 lasts 0s; give it a duration (for target shop_qa_mx)",
        "/arrivals/stages: every rate of the arrivals is 0: they would start no iteration (for target shop_qa_mx)",
        "/arrivals/max_users: arrivals max_users 60 is above the max_users of environment 'qa', 50 (catalog.json "
        "/environments/qa/limits/max_users) (for target shop_qa_mx)",
    ]
    simulation = open_simulation()
    simulation["arrivals"]["stages"] = [{"duration": "11m", "rate": 1}]
    _, problems = resolve(project, simulation, names={"shop_qa_mx"})
    assert problems == [
        "/arrivals/stages: the arrivals' total duration (660s) is above the max_run_time of environment 'qa', 10m "
        "(catalog.json /environments/qa/limits/max_run_time) (for target shop_qa_mx)"
    ]
    simulation["run_time"] = "12m"  # longer than the stages, and than the limit
    _, problems = resolve(project, simulation, names={"shop_qa_mx"})
    assert problems == [
        "/run_time: run_time 12m is above the max_run_time of environment 'qa', 10m (catalog.json "
        "/environments/qa/limits/max_run_time) (for target shop_qa_mx)",
        "/run_time: run_time 12m (720s) is longer than the arrivals' stages (660s), after which no iteration is "
        "scheduled: leave run_time out (it defaults to their total) or lengthen the stages (for target shop_qa_mx)",
    ]
    simulation["run_time"] = "5m"  # the run ends at 5m: within the limit
    targets, problems = resolve(project, simulation, names={"shop_qa_mx"})
    assert problems == [] and targets["shop_qa_mx"].run_time == "5m"


def test_arrivals_need_stages_and_max_users_after_layers(project):
    simulation = open_simulation()
    del simulation["arrivals"]["max_users"]
    simulation["overrides"] = {"environments": {"qa": {"arrivals": {"max_users": 10}}}}
    targets, problems = resolve(project, simulation)
    assert problems == [
        "/arrivals: arrivals needs stages and max_users (after overrides); missing 'max_users' (for target shop_prod_mx)"
    ]
    assert targets["shop_qa_mx"].arrivals.max_users == 10


def test_iterations_need_a_fixed_load_and_dropped_thresholds_need_arrivals(project):
    simulation = copy.deepcopy(SIMULATION)
    simulation.update(iterations=2, thresholds={"max_dropped_ratio": 0.05, "min_iterations_per_second": 3})
    simulation["overrides"] = {"environments": {"qa": {"stages": [{"duration": "1m", "users": 2, "spawn_rate": 1}]}}}
    _, problems = resolve(project, simulation)
    assert sorted(problems) == sorted([
        "/overrides/environments/qa/stages: iterations needs users (N per user) or arrivals (N in all), not stages, "
        "whose users change over the run: set one of iterations and stages, not both (after overrides) "
        "(for targets shop_qa_br, shop_qa_mx)",
        "/thresholds/max_dropped_ratio: max_dropped_ratio judges the iterations that arrivals drop; this target has "
        "no arrivals (after overrides): remove the threshold, or add arrivals (for targets shop_prod_mx, shop_qa_br, shop_qa_mx)",
    ])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s["arrivals"].update(max_user=3),
         "/arrivals/max_user: unknown key 'max_user'; did you mean 'max_users'?"),
        (lambda s: s["arrivals"].update(distribution="exponential"),
         '/arrivals/distribution: distribution is "constant" or "poisson"'),
        (lambda s: s["arrivals"]["stages"][0].update(rate=-1),
         "/arrivals/stages/0/rate: rate is iterations per second, from 0 to 100000"),
        (lambda s: s["arrivals"].update(max_dropped_ratio=2),
         "/arrivals/max_dropped_ratio: max_dropped_ratio is a number from 0 to 1"),
        (lambda s: s.update(iterations=0), "/iterations: iterations is an integer of 1 or more"),
        (lambda s: s.update(task_order="random"), '/task_order: task_order is "weighted" or "sequential"'),
    ],
)
def test_schema_mistakes_name_the_pointer(project, change, message):
    simulation = open_simulation()
    change(simulation)
    code, _out, err = project(simulation=simulation).cli("validate")
    assert code == 2
    assert f"simulations/shop.json: {message}" in err, err
