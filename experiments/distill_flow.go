package experiments

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/experiments/harness"
	"github.com/wowflow/wowflow/experiments/render"
	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/models"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/tensor"
)

// distillFlowResult is the flow trial's result (the flow fields of
// result.json).
type distillFlowResult struct {
	Steps     int     `json:"steps"`
	Seconds   float64 `json:"flow_seconds"`
	StepMs    float64 `json:"ms_per_step"`
	FirstLoss float64 `json:"first_loss"`
	FinalLoss float64 `json:"final_loss"`
	Alignment []int   `json:"alignment"`
}

// newFlow builds the run's flow from the initialisation (and the
// checkpoint, when ck is not nil and one exists).
func (r *distillRun) newFlow(ck *harness.FlowCheckpoint, rec flows.Recorder) (*flows.Flow, int, error) {
	cfg := r.cfg
	real, err := graph.FromLabeled(r.train.X, r.train.Labels, r.train.D)
	if err != nil {
		return nil, 0, fmt.Errorf("distill: %w", err)
	}
	x0, err := graph.FromLabeled(r.init.X, r.init.Labels, r.init.D)
	if err != nil {
		return nil, 0, fmt.Errorf("distill: %w", err)
	}
	obj, err := distillObjective(cfg, real, r.train.H, r.train.W)
	if err != nil {
		return nil, 0, fmt.Errorf("distill: %w", err)
	}
	fcfg := flows.Config{Steps: cfg.Steps, Directions: cfg.Directions, Seed: cfg.Seed, Dtype: tensor.Float32, Euclidean: cfg.Method == DistillDM,
		Optimizer: &optim.Momentum{Tau: cfg.Tau, M: cfg.Momentum}, Recorder: rec}
	if ck != nil {
		fcfg.Checkpoint = ck.Config()
	}
	fl, err := flows.New(x0, obj, fcfg)
	if err != nil {
		return nil, 0, fmt.Errorf("distill: %w", err)
	}
	r.logf("%v; %d particles of %d pixels, %d real images per class per step", obj, r.init.N, r.init.D, cfg.Batch)
	if ck == nil {
		return fl, 0, nil
	}
	at, err := ck.Resume(fl)
	if err != nil {
		fl.Close()
		return nil, 0, fmt.Errorf("distill: %w", err)
	}
	if at > 0 {
		r.logf("resuming the flow at step %d from %s", at, ck.Path)
	}
	return fl, at, nil
}

// Probe sizes: the first steps of a flow are slow (heap growth, first
// touches of the network's buffers: ≈ 1.4 s against ≈ 1.06 s later on a
// Fashion-MNIST IPC 10 DM run), and single steps spike when the collector
// runs, so the probe skips probeWarmup steps and takes the median of
// probeMeasured.
const (
	probeWarmup   = 5
	probeMeasured = 10
)

// probe takes probeWarmup + probeMeasured steps (part of the flow), adds
// them to the curve and prints the estimated run time from the median
// measured step.
func (r *distillRun) probe(fl *flows.Flow, curve *harness.Curve) (time.Duration, error) {
	start := fl.StepCount()
	var took []time.Duration
	for i := 0; i < probeWarmup+probeMeasured && fl.StepCount() < r.cfg.Steps; i++ {
		ts := time.Now()
		info, err := fl.Step()
		if err != nil {
			return 0, fmt.Errorf("distill: step %d: %w", fl.StepCount()+1, err)
		}
		if i >= probeWarmup {
			took = append(took, time.Since(ts))
		}
		curve.Record(info)
	}
	if len(took) == 0 {
		return 0, nil // the flow ends inside the warm-up: nothing left to estimate
	}
	slices.Sort(took)
	per := took[len(took)/2]
	steps := fmt.Sprintf("the flow's %d steps", r.cfg.Steps)
	if start > 0 {
		steps = fmt.Sprintf("the remaining %d of the flow's %d steps", r.cfg.Steps-start, r.cfg.Steps)
	}
	r.logf("measured %.0f ms/step (median of %d steps after %d warm-up): %s take about %v (then %d ConvNet trainings of %d epochs)",
		1000*per.Seconds(), len(took), probeWarmup, steps, (per * time.Duration(r.cfg.Steps-start)).Round(time.Second), r.cfg.Trainings, r.cfg.EvalEpochs)
	return per, nil
}

