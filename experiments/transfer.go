package experiments

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/experiments/render"
	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/internal/atomicfile"
	"github.com/wowflow/wowflow/models"
	"github.com/wowflow/wowflow/optim"
	"github.com/wowflow/wowflow/ot"
	"gorgonia.org/tensor"
)

// TransferConfig configures the k-shot transfer experiment (the paper's
// Table 2, FMNIST rows): a labeled source (200 MNIST training images per
// class) is flowed onto k target images per class (Fashion-MNIST training
// set) with the Riesz MMDSW; the flowed images, clipped to [0,1] and relabelled
// by WoW alignment, augment the k real ones to train a LeNet tested on the
// whole target test set. DefaultTransferConfig holds the paper's settings;
// zero counts, τ and dataset names mean those defaults, a zero Momentum is
// plain gradient descent (see the package's configuration rule).
type TransferConfig struct {
	Source, Target string // datasets (data.Load names); "": mnist, fmnist
	SourcePerClass int    // 0: 200
	Shots          []int  // k values; nil: 1, 5, 10
	Steps          int    // flow steps; 0: 5000 for k ≤ 10, 20000 above
	Tau, Momentum  float64
	Directions     int // L; 0: 500
	Flows          int // flows per k; 0: 3
	// FirstFlow skips flows 0 … FirstFlow−1 (to run the flows of one k in
	// several processes, each with its own Out; MergeTransfer joins them).
	FirstFlow  int
	Trainings  int // classifier trainings per flow and arm; 0: 5
	Epochs     int // 0: 50
	TestImages int // test images (balanced subsample); 0: the whole test set
	Seed       uint64
	Out        string // output directory; results.json there makes the run resumable
	// CheckpointEvery saves a flow in progress every that many steps (and on
	// cancellation) to OUT/kK_flowF.ckpt; 0: 500.
	CheckpointEvery int
	// Arms to train (see TransferArms); nil: all.
	Arms []string
	// Quantiles > 0 flows with the paper code's percentile estimator
	// (functionals.MMD.Quantiles, the code uses 100) instead of exact sorting.
	Quantiles int
	// MixedWeight is λ of the k+mixed arm (0: that arm is skipped).
	MixedWeight float64
	Progress    io.Writer `json:"-"`
}

// DefaultTransferConfig returns the paper's k-shot protocol: 200 MNIST
// images per class flowed onto k = 1, 5, 10 Fashion-MNIST images per class
// (Riesz MMDSW, τ = 1, m = 0.9, L = 500, 5000 steps for k ≤ 10 and 20000
// above), 3 flows × 5 LeNet trainings of 50 epochs per k, seed 1, a
// checkpoint every 500 steps, output in out/transfer.
func DefaultTransferConfig() TransferConfig {
	return TransferConfig{Source: "mnist", Target: "fmnist", SourcePerClass: 200, Shots: []int{1, 5, 10},
		Tau: 1, Momentum: 0.9, Directions: 500, Flows: 3, Trainings: 5, Epochs: 50, Seed: 1,
		Out: filepath.Join("out", "transfer"), CheckpointEvery: 500}
}

