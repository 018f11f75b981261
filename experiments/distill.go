package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/experiments/harness"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/models"
)

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
	// EstimatedSeconds is --estimate's estimate of the whole run (flow and
	// trainings); zero otherwise.
	EstimatedSeconds float64 `json:"estimated_seconds,omitempty"`
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
	net, err := functionals.RandomConvNet(h, w, c.EmbedWidth, c.EmbedDepth)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("convnet-w%d-d%d", c.EmbedWidth, c.EmbedDepth)
	if c.NoAugment {
		return functionals.Pushforward{Name: name, Map: net, F: f}, nil
	}
	aug, err := functionals.RandomAffine(h, w, functionals.DefaultAffine)
	if err != nil {
		return nil, err
	}
	return functionals.Pushforward{Name: "affine+" + name, Map: functionals.Compose(aug, net), F: f}, nil
}

// distillRun holds what the trials of one distillation share: the
// configuration and the data, loaded when a trial first needs them.
type distillRun struct {
	cfg         DistillConfig
	log         io.Writer
	once        sync.Once
	err         error
	train, test *data.Images
	init        *data.Images // the initialisation: IPC random real images per class
	flowID      string
	trainIDs    []string
}

func (r *distillRun) logf(format string, a ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, "distill %s: "+format+"\n", append([]any{r.cfg.Name()}, a...)...)
	}
}

func (r *distillRun) load() error {
	r.once.Do(func() {
		c := r.cfg
		if r.train, r.err = data.Load(c.Dataset, "train"); r.err != nil {
			return
		}
		if r.test, r.err = data.Load(c.Dataset, "test"); r.err != nil {
			return
		}
		if c.TestImages > 0 && c.TestImages < r.test.N {
			if r.test, r.err = data.BalancedSample(r.test, max(1, c.TestImages/r.test.Classes), rand.New(rand.NewPCG(c.Seed, 0x7e57))); r.err != nil {
				return
			}
		}
		r.init, r.err = data.BalancedSample(r.train, c.IPC, rand.New(rand.NewPCG(c.Seed, 0xd157)))
	})
	if r.err != nil {
		return fmt.Errorf("distill: %w", r.err)
	}
	return nil
}

// Keys of the trials: what their results depend on.
type (
	distillFlowKey struct {
		Dataset, Method, Space        string
		IPC, Steps, Directions, Batch int
		Tau, Momentum                 float64
		EmbedWidth, EmbedDepth        int
		NoAugment                     bool
		Seed                          uint64
	}
	distillTrainKey struct {
		Flow                         string
		Training                     int
		EvalWidth, EvalDepth, Epochs int
		EvalLR                       float64
		TestImages                   int
	}
)

func (c DistillConfig) flowKey() distillFlowKey {
	return distillFlowKey{c.Dataset, c.Method, c.Space, c.IPC, c.Steps, c.Directions, c.Batch, c.Tau, c.Momentum,
		c.EmbedWidth, c.EmbedDepth, c.NoAugment, c.Seed}
}

// NewDistill returns one distillation run as a plan: the flow trial (for the
// random method: the initialisation) and Trainings ConvNet trainings that
// need it. Tabulate writes OUT/result.json and ROOT/table.md.
func NewDistill(cfg DistillConfig, progress io.Writer) (*harness.Experiment, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	r := &distillRun{cfg: cfg, log: progress}
	e := &harness.Experiment{Store: harness.Store{Dir: cfg.Out}, Version: Version(), Log: progress}
	var err error
	if r.flowID, err = harness.ID("flow", cfg.Name(), cfg.flowKey()); err != nil {
		return nil, err
	}
	if err := e.Plan.Add(harness.Trial{ID: r.flowID, Kind: "flow", Name: cfg.Name(), Run: func(ctx context.Context, _ *harness.Runner) (any, error) {
		return r.flow(ctx)
	}}); err != nil {
		return nil, err
	}
	for t := 0; t < cfg.Trainings; t++ {
		id, err := r.trainID(t)
		if err != nil {
			return nil, err
		}
		r.trainIDs = append(r.trainIDs, id)
		if err := e.Plan.Add(harness.Trial{ID: id, Kind: "train", Name: fmt.Sprintf("%s-train%d", cfg.Name(), t), Needs: []string{r.flowID},
			Run: func(ctx context.Context, _ *harness.Runner) (any, error) { return r.evaluate(t) }}); err != nil {
			return nil, err
		}
	}
	e.Prepare = func() error { return r.prepare(e.Store) }
	e.Tabulate = func() error { _, err := r.tabulate(e.Store); return err }
	return e, nil
}

func (r *distillRun) trainID(t int) (string, error) {
	c := r.cfg
	return harness.ID("train", fmt.Sprintf("%s-train%d", c.Name(), t), distillTrainKey{r.flowID, t, c.EvalWidth, c.EvalDepth, c.EvalEpochs, c.EvalLR, c.TestImages})
}

// Distill runs (or resumes) one distillation and evaluates it; with
// EstimateOnly it only measures a few steps and prints the estimated run
// time (writing nothing).
func Distill(ctx context.Context, cfg DistillConfig) (*DistillResult, error) {
	e, err := NewDistill(cfg, cfg.Progress)
	if err != nil {
		return nil, err
	}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if cfg.EstimateOnly {
		r := &distillRun{cfg: cfg, log: cfg.Progress}
		per, total, err := r.estimate()
		return &DistillResult{Config: cfg, Version: Version(), StepMs: 1000 * per.Seconds(), EstimatedSeconds: total.Seconds()}, err
	}
	if err := e.Run(ctx, ""); err != nil {
		return nil, err
	}
	return loadDistillResult(filepath.Join(cfg.Out, "result.json"))
}

