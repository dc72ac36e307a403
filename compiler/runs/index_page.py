"""`<results>/index.html`: the results dashboard, one offline file, rebuilt from the run
folders after every run (so it never disagrees with them) and written atomically.

dashboard_data.py gathers what it shows (records, statistics history, regressions by
compare's rule); dashboard_page.py lays it out, with the vendored charting library inlined.
"""

from __future__ import annotations

import os
from pathlib import Path

from compiler.runs.dashboard_data import gather
from compiler.runs.dashboard_page import page


def index_html(results: Path) -> str:
    return page(gather(results))


def refresh_index(results: Path) -> Path:
    """Write `<results>/index.html` atomically (a temporary file, then a rename); OSError when
    it cannot be written, with no partial file left behind."""
    path = results / "index.html"
    results.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".index.html.{os.getpid()}.tmp")
    try:
        partial.write_text(index_html(results), encoding="utf-8")
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    return path
