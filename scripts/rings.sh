#!/usr/bin/env bash
# The main job: flow the built-in rings example and write pictures to out/rings
# (flow.gif, start.png, end.png, loss.png, metrics.csv, run.json).
# Extra arguments go to `wow rings` (e.g. --kernel gaussian --out out/g).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
go run ./cmd/wow rings "$@"
