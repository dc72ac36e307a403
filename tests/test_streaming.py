"""A compile hands each file over as it is rendered and writes it to a temporary file then, so it
holds a few files at a time, not all of them (compiler/output/build.py build_stream, write.py
sync); files are put in place once the last is rendered, so a target's error found after others
were rendered still writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT
from compiler.output import build
from compiler.output.write import TEMP_NAME
from compiler.problems import Problems
from compiler.sources.targets import compatible_targets
from compiler.sources.validate import load_inputs

COUNTRIES = 12


def many(project, simulation_changes: dict | None = None, countries: int = COUNTRIES):
    made = project()
    made.catalog["countries"] = {f"c{i:03d}": {"vars": {"locale": f"l{i}", "currency": f"C{i}"}} for i in range(countries)}
    made.catalog["apps"]["shop"]["countries"] = list(made.catalog["countries"])
    made.catalog["apps"]["shop"]["exclude"] = []
    made.simulations["simulations/shop.json"].update(simulation_changes or {})
    made.save()
    return made


def test_files_come_one_at_a_time_in_the_order_of_their_names(project, monkeypatch):
    made = many(project)
    monkeypatch.setenv(build.PROCESSES_VARIABLE, "1")  # rendered here, where they are counted
    rendered: list[str] = []
    original = build.render_target
    monkeypatch.setattr(build, "render_target", lambda target: rendered.append(target.name) or original(target))
    inputs = load_inputs(made.catalog_path, Problems())
    refs = compatible_targets(inputs.catalog.data)[::-1]  # in any order: they come sorted by name
    seen = []
    for built in build.build_stream(inputs, refs, Problems(), {}):
        seen.append(built.name)
        assert rendered == seen  # each handed over as soon as it is rendered, none ahead
    assert seen == sorted(ref.name for ref in refs) and len(seen) == 2 * COUNTRIES


def test_an_error_found_after_files_were_rendered_writes_nothing(project):
    made = many(project)
    assert made.cli("compile")[0] == 0
    generated = made.folder / "generated"
    before = {path.name: path.read_bytes() for path in generated.iterdir()}
    made.simulations["simulations/shop.json"]["users"] = 3  # every file changes
    # the last target by name has an error that only its resolution finds
    made.simulations["simulations/shop.json"]["overrides"] = {"targets": {"qa/c011": {"host": "https://${nowhere}"}}}
    made.save()
    result = made.run("compile")
    assert result.returncode == 2, result
    assert "nowhere" in result.stderr and "shop_qa_c011" in result.stderr, result.stderr
    assert result.stdout == ""
    after = {path.name: path.read_bytes() for path in generated.iterdir()}
    assert after == before  # every file as it was, no temporary file left
    assert not any(TEMP_NAME.fullmatch(name) for name in after)
    fresh = made.run("compile", "--out", "fresh")
    assert fresh.returncode == 2 and not (made.folder / "fresh").exists()  # no folder made for nothing


def test_a_compile_holds_a_few_files_not_all(project):
    """300 files of about 1 MB each (300 MB in all): the compile's peak RSS stays far below."""
    blob = "x" * 1_000_000
    made = many(project, {"endpoints": [{"name": "upload", "method": "POST", "path": "/u", "json": {"blob": blob}}]},
                countries=150)  # fmt: skip
    with open(made.folder / "out.txt", "wb") as out, open(made.folder / "err.txt", "wb") as err:
        # Started by tools/peak_rss.py: started from this test process, it would report our peak.
        launcher = [sys.executable, str(ROOT / "tools/peak_rss.py"), str(made.folder / "peak_rss_kib"), "--"]
        process = subprocess.run(
            [*launcher, sys.executable, "-m", "compiler", "--catalog", str(made.catalog_path), "compile"],
            cwd=made.folder, stdout=out, stderr=err, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    assert process.returncode == 0, (made.folder / "err.txt").read_text()
    lines = (made.folder / "out.txt").read_text().splitlines()
    assert lines[-1] == "generated: 300 written, 0 unchanged, 0 removed"
    sizes = [path.stat().st_size for path in (made.folder / "generated").glob("*.py")]
    assert len(sizes) == 300 and sum(sizes) > 300 * 10**6
    peak_mib = int((made.folder / "peak_rss_kib").read_text()) / 1024
    assert peak_mib < 200, f"peak RSS {peak_mib:.0f} MiB for {sum(sizes) / 2**20:.0f} MiB of files"
