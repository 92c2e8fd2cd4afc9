#!/usr/bin/env bash
# Run every benchmark package bench/<name>/__main__.py with the project's interpreter; extra args go to each.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
found=0
for main in bench/*/__main__.py; do
    [[ -f "$main" ]] || continue
    found=1
    module="bench.$(basename "$(dirname "$main")")"
    echo "== .venv/bin/python -m $module $*"
    .venv/bin/python -m "$module" "$@"
done
(( found )) || echo "no benchmarks yet (bench/<name>/__main__.py)"