func (c *TransferConfig) defaults() error {
	d := DefaultTransferConfig()
	orDefault(&c.Source, d.Source)
	orDefault(&c.Target, d.Target)
	orDefault(&c.SourcePerClass, d.SourcePerClass)
	if c.Shots == nil {
		c.Shots = d.Shots
	}
	orDefault(&c.Tau, d.Tau)
	orDefault(&c.Directions, d.Directions)
	orDefault(&c.Flows, d.Flows)
	orDefault(&c.Trainings, d.Trainings)
	orDefault(&c.Epochs, d.Epochs)
	orDefault(&c.CheckpointEvery, d.CheckpointEvery)
	switch {
	case c.Out == "":
		return fmt.Errorf("transfer: --out is required")
	case c.FirstFlow < 0 || c.FirstFlow >= c.Flows:
		return fmt.Errorf("transfer: --first-flow %d must be in [0, --flows %d)", c.FirstFlow, c.Flows)
	case c.SourcePerClass < 1 || c.Flows < 1 || c.Trainings < 1 || c.Epochs < 1 || c.Directions < 1 || c.Steps < 0 || c.TestImages < 0:
		return fmt.Errorf("transfer: counts must be positive (source %d, flows %d, trainings %d, epochs %d, directions %d, steps %d)",
			c.SourcePerClass, c.Flows, c.Trainings, c.Epochs, c.Directions, c.Steps)
	case !(c.Tau > 0) || math.IsInf(c.Tau, 0):
		return fmt.Errorf("transfer: --tau %v must be positive", c.Tau)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("transfer: --momentum %v must be in [0, 1)", c.Momentum)
	case len(c.Shots) == 0:
		return fmt.Errorf("transfer: --shots is empty")
	}
	for _, k := range c.Shots {
		if k < 1 {
			return fmt.Errorf("transfer: --shots %d must be positive", k)
		}
	}
	if c.Arms == nil {
		c.Arms = TransferArms
		if c.MixedWeight == 0 {
			c.Arms = TransferArms[:len(TransferArms)-1]
		}
	}
	if c.Quantiles < 0 {
		return fmt.Errorf("transfer: --quantiles %d must be ≥ 0 (0: exact sorting)", c.Quantiles)
	}
	if !(c.MixedWeight >= 0) || math.IsInf(c.MixedWeight, 0) {
		return fmt.Errorf("transfer: --mixed-weight %v must be ≥ 0", c.MixedWeight)
	}
	if slices.Contains(c.Arms, ArmMixed) && c.MixedWeight == 0 {
		return fmt.Errorf("transfer: the %s arm needs --mixed-weight > 0", ArmMixed)
	}
	for _, a := range c.Arms {
		if !slices.Contains(TransferArms, a) {
			return fmt.Errorf("transfer: unknown arm %q (want one of %s)", a, strings.Join(TransferArms, ", "))
		}
	}
	return nil
}

// protocol names what makes two runs' trials comparable (and mergeable into
// one table): datasets, sizes, flow settings, classifier epochs, test set
// and seed. The estimator (Quantiles) and λ may differ between merged runs.
func (c TransferConfig) protocol() string {
	return fmt.Sprintf("%s → %s, %d/class, steps %d, τ=%g, m=%g, L=%d, %d epochs, test images %d, seed %d",
		c.Source, c.Target, c.SourcePerClass, c.Steps, c.Tau, c.Momentum, c.Directions, c.Epochs, c.TestImages, c.Seed)
}

// sameFlows reports whether runs a and b flow alike (so b may resume a).
func sameFlows(a, b TransferConfig) bool {
	return a.Quantiles == b.Quantiles && a.MixedWeight == b.MixedWeight
}

// snapshotSteps are the steps at which a flow's particles are saved for the
// early-stopping and snapshot arms.
func snapshotSteps(steps int) []int {
	return []int{max(1, steps/10), max(1, steps/4), max(1, steps/2), max(1, 3*steps/4)}
}

func (c TransferConfig) steps(k int) int {
	if c.Steps > 0 {
		return c.Steps
	}
	if k <= 10 {
		return 5000
	}
	return 20000
}

// Transfer arms: what the classifier is trained on.
const (
	ArmShots  = "train-on-k" // the k real images per class only
	ArmRepeat = "k-repeated" // the k shots repeated to the augmented set's size (equal optimizer steps)
	ArmJitter = "k-jittered" // the same, each copy shifted ±1 px and with N(0, 0.05²) noise
	ArmFlow   = "k+flowed"   // the k shots + the flowed source images
	// ArmEarly stops the flow early: the k shots + the particles at a tenth
	// of the steps (relabelled by their own WoW alignment).
	ArmEarly = "k+early"
	// ArmSnapshots trains on snapshots along the trajectory: the k shots +
	// a quarter of the particles of each class from each of the snapshots at
	// 1/4, 1/2, 3/4 and all of the steps (different source images from each,
	// so the set has the size of the k+flowed one).
	ArmSnapshots = "k+snapshots"
	// ArmMixed flows with a mixed functional, MMD + λ·(cross-entropy of a
	// LeNet trained on the k shots, each flowed class labelled by the plain
	// flow's alignment), and trains on the k shots + those particles. Needs
	// MixedWeight > 0; each step then also runs the LeNet on every particle
	// (about 3× the cost of an MMD step).
	ArmMixed = "k+mixed"
)

