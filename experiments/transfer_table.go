package experiments

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/wowflow/wowflow/experiments/harness"
	"github.com/wowflow/wowflow/internal/atomicfile"
)

// ArmPercentile names, in merged tables, the k+flowed arm of a run that
// flowed with the percentile estimator (TransferConfig.Quantiles > 0).
const ArmPercentile = "k+percentile"

// transferVariants are the arms that try to keep the source's diversity,
// compared with the control in the "best variant" column.
var transferVariants = []string{ArmEarly, ArmSnapshots, ArmMixed, ArmPercentile}

// paperBaselines holds the paper's Table 2 baseline columns (MNIST as
// source; accuracy %, mean ± std, NaN: no std published; OTDD has no k = 100).
var paperBaselines = map[string]map[string]map[int][2]float64{
	"fmnist": {
		BaselineOTDD: {1: {30.5, 4.2}, 5: {59.7, 1.8}, 10: {64.0, 1.4}},
		BaselineHua:  {1: {36.4, 3.3}, 5: {62.7, 1.1}, 10: {66.2, 1.0}, 100: {73.5, 0.7}},
	},
	"usps": {
		BaselineOTDD: {1: {39.5, math.NaN()}, 5: {73.3, math.NaN()}, 10: {72.7, math.NaN()}},
		BaselineHua:  {1: {35.0, math.NaN()}, 5: {69.6, math.NaN()}, 10: {75.6, math.NaN()}, 100: {88.1, math.NaN()}},
	},
}

// MergeTransfer merges the trials of several runs of one protocol (e.g. a
// run with every arm, one with --quantiles 100, one with --mixed-weight) for
// one table: the k+flowed trials of a percentile-estimator run become
// ArmPercentile, and trials of an arm already present for that k, flow and
// training are kept once. The first run's configuration heads the table.
func MergeTransfer(rs ...*TransferResults) (*TransferResults, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("transfer: nothing to merge")
	}
	out := &TransferResults{Config: rs[0].Config, Version: rs[0].Version}
	out.Config.Quantiles, out.Config.MixedWeight = 0, 0
	for i, r := range rs {
		c := r.Config
		if c.protocol() != out.Config.protocol() {
			return nil, fmt.Errorf("transfer: run %d (%s) has another protocol than run 0 (%s)", i, c.protocol(), out.Config.protocol())
		}
		for _, k := range c.Shots {
			if !slices.Contains(out.Config.Shots, k) {
				out.Config.Shots = append(out.Config.Shots, k)
			}
		}
		if c.MixedWeight > 0 {
			out.Config.MixedWeight = c.MixedWeight
		}
		for _, t := range r.Trials {
			if c.Quantiles > 0 {
				if t.Arm != ArmFlow {
					continue // the other arms do not depend on the estimator
				}
				t.Arm = ArmPercentile
				out.Config.Quantiles = c.Quantiles
			}
			if !out.has(t.K, t.Flow, t.Training, t.Arm) {
				out.Trials = append(out.Trials, t)
			}
		}
		out.Flows = append(out.Flows, r.Flows...)
	}
	slices.Sort(out.Config.Shots)
	return out, nil
}

// LoadTransfer reads DIR/results.json.
func LoadTransfer(dir string) (*TransferResults, error) {
	p := filepath.Join(dir, "results.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	var r TransferResults
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("transfer: %s: %v", p, err)
	}
	return &r, nil
}

