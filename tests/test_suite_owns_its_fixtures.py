"""The suite tests the product on fixtures it owns: never the user's live data/ or generated/.

A user follows the README's Quickstart (a country, an endpoint) and runs `make test`: nothing in
the suite may depend on what data/ holds. CI runs the whole suite after making the Quickstart's
edits (.ci/run); this test keeps test modules from reading those folders at all."""

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
LIVE = re.compile(r"""ROOT\s*/\s*["'](data|generated)\b|ROOT\s*/\s*["']\w*\s*["']\s*/\s*["'](data|generated)\b""")


def test_no_test_reads_the_live_data_or_generated_folders():
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(TESTS.glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if LIVE.search(line)
    ]
    assert not found, "tests that read the user's data/ or generated/ (use conftest.SAMPLE):\n" + "\n".join(found)


def test_the_sample_is_a_whole_project():
    sample = TESTS / "sample"
    assert (sample / "data" / "catalog.json").is_file()
    assert sorted(p.name for p in (sample / "data" / "simulations").glob("*.json")) == ["app.json", "payments.json", "shop.json"]
    assert len(list((sample / "generated").glob("*.py"))) == 26
