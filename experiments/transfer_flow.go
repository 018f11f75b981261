package experiments

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/experiments/harness"
	"github.com/wowflow/wowflow/experiments/render"
	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/models"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/tensor"
)

// saveShots writes a flow's k shots as PREFIX_x.npy and PREFIX_labels.npy
// (unless both are there), so that every arm's training set can be rebuilt
// from the run directory by another tool.
func saveShots(prefix string, shots *data.Images) error {
	if _, ok := readSet(prefix); ok {
		return nil
	}
	if err := writeSet(prefix, shots.X, shots.Labels, shots.D); err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	return nil
}

// alignAndSave clips a flowed dataset to [0,1], labels each class by WoW
// alignment with the target q and writes PREFIX_x.npy and PREFIX_labels.npy.
func alignAndSave(prefix string, ds, q *graph.Dataset) (labeledSet, []int, error) {
	ds = clipped(ds)
	labels, w, err := relabel(ds, q)
	if err != nil {
		return labeledSet{}, nil, err
	}
	if err := writeSet(prefix, ds.Data, labels, ds.D); err != nil {
		return labeledSet{}, nil, err
	}
	return labeledSet{ds.Data, labels}, w.Alignment, nil
}

// flow is the flow trial of k and f: it flows the source onto the shots,
// clips to [0,1] and relabels by WoW alignment, writing the flowed images
// (kK_flowF_x.npy, labels), the snapshots for the early and snapshot arms
// (kK_flowF_stepS_*), the shots, an image grid and the loss curve. A flow
// in progress resumes from kK_flowF.ckpt; a flow whose images exist (a run
// from before trial records) is not run again.
func (r *transferRun) flow(ctx context.Context, k, f int) (TransferFlow, error) {
	cfg, prefix, steps := r.cfg, r.prefix(k, f), r.cfg.steps(k)
	src, shots, err := r.sample(k, f)
	if err != nil {
		return TransferFlow{}, err
	}
	if err := saveShots(prefix+"_shots", shots); err != nil {
		return TransferFlow{}, err
	}
	q, err := graph.FromLabeled(shots.X, shots.Labels, shots.D)
	if err != nil {
		return TransferFlow{}, err
	}
	if final, ok := readSet(prefix); ok {
		r.logf("k=%d flow %d: reusing %s_x.npy", k, f, prefix)
		align := make([]int, shots.Classes)
		for i, l := range final.Labels {
			align[i/cfg.SourcePerClass] = l
		}
		return TransferFlow{K: k, Flow: f, Steps: steps, Alignment: align, NearestShotL2: nearestShotL2(final, q), Reused: true}, nil
	}
	x, err := graph.FromLabeled(src.X, src.Labels, src.D)
	if err != nil {
		return TransferFlow{}, err
	}
	var curve harness.Curve
	var fl *flows.Flow
	snapshots := flows.RecorderFunc(func(s flows.StepInfo) error {
		if !slices.Contains(snapshotSteps(steps), s.Step) {
			return nil
		}
		_, _, err := alignAndSave(fmt.Sprintf("%s_step%d", prefix, s.Step), fl.Particles(), q)
		return err
	})
	progress := &harness.Progress{W: r.log, Name: fmt.Sprintf("transfer: k=%d flow %d", k, f), Steps: steps, Every: 500}
	ck := &harness.FlowCheckpoint{Path: prefix + ".ckpt", Every: cfg.CheckpointEvery, Curve: &curve}
	fl, err = flows.New(x, functionals.MMD{Target: q, Quantiles: cfg.Quantiles}, flows.Config{Steps: steps, Directions: cfg.Directions,
		Seed: cfg.Seed ^ uint64(1000*k+f), Dtype: tensor.Float32, Recorder: harness.Recorders{&curve, snapshots, progress},
		Optimizer: &optim.Momentum{Tau: cfg.Tau, M: cfg.Momentum}, Checkpoint: ck.Config()})
	if err != nil {
		return TransferFlow{}, err
	}
	defer fl.Close()
	if at, err := ck.Resume(fl); err != nil {
		return TransferFlow{}, fmt.Errorf("transfer: %w", err)
	} else if at > 0 {
		progress.Start = at
		r.logf("k=%d flow %d: resuming at step %d from %s", k, f, at, ck.Path)
	}
	out, err := fl.Run(ctx)
	if err != nil {
		return TransferFlow{}, fmt.Errorf("transfer: k=%d flow %d %s after %d steps: %w", k, f, out.Status, out.Steps, err)
	}
	final, align, err := alignAndSave(prefix, out.X, q)
	if err != nil {
		return TransferFlow{}, err
	}
	res := TransferFlow{K: k, Flow: f, Steps: out.Steps, Seconds: ck.Seconds(),
		FirstLoss: curve.Loss[0], FinalLoss: out.Loss, Alignment: align, NearestShotL2: nearestShotL2(final, q)}
	r.logf("k=%d flow %d: %d steps in %.0fs, loss %.4g → %.4g, alignment %v, mean L2 to nearest shot %.3f%s",
		k, f, out.Steps, res.Seconds, res.FirstLoss, out.Loss, align, res.NearestShotL2, lossRoseWarning(res.FirstLoss, out.Loss))
	if err := render.WriteImageGrid(prefix+"_grid.png", final.X, final.Labels, src.H, src.W, render.GridOptions{}); err != nil {
		return res, err
	}
	if err := render.WriteLinePlot(prefix+"_loss.png", curve.Steps(), curve.Loss, fmt.Sprintf("½MMD² (Riesz), k=%d", k), "step", "loss", true); err != nil {
		return res, err
	}
	os.Remove(ck.Path) // the flow's results are saved; its checkpoint is no longer needed
	return res, nil
}

