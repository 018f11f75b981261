package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/experiments/harness"
)

// TransferTrial is one classifier training: a row of results.json.
type TransferTrial struct {
	K        int     `json:"k"`
	Flow     int     `json:"flow"`
	Training int     `json:"training"`
	Arm      string  `json:"arm"`
	Accuracy float64 `json:"accuracy"`
	Images   int     `json:"train_images"`
	Seconds  float64 `json:"seconds"`
	// Skipped says why the arm could not be trained (e.g. a flow that
	// predates the snapshots); such trials are left out of results.json.
	Skipped string `json:"skipped,omitempty"`
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
	// Mixed marks the k+mixed arm's flow; Reused a flow whose images were
	// on disk from a run before trial records (losses and time unknown).
	Mixed  bool `json:"mixed,omitempty"`
	Reused bool `json:"reused,omitempty"`
	// Method is the baseline of a baseline arm's flow ("otdd", "hua"); its
	// Alignment then holds the number of particles given each label.
	Method string `json:"method,omitempty"`
}

// TransferResults is results.json.
type TransferResults struct {
	Config  TransferConfig  `json:"config"`
	Version string          `json:"version"`
	Flows   []TransferFlow  `json:"flows"`
	Trials  []TransferTrial `json:"trials"`
}

// paperTable2 holds the paper's Table 2 rows of MNIST as source, by target
// and k (accuracy %, mean ± std; NaN: no std published): train on the k
// real only, and the MMDSW flow.
var paperTable2 = map[string]map[int][4]float64{
	"fmnist": {1: {26.0, 5.3, 40.5, 4.7}, 5: {38.5, 6.7, 61.5, 4.6}, 10: {53.9, 7.9, 65.4, 1.5}, 100: {71.1, 1.5, 74.7, 0.8}},
	"usps": {1: {32.4, math.NaN(), 37.4, math.NaN()}, 5: {51.4, math.NaN(), 73.0, math.NaN()}, 10: {60.3, math.NaN(), 77.2, math.NaN()},
		100: {87.5, math.NaN(), 89.7, math.NaN()}},
}

// paperCell formats a published mean ± std (the mean alone without a std).
func paperCell(m, s float64) string {
	if math.IsNaN(s) {
		return fmt.Sprintf("%.1f", m)
	}
	return fmt.Sprintf("%.1f ± %.1f", m, s)
}

func (r *TransferResults) has(k, flow, training int, arm string) bool {
	return slices.ContainsFunc(r.Trials, func(t TransferTrial) bool {
		return t.K == k && t.Flow == flow && t.Training == training && t.Arm == arm
	})
}

// transferRun holds what the trials of one transfer experiment share: the
// configuration and the datasets, loaded when a trial first needs them.
type transferRun struct {
	cfg      TransferConfig
	log      io.Writer
	once     sync.Once
	err      error
	srcAll   *data.Images // source training set
	tgtAll   *data.Images // target training set
	test     *data.Images // target test set (or its balanced subsample)
	flowIDs  map[[2]int]string
	mixedIDs map[[2]int]string
	baseIDs  map[baselineFlowID]string
}

type baselineFlowID struct {
	k, f   int
	method string
}

func (r *transferRun) logf(format string, a ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, "transfer: "+format+"\n", a...)
	}
}

// load reads the datasets once.
func (r *transferRun) load() error {
	r.once.Do(func() {
		c := r.cfg
		if r.srcAll, r.err = data.Load(c.Source, "train"); r.err != nil {
			return
		}
		if r.tgtAll, r.err = data.Load(c.Target, "train"); r.err != nil {
			return
		}
		if r.test, r.err = data.Load(c.Target, "test"); r.err != nil {
			return
		}
		if c.TestImages > 0 && c.TestImages < r.test.N {
			r.test, r.err = data.BalancedSample(r.test, c.TestImages/r.test.Classes, rand.New(rand.NewPCG(c.Seed, 0x7e57)))
			if r.err != nil {
				return
			}
		}
		if r.srcAll.D != r.tgtAll.D {
			r.err = fmt.Errorf("%s images have %d pixels, %s %d", c.Source, r.srcAll.D, c.Target, r.tgtAll.D)
		}
	})
	if r.err != nil {
		return fmt.Errorf("transfer: %w", r.err)
	}
	return nil
}

