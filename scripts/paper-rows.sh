#!/usr/bin/env bash
# The paper's rows still to run (issues 17 and 18), in order of what they
# complete, each resumable: rerun the script and finished trials are skipped
# (the harness keeps every trial's record in DIR/trials), a flow stopped
# mid-way continues from its checkpoint in DIR. ONLY="hua usps-k100" runs a
# subset. Times are for the 2-core machine with nothing else running.
#
#   otdd-k10    OTDD flows at k = 10, M→F (3 flows × 3 trainings; ~15 min per flow)            [done]
#   hua         Hua et al.'s flows, M→F, k = 1, 5, 10 (3 × 3 each; 20 000 steps, 45–60 min per flow)
#   usps-otdd   OTDD flows, M→U, k = 1, 5, 10 (3 × 3 each; 5 000 steps, ~5 min per flow)
#   usps-hua    Hua et al.'s flows, M→U, k = 1, 5, 10 (3 × 3 each; 45–60 min per flow)
#   usps-k100   M→U at k = 100 (1 flow × 3 trainings, 20 000 steps; ~1 h)                      [done]
#   fmnist-k100 M→F at k = 100 (the same; ~1 h)                                                 [done]
#   adapt-fm    F→M adaptation, 500 images per class, 3 flows × 20 000 steps (~1 h per flow)
#   adapt-um    U→M adaptation, the same
#
# Results go to out/…; each job's small files (results.json, table.md, trials/,
# PNGs, the adaptation classifier) are copied to its docs/ directory when it
# ends or is interrupted, and copied back before it starts, so that a grid
# continues in a later sitting on another machine: finished trials are skipped.
# Only the large state (flowed images, checkpoints of thousands of particles)
# stays in out/; a flow whose trainings had not all finished is run again. The
# README's tables are made from the docs/ copies (--table-from merges them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
go build -o wow ./cmd/wow
ONLY=${ONLY:-hua usps-otdd usps-hua adapt-fm adapt-um}
arms="train-on-k,k-repeated,k-jittered,k+flowed"

# restore OUT DOCS ARGS…: bring back the trial records a sitting saved in
# DOCS; forget a finished flow whose trainings are not all done (its flowed
# images were not saved), by asking `wow ARGS… --plan` which trainings are left.
restore() {
	local out=$1 docs=$2
	shift 2
	[ -d "$docs/trials" ] || return 0
	mkdir -p "$out/trials"
	cp -n "$docs"/trials/*.json "$out/trials/"
	cp -n "$docs"/*.model "$out/" 2>/dev/null || true
	./wow "$@" --out "$out" --plan | awk -F'\t' '$2 == "train" && $3 != "done" { sub(/^needs /, "", $4); n = split($4, a, ","); for (i = 1; i <= n; i++) print a[i] }' |
		sort -u | while read -r need; do
		if [[ $need == flow-* && -f "$out/trials/$need.json" ]]; then
			echo "paper-rows.sh: $need is done but some of its trainings are not: it runs again"
			rm "$out/trials/$need.json"
		fi
	done
}

# save OUT DOCS: copy the job's small files into DOCS.
save() {
	local out=$1 docs=$2
	[ -d "$out/trials" ] || return 0
	mkdir -p "$docs/trials"
	cp "$out"/trials/*.json "$docs/trials/"
	for f in "$out"/results.json "$out"/run.json "$out"/table.md "$out"/accuracy.csv "$out"/*.png "$out"/*.model; do
		[ -f "$f" ] && cp "$f" "$docs/"
	done
	return 0
}

# job OUT DOCS ARGS…: run `wow ARGS… --out OUT` between restore and save.
job() {
	local out=$1 docs=$2
	shift 2
	restore "$out" "$docs" "$@"
	local rc=0
	./wow "$@" --out "$out" || rc=$?
	save "$out" "$docs"
	return $rc
}

for name in $ONLY; do
	case "$name" in
	otdd-k10) job out/transfer-otdd-k10 docs/transfer-baselines/k10 transfer --shots 10 --arms k+otdd --flows 3 --trainings 3 ;;
	hua) job out/transfer-hua docs/transfer-baselines/hua transfer --shots 1,5,10 --arms k+hua --flows 3 --trainings 3 ;;
	usps-otdd) job out/transfer-usps-otdd docs/transfer-usps/otdd transfer --target usps --shots 1,5,10 --arms k+otdd --flows 3 --trainings 3 ;;
	usps-hua) job out/transfer-usps-hua docs/transfer-usps/hua transfer --target usps --shots 1,5,10 --arms k+hua --flows 3 --trainings 3 ;;
	usps-k100) job out/transfer-usps-k100 docs/transfer-usps/k100 transfer --target usps --shots 100 --flows 1 --trainings 3 --arms "$arms" ;;
	fmnist-k100) job out/transfer-k100 docs/transfer-k100 transfer --target fmnist --shots 100 --flows 1 --trainings 3 --arms "$arms" ;;
	adapt-fm) job out/adapt-500 docs/adapt-500 adapt --per-class 500 --steps 20000 --every 1000 --flows 3 ;;
	adapt-um) job out/adapt-usps-20000 docs/adapt-usps-20000 adapt --source usps --per-class 500 --steps 20000 --every 1000 --flows 3 ;;
	*) echo "paper-rows.sh: unknown job $name (want otdd-k10, hua, usps-otdd, usps-hua, usps-k100, fmnist-k100, adapt-fm or adapt-um)" >&2; exit 2 ;;
	esac
done