// TransferArms lists every arm, in table order.
var TransferArms = []string{ArmShots, ArmRepeat, ArmJitter, ArmFlow, ArmEarly, ArmSnapshots, ArmMixed}

// mixedKey is the key of the mixed flow's particles in a flow's sets.
const mixedKey = -1

// TransferTrial is one classifier training: a row of results.json.
type TransferTrial struct {
	K        int     `json:"k"`
	Flow     int     `json:"flow"`
	Training int     `json:"training"`
	Arm      string  `json:"arm"`
	Accuracy float64 `json:"accuracy"`
	Images   int     `json:"train_images"`
	Seconds  float64 `json:"seconds"`
}

// TransferFlow records one flow.
type TransferFlow struct {
	K         int     `json:"k"`
	Flow      int     `json:"flow"`
	Steps     int     `json:"steps"`
	Seconds   float64 `json:"seconds"`
	FirstLoss float64 `json:"first_loss"`
	FinalLoss float64 `json:"final_loss"`
	Alignment []int   `json:"alignment"`
	// NearestShotL2 is the mean L2 distance of a flowed image to the nearest
	// shot of its aligned class (shots are ≈ 10 apart in pixel space).
	NearestShotL2 float64 `json:"mean_l2_to_nearest_shot"`
}

// TransferResults is results.json.
type TransferResults struct {
	Config  TransferConfig  `json:"config"`
	Version string          `json:"version"`
	Flows   []TransferFlow  `json:"flows"`
	Trials  []TransferTrial `json:"trials"`
}

// paperTable2 holds the paper's FMNIST rows (accuracy %, mean ± std):
// train on the k real only, and the MMDSW flow.
var paperTable2 = map[int][4]float64{
	1: {26.0, 5.3, 40.5, 4.7}, 5: {38.5, 6.7, 61.5, 4.6}, 10: {53.9, 7.9, 65.4, 1.5}, 100: {71.1, 1.5, 74.7, 0.8},
}

func (r *TransferResults) has(k, flow, training int, arm string) bool {
	return slices.ContainsFunc(r.Trials, func(t TransferTrial) bool {
		return t.K == k && t.Flow == flow && t.Training == training && t.Arm == arm
	})
}

func (r *TransferResults) save(path string) error { return writeJSON(path, r) }

