package experiments

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
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

// GenerateConfig configures the generative flow of the authors' code
// (xp_generative_modeling): C classes of Gaussian noise flow onto the
// classes of a real dataset with the Riesz MMDSW and momentum, then the
// result is scored. DefaultGenerateConfig holds the defaults; zero counts,
// τ, names and InitStd mean them, a zero Momentum is plain gradient descent.
type GenerateConfig struct {
	Dataset  string  // data.Load name [mnist]
	PerClass int     // generated images per class [200]
	Steps    int     // flow steps [18000, the authors']
	Tau      float64 // step size [1]
	Momentum float64 // heavy-ball momentum in [0, 1) [0.9]
	// Directions is L [500]; Batch the real images per class drawn each
	// step as the target [200].
	Directions, Batch int
	// InitMean and InitStd: the noise N(InitMean, InitStd²) of every pixel
	// at the start [0, 1].
	InitMean, InitStd float64
	// Frames is the number of snapshots along the trajectory (image grids
	// and GIF frames) [20]. ClassifierPerClass real training images per
	// class train the scoring LeNet [500] for Epochs epochs [50].
	Frames, ClassifierPerClass, Epochs int
	Seed                               uint64
	Out                                string    // output directory; required
	CheckpointEvery                    int       // steps between checkpoints [500]
	Progress                           io.Writer `json:"-"`
}

// DefaultGenerateConfig returns the defaults of `wow generate`.
func DefaultGenerateConfig() GenerateConfig {
	return GenerateConfig{Dataset: "mnist", PerClass: 200, Steps: 18000, Tau: 1, Momentum: 0.9, Directions: 500, Batch: 200,
		InitStd: 1, Frames: 20, ClassifierPerClass: 500, Epochs: 50, Seed: 1, Out: filepath.Join("out", "generate"), CheckpointEvery: 500}
}

func (c *GenerateConfig) defaults() error {
	d := DefaultGenerateConfig()
	orDefault(&c.Dataset, d.Dataset)
	orDefault(&c.PerClass, d.PerClass)
	orDefault(&c.Steps, d.Steps)
	orDefault(&c.Tau, d.Tau)
	orDefault(&c.Directions, d.Directions)
	orDefault(&c.Batch, d.Batch)
	orDefault(&c.InitStd, d.InitStd)
	orDefault(&c.Frames, d.Frames)
	orDefault(&c.ClassifierPerClass, d.ClassifierPerClass)
	orDefault(&c.Epochs, d.Epochs)
	orDefault(&c.CheckpointEvery, d.CheckpointEvery)
	switch {
	case c.Out == "":
		return fmt.Errorf("generate: --out is required")
	case c.PerClass < 1 || c.Steps < 1 || c.Directions < 1 || c.Batch < 1 || c.Frames < 2 || c.ClassifierPerClass < 1 || c.Epochs < 1 || c.CheckpointEvery < 1:
		return fmt.Errorf("generate: counts must be positive (--per-class %d, --steps %d, --directions %d, --batch %d, --frames %d ≥ 2, --classifier-per-class %d, --epochs %d, --checkpoint-every %d)",
			c.PerClass, c.Steps, c.Directions, c.Batch, c.Frames, c.ClassifierPerClass, c.Epochs, c.CheckpointEvery)
	case !(c.Tau > 0) || math.IsInf(c.Tau, 0):
		return fmt.Errorf("generate: --tau %v must be positive", c.Tau)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("generate: --momentum %v must be in [0, 1)", c.Momentum)
	case !(c.InitStd > 0) || math.IsInf(c.InitStd, 0) || math.IsNaN(c.InitMean) || math.IsInf(c.InitMean, 0):
		return fmt.Errorf("generate: --init-std %v must be positive and --init-mean %v finite", c.InitStd, c.InitMean)
	}
	return nil
}

// GenerateResult is result.json: the flow and the scores.
type GenerateResult struct {
	Config    GenerateConfig `json:"config"`
	Version   string         `json:"version"`
	Steps     int            `json:"steps"`
	Seconds   float64        `json:"flow_seconds"`
	FirstLoss float64        `json:"first_loss"`
	FinalLoss float64        `json:"final_loss"`
	Alignment []int          `json:"alignment"` // real class of each generated class (WoW alignment)
	// Accuracy is the % of generated images that a LeNet trained on real
	// images assigns their aligned class; RealAccuracy the same LeNet's on
	// the real test set.
	Accuracy     float64 `json:"accuracy"`
	RealAccuracy float64 `json:"real_test_accuracy"`
	// NearestTrainL2 is the mean L2 distance of a generated image to its
	// nearest real training image; TestNearestTrainL2 the same for real
	// test images (a copy of the training set would score 0; new images of
	// the data's kind about TestNearestTrainL2).
	NearestTrainL2     float64 `json:"mean_l2_to_nearest_train"`
	TestNearestTrainL2 float64 `json:"test_mean_l2_to_nearest_train"`
}

