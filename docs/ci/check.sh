#!/bin/sh
# The CI job's first step (docs/ci/load-test.yml; tests/test_ci.py runs it too): the catalog is
# valid and generated/ is what it compiles to (make check: validate, then compile --check).
# CATALOG and OUT name another project's (the tests use their own sample).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
if [ -z "${CATALOG:-}" ]; then
  exec make check
fi
python=${PYTHON:-$root/.venv/bin/python}
"$python" -m compiler --catalog "$CATALOG" validate || exit $?
exec "$python" -m compiler --catalog "$CATALOG" compile --check --out "${OUT:-generated}"
