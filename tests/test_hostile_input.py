"""Hostile input: whatever text a config holds stays data, and reaches the server as written.

Hypothesis writes arbitrary Unicode (no lone surrogates: load.py's business) mixed with nasty
fragments (every kind of quote, backslashes, newlines, line and paragraph separators, NULs, Jinja,
format and shell syntax, Python that would run if pasted into code, BOM, RTL marks, emoji) into
every free-text field of a catalog and a simulation, compiles it in this process, and checks:

- the generated file parses, is black-stable and its non-constant structure (every name, call,
  attribute, operator) is exactly that of the file compiled from the same inputs with every
  string made benign: nothing from the config became code;
- every string reaches the file as an `ast.Constant`, and the configuration section, executed
  on its own, holds exactly the strings the config meant;
- text the compiler refuses (a path a client would rewrite, control characters in a report
  path...) is refused with `file: /pointer: message` and exit 2, never a traceback, and what the
  message suggests instead compiles;
- names that become identifiers or file names match their documented pattern, or `validate`
  exits 2 and `compile` writes nothing;
- a few real runs (Locust against a recording server on 127.0.0.1) deliver exactly the original
  query, JSON, raw body, header values and report path, and run nothing from the config.

CI determinism: every property is `derandomize=True` (its examples are a function of the test,
so a red CI run is reproducible on any machine and an unrelated change never turns it red) and
bounded (the module takes about 20 s on 2 cores). To explore further, set HOSTILE_EXPLORE=N: the
examples are then random and N times as many.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import string
import tempfile
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote

import black
import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from compiler.cli import main
from compiler.output.render import black_mode
from recording_server import RecordingServer
from locust_runs import run_locust

EXPLORE = int(os.environ.get("HOSTILE_EXPLORE", "0") or 0)


def bounded(examples: int, shrink: bool = True) -> settings:
    """Settings of a property: `examples` of them (times HOSTILE_EXPLORE), derandomized in CI; no
    shrinking where an example takes seconds (a real run): the failure is shown as found."""
    return settings(
        max_examples=examples * max(EXPLORE, 1),
        deadline=None,
        derandomize=not EXPLORE,
        database=None,  # nothing written into the checkout
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
        + [Phase.shrink] * shrink,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# -- hostile text ---------------------------------------------------------------------------------

PAYLOAD = '"); import os; os.system("touch PWNED") #'
# fmt: off
FRAGMENTS = [
    "'", '"', "'''", '"""', "`", "\\", "\\\\", "\\n", "\\x00", "\\u2028", "\\N{BULLET}", "\\\n",
    "\n", "\r", "\r\n", "\t", "\x00", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x85", "\x7f",
    "{{ 7*7 }}", "{% raw %}", "{% endraw %}", "{# c #}", "{{", "}}", "{0}", "{}", "{u}", "{t}",
    "%s", "%(x)s", "%", "%zz", "%41", "%2e", "%00", "${", "$${x}", "${x}", "$", "$(touch PWNED)",
    PAYLOAD, "'); import os; os.system('touch PWNED') #", "__import__('os').system('touch PWNED')",
    '"""\nimport os\nos.system(\'touch PWNED\')\n"""', "f'{__import__(\"os\").getcwd()}'",
    "{__import__('os').getcwd()}", "# -*- coding: latin-1 -*-", "lambda: 0", "Env('X')", "Text('a')",
    "<script>alert(1)</script>", "</html>", "&amp;", "?", "#", "&", "=", "+", ";", " ", "  ",
    "..", "/", "./", "../", "//", "~", "null", "None", "True",
    "🚀", "👩\u200d💻", "\u202e", "\u200f", "\ufeff", "\u200b", "ñ", "é", "ı", "ß", "\U0010ffff", "\ufffd",
]
# fmt: on
CHARACTERS = st.characters(codec="utf-8")  # all of Unicode but the surrogates


def texts(alphabet=CHARACTERS, fragments=FRAGMENTS, max_pieces: int = 5) -> st.SearchStrategy[str]:
    piece = (
        st.one_of(st.sampled_from(fragments), st.text(alphabet, max_size=6))
        if fragments
        else st.text(alphabet, max_size=6)
    )
    return st.lists(piece, max_size=max_pieces).map("".join)


