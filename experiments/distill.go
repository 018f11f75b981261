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
	"github.com/wowflow/wowflow/models"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/tensor"
)

// Distillation methods.
const (
	// DistillMMDSW flows the synthetic set with the Riesz MMDSW against the
	// real training set (the paper's method).
	DistillMMDSW = "mmdsw"
	// DistillDM flows it with Distribution Matching: per class, the squared
	// distance between mean (embedded) images (Zhao & Bilen (2023)).
	DistillDM = "dm"
	// DistillRandom keeps the initialisation: random real images.
	DistillRandom = "random"
)

// Distillation spaces.
const (
	SpaceAmbient  = "ambient"  // pixels
	SpaceEmbedded = "embedded" // a random ConvNet redrawn every step, after a random augmentation
)

// DistillConfig configures one distillation run (the paper's Table 1 on a
// CPU budget): IPC synthetic images per class, initialised from random real
// training images, flowed to minimise an objective against the real training
// set, then evaluated by training ConvNets on them and testing on the whole
// test set. DefaultDistillConfig(method) holds the defaults in brackets; a
// zero count, τ, learning rate or name means that default, a zero Momentum
// is plain gradient descent (see the package's configuration rule).
type DistillConfig struct {
	Dataset string // mnist or fmnist [mnist]
	IPC     int    // images per class [10]
	Method  string // mmdsw, dm or random [mmdsw]
	Space   string // ambient or embedded [ambient]
	// Flow: steps [2000], τ [1], momentum [0.9; DM: 0.5; used as given], L [500], real
	// images per class drawn each step [256]. MMDSW follows the WoW gradient
	// (the paper's settings); DM follows the plain Euclidean gradient with
	// its authors' optimizer (SGD, learning rate 1, momentum 0.5), as
	// published.
	Steps         int
	Tau, Momentum float64
	Directions    int
	Batch         int
	// Embedding (embedded space): random ConvNet width [32] and depth [3],
	// preceded by a random affine augmentation unless NoAugment.
	EmbedWidth, EmbedDepth int
	NoAugment              bool
	// Evaluation: ConvNet width [32] and depth [3], AdamW with learning rate
	// EvalLR [1e-3], batch 256, EvalEpochs [300] epochs, Trainings [3] runs.
	EvalWidth, EvalDepth int
	EvalEpochs           int
	EvalLR               float64
	Trainings            int
	// TestImages, when positive, evaluates on a balanced subsample of the
	// test set (for quick runs); 0 means the whole test set.
	TestImages int
	Seed       uint64
	// Out is the run's directory; "" means ROOT/NAME with Root [out/distill]
	// and NAME = Name(). A run there resumes: a finished flow is reused, a
	// checkpoint continues, finished trainings are kept.
	Out, Root string
	// CheckpointEvery saves the flow every that many steps [250].
	CheckpointEvery int
	// EstimateOnly measures a few steps, prints the estimated run time and
	// returns without writing anything.
	EstimateOnly bool
	Progress     io.Writer `json:"-"`
}

// Name is the run's directory name: DATASET-ipcN-METHOD-SPACE.
func (c DistillConfig) Name() string {
	if c.Method == DistillRandom {
		return fmt.Sprintf("%s-ipc%d-%s", c.Dataset, c.IPC, c.Method)
	}
	return fmt.Sprintf("%s-ipc%d-%s-%s", c.Dataset, c.IPC, c.Method, c.Space)
}