// sample draws flow f of k's source images and k shots per class.
func (r *transferRun) sample(k, f int) (src, shots *data.Images, err error) {
	if err := r.load(); err != nil {
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(1000*k+f)))
	if src, err = data.BalancedSample(r.srcAll, r.cfg.SourcePerClass, rng); err != nil {
		return nil, nil, fmt.Errorf("transfer: %w", err)
	}
	if shots, err = data.BalancedSample(r.tgtAll, k, rng); err != nil {
		return nil, nil, fmt.Errorf("transfer: %w", err)
	}
	return src, shots, nil
}

func (r *transferRun) prefix(k, f int) string {
	return filepath.Join(r.cfg.Out, fmt.Sprintf("k%d_flow%d", k, f))
}

// Keys of the trials: what their results depend on.
type (
	transferFlowKey struct {
		Source, Target              string
		SourcePerClass, K, Flow     int
		Steps, Directions, Quantile int
		Tau, Momentum               float64
		Seed                        uint64
	}
	transferMixedKey struct {
		Flow        string // the plain flow's trial ID (its alignment labels the classes)
		MixedWeight float64
		Epochs      int
	}
	transferTrainKey struct {
		Flow, Mixed string // trial IDs
		Training    int
		Arm         string
		Epochs      int
		TestImages  int
	}
)

