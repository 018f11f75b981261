#!/usr/bin/env bash
# Installs what the tests need, then runs the whole test suite: go vet, the
# tests, and every fuzz target for a short fixed time (FUZZTIME, default 5s).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
go vet ./...
go test -timeout 30m ./...
FUZZTIME=${FUZZTIME:-5s}
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz $pkg $target ($FUZZTIME)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
	done
done
# The notebooks, executed headless with the gonb kernel (installs it when missing).
bash scripts/notebooks.sh