// DefaultDistillConfig returns the defaults of a run of method (mmdsw, dm
// or random) on MNIST at IPC 10 in pixel space: 2000 steps of τ = 1 with
// momentum 0.9 (DM: 0.5, its authors' SGD momentum), L = 500, 256 real
// images per class per step; a random ConvNet width 32, depth 3 after the
// affine augmentation for the embedded space; evaluation by 3 trainings of
// a ConvNet width 32, depth 3 (AdamW 1e-3, 300 epochs); seed 1; a
// checkpoint every 250 steps; runs under out/distill.
func DefaultDistillConfig(method string) DistillConfig {
	c := DistillConfig{Dataset: "mnist", IPC: 10, Method: method, Space: SpaceAmbient,
		Steps: 2000, Tau: 1, Momentum: 0.9, Directions: 500, Batch: 256, EmbedWidth: 32, EmbedDepth: 3,
		EvalWidth: 32, EvalDepth: 3, EvalEpochs: 300, EvalLR: 1e-3, Trainings: 3, Seed: 1,
		Root: filepath.Join("out", "distill"), CheckpointEvery: 250}
	if method == DistillDM {
		c.Momentum = 0.5
	}
	return c
}

func (c *DistillConfig) defaults() error {
	orDefault(&c.Method, DistillMMDSW)
	d := DefaultDistillConfig(c.Method)
	orDefault(&c.Dataset, d.Dataset)
	orDefault(&c.Space, d.Space)
	orDefault(&c.IPC, d.IPC)
	orDefault(&c.Steps, d.Steps)
	orDefault(&c.Directions, d.Directions)
	orDefault(&c.Batch, d.Batch)
	orDefault(&c.EmbedWidth, d.EmbedWidth)
	orDefault(&c.EmbedDepth, d.EmbedDepth)
	orDefault(&c.EvalWidth, d.EvalWidth)
	orDefault(&c.EvalDepth, d.EvalDepth)
	orDefault(&c.EvalEpochs, d.EvalEpochs)
	orDefault(&c.Trainings, d.Trainings)
	orDefault(&c.CheckpointEvery, d.CheckpointEvery)
	orDefault(&c.Tau, d.Tau)
	orDefault(&c.EvalLR, d.EvalLR)
	orDefault(&c.Root, d.Root)
	switch {
	case c.Method != DistillMMDSW && c.Method != DistillDM && c.Method != DistillRandom:
		return fmt.Errorf("distill: unknown method %q (want %s, %s or %s)", c.Method, DistillMMDSW, DistillDM, DistillRandom)
	case c.Space != SpaceAmbient && c.Space != SpaceEmbedded:
		return fmt.Errorf("distill: unknown space %q (want %s or %s)", c.Space, SpaceAmbient, SpaceEmbedded)
	case c.IPC < 1 || c.Steps < 1 || c.Directions < 1 || c.Batch < 1 || c.EmbedWidth < 1 || c.EmbedDepth < 1 ||
		c.EvalWidth < 1 || c.EvalDepth < 1 || c.EvalEpochs < 1 || c.Trainings < 1 || c.CheckpointEvery < 1 || c.TestImages < 0:
		return fmt.Errorf("distill: counts must be positive (ipc %d, steps %d, directions %d, batch %d, embed width %d depth %d, eval width %d depth %d epochs %d, trainings %d, checkpoint every %d)",
			c.IPC, c.Steps, c.Directions, c.Batch, c.EmbedWidth, c.EmbedDepth, c.EvalWidth, c.EvalDepth, c.EvalEpochs, c.Trainings, c.CheckpointEvery)
	case !(c.Tau > 0) || math.IsInf(c.Tau, 0) || !(c.Momentum >= 0 && c.Momentum < 1) || !(c.EvalLR > 0) || math.IsInf(c.EvalLR, 0):
		return fmt.Errorf("distill: --tau %v and --eval-lr %v must be positive and finite, --momentum %v in [0, 1)", c.Tau, c.EvalLR, c.Momentum)
	}
	if c.Out == "" {
		c.Out = filepath.Join(c.Root, c.Name())
	}
	return nil
}

