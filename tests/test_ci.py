"""The CI job of docs/ci/: its workflow's shell steps are exactly the scripts of docs/ci/, and
those scripts run here as the job runs them: `make check`, a smoke run and a gated load run
(exit 3 when a threshold fails), against a recording server on 127.0.0.1 or the bundled
target service the script starts itself, leaving the artifacts the workflow uploads (the
JUnit files, the dashboard, the summaries)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SAMPLE
from locust_runs import ROOT, clean_env, free_port, write_inputs

WORKFLOW = ROOT / "docs" / "ci" / "load-test.yml"
STEPS = ["sh docs/ci/check.sh", "sh docs/ci/load-test.sh smoke", "sh docs/ci/load-test.sh load"]
BASE = {
    "host": "http://${domain}",
    "users": 2,
    "spawn_rate": 20,
    "run_time": "2s",
    "seed": 1,
    "think_time_seconds": 0.05,
    "report_html": None,
    "headers": {"Authorization": "Bearer ${env:APP_TOKEN}"},
    "endpoints": [{"name": "home", "path": "/"}, {"name": "health", "path": "/health"}],
}
SIMULATIONS = {
    "app": BASE,
    "shop": {**BASE, "thresholds": {"error_ratio": 0.01, "p95_ms": 2000}},
    "gate": {**BASE, "thresholds": {"min_rps": 100000}},  # cannot pass: the gate must close
}
LOCAL_MX = {"environments": ["local"], "countries": ["mx"]}


def test_the_workflows_shell_steps_are_the_scripts():
    text = WORKFLOW.read_text()
    runs = re.findall(r"^\s*(?:- )?run:\s*(.+)$", text, re.M)
    assert runs == STEPS, runs
    assert "run: |" not in text and "shell:" not in text  # no other shell hidden in the job
    for script in ("check.sh", "load-test.sh"):
        assert (ROOT / "docs" / "ci" / script).is_file(), script
    uploaded = re.search(r"path: \|\n((?:\s+\S.*\n)+)", text).group(1).split()
    assert {"data/results/index.html", "data/results/*/*/junit.xml", "data/results/*-summary.json"} <= set(uploaded)
    assert "actions/upload-artifact@" in text and "if: always()" in text


def script(*args: str, env: dict[str, str], cwd: Path = ROOT, timeout: float = 180) -> subprocess.CompletedProcess:
    """`sh docs/ci/SCRIPT ARGS` (the script named from the repository), in CWD."""
    return subprocess.run(["sh", str(ROOT / args[0]), *args[1:]], cwd=cwd, env=clean_env(env, home=cwd), capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def test_check_step():
    """make check's two commands, on the suite's own sample project (not the live data/)."""
    sample = {"PYTHON": sys.executable, "CATALOG": str(SAMPLE / "data" / "catalog.json"), "OUT": str(SAMPLE / "generated")}
    result = script("docs/ci/check.sh", env=sample)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"generated: up to date \(\d+ file\(s\)\)", result.stdout), result.stdout


@pytest.fixture
def project(tmp_path, server) -> dict[str, str]:
    """A catalog aimed at the recording server, and the steps' settings for it."""
    write_inputs(tmp_path, server.port, SIMULATIONS, {name: LOCAL_MX for name in SIMULATIONS})
    return {
        "PYTHON": sys.executable, "CATALOG": str(tmp_path / "catalog.json"), "OUT": str(tmp_path / "generated"),
        "RESULTS": str(tmp_path / "results"), "SERVICE_PORT": "none", "APP_TOKEN": "demo-token",
        "LOAD_TARGET": "shop_local_mx",  # SMOKE_ARGS unset: the job's own --smoke
    }  # fmt: skip


def artifacts(results: Path, step: str, target: str) -> dict:
    (folder,) = (results / target).iterdir()
    assert (folder / "junit.xml").is_file() and (results / "index.html").is_file()
    assert f"href='{target}/{folder.name}/junit.xml'" in (results / "index.html").read_text()
    return json.loads((results / f"{step}-summary.json").read_text())


def test_smoke_then_load_pass(project, server, tmp_path):
    smoke = script("docs/ci/load-test.sh", "smoke", env=project, cwd=tmp_path)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert smoke.stdout.rstrip().endswith(f"smoke: passed ({project['RESULTS']}/index.html)")
    assert artifacts(Path(project["RESULTS"]), "smoke", "app_local_mx")["exit_code"] == 0
    received = server.count()
    assert sorted(r.path for r in server.received()) == ["/", "/health"]  # --smoke: each once
    load = script("docs/ci/load-test.sh", "load", env=project, cwd=tmp_path)
    assert load.returncode == 0, load.stdout + load.stderr
    summary = artifacts(Path(project["RESULTS"]), "load", "shop_local_mx")
    assert [row["passed"] for row in summary["runs"][0]["thresholds"]] == [True, True]
    assert server.count() > received


def test_the_load_step_gates_on_thresholds(project, server, tmp_path):
    result = script("docs/ci/load-test.sh", "load", env={**project, "LOAD_TARGET": "gate_local_mx"}, cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"load: thresholds breached: see {project['RESULTS']}/index.html" in result.stdout
    assert artifacts(Path(project["RESULTS"]), "load", "gate_local_mx")["exit_code"] == 3


def test_the_step_starts_and_stops_the_bundled_service(project, tmp_path):
    """SERVICE_PORT set: the script starts tools/target_service.py there, runs, and stops it."""
    port = free_port()
    write_inputs(tmp_path, port, SIMULATIONS, {name: LOCAL_MX for name in SIMULATIONS})
    result = script("docs/ci/load-test.sh", "smoke", env={**project, "SERVICE_PORT": str(port)}, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    record = artifacts(Path(project["RESULTS"]), "smoke", "app_local_mx")["runs"][0]
    assert next(row for row in record["requests"] if row["name"] is None)["failures"] == 0
    import socket

    with pytest.raises(OSError):  # the service is gone
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_step_that_is_neither_is_a_usage_error(project, tmp_path):
    result = script("docs/ci/load-test.sh", "soak", env=project, cwd=tmp_path)
    assert result.returncode == 2 and "usage: sh docs/ci/load-test.sh smoke|load" in result.stderr