hostile = texts()


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        hostile,
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(hostile, inner, max_size=3)
        ),
        max_leaves=8,
    )


# Header values: the schema and resolve allow printable ASCII; HTTP drops spaces at either end.
HEADER_VALUE_CHARACTERS = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
header_values = texts(
    HEADER_VALUE_CHARACTERS, [f for f in FRAGMENTS if f.isascii() and f.isprintable()]
).map(str.strip)
header_names = st.text(
    string.ascii_letters + string.digits + "!#$%&'*+.^_`|~-", min_size=1, max_size=12
).map(lambda s: "X-H-" + s)

header_dicts = st.lists(  # header names ignore case: two that differ only so are an error
    st.tuples(header_names, header_values), max_size=2, unique_by=lambda item: item[0].lower()
).map(dict)

# Paths that every HTTP client sends as written: RFC 3986 path characters, percent-encodings of
# anything but unreserved characters (clients decode those) in upper case, no '.' or '..' segment.
PATH_CHARACTERS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"
UNRESERVED = set(string.ascii_letters + string.digits + "-._~")
percent_encoded = st.sampled_from([f"%{b:02X}" for b in range(256) if chr(b) not in UNRESERVED])
segments = st.lists(st.one_of(st.sampled_from(PATH_CHARACTERS), percent_encoded), max_size=6).map(
    "".join
)
sendable_paths = st.lists(
    segments.filter(lambda s: s not in (".", "..")), min_size=1, max_size=4
).map(
    lambda parts: "/" + "/".join(parts) if parts[0] or len(parts) == 1 else "/x" + "/".join(parts)
)


def escape(text: str) -> str:
    """The config text that means `text`: `$${` writes a literal `${`."""
    return text.replace("${", "$${")


# `$${` is a literal `${`, so a `$` right before a placeholder cannot be written (SPEC's choice).
before_placeholder = hostile.map(lambda s: s + "." if s.endswith("$") else s)


def no_placeholder(text: str) -> str:
    """Variable values are literal and may not hold `${` at all."""
    return text.replace("${", "$ {")


# -- compiling in this process --------------------------------------------------------------------