// DistillResult is result.json of a run.
type DistillResult struct {
	Config    DistillConfig `json:"config"`
	Version   string        `json:"version"`
	Steps     int           `json:"steps"`
	Seconds   float64       `json:"flow_seconds"`
	StepMs    float64       `json:"ms_per_step"`
	FirstLoss float64       `json:"first_loss"`
	FinalLoss float64       `json:"final_loss"`
	Alignment []int         `json:"alignment"`
	// Accuracies are the test accuracies (%) of the trainings so far.
	Accuracies   []float64 `json:"accuracies"`
	TrainSeconds []float64 `json:"train_seconds"`
}

// distillObjective returns the functional of a run: MMDSW or mean matching,
// against mini-batches of the real set, in pixels or through the random
// embedding.
func distillObjective(c DistillConfig, real *graph.Dataset, h, w int) (functionals.Functional, error) {
	var f functionals.Functional = functionals.MMD{Target: real, Batch: c.Batch}
	if c.Method == DistillDM {
		f = functionals.MeanMatching{Target: real, Batch: c.Batch}
	}
	if c.Space == SpaceAmbient {
		return f, nil
	}
	net, err := models.RandomConvNet(h, w, c.EmbedWidth, c.EmbedDepth)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("convnet-w%d-d%d", c.EmbedWidth, c.EmbedDepth)
	if c.NoAugment {
		return functionals.Pushforward{Name: name, Map: net, F: f}, nil
	}
	aug, err := models.RandomAffine(h, w, models.DefaultAffine)
	if err != nil {
		return nil, err
	}
	return functionals.Pushforward{Name: "affine+" + name, Map: functionals.Compose(aug, net), F: f}, nil
}

// Distill runs (or resumes) one distillation and evaluates it.
func Distill(ctx context.Context, cfg DistillConfig) (*DistillResult, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	logf := func(format string, a ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "distill %s: "+format+"\n", append([]any{cfg.Name()}, a...)...)
		}
	}
	train, err := data.Load(cfg.Dataset, "train")
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	test, err := data.Load(cfg.Dataset, "test")
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	if cfg.TestImages > 0 && cfg.TestImages < test.N {
		if test, err = data.BalancedSample(test, max(1, cfg.TestImages/test.Classes), rand.New(rand.NewPCG(cfg.Seed, 0x7e57))); err != nil {
			return nil, fmt.Errorf("distill: %w", err)
		}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xd157))
	init, err := data.BalancedSample(train, cfg.IPC, rng)
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	res := &DistillResult{Config: cfg, Version: Version()}
	resPath := filepath.Join(cfg.Out, "result.json")
	if !cfg.EstimateOnly {
		if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
			return nil, fmt.Errorf("distill: %w", err)
		}
		if b, err := os.ReadFile(resPath); err == nil {
			var old DistillResult
			if err := json.Unmarshal(b, &old); err != nil {
				return nil, fmt.Errorf("distill: %s: %v (remove it to start over)", resPath, err)
			}
			if old.Config.Steps != cfg.Steps || old.Config.Seed != cfg.Seed || old.Config.EvalEpochs != cfg.EvalEpochs || old.Config.EvalWidth != cfg.EvalWidth {
				return nil, fmt.Errorf("distill: %s holds a run with other settings (steps %d, seed %d, eval width %d, epochs %d): use another --out or remove it",
					resPath, old.Config.Steps, old.Config.Seed, old.Config.EvalWidth, old.Config.EvalEpochs)
			}
			old.Config, old.Version = cfg, res.Version // the finished work is kept, under this run's settings
			res = &old
			logf("resuming: flow of %d steps and %d trainings already in %s", res.Steps, len(res.Accuracies), resPath)
		}
	}
	x, y, err := distillSet(ctx, cfg, res, train, init, logf)
	if err != nil || cfg.EstimateOnly {
		return res, err
	}
	for t := len(res.Accuracies); t < cfg.Trainings; t++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		t0 := time.Now()
		trng := rand.New(rand.NewPCG(cfg.Seed, uint64(0xe7a1+t)))
		m, err := models.NewConvNet(train.H, train.W, cfg.EvalWidth, cfg.EvalDepth, train.Classes, trng)
		if err != nil {
			return res, fmt.Errorf("distill: %w", err)
		}
		tc := models.DefaultTrainConfig()
		tc.Epochs, tc.Batch, tc.LR, tc.Seed = cfg.EvalEpochs, 256, cfg.EvalLR, trng.Uint64()
		if _, err := models.Train(m, x, y, tc); err != nil {
			return res, fmt.Errorf("distill: training %d: %w", t, err)
		}
		ev, err := models.Evaluate(m, test.X, test.Labels)
		if err != nil {
			return res, fmt.Errorf("distill: %w", err)
		}
		res.Accuracies = append(res.Accuracies, 100*ev.Accuracy)
		res.TrainSeconds = append(res.TrainSeconds, time.Since(t0).Seconds())
		left := time.Duration(float64(cfg.Trainings-t-1) * float64(time.Since(t0)))
		logf("training %d/%d: test accuracy %.2f%% (%.0fs, about %v left)", t+1, cfg.Trainings, 100*ev.Accuracy, time.Since(t0).Seconds(), left.Round(time.Second))
		if err := writeJSON(resPath, res); err != nil {
			return res, err
		}
	}
	m, s := meanStd(res.Accuracies)
	logf("test accuracy %.2f ± %.2f%% over %d trainings", m, s, len(res.Accuracies))
	if _, err := WriteDistillTable(cfg.Root); err != nil {
		return res, err
	}
	return res, nil
}

