"""Stage 4: one escaping function, black-stable standalone output, a header that names sources."""

import ast
import copy
import re
import sys

import black
import pytest

from compiler.resolve.model import EnvRef, Text
from compiler.output.render import black_mode, py_literal, split_header, digest
from conftest import ROOT, SAMPLE, SIMULATION

NASTY = [
    "",
    "plain",
    "quote ' double \" triple ''' \"\"\" end",
    "back\\slash \\n not a newline \\",
    "new\nline\r\ttab",
    "nul \x00 and del \x7f",
    "separators \u2028 \u2029 \x85",
    "{{ jinja }} {% block %} {# c #}",
    "{format} %s %(x)s",
    "__import__('os').system('echo pwned')",
    "\"); import os; os.system('x'); (\"",
    "emoji 🚀 and accents ñáü and rtl \u202e",
    "lone surrogate \ud800",
]


@pytest.mark.parametrize("text", NASTY)
def test_literals_round_trip(text):
    assert ast.literal_eval(py_literal(text)) == text
    nested = {"k": [text, 1, 2.5, True, None, {text: text}]}
    assert ast.literal_eval(py_literal(nested)) == nested


def test_runtime_values_are_calls_not_text():
    assert py_literal(Text(("Bearer ", EnvRef("TOKEN")))) == "Text('Bearer ', Env('TOKEN'))"
    with pytest.raises(ValueError):
        py_literal(float("inf"))
    with pytest.raises(TypeError):
        py_literal(object())


def test_hostile_strings_reach_the_generated_file_as_exact_constants(project):
    simulation = copy.deepcopy(SIMULATION)
    hostile = [text for text in NASTY if "\ud800" not in text]
    simulation["endpoints"][1]["json"] = {text: text for text in hostile}
    simulation["endpoints"][0]["query"] = {"q": hostile}
    made = project(simulation=simulation)
    code, _out, err = made.cli("compile", "--only", "shop_qa_mx")
    assert code == 0, err
    source = (made.folder / "generated/shop_qa_mx.py").read_text("utf-8")
    assert black.format_str(source, mode=black_mode()) == source
    tree = ast.parse(source)
    constants = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)}
    assert set(hostile) <= constants
    assert "pwned" not in {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def test_committed_output_is_standalone_reviewable_and_black_stable():
    for path in sorted((SAMPLE / "generated").glob("*.py")):
        source = path.read_text("utf-8")
        assert black.format_str(source, mode=black_mode()) == source, path.name
        roots = {
            (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        assert roots - set(sys.stdlib_module_names) == {"locust"}, path.name
        assert str(ROOT) not in source and "/tmp/" not in source and "/home/" not in source
        recorded, body = split_header(source)
        assert recorded == digest(body)
        assert f'"Load simulation {path.stem}, generated from catalog.json and simulations/' in source


def test_runtime_sources_are_black_formatted_so_files_need_not_be():
    """render.static_part inlines each part as it is written: black must leave it unchanged."""
    from compiler.output.render import RUNTIME_PARTS, static_part

    for name in ("prelude", *RUNTIME_PARTS):
        part = static_part(name)
        assert black.format_str(part, mode=black_mode()) == part, f"compiler/runtime/{name}.py: run black on it"


def test_templates_see_only_the_model_strictly(monkeypatch):
    import jinja2

    from compiler.output import render

    environment = render._environment()
    with pytest.raises(jinja2.UndefinedError):
        environment.from_string("{{ t.not_a_field | py }}").render(t=object())


def test_the_configuration_comes_first_after_the_imports():
    """A reviewer finds the target's configuration right after the imports and the six small
    classes it is written in; the header says where the runtime starts."""
    for path in sorted((SAMPLE / "generated").glob("*.py")):
        source = path.read_text("utf-8")
        lines = source.splitlines()
        assert 'the runtime starts at "# ---- How it runs".' in "\n".join(lines[:8]), path.name
        first = next(i for i, line in enumerate(lines) if line.startswith("TARGET = "))
        runtime = lines.index("# ---- How it runs. This part is the same in every generated file. ----")
        assert first < 100 and first < runtime, (path.name, first)
        classes = [line.split()[1].rstrip(":(") for line in lines[:first] if line.startswith("class ")]
        assert classes == ["Env", "Captured", "FromFeed", "Text", "RepeatIndex", "Json"], (path.name, classes)
        assert not [line for line in lines[:first] if line.startswith(("def ", "@"))], path.name


def test_the_header_lists_every_option_the_file_adds():
    """The header is what a reader sees first: every option the runtime adds to Locust's is in it
    (read from the runtime's own add_argument calls, so a new one cannot be left out)."""
    from compiler.output.render import HEADER, RUNTIME_DIR

    added = set()
    for path in sorted(RUNTIME_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                first = node.args[0]
                if isinstance(first, ast.Constant):
                    added.add(first.value)
                elif isinstance(first, ast.Name) and first.id == "flag":  # the record options' loop
                    added |= {"--run-record", "--junit", "--summary-json"}
    assert len(added) >= 13, added
    listed = set(re.findall(r"--[a-z-]+", HEADER))
    assert added <= listed, sorted(added - listed)


# Run in a subprocess (the runtime is Locust's to load): the options a generated file adds to
# Locust's parser, each with its environment variable.
ADDED_OPTIONS = """
import json, runpy, sys
from locust import argument_parser


def options():
    return {flag: getattr(action, "env_var", None) for action in argument_parser.get_parser()._actions
            for flag in action.option_strings}


before = options()
runpy.run_path(sys.argv[1], run_name="locustfile")
print(json.dumps({flag: env for flag, env in options().items() if flag not in before}))
"""
NUMBERS = {"twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17}


def test_running_md_lists_every_option_the_file_adds_to_locusts_parser():
    """docs/RUNNING.md's list of added options, and its table of settings (flag, environment
    variable, config file key), against the options a generated file really adds to Locust's
    argument parser: none missing, none that it does not add."""
    import json
    import subprocess

    done = subprocess.run([sys.executable, "-c", ADDED_OPTIONS, str(SAMPLE / "generated" / "app_local_mx.py")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    added = json.loads(done.stdout.splitlines()[-1])
    assert len(added) >= 13, added
    running = (ROOT / "docs" / "RUNNING.md").read_text("utf-8")
    said = re.search(r"does not list the (\w+)\s+added options \(([^)]*)\)", running)
    assert said, "RUNNING.md no longer says which options --help does not list"
    listed = re.findall(r"`(--[a-z-]+)`", said.group(2))
    assert sorted(listed) == sorted(added) and len(listed) == len(set(listed)), listed
    assert NUMBERS.get(said.group(1)) == len(added), said.group(1)
    table = running[running.index("| Setting | Flag | Environment variable | Config file key |") :].split("\n\n", 1)[0]
    rows = [[cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))] for line in table.splitlines()[2:]]
    for flag, env in added.items():
        row = next((row for row in rows if re.search(rf"`{flag}\b(?!-)", row[1])), None)
        assert row, f"{flag} is not in RUNNING.md's table of settings"
        assert f"`{env}" in row[2] and f"`{flag[2:]}`" in row[3], (flag, env, row)
