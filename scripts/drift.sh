#!/usr/bin/env bash
# Measures the README's determinism claim: runs a 500-step rings flow and a
# 1000-step k-shot flow (k = 1, MNIST → Fashion-MNIST, f32) with the OpenBLAS
# build and the pure-Go build (-tags purego), each on 1 and 2 cores
# (GOMAXPROCS), and prints, for each pair of runs, how far the flowed
# particles are apart (`wow data diff`: bit-identical or not, max |Δ|, RMS)
# and their final losses. The machine's OPENBLAS_* settings are left as they
# are. Takes about 10 minutes on 2 cores. Output: out/drift (OUT=… overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
OUT=${OUT:-out/drift}
mkdir -p "$OUT"
go build -o "$OUT/wow-openblas" ./cmd/wow
go build -tags purego -o "$OUT/wow-purego" ./cmd/wow
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset} $(grep -m1 'model name' /proc/cpuinfo || true)"
for b in openblas purego; do
	for p in 1 2; do
		[ -f "$OUT/rings-$b-$p/run.json" ] || GOMAXPROCS=$p "$OUT/wow-$b" rings --quiet --out "$OUT/rings-$b-$p" >/dev/null
		[ -f "$OUT/transfer-$b-$p/k1_flow0_x.npy" ] || GOMAXPROCS=$p "$OUT/wow-$b" transfer --shots 1 --flows 1 --steps 1000 \
			--trainings 1 --epochs 1 --arms train-on-k --test-images 100 --out "$OUT/transfer-$b-$p" >/dev/null 2>&1
	done
done
W="$OUT/wow-openblas"
loss() { grep -o "\"$2\": *[-0-9.e+]*" "$1" | head -1 | sed 's/.*: *//'; }
for pair in "openblas-1 openblas-2" "purego-1 purego-2" "openblas-2 purego-2"; do
	set -- $pair
	echo "rings, $1 vs $2: final ½MMD² $(loss "$OUT/rings-$1/run.json" final_loss) vs $(loss "$OUT/rings-$2/run.json" final_loss)"
	"$W" data diff "$OUT/rings-$1/particles.npy" "$OUT/rings-$2/particles.npy"
	echo "k-shot flow, $1 vs $2: final ½MMD² $(loss "$OUT/transfer-$1/results.json" final_loss) vs $(loss "$OUT/transfer-$2/results.json" final_loss)"
	"$W" data diff "$OUT/transfer-$1/k1_flow0_x.npy" "$OUT/transfer-$2/k1_flow0_x.npy"
	"$W" distance --metric wow --x "$OUT/transfer-$1/k1_flow0_x.npy" --x-labels "$OUT/transfer-$1/k1_flow0_labels.npy" \
		--y "$OUT/transfer-$2/k1_flow0_x.npy" --y-labels "$OUT/transfer-$2/k1_flow0_labels.npy" | grep -o '"value":[^,]*,\|"alignment":[^]]*]'
done