// WriteDistillTable writes ROOT/table.md from every finished run under root
// and returns it.
func WriteDistillTable(root string) (string, error) {
	t := DistillTableDir(root)
	if t == "" {
		return "", fmt.Errorf("distill: no finished run under %s", root)
	}
	return t, atomicWriteString(filepath.Join(root, "table.md"), t)
}

// distillSet returns the synthetic images and their labels: reloaded from a
// finished run, the initialisation (random), or a flow (resumed from its
// checkpoint if one exists).
func distillSet(ctx context.Context, cfg DistillConfig, res *DistillResult, train, init *data.Images, logf func(string, ...any)) ([]float64, []int, error) {
	xPath, yPath := filepath.Join(cfg.Out, "synthetic_x.npy"), filepath.Join(cfg.Out, "synthetic_labels.npy")
	if !cfg.EstimateOnly && res.Steps > 0 {
		m, err := data.ReadMatrix(xPath)
		if err == nil {
			l, err := data.ReadLabels(yPath)
			if err == nil && len(l) == m.Rows && m.Cols == train.D {
				return m.Data, l, nil
			}
		}
		logf("%s unreadable (%v): flowing again", xPath, err)
	}
	if cfg.Method == DistillRandom {
		if cfg.EstimateOnly {
			logf("no flow: evaluation only (%d trainings of %d epochs)", cfg.Trainings, cfg.EvalEpochs)
			return nil, nil, nil
		}
		return init.X, init.Labels, saveSynthetic(cfg, xPath, yPath, init.X, init.Labels, train)
	}
	real, err := graph.FromLabeled(train.X, train.Labels, train.D)
	if err != nil {
		return nil, nil, fmt.Errorf("distill: %w", err)
	}
	x0, err := graph.FromLabeled(init.X, init.Labels, init.D)
	if err != nil {
		return nil, nil, fmt.Errorf("distill: %w", err)
	}
	obj, err := distillObjective(cfg, real, train.H, train.W)
	if err != nil {
		return nil, nil, fmt.Errorf("distill: %w", err)
	}
	var losses, stepsAt []float64
	var last time.Time
	start := 0 // the step the flow starts (or resumes) at
	t0 := time.Now()
	ckpt := filepath.Join(cfg.Out, "checkpoint.gob")
	fcfg := flows.Config{Steps: cfg.Steps, Directions: cfg.Directions, Seed: cfg.Seed, Dtype: tensor.Float32, Euclidean: cfg.Method == DistillDM,
		Optimizer: &optim.Momentum{Tau: cfg.Tau, M: cfg.Momentum},
		Recorder: flows.RecorderFunc(func(s flows.StepInfo) error {
			losses, stepsAt = append(losses, s.Loss), append(stepsAt, float64(s.Step))
			if time.Since(last) > 10*time.Second || s.Step == cfg.Steps {
				last = time.Now()
				done := max(1, s.Step-start)
				logf("step %d/%d loss %.5g, %.0f ms/step, ETA %v", s.Step, cfg.Steps, s.Loss,
					1000*s.Elapsed.Seconds()/float64(done), eta(s.Elapsed, done, cfg.Steps-s.Step))
			}
			return nil
		})}
	if !cfg.EstimateOnly {
		fcfg.Checkpoint = flows.CheckpointConfig{Path: ckpt, Every: cfg.CheckpointEvery, Extra: func() ([]byte, error) {
			return json.Marshal([2][]float64{stepsAt, losses})
		}}
	}
	fl, err := flows.New(x0, obj, fcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("distill: %w", err)
	}
	defer fl.Close()
	if !cfg.EstimateOnly {
		at, st, ls, err := resumeCurve(fl, ckpt)
		if err != nil {
			return nil, nil, fmt.Errorf("distill: %w", err)
		}
		if at > 0 {
			stepsAt, losses = st, ls
			logf("resuming the flow at step %d from %s", at, ckpt)
		}
	}
	// The estimate: a few measured steps (after one warm-up step).
	start = fl.StepCount()
	const probe = 4
	var probeTime time.Duration
	for i := 0; i <= probe && fl.StepCount() < cfg.Steps; i++ {
		ts := time.Now()
		info, err := fl.Step()
		if err != nil {
			return nil, nil, fmt.Errorf("distill: step %d: %w", fl.StepCount()+1, err)
		}
		if i > 0 {
			probeTime += time.Since(ts)
		}
		losses, stepsAt = append(losses, info.Loss), append(stepsAt, float64(info.Step))
	}
	per := probeTime / probe
	logf("%v; %d particles of %d pixels, %d real images per class per step", obj, init.N, init.D, cfg.Batch)
	logf("measured %.0f ms/step over %d steps: the flow's %d steps take about %v (then %d ConvNet trainings of %d epochs)",
		1000*per.Seconds(), probe, cfg.Steps, (per * time.Duration(cfg.Steps-start)).Round(time.Second), cfg.Trainings, cfg.EvalEpochs)
	if cfg.EstimateOnly {
		res.StepMs = 1000 * per.Seconds()
		return nil, nil, nil
	}
	out, err := fl.Run(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("distill: flow %s after %d steps: %w", out.Status, out.Steps, err)
	}
	syn := out.X
	labels := make([]int, syn.Len())
	switch cfg.Method {
	case DistillDM: // mean matching pairs class c with class c
		for i := range labels {
			labels[i] = syn.ClassOf(i)
		}
		res.Alignment = nil
	default: // labels from WoW alignment with a balanced sample of the real set
		sample, err := data.BalancedSample(train, 100, rand.New(rand.NewPCG(cfg.Seed, 0xa11)))
		if err != nil {
			return nil, nil, fmt.Errorf("distill: %w", err)
		}
		ref, err := graph.FromLabeled(sample.X, sample.Labels, sample.D)
		if err != nil {
			return nil, nil, err
		}
		w, err := wowOf(syn, ref)
		if err != nil {
			return nil, nil, fmt.Errorf("distill: alignment: %w", err)
		}
		for i := range labels {
			labels[i] = w.Alignment[syn.ClassOf(i)]
		}
		res.Alignment = w.Alignment
	}
	res.Steps, res.Seconds = out.Steps, time.Since(t0).Seconds()
	res.StepMs = 1000 * out.Elapsed.Seconds() / float64(max(1, out.Steps-start-probe-1))
	res.FirstLoss, res.FinalLoss = losses[0], out.Loss
	logf("flowed %d steps in %.0fs, loss %.5g → %.5g, alignment %v", out.Steps, res.Seconds, res.FirstLoss, res.FinalLoss, res.Alignment)
	if err := saveSynthetic(cfg, xPath, yPath, syn.Data, labels, train); err != nil {
		return nil, nil, err
	}
	if err := writeDistillLoss(cfg.Out, stepsAt, losses); err != nil {
		return nil, nil, err
	}
	if err := writeJSON(filepath.Join(cfg.Out, "result.json"), res); err != nil {
		return nil, nil, err
	}
	os.Remove(ckpt) // the flow's result is saved
	return syn.Data, labels, nil
}