// NewTransfer returns the transfer experiment as a plan of trials: per k and
// flow, one flow trial (and a mixed flow trial for the k+mixed arm), then
// per training and arm one classifier training that needs them. Its
// Tabulate writes results.json and table.md from every finished trial in
// cfg.Out.
func NewTransfer(cfg TransferConfig, progress io.Writer) (*harness.Experiment, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	r := &transferRun{cfg: cfg, log: progress, flowIDs: map[[2]int]string{}, mixedIDs: map[[2]int]string{}, baseIDs: map[baselineFlowID]string{}}
	e := &harness.Experiment{Store: harness.Store{Dir: cfg.Out}, Version: Version(), Log: progress}
	e.Prepare = func() error { return r.prepare(e.Store) }
	e.Tabulate = func() error { _, err := r.tabulate(e.Store); return err }
	for _, k := range cfg.Shots {
		for f := cfg.FirstFlow; f < cfg.Flows; f++ {
			if err := r.addFlowTrials(&e.Plan, k, f); err != nil {
				return nil, err
			}
			for t := 0; t < cfg.Trainings; t++ {
				for _, arm := range cfg.Arms {
					if err := r.addTrainTrial(&e.Plan, k, f, t, arm); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return e, nil
}

func (r *transferRun) addFlowTrials(p *harness.Plan, k, f int) error {
	c := r.cfg
	name := fmt.Sprintf("k%d-flow%d", k, f)
	id, err := harness.ID("flow", name, transferFlowKey{c.Source, c.Target, c.SourcePerClass, k, f, c.steps(k), c.Directions, c.Quantiles, c.Tau, c.Momentum, c.Seed})
	if err != nil {
		return err
	}
	r.flowIDs[[2]int{k, f}] = id
	if err := r.addBaselineFlowTrials(p, k, f); err != nil {
		return err
	}
	if !slices.ContainsFunc(c.Arms, func(a string) bool { return baselineOf(a) == "" }) {
		return nil // only baseline arms: no MMDSW flow
	}
	if err := p.Add(harness.Trial{ID: id, Kind: "flow", Name: name, Run: func(ctx context.Context, _ *harness.Runner) (any, error) {
		return r.flow(ctx, k, f)
	}}); err != nil {
		return err
	}
	if !slices.Contains(c.Arms, ArmMixed) {
		return nil
	}
	name += "-mixed"
	mid, err := harness.ID("flow", name, transferMixedKey{id, c.MixedWeight, c.Epochs})
	if err != nil {
		return err
	}
	r.mixedIDs[[2]int{k, f}] = mid
	return p.Add(harness.Trial{ID: mid, Kind: "flow", Name: name, Needs: []string{id}, Run: func(ctx context.Context, _ *harness.Runner) (any, error) {
		return r.mixedFlow(ctx, k, f)
	}})
}

// trainTrial returns the training trial of k, flow f, training t and arm
// (without its Run): its ID follows from the flows it needs.
func (r *transferRun) trainTrial(k, f, t int, arm string) (harness.Trial, error) {
	flow, mixed := r.flowIDs[[2]int{k, f}], ""
	if m := baselineOf(arm); m != "" {
		flow = r.baseIDs[baselineFlowID{k, f, m}]
	}
	needs := []string{flow}
	if arm == ArmMixed {
		mixed = r.mixedIDs[[2]int{k, f}]
		needs = append(needs, mixed)
	}
	name := fmt.Sprintf("k%d-flow%d-train%d-%s", k, f, t, arm)
	id, err := harness.ID("train", name, transferTrainKey{flow, mixed, t, arm, r.cfg.Epochs, r.cfg.TestImages})
	return harness.Trial{ID: id, Kind: "train", Name: name, Needs: needs}, err
}

func (r *transferRun) addTrainTrial(p *harness.Plan, k, f, t int, arm string) error {
	tr, err := r.trainTrial(k, f, t, arm)
	if err != nil {
		return err
	}
	tr.Run = func(ctx context.Context, _ *harness.Runner) (any, error) { return r.train(ctx, k, f, t, arm) }
	return p.Add(tr)
}

// Transfer runs (or resumes) every trial of the experiment and returns the
// results it tabulated (results.json; table.md beside it).
func Transfer(ctx context.Context, cfg TransferConfig) (*TransferResults, error) {
	e, err := NewTransfer(cfg, cfg.Progress)
	if err != nil {
		return nil, err
	}
	if err := e.Run(ctx, ""); err != nil {
		if res, err2 := LoadTransfer(cfg.Out); err2 == nil {
			return res, err
		}
		return nil, err
	}
	return LoadTransfer(cfg.Out)
}

// prepare refuses a directory holding another protocol's run and turns the
// flows and trainings of a results.json written before the harness into
// trial records, so that an old run resumes where it stopped.
func (r *transferRun) prepare(store harness.Store) error {
	if err := os.MkdirAll(r.cfg.Out, 0o755); err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	resPath := filepath.Join(r.cfg.Out, "results.json")
	b, err := os.ReadFile(resPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	var old TransferResults
	if err := json.Unmarshal(b, &old); err != nil {
		return fmt.Errorf("transfer: %s: %v (remove it to start over)", resPath, err)
	}
	cfg := r.cfg
	if p, q := old.Config.protocol(), cfg.protocol(); p != q || !sameFlows(old.Config, cfg) {
		return fmt.Errorf("transfer: %s holds a run of another protocol (%s, quantiles %d, λ %g) than this one (%s, quantiles %d, λ %g): use another --out or remove it",
			resPath, p, old.Config.Quantiles, old.Config.MixedWeight, q, cfg.Quantiles, cfg.MixedWeight)
	}
	imported := 0
	for _, fl := range old.Flows {
		if id, ok := r.flowIDs[[2]int{fl.K, fl.Flow}]; ok && !store.Done(id) {
			if err := store.Save(harness.Trial{ID: id, Kind: "flow", Name: fmt.Sprintf("k%d-flow%d", fl.K, fl.Flow)}, old.Version, fl.Seconds, fl); err != nil {
				return err
			}
			imported++
		}
	}
	for _, tr := range old.Trials {
		if _, ok := r.flowIDs[[2]int{tr.K, tr.Flow}]; !ok {
			continue // a flow this run does not plan
		}
		if _, ok := r.mixedIDs[[2]int{tr.K, tr.Flow}]; tr.Arm == ArmMixed && !ok {
			continue
		}
		trial, err := r.trainTrial(tr.K, tr.Flow, tr.Training, tr.Arm)
		if err != nil || store.Done(trial.ID) {
			continue
		}
		if err := store.Save(trial, old.Version, tr.Seconds, tr); err != nil {
			return err
		}
		imported++
	}
	if imported > 0 {
		r.logf("resuming: %d flows and trainings of %s imported as trial records", imported, resPath)
	}
	return nil
}