def compile_files(
    folder: Path,
    catalog: dict,
    simulations: dict[str, Any],
    ascii_json: bool = True,
    command: str = "compile",
):
    """Write the inputs (JSON \\u-escaped or raw UTF-8) and run the compiler's main() on them.
    (exit code, stdout, stderr, {file name: source} of what compile wrote)."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "catalog.json").write_text(
        json.dumps(catalog, indent=2, ensure_ascii=ascii_json), "utf-8"
    )
    for relative, data in simulations.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            data if isinstance(data, str) else json.dumps(data, indent=2, ensure_ascii=ascii_json),
            "utf-8",
        )
    out, err, before = io.StringIO(), io.StringIO(), os.getcwd()
    args = ["--catalog", str(folder / "catalog.json"), command] + (
        ["--out", str(folder / "generated")] if command == "compile" else []
    )
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
    finally:
        os.chdir(before)
    generated = folder / "generated"
    files = (
        {p.name: p.read_text("utf-8") for p in sorted(generated.glob("*.py"))}
        if generated.is_dir()
        else {}
    )
    return code, out.getvalue(), err.getvalue(), files


def assert_clean_refusal(code: int, err: str, pointer: str | None = None) -> list[str]:
    """Exit 2 with `file: /pointer: message` lines and a summary, never an internal error."""
    assert code == 2, err
    assert "internal error" not in err and "Traceback" not in err, err
    assert re.search(r"\d+ error\(s\), \d+ warning\(s\) in \d+ file\(s\)\n\Z", err), err
    if pointer is not None:
        assert f": {pointer}: " in err, err
    return err.splitlines()


def assert_black_stable(source: str, whole: bool = False) -> None:
    """Black leaves the file as it is. Unless `whole`, only up to the end of the configuration:
    the runtime below it is the same in every file and formatting it costs 0.1 s a file."""
    if not whole:
        end = next(
            n.end_lineno
            for n in ast.parse(source).body
            if isinstance(n, ast.Assign) and n.targets[0].id == "ENDPOINTS"
        )
        source = "".join(source.splitlines(keepends=True)[:end])
    assert black.format_str(source, mode=black_mode()) == source


def skeleton(source: str) -> str:
    """The code of a module with every string constant blanked: what is not data."""
    return ast.dump(_Blank().visit(ast.parse(source)))


class _Blank(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant("" if isinstance(node.value, str) else node.value)


CONFIGURATION = {
    "TARGET",
    "APP",
    "ENVIRONMENT",
    "COUNTRY",
    "DEFAULTS",
    "SEED_DERIVED_FROM_TARGET",
    "LIMITS",
    "PROTECTED",
    "CLIENT",
    "THINK_TIME_SECONDS",
    "HEADERS",
    "PACING",
    "FEEDS",
    "ON_START",
    "ENDPOINTS",
    "FLOWS",
    "STAGES",
    "THRESHOLDS",
}
PRELUDE_CLASSES = ("Env", "Captured", "FromFeed", "Text", "Json", "Step", "Endpoint", "Pause", "Flow", "Feed")


def configuration_of(source: str) -> dict[str, Any]:
    """The configuration section of a generated file, executed on its own (no Locust imported)
    with the prelude's own classes (Env, Text, Step, Endpoint, ...)."""
    tree = ast.parse(source)
    wanted = [ast.parse("from dataclasses import dataclass, field").body[0]]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in PRELUDE_CLASSES:
            wanted.append(node)
        elif (
            isinstance(node, ast.Assign)
            and {getattr(t, "id", None) for t in node.targets} & CONFIGURATION
        ):
            wanted.append(node)
    code = compile(ast.Module(wanted, []), "<configuration>", "exec")
    namespace: dict[str, Any] = {"__name__": __name__}  # dataclasses looks the module up
    exec(code, namespace)  # the skeleton check has shown it is data and the prelude's classes
    return namespace


def joined(value: Any, environ: dict[str, str]) -> Any:
    """A configuration value as sent: Text and Env joined with `environ`, like the runtime's resolve."""
    kind = type(value).__name__
    if kind == "Env":
        return environ[value.name]
    if kind == "Text":
        return "".join(joined(part, environ) for part in value.parts)
    if isinstance(value, dict):
        return {k: joined(v, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [joined(v, environ) for v in value]
    return value


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings_in(v)]]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in strings_in(item)]
    return []


