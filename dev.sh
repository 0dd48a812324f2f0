#!/usr/bin/env bash
# Wafa's two quick-start commands:
#   bash dev.sh demo   install, then serve Wafa with a demo program on ./wafa.db (SQLite)
#   bash dev.sh test   install, then run the whole test suite
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
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: bash dev.sh demo|test [args...]" >&2
    exit 2
    ;;
esac