func eta(elapsed time.Duration, done, left int) time.Duration {
	return time.Duration(float64(elapsed) / float64(max(1, done)) * float64(left)).Round(time.Second)
}

// saveSynthetic writes the synthetic set (NPY) and its picture, clipped to
// [0,1] for display only.
func saveSynthetic(cfg DistillConfig, xPath, yPath string, x []float64, labels []int, train *data.Images) error {
	if err := data.WriteMatrix(xPath, data.Matrix{Data: x, Rows: len(labels), Cols: train.D}); err != nil {
		return err
	}
	if err := data.WriteLabels(yPath, labels); err != nil {
		return err
	}
	show := make([]float64, len(x))
	for i, v := range x {
		show[i] = math.Min(1, math.Max(0, v))
	}
	return render.WriteImageGrid(filepath.Join(cfg.Out, "synthetic.png"), show, labels, train.H, train.W, render.GridOptions{PerRow: min(cfg.IPC, 10)})
}

func writeDistillLoss(dir string, steps, losses []float64) error {
	var b strings.Builder
	b.WriteString("step,loss\n")
	for i := range steps {
		fmt.Fprintf(&b, "%d,%.9g\n", int(steps[i]), losses[i])
	}
	if err := atomicWriteString(filepath.Join(dir, "loss.csv"), b.String()); err != nil {
		return err
	}
	return render.WriteLinePlot(filepath.Join(dir, "loss.png"), steps, losses, "distillation objective", "step", "loss", true)
}