// generateRun holds what the trials share.
type generateRun struct {
	cfg         GenerateConfig
	log         io.Writer
	once        sync.Once
	err         error
	train, test *data.Images
}

func (r *generateRun) logf(format string, a ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, "generate: "+format+"\n", a...)
	}
}

func (r *generateRun) load() error {
	r.once.Do(func() {
		if r.train, r.err = data.Load(r.cfg.Dataset, "train"); r.err == nil {
			r.test, r.err = data.Load(r.cfg.Dataset, "test")
		}
	})
	if r.err != nil {
		return fmt.Errorf("generate: %w", r.err)
	}
	return nil
}

// NewGenerate returns the experiment as a plan: the scoring classifier, the
// flow, and the score that needs both (result.json).
func NewGenerate(cfg GenerateConfig) (*harness.Experiment, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	r := &generateRun{cfg: cfg, log: cfg.Progress}
	c := cfg
	c.Out, c.Progress, c.CheckpointEvery = "", nil, 0
	clfID, err := harness.ID("train", "classifier", struct {
		Dataset          string
		PerClass, Epochs int
		Seed             uint64
	}{c.Dataset, c.ClassifierPerClass, c.Epochs, c.Seed})
	if err != nil {
		return nil, err
	}
	flowKey := c
	flowKey.ClassifierPerClass, flowKey.Epochs = 0, 0
	flowID, err := harness.ID("flow", "generate", flowKey)
	if err != nil {
		return nil, err
	}
	scoreID, err := harness.ID("eval", "score", []string{clfID, flowID})
	if err != nil {
		return nil, err
	}
	e := &harness.Experiment{Store: harness.Store{Dir: cfg.Out}, Version: Version(), Log: cfg.Progress,
		Prepare: func() error { return os.MkdirAll(filepath.Join(cfg.Out, "frames"), 0o755) }}
	for _, t := range []harness.Trial{
		{ID: clfID, Kind: "train", Name: "classifier", Run: func(context.Context, *harness.Runner) (any, error) { return r.classifier() }},
		{ID: flowID, Kind: "flow", Name: "generate", Run: func(ctx context.Context, _ *harness.Runner) (any, error) { return r.flow(ctx) }},
		{ID: scoreID, Kind: "eval", Name: "score", Needs: []string{clfID, flowID}, Run: func(_ context.Context, h *harness.Runner) (any, error) {
			fr, err := harness.Result[GenerateResult](h.Store, flowID)
			if err != nil {
				return nil, err
			}
			return r.score(fr)
		}},
	} {
		if err := e.Plan.Add(t); err != nil {
			return nil, err
		}
	}
	e.Tabulate = func() error {
		res, err := harness.Result[GenerateResult](e.Store, scoreID)
		if err != nil {
			return err
		}
		return harness.WriteJSON(filepath.Join(cfg.Out, "result.json"), res)
	}
	return e, nil
}

// Generate runs (or resumes) the generative flow and scores it.
func Generate(ctx context.Context, cfg GenerateConfig) (*GenerateResult, error) {
	e, err := NewGenerate(cfg)
	if err != nil {
		return nil, err
	}
	if err := e.Run(ctx, ""); err != nil {
		return nil, err
	}
	res, err := harness.Result[GenerateResult](e.Store, e.Plan.Trials[2].ID)
	return &res, err
}

// classifier trains the scoring LeNet on ClassifierPerClass real training
// images per class (classifier.model; one already there is reused).
func (r *generateRun) classifier() (string, error) {
	cfg := r.cfg
	path := filepath.Join(cfg.Out, "classifier.model")
	if _, err := models.Load(path); err == nil {
		return path, nil
	}
	if err := r.load(); err != nil {
		return "", err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xc1f))
	real, err := data.BalancedSample(r.train, cfg.ClassifierPerClass, rng)
	if err != nil {
		return "", fmt.Errorf("generate: %w", err)
	}
	net, err := models.NewLeNet(real.H, real.W, real.Classes, rng)
	if err != nil {
		return "", err
	}
	tc := models.DefaultTrainConfig()
	tc.Epochs, tc.Seed = cfg.Epochs, rng.Uint64()
	r.logf("training the scoring classifier on %d real images (%d epochs)", real.N, cfg.Epochs)
	if _, err := models.Train(net, real.X, real.Labels, tc); err != nil {
		return "", err
	}
	return path, models.Save(path, net)
}

// frameSteps are the steps of the snapshots (step 0 included).
func (c GenerateConfig) frameSteps() []int {
	out := make([]int, c.Frames)
	for i := range out {
		out[i] = i * c.Steps / (c.Frames - 1)
	}
	return out
}

