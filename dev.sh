#!/usr/bin/env bash
# Wafa's two quick-start commands:
#   bash dev.sh demo   install, then serve Wafa with a demo program on ./wafa.db (SQLite)
#   bash dev.sh test   install, then run the whole test suite
#   bash dev.sh lint   install, then ruff, mypy and the import contracts (CI runs it before the tests)
# Both create .venv beside this file. Extra arguments go to `wafa serve` or pytest.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

install() {
  if [ ! -x .venv/bin/python ]; then "$PYTHON" -m venv .venv; fi
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$1]" >&2
  # The console's and portal's front-end libraries (htmx, Chart.js; axe-core for the tests), served by
  # Wafa itself from node_modules.
  if [ "$1" = test ]; then npm_flags=""; else npm_flags="--omit=dev"; fi
  npm install --no-audit --no-fund --loglevel=error $npm_flags >&2
}

case "${1:-}" in
  demo)
    shift
    install dev
    exec .venv/bin/wafa serve --demo "$@"
    ;;
  test)
    shift
    install test
    # One worker per core, sharing the tests as tests/conftest.py groups them (a file's tests together).
    # WAFA_TEST_WORKERS=0 runs everything in this process.
    exec .venv/bin/python -m pytest -n "${WAFA_TEST_WORKERS:-auto}" --dist loadgroup "$@"
    ;;
  lint)
    install test
    .venv/bin/ruff check src tests bench
    .venv/bin/mypy
    .venv/bin/lint-imports
    ;;
  *)
    echo "usage: bash dev.sh demo|test|lint [args...]" >&2
    exit 2
    ;;
esac
