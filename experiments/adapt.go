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
	"strconv"
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

// AdaptConfig configures the domain-adaptation experiment (the paper's
// Fig. 3): a classifier is trained on real target images (MNIST, 500 per
// class); source images (Fashion-MNIST, 500 per class) are flowed onto the
// target with the Riesz MMDSW; every Every steps the flowed classes are
// relabelled by WoW alignment and the classifier's accuracy on the flowed
// images is recorded. DefaultAdaptConfig holds the paper's settings; zero
// counts, τ and dataset names mean those defaults, a zero Momentum is plain
// gradient descent (see the package's configuration rule).
type AdaptConfig struct {
	Source, Target string  // "": fmnist, mnist
	PerClass       int     // images per class of source and target; 0: 500
	Steps          int     // 0: 20000
	Every          int     // evaluation interval; 0: 1000
	Tau            float64 // step size; 0: 0.1
	Momentum       float64 // heavy-ball momentum in [0, 1), used as given (the paper: 0.9)
	Directions     int     // 0: 500
	Epochs         int     // classifier epochs; 0: 50
	Seed           uint64
	Out            string // output directory; required
	Resume         bool
	Progress       io.Writer `json:"-"`
}

// DefaultAdaptConfig returns the paper's Fig. 3 settings: 500 Fashion-MNIST
// images per class flowed onto 500 MNIST images per class (Riesz MMDSW,
// τ = 0.1, m = 0.9, L = 500, 20000 steps, evaluated every 1000), a LeNet
// of 50 epochs, seed 1, output in out/adapt.
func DefaultAdaptConfig() AdaptConfig {
	return AdaptConfig{Source: "fmnist", Target: "mnist", PerClass: 500, Steps: 20000, Every: 1000,
		Tau: 0.1, Momentum: 0.9, Directions: 500, Epochs: 50, Seed: 1, Out: filepath.Join("out", "adapt")}
}

func (c *AdaptConfig) defaults() error {
	d := DefaultAdaptConfig()
	orDefault(&c.Source, d.Source)
	orDefault(&c.Target, d.Target)
	orDefault(&c.PerClass, d.PerClass)
	orDefault(&c.Steps, d.Steps)
	orDefault(&c.Every, d.Every)
	orDefault(&c.Tau, d.Tau)
	orDefault(&c.Directions, d.Directions)
	orDefault(&c.Epochs, d.Epochs)
	switch {
	case c.Out == "":
		return fmt.Errorf("adapt: --out is required")
	case c.PerClass < 1 || c.Steps < 1 || c.Every < 1 || c.Directions < 1 || c.Epochs < 1:
		return fmt.Errorf("adapt: counts must be positive (--per-class %d, --steps %d, --every %d, --directions %d, --epochs %d)",
			c.PerClass, c.Steps, c.Every, c.Directions, c.Epochs)
	case !(c.Tau > 0) || math.IsInf(c.Tau, 0):
		return fmt.Errorf("adapt: --tau %v must be positive", c.Tau)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("adapt: --momentum %v must be in [0, 1)", c.Momentum)
	}
	return nil
}

// AdaptPoint is one row of accuracy.csv.
type AdaptPoint struct {
	Step     int     `json:"step"`
	Accuracy float64 `json:"accuracy"` // % of flowed images the classifier assigns their aligned label
	Loss     float64 `json:"loss"`     // ½MMD² at the step; NaN (null in JSON) at step 0, before the flow
	Seconds  float64 `json:"elapsed_s"`
}

// MarshalJSON writes a NaN loss as null.
func (p AdaptPoint) MarshalJSON() ([]byte, error) {
	type plain AdaptPoint
	var loss *float64
	if !math.IsNaN(p.Loss) {
		loss = &p.Loss
	}
	return json.Marshal(struct {
		plain
		Loss *float64 `json:"loss"`
	}{plain(p), loss})
}