// flow flows the noise onto the real classes, writing a grid and a GIF
// frame (8 images per class, frames/stepS.npy) at each snapshot, the loss
// curve, and generated_x.npy; it resumes from checkpoint.gob.
func (r *generateRun) flow(ctx context.Context) (GenerateResult, error) {
	cfg := r.cfg
	if err := r.load(); err != nil {
		return GenerateResult{}, err
	}
	C, d := r.train.Classes, r.train.D
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e7))
	classes := make([][]float64, C)
	for c := range classes {
		classes[c] = make([]float64, cfg.PerClass*d)
		for i := range classes[c] {
			classes[c][i] = cfg.InitMean + cfg.InitStd*rng.NormFloat64()
		}
	}
	x0, err := graph.FromClasses(d, classes...)
	if err != nil {
		return GenerateResult{}, err
	}
	real, err := graph.FromLabeled(r.train.X, r.train.Labels, d)
	if err != nil {
		return GenerateResult{}, err
	}
	var curve harness.Curve
	var fl *flows.Flow
	snap := func(step int, ds *graph.Dataset) error {
		show, labels := gridSample(ds, 8)
		name := filepath.Join(cfg.Out, "frames", fmt.Sprintf("step%d", step))
		if err := writeSet(name, show, labels, d); err != nil {
			return err
		}
		return render.WriteImageGrid(filepath.Join(cfg.Out, fmt.Sprintf("grid_step%d.png", step)), show, labels, r.train.H, r.train.W, render.GridOptions{PerRow: 8})
	}
	frames := flows.RecorderFunc(func(s flows.StepInfo) error {
		for _, fs := range cfg.frameSteps()[1:] {
			if s.Step == fs {
				return snap(s.Step, fl.Particles())
			}
		}
		return nil
	})
	progress := &harness.Progress{W: r.log, Name: "generate", Steps: cfg.Steps}
	ck := &harness.FlowCheckpoint{Path: filepath.Join(cfg.Out, "checkpoint.gob"), Every: cfg.CheckpointEvery, Curve: &curve}
	fl, err = flows.New(x0, functionals.MMD{Target: real, Batch: cfg.Batch}, flows.Config{Steps: cfg.Steps, Directions: cfg.Directions,
		Seed: cfg.Seed, Dtype: tensor.Float32, Recorder: harness.Recorders{&curve, frames, progress},
		Optimizer: &optim.Momentum{Tau: cfg.Tau, M: cfg.Momentum}, Checkpoint: ck.Config()})
	if err != nil {
		return GenerateResult{}, err
	}
	defer fl.Close()
	if at, err := ck.Resume(fl); err != nil {
		return GenerateResult{}, fmt.Errorf("generate: %w", err)
	} else if at > 0 {
		progress.Start = at
		r.logf("resuming at step %d", at)
	} else if err := snap(0, x0); err != nil {
		return GenerateResult{}, err
	}
	out, err := fl.Run(ctx)
	if err != nil {
		return GenerateResult{}, fmt.Errorf("generate: flow %s after %d steps: %w", out.Status, out.Steps, err)
	}
	if err := writeSet(filepath.Join(cfg.Out, "generated"), out.X.Data, out.X.Labels(), d); err != nil {
		return GenerateResult{}, err
	}
	if err := curve.WriteCSV(filepath.Join(cfg.Out, "loss.csv"), "step", "loss"); err != nil {
		return GenerateResult{}, err
	}
	if err := render.WriteLinePlot(filepath.Join(cfg.Out, "loss.png"), curve.Steps(), curve.Loss, "½MMD² (Riesz) of the generated classes", "step", "loss", true); err != nil {
		return GenerateResult{}, err
	}
	if err := r.writeGIF(); err != nil {
		return GenerateResult{}, err
	}
	os.Remove(ck.Path)
	return GenerateResult{Steps: out.Steps, Seconds: ck.Seconds(), FirstLoss: curve.Loss[0], FinalLoss: out.Loss}, nil
}

// gridSample returns the first k images of each class of ds, clipped to
// [0, 1] for display, with their class.
func gridSample(ds *graph.Dataset, k int) ([]float64, []int) {
	var x []float64
	var labels []int
	for c := 0; c < ds.NumClasses(); c++ {
		n := min(k, ds.ClassSize(c))
		for _, v := range ds.Class(c)[:n*ds.D] {
			x = append(x, math.Min(1, math.Max(0, v)))
		}
		for range n {
			labels = append(labels, c)
		}
	}
	return x, labels
}

// writeGIF assembles flow.gif (one row per class) from the frames on disk.
func (r *generateRun) writeGIF() error {
	var frames [][]float64
	var labels []int
	for _, s := range r.cfg.frameSteps() {
		set, ok := readSet(filepath.Join(r.cfg.Out, "frames", fmt.Sprintf("step%d", s)))
		if !ok {
			return fmt.Errorf("generate: frame of step %d is missing in %s", s, filepath.Join(r.cfg.Out, "frames"))
		}
		frames, labels = append(frames, set.X), set.Labels
	}
	return render.WriteGridAnimation(filepath.Join(r.cfg.Out, "flow.gif"), frames, labels, r.train.H, r.train.W, render.GridOptions{PerRow: 8}, 300*time.Millisecond)
}
