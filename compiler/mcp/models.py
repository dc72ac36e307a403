"""What the MCP server's tools return: their output schemas, one pydantic model per tool.

Why here, in one place: these models are the contract that `contracts/tools.json` snapshots,
so a change to one shows as a diff of that file. They are derived from what the command line
already has: a problem is `compiler.problems.Problem` (file, pointer, message, level) with the
very line the command line prints; run records, threshold verdicts, request statistics and
failures are the published `compiler/schemas/run.schema.json` itself, its references inlined so
that every tool's output schema stands alone (a client validates against it without fetching
anything); explain's values are the model's, each with the origin `explain` prints.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from compiler.problems import Problem

SCHEMAS = Path(__file__).parent.parent / "schemas"


@cache
def published_schema(name: str) -> dict:
    """One of compiler/schemas/*.schema.json, as it ships."""
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


def inlined(schema: dict) -> dict:
    """`schema` with every local `$ref` (`#/$defs/x`) replaced by what it names (siblings such as
    a description win), and without `$defs`, `$id` and `$schema`: a part of a tool's schema."""
    definitions = schema.get("$defs", {})
    DROPPED = ("$defs", "$id", "$schema")

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                target = walk(copy.deepcopy(definitions[reference.removeprefix("#/$defs/")]))
                return {**target, **{k: walk(v) for k, v in node.items() if k not in DROPPED + ("$ref",)}}
            return {k: walk(v) for k, v in node.items() if k not in DROPPED}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(schema)


def _run_def(name: str) -> dict:
    schema = published_schema("run")
    return inlined({"$defs": schema["$defs"], "$ref": f"#/$defs/{name}"})


RunRecordJson = Annotated[dict[str, Any], WithJsonSchema(inlined(published_schema("run")))]
VerdictJson = Annotated[dict[str, Any], WithJsonSchema(_run_def("verdict"))]
StatisticsJson = Annotated[dict[str, Any], WithJsonSchema(_run_def("statistics"))]
FailureJson = Annotated[dict[str, Any], WithJsonSchema(_run_def("failure"))]


class ProblemItem(BaseModel):
    """One problem, as data and as the line the command line prints."""

    file: str = Field(description="The file, relative to the server's folder; in a draft, as the call named it.")
    pointer: str = Field(description="JSON pointer inside the file; '' for the file as a whole.")
    message: str
    level: Literal["error", "warning"]
    line: str = Field(description="The problem as the command line prints it: `file: /pointer: message`.")

    @classmethod
    def of(cls, problem: Problem) -> "ProblemItem":
        level = "error" if problem.level == "error" else "warning"
        return cls(file=problem.file, pointer=problem.pointer, message=problem.message, level=level, line=str(problem))


class TargetItem(BaseModel):
    name: str = Field(description="<app>_<environment>_<country>; its file is <out>/<name>.py.")
    app: str
    environment: str
    country: str
    protected: bool = Field(description="Whether its environment is protected: `run` refuses it unless allowed.")


class TargetList(BaseModel):
    """`list_targets`: the compatible targets, sorted, as `python -m compiler list` prints them."""

    catalog: str = Field(description="The catalog read, relative to the server's folder.")
    targets: list[TargetItem]


class ExplainedValue(BaseModel):
    key: str = Field(description="The setting: host, users, endpoints.search.query.q, flows.buy.steps.0.path, ...")
    value: Any = Field(description="The resolved value, `${env:NAME}` secrets as written, never their values.")
    origin: str = Field(description="Where it was set: the layer, file and JSON pointer, and each variable used.")


class Explanation(BaseModel):
    """`explain`: one target's resolved configuration, each value with its origin."""

    target: str
    app: str
    environment: str
    country: str
    sources: list[str] = Field(description="The files the target is made of, relative to the catalog's folder.")
    values: list[ExplainedValue]


class Validation(BaseModel):
    """`validate`: the catalog and every simulation are valid (problems are a tool error)."""

    valid: bool
    draft: bool = Field(description="Whether inline drafts were checked rather than the files on disk.")
    catalog: str = Field(description="The catalog checked; in a draft, its file name.")
    simulations: int = Field(description="Simulations the catalog names.")
    targets: int = Field(description="Compatible targets, every one resolved.")
    warnings: list[ProblemItem]
    summary: str = Field(description="The line `validate` prints.")


class ForeignFile(BaseModel):
    file: str
    why: str


class CompileReport(BaseModel):
    """`compile`: what was written, or with `check`, what differs (nothing is written)."""

    out: str = Field(description="The output folder, the one the server was started with.")
    check: bool
    up_to_date: bool = Field(description="Nothing differs (check), or nothing was kept or refused (compile).")
    written: list[str]
    unchanged: list[str]
    removed: list[str] = Field(description="Files of targets that no longer exist (check: that would be removed).")
    missing: list[str] = Field(description="check: files that a compile would write.")
    stale: list[str] = Field(description="check: files whose sources changed.")
    edited: list[str] = Field(description="Files edited by hand since generated: kept unless `force`.")
    foreign: list[ForeignFile] = Field(description="Files at a target's path that the compiler did not write: never touched.")
    warnings: list[ProblemItem]
    exit_code: int = Field(description="The command line's: 0, or 1 when `check` found differences.")
    lines: list[str] = Field(description="What the command line prints.")


class ConfigCheck(BaseModel):
    """`check_config`: the generated file's own `--check-config`, which sends no request."""

    target: str
    file: str
    exit_code: int = Field(description="0: it would run; 2 is a tool error with the reasons.")
    output: str = Field(description="What the file printed: the resolved configuration and where each value came from.")


class RunSummary(BaseModel):
    target: str
    folder: str = Field(description="The run folder, relative to the server's folder: <results>/<target>/<UTC time>.")
    exit_code: int = Field(description="0 passed, 3 a threshold failed, 1 failed, 2 invalid (nothing sent).")
    verdict: Literal["passed", "breached", "failed", "invalid", "error"]
    problems: list[str] = Field(description="Why the run did not do what was asked.")
    thresholds: list[VerdictJson]
    totals: StatisticsJson | None = Field(description="The statistics of all requests; null without a record.")
    failures: list[FailureJson] = Field(description="The most frequent failures, at most 5.")


class RunResult(BaseModel):
    """`run`: every target's run, in the order they ran, and the worst exit code."""

    exit_code: int = Field(description="The worst of the runs' (0, 3, 1, 2 from least to most severe).")
    passed: bool
    runs: list[RunSummary]
    summary: str = Field(description="The table `run` prints.")
    max_users: int = Field(description="This server's cap on users.")
    max_run_time: str = Field(description="This server's cap on a target's run time.")


class RunRecord(BaseModel):
    """`get_run`: a run's record (run.json) and where to find the others of its target."""

    folder: str
    target: str
    verdict: Literal["passed", "breached", "failed", "invalid", "error"]
    record: RunRecordJson
    files: list[str] = Field(description="The files of the run folder.")
    other_runs: list[str] = Field(description="The target's other run folders, newest first (at most 20).")


class CompareRow(BaseModel):
    request: str = Field(description="'GET home', or 'all requests'.")
    before: StatisticsJson | None = Field(description="Run A's statistics; null when only in B.")
    after: StatisticsJson | None = Field(description="Run B's statistics; null when gone from B.")
    regressions: list[str] = Field(description="What got worse beyond the tolerance, in words; ['gone'] for a request gone.")


class Comparison(BaseModel):
    """`compare_runs`: per request, B against A; a regression makes exit_code 1."""

    run_a: str
    run_b: str
    tolerance: float
    regressions: int
    exit_code: int
    rows: list[CompareRow]
    lines: list[str] = Field(description="The table `compare` prints.")
