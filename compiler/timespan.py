"""Locust's own timespan parser, so that the compiler accepts exactly what `-t` accepts.

`import locust` monkey-patches the standard library with gevent and takes half a second, which a
compiler must not do; the parser is a self-contained module, so it is loaded from Locust's files
on its own.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_locust = importlib.util.find_spec("locust")
if _locust is None or not _locust.submodule_search_locations:  # pragma: no cover - a broken install
    raise ModuleNotFoundError("No module named 'locust'", name="locust")  # __main__ says what to do
_path = Path(next(iter(_locust.submodule_search_locations))) / "util" / "timespan.py"
_spec = importlib.util.spec_from_file_location("_locust_timespan", _path)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

parse_timespan = _module.parse_timespan  # "1h30m" -> 5400 seconds; ValueError when malformed
