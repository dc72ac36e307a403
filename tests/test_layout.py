"""compiler/output/layout.py lays out configuration blocks exactly as black does.

Compared with black itself: on every target of the demo catalog and of the valid corpus cases,
and on random blocks written the way the template writes them (values through py_literal, on
one line; calls and lists the template spreads over lines with trailing commas), with strings
that need escapes, wide characters, long values that black must wrap or leave long, and
comments. Random blocks are seeded, so a failure names the seed that reproduces it.
"""

from __future__ import annotations

import random
from pathlib import Path

import black

from compiler.output import layout
from compiler.resolve.model import EnvRef, Text
from compiler.problems import Problems
from compiler.output.render import _environment, black_mode, py_literal, py_tuple
from compiler.resolve.catalog import resolve_all
from compiler.sources.targets import compatible_targets
from compiler.sources.validate import load_inputs

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "sample"  # the suite's frozen copy of the sample project


def black_format(text: str) -> str:
    return black.format_str(text, mode=black_mode())


def configuration_blocks(catalog: Path) -> list[tuple[str, str]]:
    problems = Problems()
    inputs = load_inputs(catalog, problems)
    if inputs is None:
        return []
    refs = [ref for ref in compatible_targets(inputs.catalog.data) if inputs.can_resolve(ref)]
    targets = resolve_all(inputs, refs, problems)
    template = _environment().get_template("target.py.j2")
    return [(target.name, template.render(t=target)) for target in targets]


def valid_catalogs() -> list[Path]:
    found = [SAMPLE / "data/catalog.json"]
    for case in sorted((ROOT / "tests/corpus").iterdir()):
        expected = case / "expected.txt"
        if (case / "catalog.json").is_file() and expected.is_file() and expected.read_text().startswith("exit 0\n"):
            found.append(case / "catalog.json")
    return found


def test_every_example_target_is_laid_out_as_black_does_without_black(monkeypatch):
    asked, seen = [], 0
    for catalog in valid_catalogs():
        monkeypatch.chdir(catalog.parent if catalog.parent.parent.name == "corpus" else SAMPLE)
        for name, block in configuration_blocks(catalog):
            expected = black_format(block)
            assert layout.format_block(block, lambda text: asked.append(text) or black_format(text)) == expected, name
            seen += 1
    assert seen > 30 and asked == []  # every target of the demo and the corpus, none needing black


WORDS = ["a", "host", "x" * 30, "it's", 'say "hi"', "both ' and \"", "back\\slash", "tab\there", "new\nline",
         "é", "São Paulo", "東京", "emoji 😀", "\u2028", "\x00", "%20", "${v}", "#not a comment", "", " spaced "]


def random_string(rng: random.Random) -> str:
    return "".join(rng.choice(WORDS) for _ in range(rng.choice([1, 1, 2, 3, 6])))


def random_scalar(rng: random.Random):
    kind = rng.randrange(7)
    if kind == 0:
        return rng.choice([0, 1, -1, 7, 10**20, -(10**12)])
    if kind == 1:
        return rng.choice([0.5, -2.25, 1e-07, 1.5e22, 3.0, 1e16, -0.0])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return EnvRef(rng.choice(["TOKEN", "A_VERY_LONG_ENVIRONMENT_VARIABLE_NAME_FOR_THE_TESTS"]))
    if kind == 4:
        return Text((random_string(rng), EnvRef("SECRET"), random_string(rng)))
    return random_string(rng)


def random_value(rng: random.Random, depth: int = 0):
    if depth >= 3 or rng.random() < 0.45:
        return random_scalar(rng)
    size = rng.choice([0, 1, 1, 2, 3, 5, 12])
    if rng.random() < 0.5:
        return {random_string(rng): random_value(rng, depth + 1) for _ in range(size)}
    return [random_value(rng, depth + 1) for _ in range(size)]


def one_line(rng: random.Random, value) -> str:
    if isinstance(value, list) and rng.random() < 0.3:
        return py_tuple(tuple(value)) if not any(isinstance(v, (dict, list)) for v in value) else py_literal(value)
    return py_literal(value)


def spread_call(rng: random.Random, name: str, indent: str) -> str:
    """A call the way the template writes Endpoint(...) or Feed(...): a keyword a line, trailing comma."""
    lines = [f"{name}("]
    for index in range(rng.choice([1, 2, 3, 6])):
        lines.append(f"{indent}    field{index}={one_line(rng, random_value(rng, 1))},")
    lines.append(f"{indent})")
    return "\n".join(lines)


def random_block(seed: int) -> str:
    rng = random.Random(seed)
    out = ["# What this block holds;", "# a second line of comment."]
    for index in range(rng.randrange(3, 9)):
        if rng.random() < 0.3:
            out.append("")
        if rng.random() < 0.2:
            out.append("# a comment line before a statement")
        name = rng.choice(["X", "DEFAULTS", "A_RATHER_LONG_NAME_FOR_A_SETTING"]) + str(index)
        shape = rng.randrange(4)
        if shape == 0:
            comment = "  # a comment after it" if rng.random() < 0.3 else ""
            out.append(f"{name} = {one_line(rng, random_value(rng))}{comment}")
        elif shape == 1:
            out.append(f"{name} = [")
            for _ in range(rng.choice([0, 1, 2])):
                out.append("    " + spread_call(rng, "Endpoint", "    ") + ",")
            out.append("]")
        elif shape == 2:
            out.append(f"{name} = {{")
            for key in range(rng.choice([0, 1, 3])):
                out.append(f"    {py_literal(random_string(rng))}: {one_line(rng, random_value(rng, 1))},")
            out.append("}")
        else:
            out.append(f"{name} = " + spread_call(rng, "Feed", ""))
    return "\n".join(out) + "\n"


def test_random_blocks_are_laid_out_as_black_does():
    asked: list[str] = []
    laid_out = 0
    for seed in range(400):
        block = random_block(seed)
        expected = black_format(block)
        before = len(asked)
        assert layout.format_block(block, lambda text: asked.append(text) or black_format(text)) == expected, seed
        laid_out += len(asked) == before
    # Both ways are exercised: most blocks without black, and some statements handed to it.
    assert asked and laid_out > 200, (len(asked), laid_out)


def test_what_black_would_change_in_other_ways_goes_to_black():
    asked: list[str] = []

    def ask(text: str) -> str:
        asked.append(text)
        return black_format(text)

    long = "x" * 120
    cases = [
        f"X = '{long}'\n",  # black leaves a long string long, or wraps it in parentheses
        "X = [\n    1,  # a comment inside brackets\n]\n",
        "X = {'a': 1, 'b': 2}  # a comment after a statement that must split, " + "long " * 16 + "\n",
        "X = 1 + 2\n",  # an operator: not the template's language
    ]
    for case in cases:
        asked.clear()
        assert layout.format_block(case, ask) == black_format(case)
        assert asked, case


def test_strings_and_numbers_are_normalised_as_black_does():
    for literal in ["'plain'", "'it\\'s'", "'say \"hi\"'", "'both \\' and \"'", "\"it's\"", "'\\\\'", "''"]:
        assert layout.string(literal) == black_format(f"X = {literal}\n")[4:-1], literal
    for literal in ["1e+16", "-1.5e-07", "10", "-0.0", "1E5", "3.", ".5"]:
        assert layout.number(literal) == black_format(f"X = {literal}\n")[4:-1], literal