// Transfer runs the experiment, resuming from cfg.Out/results.json.
func Transfer(ctx context.Context, cfg TransferConfig) (*TransferResults, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	logf := func(format string, a ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "transfer: "+format+"\n", a...)
		}
	}
	resPath := filepath.Join(cfg.Out, "results.json")
	res := &TransferResults{Config: cfg, Version: Version()}
	if b, err := os.ReadFile(resPath); err == nil {
		var old TransferResults
		if err := json.Unmarshal(b, &old); err != nil {
			return nil, fmt.Errorf("transfer: %s: %v (remove it to start over)", resPath, err)
		}
		if p, q := old.Config.protocol(), cfg.protocol(); p != q || !sameFlows(old.Config, cfg) {
			return nil, fmt.Errorf("transfer: %s holds a run of another protocol (%s, quantiles %d, λ %g) than this one (%s, quantiles %d, λ %g): use another --out or remove it",
				resPath, p, old.Config.Quantiles, old.Config.MixedWeight, q, cfg.Quantiles, cfg.MixedWeight)
		}
		res.Flows, res.Trials = old.Flows, old.Trials
		logf("resuming: %d flows and %d trainings already in %s", len(res.Flows), len(res.Trials), resPath)
	}
	srcAll, err := data.Load(cfg.Source, "train")
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	tgtAll, err := data.Load(cfg.Target, "train")
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	test, err := data.Load(cfg.Target, "test")
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	if cfg.TestImages > 0 && cfg.TestImages < test.N {
		if test, err = data.BalancedSample(test, cfg.TestImages/test.Classes, rand.New(rand.NewPCG(cfg.Seed, 0x7e57))); err != nil {
			return nil, fmt.Errorf("transfer: %w", err)
		}
	}
	if srcAll.D != tgtAll.D {
		return nil, fmt.Errorf("transfer: %s images have %d pixels, %s %d", cfg.Source, srcAll.D, cfg.Target, tgtAll.D)
	}
	for _, k := range cfg.Shots {
		for f := cfg.FirstFlow; f < cfg.Flows; f++ {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(1000*k+f)))
			src, err := data.BalancedSample(srcAll, cfg.SourcePerClass, rng)
			if err != nil {
				return res, fmt.Errorf("transfer: %w", err)
			}
			shots, err := data.BalancedSample(tgtAll, k, rng)
			if err != nil {
				return res, fmt.Errorf("transfer: %w", err)
			}
			if err := saveShots(filepath.Join(cfg.Out, fmt.Sprintf("k%d_flow%d_shots", k, f)), shots); err != nil {
				return res, err
			}
			done := true
			for t := 0; t < cfg.Trainings; t++ {
				for _, a := range cfg.Arms {
					done = done && res.has(k, f, t, a)
				}
			}
			if done {
				continue
			}
			sets, err := transferFlow(ctx, cfg, res, k, f, src, shots, logf)
			if err != nil {
				return res, err
			}
			if slices.Contains(cfg.Arms, ArmMixed) {
				if sets[mixedKey], err = mixedFlow(ctx, cfg, k, f, src, shots, sets[0], logf); err != nil {
					return res, err
				}
			}
			if err := res.save(resPath); err != nil {
				return res, err
			}
			for t := 0; t < cfg.Trainings; t++ {
				for _, arm := range cfg.Arms {
					if res.has(k, f, t, arm) {
						continue
					}
					if err := ctx.Err(); err != nil {
						return res, err
					}
					trng := rand.New(rand.NewPCG(cfg.Seed, uint64(1e6+1000*k+100*f+t)))
					x, y, err := trainingSet(arm, shots, sets, cfg.steps(k), trng)
					if err != nil {
						logf("k=%d flow %d: skipping %s: %v", k, f, arm, err)
						continue
					}
					t0 := time.Now()
					m, err := models.NewLeNet(tgtAll.H, tgtAll.W, tgtAll.Classes, trng)
					if err != nil {
						return res, err
					}
					tc := models.DefaultTrainConfig()
					tc.Epochs, tc.Seed = cfg.Epochs, trng.Uint64()
					if _, err := models.Train(m, x, y, tc); err != nil {
						return res, fmt.Errorf("transfer: training %s: %w", arm, err)
					}
					ev, err := models.Evaluate(m, test.X, test.Labels)
					if err != nil {
						return res, err
					}
					tr := TransferTrial{K: k, Flow: f, Training: t, Arm: arm, Accuracy: 100 * ev.Accuracy, Images: len(y), Seconds: time.Since(t0).Seconds()}
					res.Trials = append(res.Trials, tr)
					logf("k=%d flow %d training %d %-11s %5.1f%% (%d images, %.0fs)", k, f, t, arm, tr.Accuracy, tr.Images, tr.Seconds)
					if err := res.save(resPath); err != nil {
						return res, err
					}
				}
			}
		}
	}
	if err := atomicWriteString(filepath.Join(cfg.Out, "table.md"), TransferTable(res)); err != nil {
		return res, err
	}
	return res, nil
}

// saveShots writes a flow's k shots as PREFIX_x.npy and PREFIX_labels.npy
// (unless both are there), so that every arm's training set can be rebuilt
// from the run directory by another tool.
func saveShots(prefix string, shots *data.Images) error {
	_, errX := os.Stat(prefix + "_x.npy")
	_, errL := os.Stat(prefix + "_labels.npy")
	if errX == nil && errL == nil {
		return nil
	}
	if err := data.WriteMatrix(prefix+"_x.npy", data.Matrix{Data: shots.X, Rows: shots.N, Cols: shots.D}); err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	if err := data.WriteLabels(prefix+"_labels.npy", shots.Labels); err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	return nil
}