def map_strings(value: Any, rename: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return rename(value)
    if isinstance(value, dict):
        return {rename(k): map_strings(v, rename) for k, v in value.items()}
    if isinstance(value, list):
        return [map_strings(v, rename) for v in value]
    return value


FILE_NAME_CHARACTERS = st.characters(codec="utf-8", exclude_characters="/\x00")

# -- one case: hostile text in every free-text field ----------------------------------------------

TOKEN = "HOSTILE_TOKEN"
SECRET = "s3cr3t-"  # every secret value starts so: it must show nowhere


@st.composite
def cases(draw) -> dict[str, Any]:
    """What the config means, field by field (before escaping): every string here is free text."""
    return {
        "environment_var": no_placeholder(draw(hostile)),
        "country_var": no_placeholder(draw(hostile)),
        "app_var": no_placeholder(draw(hostile)),
        "simulation_var": no_placeholder(draw(hostile)),
        "simulation_file": draw(
            texts(FILE_NAME_CHARACTERS, [f for f in FRAGMENTS if not {"/", "\x00"} & set(f)], 3)
        )[:30],
        "host_path": draw(sendable_paths),
        "report": draw(hostile.map(lambda s: "".join(c for c in s if c.isprintable() or c == " "))),
        "headers": draw(header_dicts),
        "endpoint_headers": draw(header_dicts),
        "path": draw(sendable_paths),
        "query": draw(
            st.dictionaries(
                hostile,
                st.one_of(hostile, st.lists(hostile, max_size=3), st.integers(), st.booleans()),
                max_size=3,
            )
        ),
        "json": draw(json_values()),
        "around_vars": (draw(before_placeholder), draw(hostile)),
        "around_secret": (draw(before_placeholder), draw(hostile)),
        "body": draw(hostile),
        "ascii_json": draw(st.booleans()),
    }


# Every field at once, hand-picked: tried first by the properties below, whatever they draw.
NASTY_CASE = {
    "environment_var": PAYLOAD,
    "country_var": "{{ 7*7 }}\u2028\u2029{% raw %}",
    "app_var": "\\N{BULLET}\x00\\",
    "simulation_var": "$ {x}{0}%s%(x)s",
    "simulation_file": 'a\'""" b\\ñ',
    "host_path": "",
    "report": "r'\"{u}ñ 🚀\u202e",
    "headers": {"X-H-Quote": "'\"\\ {{ 7*7 }} %s ${x} $${y}"},
    "endpoint_headers": {"X-H-Payload": PAYLOAD},
    "path": "/a%20b/%C3%B1;x=1/@:!$&'()*+,=",
    "query": {"q\n&=+#%": ["a b&c=d", "\x00\u2028🚀"], PAYLOAD: "${x}$${y}", "n": 3, "t": True},
    "json": {
        "'''": ['"""', "\\", None, -0.0, 1e308, 2**64],
        "\u2028": {"\x00": "{% raw %}"},
        "${env:X}": "$",
    },
    "around_vars": ("<", ">"),
    "around_secret": ("Bearer '", "' \n"),
    "body": PAYLOAD + "\x00\r\n\u2029\ufeff__import__('os')",
    "ascii_json": False,
}


def inputs_for(
    case: dict[str, Any], host: str = "https://h.example.test"
) -> tuple[dict, dict, str]:
    """(catalog, simulation, simulation's path) saying what `case` means."""
    stem = case["simulation_file"]
    relative = f"simulations/{stem}.json" if stem not in ("", ".", "..") else "simulations/x.json"
    catalog = {
        "environments": {"qa": {"vars": {"ev": case["environment_var"]}}},
        "countries": {"mx": {"vars": {"cv": case["country_var"]}}},
        "apps": {
            "shop": {
                "simulation": relative,
                "environments": ["qa"],
                "countries": ["mx"],
                "vars": {"av": case["app_var"]},
            }
        },
    }
    before, after = case["around_vars"]
    first, last = case["around_secret"]
    simulation = {
        "host": host + escape(case["host_path"]).rstrip("/"),
        "users": 1,
        "spawn_rate": 20,
        "run_time": "1s",
        "seed": 5,
        "think_time_seconds": 0.01,
        "report_html": "reports/" + escape(case["report"]) + ".html",
        "vars": {"sv": case["simulation_var"]},
        "headers": {k: escape(v) for k, v in case["headers"].items()},
        "endpoints": [
            {
                "name": "data",
                "method": "POST",
                "path": escape(case["path"]),
                "headers": {k: escape(v) for k, v in case["endpoint_headers"].items()},
                "query": map_strings(case["query"], escape),
                "json": {
                    "data": map_strings(case["json"], escape),
                    "vars": escape(before) + "${ev}${cv}${av}${sv}" + escape(after),
                    "secret": escape(first) + "${env:" + TOKEN + "}" + escape(last),
                },
            },
            {"name": "raw", "method": "PUT", "path": "/raw", "body": escape(case["body"])},
        ],
    }
    return catalog, simulation, relative


def meant(case: dict[str, Any], secret: str) -> dict[str, Any]:
    """What the generated file must send for `case`, with `secret` as the environment's token."""
    before, after = case["around_vars"]
    first, last = case["around_secret"]
    variables = (
        case["environment_var"] + case["country_var"] + case["app_var"] + case["simulation_var"]
    )
    overridden = {name.lower() for name in case["endpoint_headers"]}
    query = {  # as parse_qs reads it: every value a list of strings; an empty list sends nothing
        k: [x if isinstance(x, str) else json.dumps(x) for x in (v if isinstance(v, list) else [v])]
        for k, v in case["query"].items()
        if v != []
    }
    return {
        "report": "reports/" + case["report"] + ".html",
        "headers": {  # an endpoint's header replaces the simulation's of any case
            **{k: v for k, v in case["headers"].items() if k.lower() not in overridden},
            **case["endpoint_headers"],
        },
        "endpoint_headers": case["endpoint_headers"],
        "path": case["path"],
        "query": query,
        "json": {
            "data": case["json"],
            "vars": before + variables + after,
            "secret": first + secret + last,
        },
        "body": case["body"],
    }


def benign_twin(case: dict[str, Any]) -> dict[str, Any]:
    """The same case with every distinct free-text string replaced by a distinct plain one
    (the empty string stays empty: it is dropped from a Text's parts)."""
    names: dict[str, str] = {}

    def rename(text: str) -> str:
        return "" if text == "" else names.setdefault(text, f"b{len(names)}")

    twin = {key: map_strings(value, rename) for key, value in case.items()}
    twin["around_vars"] = tuple(map(rename, case["around_vars"]))
    twin["around_secret"] = tuple(map(rename, case["around_secret"]))
    for key in ("headers", "endpoint_headers"):  # names stay: they are not free text
        twin[key] = {name: rename(value) for name, value in case[key].items()}
    for key in ("host_path", "path", "ascii_json"):  # a path is restricted, "b1" is not one
        twin[key] = case[key]
    return twin


def compiled(case: dict[str, Any], folder: Path) -> str:
    catalog, simulation, relative = inputs_for(case)
    code, _out, err, files = compile_files(
        folder, catalog, {relative: simulation}, case["ascii_json"]
    )
    assert code == 0, err
    assert list(files) == ["shop_qa_mx.py"], files
    return files["shop_qa_mx.py"]


# -- 1. what the compiler writes ------------------------------------------------------------------


@bounded(40)
@given(case=cases())
@example(case=NASTY_CASE)
def test_hostile_text_stays_data_in_the_generated_file(case):
    with (
        tempfile.TemporaryDirectory() as hostile_folder,
        tempfile.TemporaryDirectory() as benign_folder,
    ):
        source = compiled(case, Path(hostile_folder))
        twin = compiled(benign_twin(case), Path(benign_folder))
        assert not list(Path(hostile_folder).rglob("PWNED"))

        assert_black_stable(source)
        tree = ast.parse(source)
        # Nothing from the config became code: the same file as the benign twin's, but for data.
        assert skeleton(source) == skeleton(twin)

        constants = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)}
        expected = meant(case, secret="")
        before, after = case["around_vars"]
        variables = (
            case["environment_var"] + case["country_var"] + case["app_var"] + case["simulation_var"]
        )
        for text in [
            expected["report"],
            expected["path"],
            expected["body"],
            before + variables + after,
            *case["around_secret"],
            *strings_in(case["json"]),
            *strings_in(case["query"]),
            *case["headers"].values(),
            *case["endpoint_headers"].values(),
        ]:
            assert text == "" or text in constants, text

        configuration = configuration_of(source)
        assert not list(Path.cwd().glob("PWNED"))
        environ = {TOKEN: "s3cret"}
        assert configuration["DEFAULTS"]["html_file"] == expected["report"]
        assert configuration["DEFAULTS"]["host"] == "https://h.example.test" + case[
            "host_path"
        ].rstrip("/")
        assert joined(configuration["HEADERS"], environ) == case["headers"]
        data, raw = configuration["ENDPOINTS"]
        assert data.path == expected["path"]
        assert joined(data.headers, environ) == case["endpoint_headers"]
        sent = {
            k: v if isinstance(v, list) else [v] for k, v in joined(data.query, environ).items()
        }
        assert {k: v for k, v in sent.items() if v != []} == expected["query"]
        assert joined(data.json, environ) == meant(case, secret="s3cret")["json"]
        assert raw.body == expected["body"]
        assert f"generated from catalog.json and {inputs_for(case)[2]}." in ast.get_docstring(
            tree, clean=False
        )


