"""The committed generated/ is the golden record: up to date, and the same bytes on any run."""

import os
import subprocess
import sys

from conftest import ROOT


def test_make_check_passes_on_the_committed_output():
    result = subprocess.run(["make", "-s", "check"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "generated: up to date" in result.stdout


def test_output_is_byte_identical_under_different_hash_seeds(tmp_path):
    outputs = []
    for seed in ("0", "12345"):
        out = tmp_path / f"seed-{seed}"
        result = subprocess.run(
            [sys.executable, "-m", "compiler", "compile", "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert result.returncode == 0, result.stderr
        outputs.append({p.name: p.read_bytes() for p in sorted(out.glob("*.py"))})
    committed = {p.name: p.read_bytes() for p in sorted((ROOT / "generated").glob("*.py"))}
    assert outputs[0] == outputs[1] == committed
    assert len(committed) == 26
