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
	"sync"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/experiments/harness"
	"github.com/wowflow/wowflow/models"
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
	// Flows is the number of flows (0: 3, as the paper's mean of 3); flow f
	// draws its directions from seed Seed ^ f<<32 (flow 0: Seed) and writes
	// its grids and checkpoint to Out (f = 0) or Out/flowF.
	Flows int
	Seed  uint64
	Out   string // output directory; required
	// Resume is kept for old scripts: a flow always continues from its
	// checkpoint when there is one (rerunning a command continues it, and
	// a larger Steps extends it); with Resume a missing checkpoint is logged.
	Resume   bool
	Progress io.Writer `json:"-"`
}

// DefaultAdaptConfig returns the paper's Fig. 3 settings: 500 Fashion-MNIST
// images per class flowed onto 500 MNIST images per class (Riesz MMDSW,
// τ = 0.1, m = 0.9, L = 500, 20000 steps, evaluated every 1000), 3 flows,
// a LeNet of 50 epochs, seed 1, output in out/adapt.
func DefaultAdaptConfig() AdaptConfig {
	return AdaptConfig{Source: "fmnist", Target: "mnist", PerClass: 500, Steps: 20000, Every: 1000,
		Tau: 0.1, Momentum: 0.9, Directions: 500, Epochs: 50, Flows: 3, Seed: 1, Out: filepath.Join("out", "adapt")}
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
	orDefault(&c.Flows, d.Flows)
	switch {
	case c.Out == "":
		return fmt.Errorf("adapt: --out is required")
	case c.PerClass < 1 || c.Steps < 1 || c.Every < 1 || c.Directions < 1 || c.Epochs < 1 || c.Flows < 1:
		return fmt.Errorf("adapt: counts must be positive (--per-class %d, --steps %d, --every %d, --directions %d, --epochs %d, --flows %d)",
			c.PerClass, c.Steps, c.Every, c.Directions, c.Epochs, c.Flows)
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
	// Of the mean curve over flows: the sample standard deviation of the
	// accuracy and each flow's accuracy.
	Std     float64   `json:"accuracy_std,omitempty"`
	PerFlow []float64 `json:"per_flow,omitempty"`
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

// paperFig3 is the paper's mean accuracy curve (step, %) by source dataset
// (the target MNIST).
var paperFig3 = map[string][][2]float64{
	"fmnist": {{0, 15.2}, {5000, 61.0}, {10000, 87.7}, {20000, 94.6}, {50000, 98.4}, {100000, 99.7}},
	"usps":   {{0, 41.8}, {5000, 81.2}, {10000, 89.8}, {20000, 94.8}},
}

// adaptRun holds what the two trials of the experiment share: the
// configuration and the data, loaded when a trial first needs them.
type adaptRun struct {
	cfg      AdaptConfig
	log      io.Writer
	once     sync.Once
	err      error
	rng      *rand.Rand // after the two samples: the classifier's initialisation
	src, tgt *data.Images
	flowIDs  []string
}

// flowSeed is the seed of flow f's directions (flow 0: the run's seed).
func (r *adaptRun) flowSeed(f int) uint64 { return r.cfg.Seed ^ uint64(f)<<32 }

// dir is where flow f writes its grids and checkpoint.
func (r *adaptRun) dir(f int) string {
	if f == 0 {
		return r.cfg.Out
	}
	return filepath.Join(r.cfg.Out, fmt.Sprintf("flow%d", f))
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
	e, _, err := newAdapt(cfg)
	return e, err
}

func newAdapt(cfg AdaptConfig) (*harness.Experiment, *adaptRun, error) {
	if err := cfg.defaults(); err != nil {
		return nil, nil, err
	}
	r := &adaptRun{cfg: cfg, log: cfg.Progress}
	key := adaptKey{cfg.Source, cfg.Target, cfg.PerClass, cfg.Epochs, 0, 0, 0, 0, 0, cfg.Seed}
	clfID, err := harness.ID("train", "classifier", key)
	if err != nil {
		return nil, nil, err
	}
	key.Steps, key.Every, key.Directions, key.Tau, key.Momentum = cfg.Steps, cfg.Every, cfg.Directions, cfg.Tau, cfg.Momentum
	e := &harness.Experiment{Store: harness.Store{Dir: cfg.Out}, Version: Version(), Log: cfg.Progress,
		Prepare: func() error { return os.MkdirAll(cfg.Out, 0o755) }}
	if err := e.Plan.Add(harness.Trial{ID: clfID, Kind: "train", Name: "classifier", Run: func(context.Context, *harness.Runner) (any, error) {
		return r.classifier()
	}}); err != nil {
		return nil, nil, err
	}
	for f := 0; f < cfg.Flows; f++ {
		name, k := "adapt", key
		if f > 0 { // flow 0 keeps the ID it had before there were several
			name, k.Seed = fmt.Sprintf("adapt-flow%d", f), r.flowSeed(f)
		}
		id, err := harness.ID("flow", name, k)
		if err != nil {
			return nil, nil, err
		}
		r.flowIDs = append(r.flowIDs, id)
		if err := e.Plan.Add(harness.Trial{ID: id, Kind: "flow", Name: name, Needs: []string{clfID}, Run: func(ctx context.Context, _ *harness.Runner) (any, error) {
			return r.flow(ctx, f)
		}}); err != nil {
			return nil, nil, err
		}
	}
	e.Tabulate = func() error { _, err := r.tabulate(e.Store); return err }
	return e, r, nil
}

// Adapt runs the domain-adaptation experiment and returns its accuracy
// curve. A run finished with the same configuration is not run again.
func Adapt(ctx context.Context, cfg AdaptConfig) ([]AdaptPoint, error) {
	e, r, err := newAdapt(cfg)
	if err != nil {
		return nil, err
	}
	if err := e.Run(ctx, ""); err != nil {
		return nil, err
	}
	return r.curve(e.Store)
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
