"""The golden record: tests/sample/generated/ is what the compiler writes for the suite's own copy
of the sample (tests/sample/data/), byte for byte, under any hash seed. `make golden` rewrites it
after a change of the compiler or of the sample; review its diff like code.

The user's own data/ and generated/ are not the suite's: `make check` checks those."""

import os
import subprocess
import sys

from conftest import ROOT, SAMPLE


def test_output_is_the_golden_record_under_different_hash_seeds(tmp_path):
    outputs = []
    for seed in ("0", "12345"):
        out = tmp_path / f"seed-{seed}"
        result = subprocess.run(
            [sys.executable, "-m", "compiler", "compile", "--out", str(out)],
            cwd=SAMPLE, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        outputs.append({p.name: p.read_bytes() for p in sorted(out.glob("*.py"))})
    golden = {p.name: p.read_bytes() for p in sorted((SAMPLE / "generated").glob("*.py"))}
    assert outputs[0] == outputs[1], "the output depends on the hash seed"
    assert outputs[0] == golden, "tests/sample/generated/ is not what the compiler writes: run `make golden`"
    assert len(golden) == 26


def test_the_golden_record_is_up_to_date_as_compile_check_sees_it():
    """The same question through the command users run, and nothing else in the folder."""
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "compile", "--check"],
        cwd=SAMPLE, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr + "\nrun `make golden`"
    assert result.stdout.strip() == "generated: up to date (26 file(s))"