// nearestShotL2 is the mean distance of each flowed image to its nearest
// shot of the aligned class.
func nearestShotL2(final labeledSet, q *graph.Dataset) float64 {
	d := q.D
	near := 0.0
	for i, c := range final.Labels {
		best := math.Inf(1)
		a := final.X[i*d : (i+1)*d]
		for j := 0; j < q.ClassSize(c); j++ {
			b := q.Class(c)[j*d : (j+1)*d]
			s := 0.0
			for p := range a {
				s += (a[p] - b[p]) * (a[p] - b[p])
			}
			best = math.Min(best, math.Sqrt(s))
		}
		near += best / float64(len(final.Labels))
	}
	return near
}

// mixedFlow is the mixed flow trial of k and f: the source flows with
// MMD + λ·ClassifierLoss, the classifier a LeNet trained on the shots and
// each class's label its alignment in the plain flow. It writes
// kK_flowF_mixed_x.npy (labels, grid).
func (r *transferRun) mixedFlow(ctx context.Context, k, f int) (TransferFlow, error) {
	cfg, prefix, steps := r.cfg, r.prefix(k, f)+"_mixed", r.cfg.steps(k)
	src, shots, err := r.sample(k, f)
	if err != nil {
		return TransferFlow{}, err
	}
	plain, ok := readSet(r.prefix(k, f))
	if !ok {
		return TransferFlow{}, fmt.Errorf("transfer: the plain flow's %s_x.npy is missing", r.prefix(k, f))
	}
	q, err := graph.FromLabeled(shots.X, shots.Labels, shots.D)
	if err != nil {
		return TransferFlow{}, err
	}
	if set, ok := readSet(prefix); ok {
		return TransferFlow{K: k, Flow: f, Steps: steps, NearestShotL2: nearestShotL2(set, q), Mixed: true, Reused: true}, nil
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(2e6+1000*k+f)))
	clf, err := models.NewLeNet(shots.H, shots.W, shots.Classes, rng)
	if err != nil {
		return TransferFlow{}, err
	}
	tc := models.DefaultTrainConfig()
	tc.Epochs, tc.Seed = cfg.Epochs, rng.Uint64()
	if _, err := models.Train(clf, shots.X, shots.Labels, tc); err != nil {
		return TransferFlow{}, err
	}
	x, err := graph.FromLabeled(src.X, src.Labels, src.D)
	if err != nil {
		return TransferFlow{}, err
	}
	align := make([]int, x.NumClasses())
	for c := range align {
		align[c] = plain.Labels[x.Offsets[c]]
	}
	obj := functionals.Sum{
		{Weight: 1, F: functionals.MMD{Target: q, Quantiles: cfg.Quantiles}},
		{Weight: cfg.MixedWeight, F: functionals.ClassifierLoss{Model: clf, Labels: align}},
	}
	var curve harness.Curve
	t0 := time.Now()
	fl, err := flows.New(x, obj, flows.Config{Steps: steps, Directions: cfg.Directions, Seed: cfg.Seed ^ uint64(3e6+1000*k+f),
		Dtype: tensor.Float32, Optimizer: &optim.Momentum{Tau: cfg.Tau, M: cfg.Momentum},
		Recorder: harness.Recorders{&curve, &harness.Progress{W: r.log, Name: fmt.Sprintf("transfer: k=%d flow %d mixed (λ=%g)", k, f, cfg.MixedWeight), Steps: steps, Every: 500}}})
	if err != nil {
		return TransferFlow{}, err
	}
	defer fl.Close()
	out, err := fl.Run(ctx)
	if err != nil {
		return TransferFlow{}, fmt.Errorf("transfer: k=%d flow %d mixed: %w", k, f, err)
	}
	set, w, err := alignAndSave(prefix, out.X, q)
	if err != nil {
		return TransferFlow{}, err
	}
	res := TransferFlow{K: k, Flow: f, Steps: out.Steps, Seconds: time.Since(t0).Seconds(), FirstLoss: curve.Loss[0], FinalLoss: out.Loss,
		Alignment: w, NearestShotL2: nearestShotL2(set, q), Mixed: true}
	r.logf("k=%d flow %d mixed: %d steps in %.0fs, alignment %v (plain flow %v)", k, f, out.Steps, res.Seconds, w, align)
	return res, render.WriteImageGrid(prefix+"_grid.png", set.X, set.Labels, src.H, src.W, render.GridOptions{})
}
