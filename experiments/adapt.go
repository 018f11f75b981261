package experiments

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
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

// Adapt runs the domain-adaptation experiment.
func Adapt(ctx context.Context, cfg AdaptConfig) ([]AdaptPoint, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("adapt: %w", err)
	}
	logf := func(format string, a ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "adapt: "+format+"\n", a...)
		}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xada))
	load := func(name string) (*data.Images, error) {
		im, err := data.Load(name, "train")
		if err != nil {
			return nil, fmt.Errorf("adapt: %w", err)
		}
		return data.BalancedSample(im, cfg.PerClass, rng)
	}
	src, err := load(cfg.Source)
	if err != nil {
		return nil, err
	}
	tgt, err := load(cfg.Target)
	if err != nil {
		return nil, err
	}
	// The classifier, trained once on the real target images (saved, reused on resume).
	modelPath := filepath.Join(cfg.Out, "classifier.model")
	var clf models.Model
	if m, err := models.Load(modelPath); err == nil {
		clf = m
		logf("reusing %s", modelPath)
	} else {
		lenet, err := models.NewLeNet(tgt.H, tgt.W, tgt.Classes, rng)
		if err != nil {
			return nil, err
		}
		logf("training the classifier on %d real %s images (%d epochs)", tgt.N, cfg.Target, cfg.Epochs)
		tc := models.DefaultTrainConfig()
		tc.Epochs, tc.Seed, tc.Progress = cfg.Epochs, cfg.Seed, cfg.Progress
		if _, err := models.Train(lenet, tgt.X, tgt.Labels, tc); err != nil {
			return nil, err
		}
		if err := models.Save(modelPath, lenet); err != nil {
			return nil, err
		}
		clf = lenet
	}
	x, err := graph.FromLabeled(src.X, src.Labels, src.D)
	if err != nil {
		return nil, err
	}
	q, err := graph.FromLabeled(tgt.X, tgt.Labels, tgt.D)
	if err != nil {
		return nil, err
	}
	type state struct{ Points []AdaptPoint }
	var st state
	t0 := time.Now()
	evaluate := func(step int, loss float64, ds *graph.Dataset) error {
		w, err := wowOf(ds, q)
		if err != nil {
			return err
		}
		pred, err := models.Predict(clf, ds.Data)
		if err != nil {
			return err
		}
		correct := 0
		for i, p := range pred {
			if p == w.Alignment[ds.ClassOf(i)] {
				correct++
			}
		}
		pt := AdaptPoint{Step: step, Accuracy: 100 * float64(correct) / float64(len(pred)), Loss: loss, Seconds: time.Since(t0).Seconds()}
		st.Points = append(st.Points, pt)
		logf("step %d: accuracy %.1f%% (alignment %v), loss %.4g, %.0fs", step, pt.Accuracy, w.Alignment, loss, pt.Seconds)
		if step == 0 || step%(cfg.Every*5) == 0 || step == cfg.Steps {
			return render.WriteImageGrid(filepath.Join(cfg.Out, fmt.Sprintf("grid_step%d.png", step)), ds.Data, ds.Labels(), src.H, src.W, render.GridOptions{})
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
	fl, err = flows.New(x, functionals.MMD{Target: q}, flows.Config{Steps: cfg.Steps, Directions: cfg.Directions, Seed: cfg.Seed,
		Dtype: tensor.Float32, Recorder: rec, Optimizer: &optim.Momentum{Tau: cfg.Tau, M: cfg.Momentum},
		Checkpoint: flows.CheckpointConfig{Path: filepath.Join(cfg.Out, "checkpoint.gob"), Every: cfg.Every, Extra: func() ([]byte, error) {
			var b bytes.Buffer
			err := gob.NewEncoder(&b).Encode(st)
			return b.Bytes(), err
		}}})
	if err != nil {
		return nil, err
	}
	defer fl.Close()
	if cfg.Resume {
		cp, err := flows.LoadCheckpoint(filepath.Join(cfg.Out, "checkpoint.gob"))
		if err != nil {
			return nil, fmt.Errorf("adapt: --resume: %w", err)
		}
		if err := gob.NewDecoder(bytes.NewReader(cp.Extra)).Decode(&st); err != nil {
			return nil, fmt.Errorf("adapt: --resume: %v", err)
		}
		if err := fl.Restore(cp); err != nil {
			return nil, fmt.Errorf("adapt: --resume: %w", err)
		}
		if b, err := os.ReadFile(filepath.Join(cfg.Out, "run.json")); err == nil {
			var old adaptRun
			if err := json.Unmarshal(b, &old); err != nil {
				return nil, fmt.Errorf("adapt: --resume: %s: %v", filepath.Join(cfg.Out, "run.json"), err)
			}
			if !sameAdaptRun(old.Config, cfg) {
				return nil, fmt.Errorf("adapt: --resume: %s was written with another configuration (%+v)", cfg.Out, old.Config)
			}
		}
		logf("resuming at step %d", cp.Step)
	} else if err := evaluate(0, math.NaN(), x); err != nil {
		return nil, err
	}
	if _, err := fl.Run(ctx); err != nil {
		writeAdapt(cfg, st.Points)
		return st.Points, fmt.Errorf("adapt: %w (continue with --resume)", err)
	}
	return st.Points, writeAdapt(cfg, st.Points)
}

// adaptRun is run.json: the effective configuration and the curve so far.
type adaptRun struct {
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
	run := adaptRun{Experiment: "adapt", Version: Version(), Config: cfg, Points: pts}
	if err := writeJSON(filepath.Join(cfg.Out, "run.json"), run); err != nil {
		return err
	}
	rows := make([][]string, len(pts))
	xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		rows[i] = []string{strconv.Itoa(p.Step), fmtF(p.Accuracy), fmtF(p.Loss), fmtF(p.Seconds)}
		xs[i], ys[i] = float64(p.Step), p.Accuracy
	}
	if err := writeCSV(filepath.Join(cfg.Out, "accuracy.csv"), []string{"step", "accuracy", "loss", "elapsed_s"}, rows); err != nil {
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
