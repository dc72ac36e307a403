"""`python -m compiler ...` runs the command line.

Run with a Python that lacks the dependencies (the system's `python3` rather than the venv's),
it says which one is missing and how to get them, in one line, and exits 2: never a traceback.
"""

import sys
from importlib.util import find_spec

DEPENDENCIES = ("black", "jinja2", "jsonschema", "locust")  # pyproject.toml's, as imported

try:
    # black and Jinja2 are imported only when a file is rendered: look for them without importing.
    missing = next((name for name in DEPENDENCIES if find_spec(name) is None), None)
    if missing is None:
        from compiler.cli import main
except ImportError as error:
    missing = (getattr(error, "name", None) or "").partition(".")[0]
    if missing not in DEPENDENCIES:
        raise
if missing is not None:
    print(
        f"python -m compiler: missing dependency {missing}: run `make` to set up .venv, "
        f"then `.venv/bin/python -m compiler {' '.join(sys.argv[1:]) or '...'}`",
        file=sys.stderr,
    )
    raise SystemExit(2)

raise SystemExit(main())