// publishedDistill holds the published ConvNet numbers of method.md (test
// accuracy %, IPC 1/10/50) and the whole training set.
var publishedDistill = map[string]struct {
	DC, DSA [3]float64
	Whole   float64
}{
	"mnist":  {[3]float64{91.7, 97.4, 98.8}, [3]float64{88.7, 97.8, 99.2}, 99.6},
	"fmnist": {[3]float64{70.5, 82.3, 83.6}, [3]float64{70.6, 84.6, 88.7}, 93.5},
}

// DistillTableDir reads every ROOT/*/result.json and formats the tables.
func DistillTableDir(root string) string {
	paths, _ := filepath.Glob(filepath.Join(root, "*", "result.json"))
	var rs []DistillResult
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var r DistillResult
		if json.Unmarshal(b, &r) == nil && len(r.Accuracies) > 0 {
			rs = append(rs, r)
		}
	}
	return DistillTable(rs)
}

// DistillTable formats one markdown table per dataset: a row per method and
// space, a column per IPC, each cell the mean ± std test accuracy over the
// trainings with the flow's steps and wall-clock time, beside the published
// DC and DSA numbers.
func DistillTable(rs []DistillResult) string {
	var b strings.Builder
	ipcs := map[string][]int{}
	for _, r := range rs {
		if !slices.Contains(ipcs[r.Config.Dataset], r.Config.IPC) {
			ipcs[r.Config.Dataset] = append(ipcs[r.Config.Dataset], r.Config.IPC)
		}
	}
	datasets := make([]string, 0, len(ipcs))
	for d := range ipcs {
		datasets = append(datasets, d)
	}
	slices.Sort(datasets)
	for _, ds := range datasets {
		cols := ipcs[ds]
		slices.Sort(cols)
		var protocols []string
		rows := map[string]map[int]string{}
		var order []string
		for _, r := range rs {
			c := r.Config
			if c.Dataset != ds {
				continue
			}
			p := fmt.Sprintf("evaluation: ConvNet width %d depth %d, AdamW lr %g, batch 256, %d epochs, %d trainings", c.EvalWidth, c.EvalDepth, c.EvalLR, c.EvalEpochs, len(r.Accuracies))
			if !slices.Contains(protocols, p) {
				protocols = append(protocols, p)
			}
			key := distillRowName(c)
			if rows[key] == nil {
				rows[key] = map[int]string{}
				order = append(order, key)
			}
			m, s := meanStd(r.Accuracies)
			cell := fmt.Sprintf("%.1f ± %.1f", m, s)
			if c.Method != DistillRandom {
				cell += fmt.Sprintf(" (%d steps × %d real/class, %s)", r.Steps, c.Batch, (time.Duration(r.Seconds) * time.Second).String())
			}
			rows[key][c.IPC] = cell
		}
		slices.SortStableFunc(order, func(a, b string) int { return distillRowRank(a) - distillRowRank(b) })
		fmt.Fprintf(&b, "### %s — test accuracy %% (mean ± std over trainings; flow steps and wall-clock on 2 CPU cores)\n\n", ds)
		for _, p := range protocols {
			fmt.Fprintf(&b, "- %s\n", p)
		}
		b.WriteString("\n| method | ")
		for _, k := range cols {
			fmt.Fprintf(&b, "IPC %d | ", k)
		}
		b.WriteString("\n|---|")
		b.WriteString(strings.Repeat("---|", len(cols)))
		b.WriteString("\n")
		for _, key := range order {
			fmt.Fprintf(&b, "| %s | ", key)
			for _, k := range cols {
				cell := rows[key][k]
				if cell == "" {
					cell = "–"
				}
				b.WriteString(cell + " | ")
			}
			b.WriteString("\n")
		}
		if pub, ok := publishedDistill[ds]; ok {
			for _, m := range []struct {
				name string
				v    [3]float64
			}{{"published DC (ConvNet-128, GPU)", pub.DC}, {"published DSA (ConvNet-128, GPU)", pub.DSA}} {
				fmt.Fprintf(&b, "| %s | ", m.name)
				for _, k := range cols {
					i := slices.Index([]int{1, 10, 50}, k)
					if i < 0 {
						b.WriteString("– | ")
						continue
					}
					fmt.Fprintf(&b, "%.1f | ", m.v[i])
				}
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "\nWhole training set (published): %.1f.\n", pub.Whole)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// distillRowRank orders the rows: random, then the WoW flow, then DM,
// ambient before embedded.
func distillRowRank(name string) int {
	r := 0
	switch {
	case strings.HasPrefix(name, "WoW"):
		r = 10
	case strings.HasPrefix(name, "DM"):
		r = 20
	}
	if strings.Contains(name, SpaceEmbedded) {
		r++
	}
	return r
}

func distillRowName(c DistillConfig) string {
	switch c.Method {
	case DistillRandom:
		return "random real images (the initialisation)"
	case DistillDM:
		return fmt.Sprintf("DM, %s%s", c.Space, distillSpaceNote(c))
	default:
		return fmt.Sprintf("WoW MMDSW flow, %s%s", c.Space, distillSpaceNote(c))
	}
}

func distillSpaceNote(c DistillConfig) string {
	if c.Space == SpaceAmbient {
		return ""
	}
	aug := "affine augmentation + "
	if c.NoAugment {
		aug = ""
	}
	return fmt.Sprintf(" (%srandom ConvNet w%d d%d)", aug, c.EmbedWidth, c.EmbedDepth)
}