// trainResult is a training trial's result.
type distillTrainResult struct {
	Accuracy float64 `json:"accuracy"` // test accuracy, %
	Seconds  float64 `json:"seconds"`
}

// evaluate is training trial t: a ConvNet trained on the synthetic set and
// tested on the test set.
func (r *distillRun) evaluate(t int) (distillTrainResult, error) {
	if err := r.load(); err != nil {
		return distillTrainResult{}, err
	}
	cfg := r.cfg
	set, ok := readSet(filepath.Join(cfg.Out, "synthetic"))
	if !ok {
		return distillTrainResult{}, fmt.Errorf("distill: %s is missing or unreadable", filepath.Join(cfg.Out, "synthetic_x.npy"))
	}
	t0 := time.Now()
	trng := rand.New(rand.NewPCG(cfg.Seed, uint64(0xe7a1+t)))
	m, err := models.NewConvNet(r.train.H, r.train.W, cfg.EvalWidth, cfg.EvalDepth, r.train.Classes, trng)
	if err != nil {
		return distillTrainResult{}, fmt.Errorf("distill: %w", err)
	}
	tc := models.DefaultTrainConfig()
	tc.Epochs, tc.Batch, tc.LR, tc.Seed = cfg.EvalEpochs, 256, cfg.EvalLR, trng.Uint64()
	if _, err := models.Train(m, set.X, set.Labels, tc); err != nil {
		return distillTrainResult{}, fmt.Errorf("distill: training %d: %w", t, err)
	}
	ev, err := models.Evaluate(m, r.test.X, r.test.Labels)
	if err != nil {
		return distillTrainResult{}, fmt.Errorf("distill: %w", err)
	}
	res := distillTrainResult{Accuracy: 100 * ev.Accuracy, Seconds: time.Since(t0).Seconds()}
	r.logf("training %d/%d: test accuracy %.2f%% (%.0fs)", t+1, cfg.Trainings, res.Accuracy, res.Seconds)
	return res, nil
}

// prepare turns a result.json written before trial records into records
// (the flow, and the trainings if the evaluation settings are the same) and
// refuses a directory holding another flow.
func (r *distillRun) prepare(store harness.Store) error {
	if err := os.MkdirAll(r.cfg.Out, 0o755); err != nil {
		return fmt.Errorf("distill: %w", err)
	}
	path := filepath.Join(r.cfg.Out, "result.json")
	old, err := loadDistillResult(path)
	if errors.Is(err, os.ErrNotExist) || store.Done(r.flowID) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w (remove it to start over)", err)
	}
	if old.Config.flowKey() != r.cfg.flowKey() {
		return fmt.Errorf("distill: %s holds a run with other settings (steps %d, seed %d, momentum %g, batch %d): use another --out or remove it",
			path, old.Config.Steps, old.Config.Seed, old.Config.Momentum, old.Config.Batch)
	}
	if old.Steps == 0 && r.cfg.Method != DistillRandom {
		return nil // the flow had not finished
	}
	fr := distillFlowResult{Steps: old.Steps, Seconds: old.Seconds, StepMs: old.StepMs, FirstLoss: old.FirstLoss, FinalLoss: old.FinalLoss, Alignment: old.Alignment}
	if err := store.Save(harness.Trial{ID: r.flowID, Kind: "flow", Name: r.cfg.Name()}, old.Version, old.Seconds, fr); err != nil {
		return err
	}
	oc := old.Config
	if oc.EvalWidth != r.cfg.EvalWidth || oc.EvalDepth != r.cfg.EvalDepth || oc.EvalEpochs != r.cfg.EvalEpochs || oc.EvalLR != r.cfg.EvalLR || oc.TestImages != r.cfg.TestImages {
		return nil // trainings of another evaluation: not this run's
	}
	for t, acc := range old.Accuracies {
		if t >= len(r.trainIDs) {
			break
		}
		secs := 0.0
		if t < len(old.TrainSeconds) {
			secs = old.TrainSeconds[t]
		}
		tr := harness.Trial{ID: r.trainIDs[t], Kind: "train", Name: fmt.Sprintf("%s-train%d", r.cfg.Name(), t)}
		if err := store.Save(tr, old.Version, secs, distillTrainResult{Accuracy: acc, Seconds: secs}); err != nil {
			return err
		}
	}
	r.logf("resuming: %s imported as trial records", path)
	return nil
}

// tabulate writes OUT/result.json from the flow and the finished trainings
// of this run, and ROOT/table.md from every run under ROOT.
func (r *distillRun) tabulate(store harness.Store) (*DistillResult, error) {
	fr, err := harness.Result[distillFlowResult](store, r.flowID)
	if err != nil {
		return nil, err
	}
	res := &DistillResult{Config: r.cfg, Version: Version(), Steps: fr.Steps, Seconds: fr.Seconds, StepMs: fr.StepMs,
		FirstLoss: fr.FirstLoss, FinalLoss: fr.FinalLoss, Alignment: fr.Alignment}
	for _, id := range r.trainIDs {
		tr, err := harness.Result[distillTrainResult](store, id)
		if err != nil {
			continue
		}
		res.Accuracies = append(res.Accuracies, tr.Accuracy)
		res.TrainSeconds = append(res.TrainSeconds, tr.Seconds)
	}
	if err := harness.WriteJSON(filepath.Join(r.cfg.Out, "result.json"), res); err != nil {
		return nil, err
	}
	m, s := harness.MeanStd(res.Accuracies)
	r.logf("test accuracy %.2f ± %.2f%% over %d trainings", m, s, len(res.Accuracies))
	_, err = WriteDistillTable(r.cfg.Root)
	return res, err
}

func loadDistillResult(path string) (*DistillResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r DistillResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("distill: %s: %v", path, err)
	}
	return &r, nil
}
