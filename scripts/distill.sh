#!/usr/bin/env bash
# The distillation table of the README (the paper's Table 1 under the CPU
# protocol): MNIST and Fashion-MNIST, IPC 1 and 10, random real images, the
# WoW MMDSW flow and DM, in pixel space (2000 steps, 256 real images per
# class per step) and in the embedded space (affine augmentation + random
# ConvNet width 32, depth 3; 1000 steps, 64 real images per class per step;
# IPC 10).
# Every run is resumable: rerun the script to continue. Writes
# ROOT/*/ and ROOT/table.md (ROOT=out/distill by default; ROOT=runs/distill-cpu
# keeps the runs in git, small files, so that a grid continues on another
# machine). Extra arguments go to every run
# (e.g. --trainings 1 for a quicker table). SEEDS="1 2 3" runs three
# synthetic sets per cell (default: seed 1 only); the table pools them and
# compares every method with the random initialisation of the same seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
go build -o wow ./cmd/wow
SEEDS=${SEEDS:-1}
ROOT=${ROOT:-out/distill}
run() { for seed in $SEEDS; do ./wow distill --root "$ROOT" --seed "$seed" "$@"; done; }
for ds in mnist fmnist; do
  for ipc in 10 1; do
    run --dataset "$ds" --ipc "$ipc" --method random "${@}"
    run --dataset "$ds" --ipc "$ipc" --method mmdsw --space ambient --steps 2000 --batch 256 "${@}"
    run --dataset "$ds" --ipc "$ipc" --method dm --space ambient --steps 2000 --batch 256 "${@}"
  done
done
for ds in mnist fmnist; do
  for ipc in 10; do # IPC 1 embedded: add 1 here (about 10 minutes more per dataset)
    run --dataset "$ds" --ipc "$ipc" --method mmdsw --space embedded --steps 1000 --batch 64 "${@}"
    run --dataset "$ds" --ipc "$ipc" --method dm --space embedded --steps 1000 --batch 64 "${@}"
  done
done
cat "$ROOT/table.md"