# -- 2. text the compiler refuses: a message, never a crash ---------------------------------------


def plain_inputs(**simulation_changes) -> tuple[dict, dict]:
    catalog = {
        "environments": {"qa": {}},
        "countries": {"mx": {}},
        "apps": {
            "shop": {
                "simulation": "simulations/shop.json",
                "environments": ["qa"],
                "countries": ["mx"],
            }
        },
    }
    simulation = {
        "host": "https://h.example.test",
        "users": 1,
        "spawn_rate": 1,
        "run_time": "1s",
        "endpoints": [{"name": "home", "path": "/"}],
    }
    simulation.update(simulation_changes)
    return catalog, simulation


def one_field(text: str, where: str) -> tuple[dict, dict]:
    """Inputs with `text`, as written, in one field."""
    endpoint: dict[str, Any] = {"name": "home", "path": "/"}
    changes: dict[str, Any] = {}
    if where == "host":
        changes["host"] = "https://h" + text
    elif where == "report_html":
        changes["report_html"] = "r" + text
    elif where == "header":
        changes["headers"] = {"X-A": text}
    elif where == "var":
        changes["vars"] = {"v": text}
        endpoint["body"] = "${v}"
    elif where == "path":
        endpoint["path"] = "/" + text
    else:
        endpoint[where] = {text: text} if where != "body" else text
    return plain_inputs(**changes, endpoints=[endpoint])