// labeledSet is a set of flowed images with their aligned labels.
type labeledSet struct {
	X      []float64
	Labels []int
}

// transferFlow flows the source onto the shots (or reloads a finished flow),
// clips to [0,1] and relabels by WoW alignment. It returns the final particles
// under key 0 and the snapshots under their step.
func transferFlow(ctx context.Context, cfg TransferConfig, res *TransferResults, k, f int, src, shots *data.Images, logf func(string, ...any)) (map[int]labeledSet, error) {
	prefix := filepath.Join(cfg.Out, fmt.Sprintf("k%d_flow%d", k, f))
	steps := cfg.steps(k)
	sets := map[int]labeledSet{}
	load := func(p string) (labeledSet, bool) {
		m, err := data.ReadMatrix(p + "_x.npy")
		if err != nil {
			return labeledSet{}, false
		}
		l, err := data.ReadLabels(p + "_labels.npy")
		return labeledSet{m.Data, l}, err == nil && len(l) == m.Rows
	}
	if final, ok := load(prefix); ok {
		sets[0] = final
		for _, st := range snapshotSteps(steps) {
			if snap, ok := load(fmt.Sprintf("%s_step%d", prefix, st)); ok {
				sets[st] = snap
			}
		}
		logf("k=%d flow %d: reusing %s_x.npy and %d snapshots", k, f, prefix, len(sets)-1)
		return sets, nil
	}
	x, err := graph.FromLabeled(src.X, src.Labels, src.D)
	if err != nil {
		return nil, err
	}
	q, err := graph.FromLabeled(shots.X, shots.Labels, shots.D)
	if err != nil {
		return nil, err
	}
	var losses, stepsAt []float64
	t0 := time.Now()
	var fl *flows.Flow
	rec := flows.RecorderFunc(func(s flows.StepInfo) error {
		losses, stepsAt = append(losses, s.Loss), append(stepsAt, float64(s.Step))
		if slices.Contains(snapshotSteps(steps), s.Step) {
			snap, _, err := alignAndSave(fmt.Sprintf("%s_step%d", prefix, s.Step), fl.Particles(), q)
			if err != nil {
				return err
			}
			sets[s.Step] = snap
		}
		if s.Step%500 == 0 || s.Step == steps {
			logf("k=%d flow %d: step %d/%d loss %.4g ETA %v", k, f, s.Step, steps, s.Loss, eta(time.Since(t0), s.Step, steps-s.Step))
		}
		return nil
	})
	// Mid-flow checkpoints: a killed run resumes the flow where it stopped.
	ckpt := prefix + ".ckpt"
	fl, err = flows.New(x, functionals.MMD{Target: q, Quantiles: cfg.Quantiles}, flows.Config{Steps: steps, Directions: cfg.Directions,
		Seed: cfg.Seed ^ uint64(1000*k+f), Dtype: tensor.Float32, Recorder: rec,
		Optimizer: &optim.Momentum{Tau: cfg.Tau, M: cfg.Momentum},
		Checkpoint: flows.CheckpointConfig{Path: ckpt, Every: cfg.CheckpointEvery, Extra: func() ([]byte, error) {
			return json.Marshal([2][]float64{stepsAt, losses})
		}}})
	if err != nil {
		return nil, err
	}
	defer fl.Close()
	if at, st, ls, err := resumeCurve(fl, ckpt); err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	} else if at > 0 {
		for _, sn := range snapshotSteps(steps) {
			if snap, ok := load(fmt.Sprintf("%s_step%d", prefix, sn)); ok && sn <= at {
				sets[sn] = snap
			}
		}
		stepsAt, losses = st, ls
		logf("k=%d flow %d: resuming at step %d from %s", k, f, at, ckpt)
	}
	out, err := fl.Run(ctx)
	if err != nil {
		return nil, fmt.Errorf("transfer: k=%d flow %d %s after %d steps: %w", k, f, out.Status, out.Steps, err)
	}
	final, w, err := alignAndSave(prefix, out.X, q)
	if err != nil {
		return nil, err
	}
	sets[0] = final
	// Mean distance of each flowed image to its nearest shot of the aligned class.
	flowed := final.X
	d := q.D
	near := 0.0
	for i, c := range final.Labels {
		best := math.Inf(1)
		for j := 0; j < q.ClassSize(c); j++ {
			s := 0.0
			a, b := flowed[i*d:(i+1)*d], q.Class(c)[j*d:(j+1)*d]
			for p := range a {
				s += (a[p] - b[p]) * (a[p] - b[p])
			}
			best = math.Min(best, math.Sqrt(s))
		}
		near += best / float64(len(final.Labels))
	}
	res.Flows = append(res.Flows, TransferFlow{K: k, Flow: f, Steps: out.Steps, Seconds: time.Since(t0).Seconds(),
		FirstLoss: losses[0], FinalLoss: out.Loss, Alignment: w.Alignment, NearestShotL2: near})
	logf("k=%d flow %d: %d steps in %.0fs, loss %.4g → %.4g, alignment %v, mean L2 to nearest shot %.3f",
		k, f, out.Steps, time.Since(t0).Seconds(), losses[0], out.Loss, w.Alignment, near)
	if err := render.WriteImageGrid(prefix+"_grid.png", flowed, final.Labels, src.H, src.W, render.GridOptions{}); err != nil {
		return nil, err
	}
	if err := render.WriteLinePlot(prefix+"_loss.png", stepsAt, losses, fmt.Sprintf("½MMD² (Riesz), k=%d", k), "step", "loss", true); err != nil {
		return nil, err
	}
	os.Remove(ckpt) // the flow's results are saved; its checkpoint is no longer needed
	return sets, nil
}