// Estimate measures a few steps of the run and a few epochs of one of its
// trainings, and prints the estimated run time, writing nothing; it returns
// the measured time per step and the estimated time of the whole run.
func (r *distillRun) estimate() (time.Duration, time.Duration, error) {
	if err := r.load(); err != nil {
		return 0, 0, err
	}
	var per, flow time.Duration
	if r.cfg.Method != DistillRandom {
		fl, _, err := r.newFlow(nil, nil)
		if err != nil {
			return 0, 0, err
		}
		defer fl.Close()
		if per, err = r.probe(fl, &harness.Curve{}); err != nil {
			return 0, 0, err
		}
		flow = per * time.Duration(r.cfg.Steps)
	}
	train, err := r.estimateTraining()
	if err != nil {
		return 0, 0, err
	}
	total := flow + time.Duration(r.cfg.Trainings)*train
	r.logf("estimated run time: %v (flow %v, %d trainings of %v each)", total.Round(time.Second), flow.Round(time.Second), r.cfg.Trainings, train.Round(time.Second))
	return per, total, nil
}

// estimateTraining measures a few epochs of an evaluation training on a set
// of the synthetic set's size (the initialisation) and the evaluation on
// part of the test set, and returns the estimated time of one training
// trial.
func (r *distillRun) estimateTraining() (time.Duration, error) {
	cfg := r.cfg
	m, err := models.NewConvNet(r.train.H, r.train.W, cfg.EvalWidth, cfg.EvalDepth, r.train.Classes, rand.New(rand.NewPCG(cfg.Seed, 0xe57)))
	if err != nil {
		return 0, fmt.Errorf("distill: %w", err)
	}
	const epochs = 4 // the first, which builds the training step, is not counted
	var ticks epochTicks
	tc := models.DefaultTrainConfig()
	tc.Epochs, tc.Batch, tc.LR, tc.Progress = min(epochs, cfg.EvalEpochs), 256, cfg.EvalLR, &ticks
	ticks.start = time.Now()
	if _, err := models.Train(m, r.init.X, r.init.Labels, tc); err != nil {
		return 0, fmt.Errorf("distill: estimating a training: %w", err)
	}
	perEpoch := ticks.perEpoch()
	n := min(r.test.N, 1000)
	t0 := time.Now()
	if _, err := models.Evaluate(m, r.test.X[:n*r.test.D], r.test.Labels[:n]); err != nil {
		return 0, fmt.Errorf("distill: %w", err)
	}
	eval := time.Since(t0) * time.Duration(r.test.N) / time.Duration(n)
	r.logf("measured %.0f ms per training epoch (%d images, ConvNet width %d) and %v to test on %d images: a training takes about %v",
		1000*perEpoch.Seconds(), r.init.N, cfg.EvalWidth, eval.Round(time.Millisecond), r.test.N, (perEpoch*time.Duration(cfg.EvalEpochs) + eval).Round(time.Second))
	return perEpoch*time.Duration(cfg.EvalEpochs) + eval, nil
}

// epochTicks is a training's Progress writer that notes when each epoch
// ends (models.Train writes one line per epoch).
type epochTicks struct {
	start time.Time
	ends  []time.Time
}

func (e *epochTicks) Write(p []byte) (int, error) {
	for range bytes.Count(p, []byte("\n")) {
		e.ends = append(e.ends, time.Now())
	}
	return len(p), nil
}

// perEpoch is the mean duration of the epochs after the first (the first
// when there is only one).
func (e *epochTicks) perEpoch() time.Duration {
	switch len(e.ends) {
	case 0:
		return 0
	case 1:
		return e.ends[0].Sub(e.start)
	}
	return e.ends[len(e.ends)-1].Sub(e.ends[0]) / time.Duration(len(e.ends)-1)
}

