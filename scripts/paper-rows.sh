#!/usr/bin/env bash
# The paper's rows still to run (issues 17 and 18), in order of what they
# complete, each resumable: rerun the script and finished trials are skipped
# (the harness keeps every trial's record in DIR/trials), a flow stopped
# mid-way continues from its checkpoint in DIR. ONLY="hua usps-k100" runs a
# subset. Times are for the 2-core machine with nothing else running.
#
#   otdd-k10    OTDD flows at k = 10, M→F (3 flows × 3 trainings; ~15 min per flow)
#   hua         Hua et al.'s flows, M→F, k = 1, 5, 10 (3 × 3 each; 20 000 steps, ~1 h per flow)
#   usps-k100   M→U at k = 100 (1 flow × 3 trainings, 20 000 steps; ~35 min)
#   fmnist-k100 M→F at k = 100 (the same; ~35 min)
#   adapt-fm    F→M adaptation, 500 images per class, 3 flows × 20 000 steps (~1 h per flow)
#   adapt-um    U→M adaptation, the same
#
# Results go to out/…; the README's tables are made from copies in docs/
# (results.json and trials/ of each directory; --table-from merges them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
go build -o wow ./cmd/wow
ONLY=${ONLY:-otdd-k10 hua usps-k100 fmnist-k100 adapt-fm adapt-um}
arms="train-on-k,k-repeated,k-jittered,k+flowed"
for job in $ONLY; do
	case "$job" in
	otdd-k10) ./wow transfer --shots 10 --arms k+otdd --flows 3 --trainings 3 --out out/transfer-otdd-k10 ;;
	hua) ./wow transfer --shots 1,5,10 --arms k+hua --flows 3 --trainings 3 --out out/transfer-hua ;;
	usps-k100) ./wow transfer --target usps --shots 100 --flows 1 --trainings 3 --arms "$arms" --out out/transfer-usps-k100 ;;
	fmnist-k100) ./wow transfer --target fmnist --shots 100 --flows 1 --trainings 3 --arms "$arms" --out out/transfer-k100 ;;
	adapt-fm) ./wow adapt --per-class 500 --steps 20000 --every 1000 --flows 3 --out out/adapt-500 ;;
	adapt-um) ./wow adapt --source usps --per-class 500 --steps 20000 --every 1000 --flows 3 --out out/adapt-usps-20000 ;;
	*) echo "paper-rows.sh: unknown job $job (want otdd-k10, hua, usps-k100, fmnist-k100, adapt-fm or adapt-um)" >&2; exit 2 ;;
	esac
done
