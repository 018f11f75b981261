#!/usr/bin/env bash
# Installs what the tests need, then runs the whole test suite: go vet, the
# tests (on OpenBLAS, then -short on pure-Go BLAS), every fuzz target for a
# short budget (about 5 s each here), and the notebooks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
go vet ./...
go test -timeout 30m ./...
# The same suite (short) on pure-Go BLAS: an expectation that holds only for
# one OpenBLAS kernel then fails on every machine, not on some. The machine's
# OPENBLAS_* settings are left as they are.
go vet -tags purego ./...
go test -short -timeout 30m -tags purego ./...
# Fuzz budgets are execution counts (-fuzztime Nx), sized to about 5 s here: a
# duration budget trips Go 1.26's fuzz-coordinator race at the deadline on a
# loaded machine ("context deadline exceeded" with no failing input,
# golang/go#75804, fixed in Go 1.27). FUZZTIME=10s (or 5000x) overrides all.
budget() {
	if [ -n "${FUZZTIME:-}" ]; then echo "$FUZZTIME"; return; fi
	case "$1" in
	FuzzLoadLabeled) echo 1000x ;; # 40–400 execs/s: every input is written to files and parsed
	FuzzEMD) echo 15000x ;;       # ~3500 execs/s
	*) echo 150000x ;;            # the file readers: 30 000–50 000 execs/s
	esac
}
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz $pkg $target ($(budget "$target"))"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$(budget "$target")" "$pkg"
	done
done
# The notebooks, executed headless with the gonb kernel (installs it when missing).
bash scripts/notebooks.sh