def code_names(tree: ast.AST) -> tuple[set[str], set[str], int]:
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return names, attributes, len(tree.body)


@bounded(50)
@given(
    text=hostile,
    where=st.sampled_from(
        ["host", "report_html", "header", "query", "json", "body", "path", "var"]
    ),
)
def test_unescaped_hostile_text_compiles_or_is_refused_with_a_message(text, where):
    """Raw text, `${` and all, in one field: exit 0 with the text as data, or exit 2 with a
    message; never an internal error, never a file when refused."""
    with tempfile.TemporaryDirectory() as folder:
        catalog, simulation = one_field(text, where)
        code, _out, err, files = compile_files(
            Path(folder), catalog, {"simulations/shop.json": simulation}
        )
        event(f"{where}: exit {code}")
        if code != 0:
            assert_clean_refusal(code, err)
            assert files == {}
            return
        source = files["shop_qa_mx.py"]
        assert_black_stable(source)
        catalog, simulation = one_field("b", where)
        _, _, _, twins = compile_files(
            Path(folder) / "twin", catalog, {"simulations/shop.json": simulation}
        )
        twin = twins["shop_qa_mx.py"]
        names, attributes, statements = code_names(ast.parse(source))
        twin_names, twin_attributes, twin_statements = code_names(ast.parse(twin))
        assert names <= twin_names | {"Text", "Env"}  # ${env:NAME} is a Text of Env values
        assert (attributes, statements) == (twin_attributes, twin_statements)


def sent_by_requests(path: str) -> str:
    """The path python-requests would send (it rewrites more than FastHttpUser), without sending."""
    from requests.models import PreparedRequest

    request = PreparedRequest()
    request.prepare_url("http://h.example.test" + path, None)
    return request.path_url


@bounded(50)
@given(path=st.one_of(hostile.map(lambda s: "/" + escape(s)), sendable_paths.map(escape)))
def test_a_path_compiles_as_sent_or_is_refused_with_the_form_that_is(path):
    """A path reaches the server byte for byte with either client, or the compiler refuses it,
    naming the place and the percent-encoded form that does; that form compiles and means the
    same to the server (it decodes to the same text)."""
    catalog, simulation = plain_inputs(endpoints=[{"name": "home", "path": path}])
    meant_path = path.replace("$${", "${")
    with tempfile.TemporaryDirectory() as folder:
        code, _out, err, files = compile_files(
            Path(folder), catalog, {"simulations/shop.json": simulation}
        )
        event(f"exit {code}")
        if code == 0:
            assert configuration_of(files["shop_qa_mx.py"])["ENDPOINTS"][0].path == meant_path
            assert sent_by_requests(meant_path) == meant_path
            return
        lines = assert_clean_refusal(code, err, "/endpoints/0/path")
        assert files == {}
        suggested = re.search(r"; write (\S+) instead \(for target shop_qa_mx\)$", lines[0])
        assert suggested, lines[0]
        fixed = ast.literal_eval(suggested.group(1))
        catalog, simulation = plain_inputs(endpoints=[{"name": "home", "path": escape(fixed)}])
        code, _out, err, files = compile_files(
            Path(folder) / "fixed", catalog, {"simulations/shop.json": simulation}
        )
        assert code == 0, err
        assert configuration_of(files["shop_qa_mx.py"])["ENDPOINTS"][0].path == fixed
        assert sent_by_requests(fixed) == fixed
        resolved = re.search(r"(^|/)\.\.?(/|$)|^//|#", unquote(meant_path))  # dots, a fragment
        if not resolved:
            assert unquote(fixed) == unquote(meant_path)


