#!/usr/bin/env bash
# The paper's Table 1 protocol, as far as a CPU allows: the embedded space
# with the paper's ConvNet-128 embedding (random affine augmentation + random
# ConvNet width 128, depth 3, redrawn every step), 256 real images per class
# per step, STEPS flow steps (the paper: 20 000), evaluation by ConvNet-128
# trained EPOCHS epochs (the paper: 1 000) on the whole test set, 3 synthetic
# sets (seeds) × 3 trainings per cell, every method beside the random
# initialisation of the same seeds. Order: (a) IPC 10, (b) IPC 1, (c) IPC 50
# (IPCS="10 1 50"). Every run is resumable (checkpoints every 100 steps):
# rerun the script to continue. Writes runs/distill-paper/*/ (kept in git: small checkpoints, so a run can continue on another machine) and
# runs/distill-paper/table.md. Extra arguments go to every run.
#
#   STEPS=2000 EPOCHS=1000 SEEDS="1 2 3" IPCS="10 1" DATASETS="mnist fmnist" bash scripts/distill-paper.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
go build -o wow ./cmd/wow
STEPS=${STEPS:-2000} EPOCHS=${EPOCHS:-1000} SEEDS=${SEEDS:-1 2 3} IPCS=${IPCS:-10 1} DATASETS=${DATASETS:-mnist fmnist}
ROOT=${ROOT:-runs/distill-paper}
run() {
  ./wow distill --root "$ROOT" --eval-width 128 --eval-epochs "$EPOCHS" --trainings 3 --checkpoint-every 100 "$@"
}
for ipc in $IPCS; do
  for ds in $DATASETS; do
    for seed in $SEEDS; do
      run --dataset "$ds" --ipc "$ipc" --seed "$seed" --method random "${@}"
      for method in mmdsw dm; do
        run --dataset "$ds" --ipc "$ipc" --seed "$seed" --method "$method" --space embedded \
          --embed-width 128 --batch 256 --steps "$STEPS" "${@}"
      done
    done
  done
done
cat "$ROOT/table.md"
