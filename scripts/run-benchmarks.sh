#!/usr/bin/env bash
# Run the benchmark packages bench/<name>/__main__.py with the project's interpreter.
#   BENCH=exchange,incidents  run only these (default: every package in bench/ except the long ones,
#                             ON_REQUEST below: the 10-minute soak runs only with BENCH=soak, or `make soak`)
#   extra arguments go to each selected benchmark, so pass them together with BENCH
#   (make bench BENCH=exchange BENCH_ARGS="--db sqlite --backlog 100000").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ $# -gt 0 && -z "${BENCH:-}" ]]; then
    echo "arguments given without BENCH=<name>: each benchmark takes its own arguments" >&2
    exit 2
fi
ON_REQUEST=",soak,"
found=0
for main in bench/*/__main__.py; do
    [[ -f "$main" ]] || continue
    name="$(basename "$(dirname "$main")")"
    if [[ -n "${BENCH:-}" && ",${BENCH}," != *",${name},"* ]]; then
        continue
    fi
    if [[ -z "${BENCH:-}" && "$ON_REQUEST" == *",${name},"* ]]; then
        continue
    fi
    found=1
    echo "== .venv/bin/python -m bench.$name $*"
    .venv/bin/python -m "bench.$name" "$@"
done
(( found )) || { echo "no benchmark matched (bench/<name>/__main__.py; BENCH=${BENCH:-all})" >&2; exit 2; }