def test_paths_that_clients_would_rewrite_are_refused_with_a_suggestion(tmp_path):
    for path, suggested in {
        "/a b": "/a%20b",
        "/ñ": "/%C3%B1",
        "/a%zz": "/a%25zz",
        "/%41%c3%b1": "/A%C3%B1",
        "/a/../b": "/b",
        "/a/./b/.": "/a/b/",
        "/search?q=1": "/search%3Fq=1",
        "/a#top": "/a%23top",
        "//x": "/x",
        '/a"<>`{}|^\\[]\x00\n': "/a%22%3C%3E%60%7B%7D%7C%5E%5C%5B%5D%00%0A",
    }.items():
        catalog, simulation = plain_inputs(endpoints=[{"name": "home", "path": path}])
        code, _out, err, files = compile_files(
            tmp_path / str(len(list(tmp_path.iterdir()))),
            catalog,
            {"simulations/shop.json": simulation},
        )
        lines = assert_clean_refusal(code, err, "/endpoints/0/path")
        assert lines[0].endswith(f"; write {suggested!r} instead (for target shop_qa_mx)"), lines[0]
        assert files == {}


@pytest.mark.parametrize(
    "changes, pointer, words",
    [
        ({"report_html": "reports/a\x00b.html"}, "/report_html", "control character"),
        ({"report_html": "reports/a\nb.html"}, "/report_html", "control character"),
        ({"headers": {"X-A": " padded"}}, "/headers/X-A", "space"),
        ({"headers": {"X-A": "padded "}}, "/headers/X-A", "space"),
        ({"host": "https://h.example.test/a b"}, "/host", "space"),
        ({"host": "https://h.example.test\r\nX-Evil: 1"}, "/host", "control character"),
    ],
)
def test_text_that_would_fail_at_run_time_is_refused_at_compile_time(
    tmp_path, changes, pointer, words
):
    catalog, simulation = plain_inputs(**changes)
    code, _out, err, files = compile_files(tmp_path, catalog, {"simulations/shop.json": simulation})
    lines = assert_clean_refusal(code, err, pointer)
    assert words in lines[0], lines[0]
    assert files == {}


# -- 3. names that become identifiers and file names ----------------------------------------------

NAME = re.compile(r"[a-z][a-z0-9-]*")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def near_names(pattern: str) -> st.SearchStrategy[str]:
    valid = st.from_regex(pattern, fullmatch=True).filter(lambda s: len(s) <= 30)
    return st.one_of(
        valid,
        st.one_of(
            valid.map(lambda s: s + "\n"),
            valid.map(lambda s: s + "\r\n"),
            valid.map(lambda s: "\n" + s),
            valid.map(lambda s: s.upper()),
            hostile,
        ),
    )