// mixedFlow flows the source with MMD + λ·ClassifierLoss, the classifier a
// LeNet trained on the shots and each class's label its alignment in the
// plain flow (or reloads a finished mixed flow).
func mixedFlow(ctx context.Context, cfg TransferConfig, k, f int, src, shots *data.Images, plain labeledSet, logf func(string, ...any)) (labeledSet, error) {
	prefix := filepath.Join(cfg.Out, fmt.Sprintf("k%d_flow%d_mixed", k, f))
	if m, err := data.ReadMatrix(prefix + "_x.npy"); err == nil {
		if l, err := data.ReadLabels(prefix + "_labels.npy"); err == nil && len(l) == m.Rows {
			return labeledSet{m.Data, l}, nil
		}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(2e6+1000*k+f)))
	clf, err := models.NewLeNet(shots.H, shots.W, shots.Classes, rng)
	if err != nil {
		return labeledSet{}, err
	}
	tc := models.DefaultTrainConfig()
	tc.Epochs, tc.Seed = cfg.Epochs, rng.Uint64()
	if _, err := models.Train(clf, shots.X, shots.Labels, tc); err != nil {
		return labeledSet{}, err
	}
	x, err := graph.FromLabeled(src.X, src.Labels, src.D)
	if err != nil {
		return labeledSet{}, err
	}
	q, err := graph.FromLabeled(shots.X, shots.Labels, shots.D)
	if err != nil {
		return labeledSet{}, err
	}
	align := make([]int, x.NumClasses())
	for c := range align {
		align[c] = plain.Labels[x.Offsets[c]]
	}
	obj := functionals.Sum{
		{Weight: 1, F: functionals.MMD{Target: q, Quantiles: cfg.Quantiles}},
		{Weight: cfg.MixedWeight, F: functionals.ClassifierLoss{Model: clf, Labels: align}},
	}
	steps := cfg.steps(k)
	t0 := time.Now()
	fl, err := flows.New(x, obj, flows.Config{Steps: steps, Directions: cfg.Directions, Seed: cfg.Seed ^ uint64(3e6+1000*k+f),
		Dtype: tensor.Float32, Optimizer: &optim.Momentum{Tau: cfg.Tau, M: cfg.Momentum},
		Recorder: flows.RecorderFunc(func(s flows.StepInfo) error {
			if s.Step%500 == 0 || s.Step == steps {
				logf("k=%d flow %d mixed (λ=%g): step %d/%d loss %.4g", k, f, cfg.MixedWeight, s.Step, steps, s.Loss)
			}
			return nil
		})})
	if err != nil {
		return labeledSet{}, err
	}
	defer fl.Close()
	out, err := fl.Run(ctx)
	if err != nil {
		return labeledSet{}, fmt.Errorf("transfer: k=%d flow %d mixed: %w", k, f, err)
	}
	set, w, err := alignAndSave(prefix, out.X, q)
	if err != nil {
		return labeledSet{}, err
	}
	logf("k=%d flow %d mixed: %d steps in %.0fs, alignment %v (plain flow %v)", k, f, out.Steps, time.Since(t0).Seconds(), w.Alignment, align)
	return set, render.WriteImageGrid(prefix+"_grid.png", set.X, set.Labels, src.H, src.W, render.GridOptions{})
}