// flow is the run's flow trial: it flows the initialisation (random real
// images) to minimise the objective, labels the synthetic classes (WoW
// alignment against 100 real images per class; DM: class c is label c) and
// writes synthetic_x.npy, synthetic_labels.npy, synthetic.png (and
// synthetic_scaled.png, see saveSynthetic) and loss.csv/png. The random
// method writes the initialisation.
func (r *distillRun) flow(ctx context.Context) (distillFlowResult, error) {
	if err := r.load(); err != nil {
		return distillFlowResult{}, err
	}
	cfg := r.cfg
	if cfg.Method == DistillRandom {
		return distillFlowResult{}, r.saveSynthetic(r.init.X, r.init.Labels)
	}
	var curve harness.Curve
	progress := &harness.Progress{W: r.log, Name: "distill " + cfg.Name(), Steps: cfg.Steps}
	ck := &harness.FlowCheckpoint{Path: filepath.Join(cfg.Out, "checkpoint.gob"), Every: cfg.CheckpointEvery, Curve: &curve}
	fl, _, err := r.newFlow(ck, harness.Recorders{&curve, progress})
	if err != nil {
		return distillFlowResult{}, err
	}
	defer fl.Close()
	start := fl.StepCount()
	progress.Start = start
	if _, err := r.probe(fl, &curve); err != nil {
		return distillFlowResult{}, err
	}
	probed := fl.StepCount() - start
	out, err := fl.Run(ctx)
	if err != nil {
		return distillFlowResult{}, fmt.Errorf("distill: flow %s after %d steps: %w", out.Status, out.Steps, err)
	}
	res := distillFlowResult{Steps: out.Steps, Seconds: ck.Seconds(), FirstLoss: curve.Loss[0], FinalLoss: out.Loss,
		StepMs: 1000 * out.Elapsed.Seconds() / float64(max(1, out.Steps-start-probed))}
	labels := make([]int, out.X.Len())
	if cfg.Method == DistillDM { // mean matching pairs class c with class c
		for i := range labels {
			labels[i] = out.X.ClassOf(i)
		}
	} else {
		sample, err := data.BalancedSample(r.train, 100, rand.New(rand.NewPCG(cfg.Seed, 0xa11)))
		if err != nil {
			return res, fmt.Errorf("distill: %w", err)
		}
		ref, err := graph.FromLabeled(sample.X, sample.Labels, sample.D)
		if err != nil {
			return res, err
		}
		l, w, err := relabel(out.X, ref)
		if err != nil {
			return res, fmt.Errorf("distill: alignment: %w", err)
		}
		labels, res.Alignment = l, w.Alignment
	}
	r.logf("flowed %d steps in %.0fs, loss %.5g → %.5g, alignment %v%s", out.Steps, res.Seconds, res.FirstLoss, res.FinalLoss, res.Alignment, lossRoseWarning(res.FirstLoss, res.FinalLoss))
	if err := r.saveSynthetic(out.X.Data, labels); err != nil {
		return res, err
	}
	if err := curve.WriteCSV(filepath.Join(cfg.Out, "loss.csv"), "step", "loss"); err != nil {
		return res, err
	}
	if err := render.WriteLinePlot(filepath.Join(cfg.Out, "loss.png"), curve.Steps(), curve.Loss, "distillation objective", "step", "loss", true); err != nil {
		return res, err
	}
	os.Remove(ck.Path) // the flow's result is saved
	return res, nil
}

// saveSynthetic writes the synthetic set (NPY) and its picture,
// synthetic.png, clipped to [0,1] for display only. Nothing keeps a flow's
// pixels in [0,1] (DM's end far outside: the embedding's instance norm
// ignores scale), so when some leave it the run says by how much and also
// writes synthetic_scaled.png, each image drawn on its own range.
func (r *distillRun) saveSynthetic(x []float64, labels []int) error {
	if err := writeSet(filepath.Join(r.cfg.Out, "synthetic"), x, labels, r.train.D); err != nil {
		return err
	}
	opt := render.GridOptions{PerRow: min(r.cfg.IPC, 10)}
	if err := render.WriteImageGrid(filepath.Join(r.cfg.Out, "synthetic.png"), x, labels, r.train.H, r.train.W, opt); err != nil {
		return err
	}
	scaled := filepath.Join(r.cfg.Out, "synthetic_scaled.png")
	lo, hi := slices.Min(x), slices.Max(x)
	if lo >= 0 && hi <= 1 {
		os.Remove(scaled) // from an earlier run of another method, if any
		return nil
	}
	r.logf("synthetic pixels range over [%.3g, %.3g], outside [0, 1]: synthetic.png clips them, synthetic_scaled.png draws each image on its own range", lo, hi)
	opt.PerImageRange = true
	return render.WriteImageGrid(scaled, x, labels, r.train.H, r.train.W, opt)
}