@bounded(50)
@given(
    which=st.sampled_from(["environment", "country", "app", "endpoint", "variable", "header"]),
    data=st.data(),
)
def test_names_match_their_pattern_or_nothing_is_generated(which, data):
    pattern, limit = {
        "endpoint": (IDENTIFIER, 100),
        "variable": (IDENTIFIER, None),
        "header": (HEADER_NAME, 256),
    }.get(which, (NAME, 64))
    name = data.draw(near_names(pattern.pattern), label="name")
    environment, country, app, endpoint, variable, header = "qa", "mx", "shop", "home", "v", "X-A"
    if which == "environment":
        environment = name
    elif which == "country":
        country = name
    elif which == "app":
        app = name
    elif which == "endpoint":
        endpoint = name
    elif which == "variable":
        variable = name
    else:
        header = name
    catalog = {
        "environments": {environment: {}},
        "countries": {country: {"vars": {variable: "value"}}},
        "apps": {
            app: {
                "simulation": "simulations/shop.json",
                "environments": [environment],
                "countries": [country],
            }
        },
    }
    simulation = {
        "host": "https://h.example.test",
        "users": 1,
        "spawn_rate": 1,
        "run_time": "1s",
        "headers": {header: "v"},
        "endpoints": [{"name": endpoint, "path": "/", "body": "${" + escape(variable) + "}"}],
    }
    valid = bool(pattern.fullmatch(name)) and (limit is None or len(name) <= limit)
    if which == "variable" and name in ("app", "environment", "country", "target"):
        valid = False  # built-ins may not be shadowed
    event(f"{which}: {'valid' if valid else 'invalid'}")
    with tempfile.TemporaryDirectory() as folder:
        code, out, err, _ = compile_files(
            Path(folder), catalog, {"simulations/shop.json": simulation}, command="validate"
        )
        if not valid:
            assert_clean_refusal(code, err)
        else:
            assert code == 0, err
        code, out, err, files = compile_files(
            Path(folder), catalog, {"simulations/shop.json": simulation}
        )
        if not valid:
            assert_clean_refusal(code, err)
            assert files == {}
        else:
            assert code == 0, err
            assert list(files) == [f"{app}_{environment}_{country}.py"]


# -- 4. real runs: the server receives exactly the original strings --------------------------------


@pytest.fixture(scope="module")
def recording_server():
    server = RecordingServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("client", ["fasthttp", "requests"])
@bounded(2, shrink=False)
@given(
    case=cases(),
    secret=texts(CHARACTERS.filter(lambda c: c != "\x00"), max_pieces=3).map(lambda s: SECRET + s),
)
@example(case=NASTY_CASE, secret=SECRET + "'\"\\\n🚀 ${x}")
def test_the_server_receives_exactly_the_original_strings(recording_server, client, case, secret):
    server = recording_server
    server.reset()
    case = {**case, "report": case["report"].replace("/", "_")[:40], "host_path": ""}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        catalog, simulation, relative = inputs_for(case, host=server.url)
        simulation["client"] = client
        code, _out, err, files = compile_files(
            folder / "inputs", catalog, {relative: simulation}, case["ascii_json"]
        )
        assert code == 0, err
        locustfile = folder / "inputs" / "generated" / "shop_qa_mx.py"
        assert_black_stable(files["shop_qa_mx.py"], whole=True)
        rundir = folder / "run"
        run = run_locust(locustfile, rundir, env={TOKEN: secret}, timeout=60)
        assert run.returncode == 0, run
        expected = meant(case, secret)
        received = server.received()
        assert {r.method for r in received} == {"POST", "PUT"}, run
        for request in received:
            if request.method == "PUT":
                assert request.path == "/raw"
                assert request.body == expected["body"].encode("utf-8")
                continue
            assert request.path == expected["path"]
            assert request.query == expected["query"]
            assert json.loads(request.body) == expected["json"]
            for name, value in expected["headers"].items():
                assert request.header(name) == value, (name, request.headers)
        report = Path(expected["report"].replace("{u}", "1").replace("{r}", "20").replace("{t}", "1"))
        # in the run's own folder beside the template's path, with the name the template gives
        (run_folder,) = [p for p in (rundir / report.parent).iterdir() if p.is_dir()]
        assert (run_folder / report.name).is_file(), sorted(str(p) for p in rundir.rglob("*"))
        assert (
            not list(rundir.rglob("PWNED"))
            and not list(folder.rglob("PWNED"))
            and not list(Path.cwd().glob("PWNED"))
        )
        assert SECRET not in files["shop_qa_mx.py"] and SECRET not in run.output
