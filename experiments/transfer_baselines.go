package experiments

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/wowflow/wowflow/experiments/harness"
	"github.com/wowflow/wowflow/experiments/render"
	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/graph"
)

// transferBaselineKey is what a baseline flow's result depends on.
type transferBaselineKey struct {
	Source, Target          string
	SourcePerClass, K, Flow int
	Method                  string
	Steps                   int
	Seed                    uint64
}

// addBaselineFlowTrials adds, for every baseline arm of the run, the flow
// trial of k, f and that baseline ("kK-flowF-otdd").
func (r *transferRun) addBaselineFlowTrials(p *harness.Plan, k, f int) error {
	c := r.cfg
	for _, arm := range BaselineArms {
		if !slices.Contains(c.Arms, arm) {
			continue
		}
		m := baselineOf(arm)
		name := fmt.Sprintf("k%d-flow%d-%s", k, f, m)
		id, err := harness.ID("flow", name, transferBaselineKey{c.Source, c.Target, c.SourcePerClass, k, f, m, c.baselineSteps(m), c.Seed})
		if err != nil {
			return err
		}
		r.baseIDs[baselineFlowID{k, f, m}] = id
		if err := p.Add(harness.Trial{ID: id, Kind: "flow", Name: name, Run: func(ctx context.Context, _ *harness.Runner) (any, error) {
			return r.baselineFlow(ctx, k, f, m)
		}}); err != nil {
			return err
		}
	}
	return nil
}

// baselineFlow is the flow trial of a baseline: the same source images and
// shots as the MMDSW flow of k and f (transferRun.sample), embedded with
// their label Gaussians (embedBaseline), flowed (baselineFlow), clipped and
// labelled by the nearest target Gaussian; it writes kK_flowF_METHOD_x.npy,
// labels, an image grid and the loss curve, and resumes from
// kK_flowF_METHOD.ckpt.
func (r *transferRun) baselineFlow(ctx context.Context, k, f int, method string) (TransferFlow, error) {
	cfg, prefix, steps := r.cfg, r.prefix(k, f)+"_"+method, r.cfg.baselineSteps(method)
	src, shots, err := r.sample(k, f)
	if err != nil {
		return TransferFlow{}, err
	}
	if err := saveShots(r.prefix(k, f)+"_shots", shots); err != nil {
		return TransferFlow{}, err
	}
	x, err := graph.FromLabeled(src.X, src.Labels, src.D)
	if err != nil {
		return TransferFlow{}, err
	}
	q, err := graph.FromLabeled(shots.X, shots.Labels, shots.D)
	if err != nil {
		return TransferFlow{}, err
	}
	sets, err := embedBaseline(x, q)
	if err != nil {
		return TransferFlow{}, fmt.Errorf("transfer: k=%d flow %d %s: %w", k, f, method, err)
	}
	var curve harness.Curve
	progress := &harness.Progress{W: r.log, Name: fmt.Sprintf("transfer: k=%d flow %d %s", k, f, method), Steps: steps, Every: 250}
	ck := &harness.FlowCheckpoint{Path: prefix + ".ckpt", Every: min(cfg.CheckpointEvery, 250), Curve: &curve}
	fl, _, err := baselineFlow(method, sets, flows.Config{Steps: steps, Seed: cfg.Seed ^ uint64(5e6+1000*k+f),
		Recorder: harness.Recorders{&curve, progress}, Checkpoint: ck.Config()})
	if err != nil {
		return TransferFlow{}, err
	}
	defer fl.Close()
	if at, err := ck.Resume(fl); err != nil {
		return TransferFlow{}, fmt.Errorf("transfer: %w", err)
	} else if at > 0 {
		progress.Start = at
		r.logf("k=%d flow %d %s: resuming at step %d from %s", k, f, method, at, ck.Path)
	}
	out, err := fl.Run(ctx)
	if err != nil {
		return TransferFlow{}, fmt.Errorf("transfer: k=%d flow %d %s %s after %d steps: %w", k, f, method, out.Status, out.Steps, err)
	}
	xs, labels, err := baselineLabels(out.X, sets)
	if err != nil {
		return TransferFlow{}, fmt.Errorf("transfer: k=%d flow %d %s: labels: %w", k, f, method, err)
	}
	if err := writeSet(prefix, xs, labels, src.D); err != nil {
		return TransferFlow{}, err
	}
	final := labeledSet{xs, labels}
	counts := make([]int, shots.Classes)
	for _, l := range labels {
		counts[l]++
	}
	res := TransferFlow{K: k, Flow: f, Steps: out.Steps, Seconds: ck.Seconds(), FirstLoss: curve.Loss[0], FinalLoss: out.Loss,
		Alignment: counts, NearestShotL2: nearestShotL2(final, q), Method: method}
	r.logf("k=%d flow %d %s: %d steps in %.0fs, loss %.4g → %.4g, particles per label %v, mean L2 to nearest shot %.3f%s",
		k, f, method, out.Steps, res.Seconds, res.FirstLoss, out.Loss, counts, res.NearestShotL2, lossRoseWarning(res.FirstLoss, out.Loss))
	if err := render.WriteImageGrid(prefix+"_grid.png", xs, labels, src.H, src.W, render.GridOptions{}); err != nil {
		return res, err
	}
	if err := render.WriteLinePlot(prefix+"_loss.png", curve.Steps(), curve.Loss, fmt.Sprintf("%s loss, k=%d", method, k), "step", "loss", false); err != nil {
		return res, err
	}
	os.Remove(ck.Path)
	return res, nil
}