// alignAndSave clips a flowed dataset to [0,1], labels each class by WoW
// alignment with the target q and writes PREFIX_x.npy and PREFIX_labels.npy.
func alignAndSave(prefix string, ds *graph.Dataset, q *graph.Dataset) (labeledSet, ot.WoWResult, error) {
	ds = ds.Clone()
	for i, v := range ds.Data {
		ds.Data[i] = math.Min(1, math.Max(0, v))
	}
	w, err := wowOf(ds, q)
	if err != nil {
		return labeledSet{}, w, err
	}
	labels := make([]int, ds.Len())
	for i := range labels {
		labels[i] = w.Alignment[ds.ClassOf(i)]
	}
	if err := data.WriteMatrix(prefix+"_x.npy", data.Matrix{Data: ds.Data, Rows: ds.Len(), Cols: ds.D}); err != nil {
		return labeledSet{}, w, err
	}
	if err := data.WriteLabels(prefix+"_labels.npy", labels); err != nil {
		return labeledSet{}, w, err
	}
	return labeledSet{ds.Data, labels}, w, nil
}

// trainingSet assembles the images of one arm from the shots and the flow's
// sets (key 0: the final particles; other keys: snapshots at that step).
func trainingSet(arm string, shots *data.Images, sets map[int]labeledSet, steps int, rng *rand.Rand) ([]float64, []int, error) {
	x := append([]float64(nil), shots.X...)
	y := append([]int(nil), shots.Labels...)
	final := sets[0]
	d := shots.D
	switch arm {
	case ArmFlow:
		x = append(x, final.X...)
		y = append(y, final.Labels...)
	case ArmMixed:
		mixed, ok := sets[mixedKey]
		if !ok {
			return nil, nil, fmt.Errorf("no mixed flow")
		}
		x = append(x, mixed.X...)
		y = append(y, mixed.Labels...)
	case ArmEarly:
		early, ok := sets[snapshotSteps(steps)[0]]
		if !ok {
			return nil, nil, fmt.Errorf("no snapshot at step %d (flowed before snapshots existed)", snapshotSteps(steps)[0])
		}
		x = append(x, early.X...)
		y = append(y, early.Labels...)
	case ArmSnapshots:
		snaps := []labeledSet{}
		for _, st := range snapshotSteps(steps)[1:] {
			s, ok := sets[st]
			if !ok {
				return nil, nil, fmt.Errorf("no snapshot at step %d (flowed before snapshots existed)", st)
			}
			snaps = append(snaps, s)
		}
		snaps = append(snaps, final)
		for i := range final.Labels {
			s := snaps[i%len(snaps)] // particle i from one snapshot only: 1/4 of each class from each
			x = append(x, s.X[i*d:(i+1)*d]...)
			y = append(y, s.Labels[i])
		}
	case ArmRepeat, ArmJitter:
		for i := range final.Labels {
			j := i % shots.N
			img := append([]float64(nil), shots.X[j*d:(j+1)*d]...)
			if arm == ArmJitter {
				img = jitter(img, shots.H, shots.W, rng)
			}
			x = append(x, img...)
			y = append(y, shots.Labels[j])
		}
	}
	return x, y, nil
}