// UnmarshalJSON reads a null loss as NaN.
func (p *AdaptPoint) UnmarshalJSON(b []byte) error {
	type plain AdaptPoint
	var v struct {
		plain
		Loss *float64 `json:"loss"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = AdaptPoint(v.plain)
	p.Loss = math.NaN()
	if v.Loss != nil {
		p.Loss = *v.Loss
	}
	return nil
}

// paperFig3 is the paper's mean accuracy curve (step, %).
var paperFig3 = [][2]float64{{0, 15.2}, {5000, 61.0}, {10000, 87.7}, {20000, 94.6}, {50000, 98.4}, {100000, 99.7}}

// adaptRun holds what the two trials of the experiment share: the
// configuration and the data, loaded when a trial first needs them.
type adaptRun struct {
	cfg      AdaptConfig
	log      io.Writer
	once     sync.Once
	err      error
	rng      *rand.Rand // after the two samples: the classifier's initialisation
	src, tgt *data.Images
}

func (r *adaptRun) logf(format string, a ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, "adapt: "+format+"\n", a...)
	}
}

func (r *adaptRun) load() error {
	r.once.Do(func() {
		r.rng = rand.New(rand.NewPCG(r.cfg.Seed, 0xada))
		load := func(name string) (*data.Images, error) {
			im, err := data.Load(name, "train")
			if err != nil {
				return nil, err
			}
			return data.BalancedSample(im, r.cfg.PerClass, r.rng)
		}
		if r.src, r.err = load(r.cfg.Source); r.err != nil {
			return
		}
		r.tgt, r.err = load(r.cfg.Target)
	})
	if r.err != nil {
		return fmt.Errorf("adapt: %w", r.err)
	}
	return nil
}

// adaptKey is what the trials' results depend on.
type adaptKey struct {
	Source, Target           string
	PerClass, Epochs         int
	Steps, Every, Directions int
	Tau, Momentum            float64
	Seed                     uint64
}

// NewAdapt returns the experiment as a plan of two trials: the classifier
// (a LeNet trained on the real target images, classifier.model) and the
// flow, which needs it and writes accuracy.csv, accuracy.png, grids and
// run.json.
func NewAdapt(cfg AdaptConfig) (*harness.Experiment, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	r := &adaptRun{cfg: cfg, log: cfg.Progress}
	key := adaptKey{cfg.Source, cfg.Target, cfg.PerClass, cfg.Epochs, 0, 0, 0, 0, 0, cfg.Seed}
	clfID, err := harness.ID("train", "classifier", key)
	if err != nil {
		return nil, err
	}
	key.Steps, key.Every, key.Directions, key.Tau, key.Momentum = cfg.Steps, cfg.Every, cfg.Directions, cfg.Tau, cfg.Momentum
	flowID, err := harness.ID("flow", "adapt", key)
	if err != nil {
		return nil, err
	}
	e := &harness.Experiment{Store: harness.Store{Dir: cfg.Out}, Version: Version(), Log: cfg.Progress,
		Prepare: func() error { return os.MkdirAll(cfg.Out, 0o755) }}
	if err := e.Plan.Add(harness.Trial{ID: clfID, Kind: "train", Name: "classifier", Run: func(context.Context, *harness.Runner) (any, error) {
		return r.classifier()
	}}); err != nil {
		return nil, err
	}
	err = e.Plan.Add(harness.Trial{ID: flowID, Kind: "flow", Name: "adapt", Needs: []string{clfID}, Run: func(ctx context.Context, _ *harness.Runner) (any, error) {
		return r.flow(ctx)
	}})
	return e, err
}

// Adapt runs the domain-adaptation experiment and returns its accuracy
// curve. A run finished with the same configuration is not run again.
func Adapt(ctx context.Context, cfg AdaptConfig) ([]AdaptPoint, error) {
	e, err := NewAdapt(cfg)
	if err != nil {
		return nil, err
	}
	if err := e.Run(ctx, ""); err != nil {
		return nil, err
	}
	return harness.Result[[]AdaptPoint](e.Store, e.Plan.Trials[1].ID)
}

// classifier trains the LeNet on the real target images once and saves it
// as classifier.model (a model already there is reused).
func (r *adaptRun) classifier() (string, error) {
	cfg := r.cfg
	modelPath := filepath.Join(cfg.Out, "classifier.model")
	if _, err := models.Load(modelPath); err == nil {
		r.logf("reusing %s", modelPath)
		return modelPath, nil
	}
	if err := r.load(); err != nil {
		return "", err
	}
	lenet, err := models.NewLeNet(r.tgt.H, r.tgt.W, r.tgt.Classes, r.rng)
	if err != nil {
		return "", err
	}
	r.logf("training the classifier on %d real %s images (%d epochs)", r.tgt.N, cfg.Target, cfg.Epochs)
	tc := models.DefaultTrainConfig()
	tc.Epochs, tc.Seed, tc.Progress = cfg.Epochs, cfg.Seed, cfg.Progress
	if _, err := models.Train(lenet, r.tgt.X, r.tgt.Labels, tc); err != nil {
		return "", err
	}
	return modelPath, models.Save(modelPath, lenet)
}

// flow flows the source onto the target and every Every steps relabels the
// flowed classes by WoW alignment and records the classifier's accuracy on
// the flowed images; with Resume it continues from checkpoint.gob.
func (r *adaptRun) flow(ctx context.Context) ([]AdaptPoint, error) {
	cfg := r.cfg
	if err := r.load(); err != nil {
		return nil, err
	}
	clf, err := models.Load(filepath.Join(cfg.Out, "classifier.model"))
	if err != nil {
		return nil, fmt.Errorf("adapt: %w", err)
	}
	x, err := graph.FromLabeled(r.src.X, r.src.Labels, r.src.D)
	if err != nil {
		return nil, err
	}
	q, err := graph.FromLabeled(r.tgt.X, r.tgt.Labels, r.tgt.D)
	if err != nil {
		return nil, err
	}
	var pts []AdaptPoint
	t0 := time.Now()
	evaluate := func(step int, loss float64, ds *graph.Dataset) error {
		labels, w, err := relabel(ds, q)
		if err != nil {
			return err
		}
		pred, err := models.Predict(clf, ds.Data)
		if err != nil {
			return err
		}
		correct := 0
		for i, p := range pred {
			if p == labels[i] {
				correct++
			}
		}
		pt := AdaptPoint{Step: step, Accuracy: 100 * float64(correct) / float64(len(pred)), Loss: loss, Seconds: time.Since(t0).Seconds()}
		pts = append(pts, pt)
		r.logf("step %d: accuracy %.1f%% (alignment %v), loss %.4g, %.0fs", step, pt.Accuracy, w.Alignment, loss, pt.Seconds)
		if step == 0 || step%(cfg.Every*5) == 0 || step == cfg.Steps {
			return render.WriteImageGrid(filepath.Join(cfg.Out, fmt.Sprintf("grid_step%d.png", step)), ds.Data, ds.Labels(), r.src.H, r.src.W, render.GridOptions{})
		}
		return nil
	}
	var fl *flows.Flow
	rec := flows.RecorderFunc(func(s flows.StepInfo) error {
		if s.Step%cfg.Every == 0 || s.Step == cfg.Steps {
			return evaluate(s.Step, s.Loss, fl.Particles())
		}
		return nil
	})
	ck := &harness.FlowCheckpoint{Path: filepath.Join(cfg.Out, "checkpoint.gob"), Every: cfg.Every, State: &pts}
	fl, err = flows.New(x, functionals.MMD{Target: q}, flows.Config{Steps: cfg.Steps, Directions: cfg.Directions, Seed: cfg.Seed,
		Dtype: tensor.Float32, Recorder: rec, Optimizer: &optim.Momentum{Tau: cfg.Tau, M: cfg.Momentum}, Checkpoint: ck.Config()})
	if err != nil {
		return nil, err
	}
	defer fl.Close()
	if cfg.Resume {
		if err := r.resume(fl, ck); err != nil {
			return nil, err
		}
	} else if err := evaluate(0, math.NaN(), x); err != nil {
		return nil, err
	}
	if _, err := fl.Run(ctx); err != nil {
		writeAdapt(cfg, pts)
		return nil, fmt.Errorf("adapt: %w (continue with --resume)", err)
	}
	return pts, writeAdapt(cfg, pts)
}

// resume restores the flow and the curve from checkpoint.gob, refusing one
// of another configuration (run.json).
func (r *adaptRun) resume(fl *flows.Flow, ck *harness.FlowCheckpoint) error {
	cfg := r.cfg
	at, err := ck.Resume(fl)
	if err != nil || at == 0 {
		return fmt.Errorf("adapt: --resume: no usable checkpoint %s (%v)", ck.Path, err)
	}
	if b, err := os.ReadFile(filepath.Join(cfg.Out, "run.json")); err == nil {
		var old adaptRunFile
		if err := json.Unmarshal(b, &old); err != nil {
			return fmt.Errorf("adapt: --resume: %s: %v", filepath.Join(cfg.Out, "run.json"), err)
		}
		if !sameAdaptRun(old.Config, cfg) {
			return fmt.Errorf("adapt: --resume: %s was written with another configuration (%+v)", cfg.Out, old.Config)
		}
	}
	r.logf("resuming at step %d", at)
	return nil
}

// adaptRunFile is run.json: the effective configuration and the curve so far.
type adaptRunFile struct {
	Experiment string       `json:"experiment"`
	Version    string       `json:"version"`
	Config     AdaptConfig  `json:"config"`
	Points     []AdaptPoint `json:"points"`
}

// sameAdaptRun reports whether a run with config b continues one with a
// (only Steps and Resume may differ).
func sameAdaptRun(a, b AdaptConfig) bool {
	a.Steps, b.Steps, a.Resume, b.Resume, a.Progress, b.Progress = 0, 0, false, false, nil, nil
	return a == b
}

func writeAdapt(cfg AdaptConfig, pts []AdaptPoint) error {
	run := adaptRunFile{Experiment: "adapt", Version: Version(), Config: cfg, Points: pts}
	if err := harness.WriteJSON(filepath.Join(cfg.Out, "run.json"), run); err != nil {
		return err
	}
	rows := make([][]string, len(pts))
	xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		f := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
		rows[i] = []string{strconv.Itoa(p.Step), f(p.Accuracy), f(p.Loss), f(p.Seconds)}
		xs[i], ys[i] = float64(p.Step), p.Accuracy
	}
	if err := harness.WriteCSV(filepath.Join(cfg.Out, "accuracy.csv"), []string{"step", "accuracy", "loss", "elapsed_s"}, rows); err != nil {
		return err
	}
	var px, py []float64
	for _, p := range paperFig3 {
		if p[0] <= float64(max(cfg.Steps, 1)) {
			px, py = append(px, p[0]), append(py, p[1])
		}
	}
	return render.WriteLinesPlot(filepath.Join(cfg.Out, "accuracy.png"), "accuracy of the MNIST classifier on flowed FMNIST", "step", "accuracy %",
		render.Series{Name: "wowflow", X: xs, Y: ys}, render.Series{Name: "paper (mean of 3 flows)", X: px, Y: py})
}