// TransferTable formats the results as a markdown table beside the paper's:
// per k and arm the mean ± std over every flow × training, the number of
// flows and trainings behind the k+flowed cell, and the best variant with
// its difference from the k-repeated control.
func TransferTable(r *TransferResults) string {
	c := r.Config
	est := "exact sorting"
	if c.Quantiles > 0 && !slices.ContainsFunc(r.Trials, func(t TransferTrial) bool { return t.Arm == ArmPercentile }) {
		est = fmt.Sprintf("percentile estimator, %d quantiles", c.Quantiles)
	}
	tab := harness.Table{
		Title: fmt.Sprintf("k-shot transfer %s → %s: %d source images/class, Riesz MMDSW (τ=%g, m=%g, L=%d, %s), LeNet %d epochs; "+
			"test accuracy %% (mean ± std over flows × trainings)", c.Source, c.Target, c.SourcePerClass, c.Tau, c.Momentum, c.Directions, est, c.Epochs),
		Header: []string{"k", "flow steps", "flows × trainings", "train on k", "k repeated (control)", "k jittered (control)", "k + flowed",
			"k + early-stopped flow", "k + snapshots", "k + mixed flow", "k + percentile-estimator flow", "best variant (Δ vs k repeated)",
			"paper: train on k", "paper: MMDSW flow"},
	}
	arms := append(slices.Clone(TransferArms), ArmPercentile)
	withBaselines := slices.ContainsFunc(r.Trials, func(t TransferTrial) bool { return baselineOf(t.Arm) != "" })
	if withBaselines {
		tab.Header = append(tab.Header, "k + OTDD flow", "k + Hua et al. flow", "paper: OTDD flow", "paper: Hua et al. flow")
	}
	for _, k := range c.Shots {
		flowsN, trainN := map[int]bool{}, map[int]bool{}
		for _, t := range r.Trials {
			if t.K == k && t.Arm == ArmFlow {
				flowsN[t.Flow], trainN[t.Training] = true, true
			}
		}
		row := []string{fmt.Sprint(k), fmt.Sprint(c.steps(k)), fmt.Sprintf("%d × %d", len(flowsN), len(trainN))}
		means := map[string]float64{}
		for _, arm := range arms {
			var acc []float64
			for _, t := range r.Trials {
				if t.K == k && t.Arm == arm {
					acc = append(acc, t.Accuracy)
				}
			}
			if len(acc) > 0 {
				means[arm], _ = harness.MeanStd(acc)
			}
			row = append(row, harness.Cell(acc))
		}
		best := "–"
		ctrl, okc := means[ArmRepeat]
		bm := math.Inf(-1)
		for _, v := range transferVariants {
			if m, ok := means[v]; ok && m > bm && okc {
				bm, best = m, fmt.Sprintf("%s %.1f (%+.1f)", v, m, m-ctrl)
			}
		}
		pk, pf := "–", "–"
		if paper, ok := paperTable2[c.Target][k]; ok && c.Source == "mnist" {
			pk, pf = paperCell(paper[0], paper[1]), paperCell(paper[2], paper[3])
		}
		row = append(row, best, pk, pf)
		if withBaselines {
			for _, arm := range BaselineArms {
				var acc []float64
				for _, t := range r.Trials {
					if t.K == k && t.Arm == arm {
						acc = append(acc, t.Accuracy)
					}
				}
				row = append(row, harness.Cell(acc))
			}
			for _, m := range []string{BaselineOTDD, BaselineHua} {
				cell := "–"
				if v, ok := paperBaselines[c.Target][m][k]; ok && c.Source == "mnist" {
					cell = paperCell(v[0], v[1])
				}
				row = append(row, cell)
			}
		}
		tab.Rows = append(tab.Rows, row)
	}
	return tab.Markdown()
}

// tabulate writes results.json (every finished flow and training in the
// store, in k, flow, training and arm order; skipped arms left out) and
// table.md, and returns the results.
func (r *transferRun) tabulate(store harness.Store) (*TransferResults, error) {
	res := &TransferResults{Config: r.cfg, Version: Version()}
	recs, err := store.Records("flow")
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		var fl TransferFlow
		if err := json.Unmarshal(rec.Result, &fl); err != nil {
			return nil, fmt.Errorf("transfer: trial %s: %v", rec.ID, err)
		}
		if !fl.Mixed {
			res.Flows = append(res.Flows, fl)
		}
	}
	if recs, err = store.Records("train"); err != nil {
		return nil, err
	}
	for _, rec := range recs {
		var tr TransferTrial
		if err := json.Unmarshal(rec.Result, &tr); err != nil {
			return nil, fmt.Errorf("transfer: trial %s: %v", rec.ID, err)
		}
		if tr.Skipped == "" {
			res.Trials = append(res.Trials, tr)
		}
	}
	slices.SortFunc(res.Flows, func(a, b TransferFlow) int { return slices.Compare([]int{a.K, a.Flow}, []int{b.K, b.Flow}) })
	slices.SortFunc(res.Trials, func(a, b TransferTrial) int {
		all := append(slices.Clone(TransferArms), BaselineArms...)
		return slices.Compare([]int{a.K, a.Flow, a.Training, slices.Index(all, a.Arm)}, []int{b.K, b.Flow, b.Training, slices.Index(all, b.Arm)})
	})
	if err := harness.WriteJSON(filepath.Join(r.cfg.Out, "results.json"), res); err != nil {
		return nil, err
	}
	return res, atomicfile.WriteBytes(filepath.Join(r.cfg.Out, "table.md"), []byte(TransferTable(res)))
}
