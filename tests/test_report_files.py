"""The HTML report of a generated locustfile: an earlier report is never overwritten silently,
and a report that cannot be written stops the run before any load."""

from __future__ import annotations

import json
import os
import time

from locust_runs import (
    TOKEN,
    Locust,
    assert_nothing_received,
    processes,
    report_text,
    run_locust,
)


def test_each_plain_run_writes_into_a_run_folder_of_its_own(generated, server, rundir):
    """`locust -f` with the template's report path keeps runs as `run` does: a folder per run
    beside the template's path, with the report and the run record; nothing is replaced."""
    folder = rundir / "reports" / "shop_local_mx"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<html>a report from before</html>")
    runs = [run_locust(generated["shop_local_mx"], rundir, "-t", "1s", env=TOKEN) for _ in range(2)]
    assert [run.returncode for run in runs] == [0, 0], runs
    made = sorted(p for p in folder.iterdir() if p.is_dir())
    assert len(made) == 2 and (folder / "report.html").read_text() == "<html>a report from before</html>"
    for run_folder, run in zip(made, runs):
        assert sorted(p.name for p in run_folder.iterdir()) == ["report.html", "run.json"]
        assert "home" in report_text(run_folder / "report.html")
        assert json.loads((run_folder / "run.json").read_text())["target"] == "shop_local_mx"
        assert f"This run's folder: {run_folder.relative_to(rundir)}" in run.stderr


def test_an_earlier_report_is_kept_under_its_time(generated, server, rundir):
    """A report path given on the command line is written as it is; one there already is kept."""
    folder = rundir / "reports" / "shop_local_mx"
    folder.mkdir(parents=True)
    earlier = folder / "report.html"
    earlier.write_text("<html>the earlier run</html>")
    written = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))
    os.utime(earlier, (written, written))
    (folder / "report.20260102-030405.html").write_text("<html>an even earlier one</html>")

    run = run_locust(generated["shop_local_mx"], rundir, "-t", "1s", "--html", str(earlier.relative_to(rundir)), env=TOKEN)

    assert run.returncode == 0, run
    assert "home" in report_text(earlier)  # the new report, where the command line says
    kept = folder / "report.20260102-030405-2.html"
    assert kept.read_text() == "<html>the earlier run</html>"
    assert (folder / "report.20260102-030405.html").read_text() == "<html>an even earlier one</html>"
    assert f"The earlier report at {earlier.relative_to(rundir)} is kept as {kept.relative_to(rundir)}" in run.stderr
    assert sorted(path.name for path in folder.iterdir()) == [
        "report.20260102-030405-2.html",
        "report.20260102-030405.html",
        "report.html",
    ]


def test_a_report_that_cannot_be_written_stops_the_run_before_any_load(generated, server, rundir):
    (rundir / "reports").write_text("a file where the report's folder should be")
    (rundir / "a-folder.html").mkdir()

    blocked = run_locust(generated["shop_local_mx"], rundir, env=TOKEN)
    folder = run_locust(generated["shop_local_mx"], rundir, "--html", "a-folder.html", env=TOKEN)

    assert blocked.returncode == 2, blocked
    assert (
        f"html report reports/shop_local_mx/report.html cannot be written: {rundir / 'reports'} "
        "is not a writable folder" in blocked.stderr
    )
    assert folder.returncode == 2, folder
    assert "html report a-folder.html is a folder; name a file" in folder.stderr
    assert "Traceback" not in blocked.output + folder.output
    assert_nothing_received(server)


def test_a_worker_never_writes_the_report(generated, server, tmp_path):
    """Master and worker started in the same folder, as in the README, both with the template's
    report path: only the master writes (into its run folder), and the earlier report stays, not
    replaced by the worker's (empty) one."""
    folder = tmp_path / "reports" / "shop_local_mx"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<html>the earlier run</html>")
    port = processes(1)[-1]
    master = Locust(
        generated["shop_local_mx"], tmp_path, "--master", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", port, "--expect-workers", "1", "-t", "2s", env=TOKEN,
    )  # fmt: skip
    worker = Locust(generated["shop_local_mx"], tmp_path, "--worker", "--master-port", port, env=TOKEN)
    try:
        master_run, worker_run = master.wait(timeout=30), worker.wait(timeout=30)
    finally:
        master.kill()
        worker.kill()
    assert (master_run.returncode, worker_run.returncode) == (0, 0), (master_run, worker_run)
    entries = sorted(folder.iterdir())
    assert len(entries) == 2, entries
    run_folder, kept = entries  # <UTC time>/ sorts before report.html
    assert kept.read_text() == "<html>the earlier run</html>"
    assert sorted(p.name for p in run_folder.iterdir()) == ["report.html", "run.json"]
    assert "home" in report_text(run_folder / "report.html")