// jitter shifts an image by up to one pixel in each direction and adds
// N(0, 0.05²) noise, clipped to [0,1]: the cheap augmentation a user would try.
func jitter(img []float64, h, w int, rng *rand.Rand) []float64 {
	dy, dx := rng.IntN(3)-1, rng.IntN(3)-1
	out := make([]float64, len(img))
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			sr, sc := r-dy, c-dx
			v := 0.0
			if sr >= 0 && sr < h && sc >= 0 && sc < w {
				v = img[sr*w+sc]
			}
			out[r*w+c] = math.Min(1, math.Max(0, v+0.05*rng.NormFloat64()))
		}
	}
	return out
}

func meanStd(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	m := 0.0
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	s := 0.0
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	if len(v) > 1 {
		s /= float64(len(v) - 1)
	}
	return m, math.Sqrt(s)
}

// ArmPercentile names, in merged tables, the k+flowed arm of a run that
// flowed with the percentile estimator (TransferConfig.Quantiles > 0).
const ArmPercentile = "k+percentile"

// transferVariants are the arms that try to keep the source's diversity,
// compared with the control in the "best variant" column.
var transferVariants = []string{ArmEarly, ArmSnapshots, ArmMixed, ArmPercentile}

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
	var b strings.Builder
	c := r.Config
	est := "exact sorting"
	if c.Quantiles > 0 && !slices.ContainsFunc(r.Trials, func(t TransferTrial) bool { return t.Arm == ArmPercentile }) {
		est = fmt.Sprintf("percentile estimator, %d quantiles", c.Quantiles)
	}
	fmt.Fprintf(&b, "k-shot transfer %s → %s: %d source images/class, Riesz MMDSW (τ=%g, m=%g, L=%d, %s), LeNet %d epochs; "+
		"test accuracy %% (mean ± std over flows × trainings)\n\n", c.Source, c.Target, c.SourcePerClass, c.Tau, c.Momentum, c.Directions, est, c.Epochs)
	arms := append(slices.Clone(TransferArms), ArmPercentile)
	b.WriteString("| k | flow steps | flows × trainings | train on k | k repeated (control) | k jittered (control) | k + flowed | k + early-stopped flow | k + snapshots | k + mixed flow | k + percentile-estimator flow | best variant (Δ vs k repeated) | paper: train on k | paper: MMDSW flow |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range c.Shots {
		cells := []string{}
		means := map[string]float64{}
		for _, arm := range arms {
			var acc []float64
			for _, t := range r.Trials {
				if t.K == k && t.Arm == arm {
					acc = append(acc, t.Accuracy)
				}
			}
			if len(acc) == 0 {
				cells = append(cells, "–")
				continue
			}
			m, s := meanStd(acc)
			means[arm] = m
			cells = append(cells, fmt.Sprintf("%.1f ± %.1f", m, s))
		}
		flowsN, trainN := map[int]bool{}, map[int]bool{}
		for _, t := range r.Trials {
			if t.K == k && t.Arm == ArmFlow {
				flowsN[t.Flow], trainN[t.Training] = true, true
			}
		}
		best := "–"
		ctrl, okc := means[ArmRepeat]
		bm := math.Inf(-1)
		for _, v := range transferVariants {
			if m, ok := means[v]; ok && m > bm && okc {
				bm, best = m, fmt.Sprintf("%s %.1f (%+.1f)", v, m, m-ctrl)
			}
		}
		paper, ok := paperTable2[k]
		pk, pf := "–", "–"
		if ok {
			pk, pf = fmt.Sprintf("%.1f ± %.1f", paper[0], paper[1]), fmt.Sprintf("%.1f ± %.1f", paper[2], paper[3])
		}
		fmt.Fprintf(&b, "| %d | %d | %d × %d | %s | %s | %s |\n", k, c.steps(k), len(flowsN), len(trainN), strings.Join(cells, " | "), best, pk+" | "+pf)
	}
	return b.String()
}

func atomicWriteString(path, s string) error {
	return atomicfile.WriteBytes(path, []byte(s))
}
