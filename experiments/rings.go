package experiments

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/experiments/harness"
	"github.com/wowflow/wowflow/experiments/render"
	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
)

// RingsConfig configures the rings experiment (the paper's first figure):
// three classes of 80 points drawn from one small Gaussian blob flow onto three
// rings of 80 points. DefaultRingsConfig holds the paper's settings; zero
// counts, τ, kernel and parameter mean those defaults, a zero Momentum is
// plain Euler (see the package's configuration rule).
type RingsConfig struct {
	Steps      int     // flow steps; 0: 500
	Seed       uint64  // seeds the source sample and the directions
	Kernel     string  // riesz (default), gaussian, laplace or imq
	Param      float64 // kernel parameter (h, or r for riesz); 0: the kernel's default (RingsParam)
	Directions int     // L; 0: 500
	Tau        float64 // step size; 0: 0.1
	Momentum   float64 // heavy-ball momentum m in [0, 1); 0: plain Euler
	Points     int     // points per ring and per class; 0: 80
	Frames     int     // GIF frames (≥ 20); 0: 50
	Out        string  // output directory (created); required
	// CheckpointEvery saves OUT/checkpoint.gob every that many steps (and on
	// cancellation); 0 or negative: never (DefaultRingsConfig: 50).
	CheckpointEvery int
	// Resume continues from OUT/checkpoint.gob (same configuration; Steps may grow).
	Resume   bool
	Progress io.Writer `json:"-"` // progress bar destination; nil: none
}

// ringsState is what a rings checkpoint stores besides the flow and its
// curve: the configuration and the animation frames so far.
type ringsState struct {
	Config RingsConfig
	Frames []render.Points
	Caps   []string
}

// RingsResult summarises a rings run.
type RingsResult struct {
	InitialLoss float64  `json:"initial_loss"`
	FinalLoss   float64  `json:"final_loss"`
	Steps       int      `json:"steps"`
	ElapsedS    float64  `json:"elapsed_s"`
	Files       []string `json:"files"`
}

// DefaultRingsConfig returns the paper's rings settings: Riesz kernel, 500
// steps, L = 500, τ = 0.1, m = 0 (explicit Euler), 80 points per class, seed 1,
// 50 frames, a checkpoint every 50 steps, output in out/rings.
func DefaultRingsConfig() RingsConfig {
	return RingsConfig{Steps: 500, Seed: 1, Kernel: "riesz", Directions: 500, Tau: 0.1, Momentum: 0,
		Points: 80, Frames: 50, Out: "out/rings", CheckpointEvery: 50}
}

// RingsParam is the rings experiment's default parameter of a kernel: the
// paper's h = 0.05 for gaussian, r = 1 for riesz, h = 0.1 for the others.
func RingsParam(kernel string) float64 {
	switch kernel {
	case "gaussian":
		return 0.05
	case "riesz":
		return 1
	default:
		return 0.1
	}
}

func (c *RingsConfig) defaults() error {
	d := DefaultRingsConfig()
	orDefault(&c.Steps, d.Steps)
	orDefault(&c.Kernel, d.Kernel)
	orDefault(&c.Param, RingsParam(c.Kernel))
	orDefault(&c.Directions, d.Directions)
	orDefault(&c.Tau, d.Tau)
	orDefault(&c.Points, d.Points)
	orDefault(&c.Frames, d.Frames)
	switch {
	case c.Steps < 0:
		return fmt.Errorf("rings: --steps %d must be positive", c.Steps)
	case c.Directions < 0:
		return fmt.Errorf("rings: --directions %d must be positive", c.Directions)
	case !(c.Tau > 0) || math.IsInf(c.Tau, 0):
		return fmt.Errorf("rings: --tau %v must be positive", c.Tau)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("rings: --momentum %v must be in [0, 1)", c.Momentum)
	case c.Points < 2:
		return fmt.Errorf("rings: --points %d must be at least 2", c.Points)
	case c.Frames < 20:
		return fmt.Errorf("rings: --frames %d must be at least 20", c.Frames)
	case c.Out == "":
		return fmt.Errorf("rings: --out is required")
	}
	_, err := functionals.KernelByName(c.Kernel, c.Param)
	return err
}

// RingsData returns the rings target (3 rings of n points, radius 0.3, centres
// (0,0), (−0.75,0), (−1.5,0), evenly spaced angles) and the source (3 classes of n
// points from N((−0.3, 0), 0.01² I), drawn from seed).
func RingsData(n int, seed uint64) (source, target *graph.Dataset, err error) {
	centres := []float64{0, -0.75, -1.5}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	var src, tgt [][]float64
	for c, cx := range centres {
		ring := make([]float64, 2*n)
		blob := make([]float64, 2*n)
		for i := 0; i < n; i++ {
			a := 2 * math.Pi * (float64(i) + 0.5*float64(c)) / float64(n)
			ring[2*i], ring[2*i+1] = cx+0.3*math.Cos(a), 0.3*math.Sin(a)
			blob[2*i], blob[2*i+1] = -0.3+0.01*r.NormFloat64(), 0.01*r.NormFloat64()
		}
		src, tgt = append(src, blob), append(tgt, ring)
	}
	if source, err = graph.FromClasses(2, src...); err != nil {
		return nil, nil, err
	}
	target, err = graph.FromClasses(2, tgt...)
	return source, target, err
}

func points(ds *graph.Dataset) render.Points {
	p := render.Points{Label: ds.Labels()}
	for i := 0; i < ds.Len(); i++ {
		p.X = append(p.X, [2]float64{ds.Data[2*i], ds.Data[2*i+1]})
	}
	return p
}

// ringsKey is what the rings flow's result depends on.
type ringsKey struct {
	Steps, Directions, Points, Frames int
	Seed                              uint64
	Kernel                            string
	Param, Tau, Momentum              float64
}

// NewRings returns the rings experiment as a plan of one trial, the flow,
// which writes every file of the run (see Rings).
func NewRings(cfg RingsConfig) (*harness.Experiment, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	id, err := harness.ID("flow", "rings", ringsKey{cfg.Steps, cfg.Directions, cfg.Points, cfg.Frames, cfg.Seed, cfg.Kernel, cfg.Param, cfg.Tau, cfg.Momentum})
	if err != nil {
		return nil, err
	}
	e := &harness.Experiment{Store: harness.Store{Dir: cfg.Out}, Version: Version()}
	err = e.Plan.Add(harness.Trial{ID: id, Kind: "flow", Name: "rings", Run: func(ctx context.Context, _ *harness.Runner) (any, error) {
		return ringsFlow(ctx, cfg)
	}})
	return e, err
}

// Rings runs the rings experiment and writes flow.gif, start.png, end.png,
// loss.png, metrics.csv, particles.npy, labels.npy (the flowed dataset) and
// run.json to cfg.Out, with checkpoints in cfg.Out/checkpoint.gob. A run
// already finished with the same configuration is not run again.
func Rings(ctx context.Context, cfg RingsConfig) (RingsResult, error) {
	e, err := NewRings(cfg)
	if err != nil {
		return RingsResult{}, err
	}
	if err := e.Run(ctx, ""); err != nil {
		return RingsResult{}, err
	}
	return harness.Result[RingsResult](e.Store, e.Plan.Trials[0].ID)
}

func ringsFlow(ctx context.Context, cfg RingsConfig) (RingsResult, error) {
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return RingsResult{}, fmt.Errorf("rings: %w", err)
	}
	k, _ := functionals.KernelByName(cfg.Kernel, cfg.Param)
	src, tgt, err := RingsData(cfg.Points, cfg.Seed)
	if err != nil {
		return RingsResult{}, err
	}
	var bar *progressbar.ProgressBar
	if cfg.Progress != nil {
		bar = progressbar.NewOptions(cfg.Steps, progressbar.OptionSetWriter(cfg.Progress),
			progressbar.OptionSetDescription("rings"), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(cfg.Progress) }))
	}
	st := ringsState{Config: cfg}
	st.Config.Progress = nil // not serialisable
	var curve harness.Curve
	every := max(1, cfg.Steps/(cfg.Frames-1))
	var fl *flows.Flow
	frames := flows.RecorderFunc(func(s flows.StepInfo) error {
		if s.Step%every == 0 || s.Step == cfg.Steps {
			st.Frames = append(st.Frames, points(fl.Particles()))
			st.Caps = append(st.Caps, fmt.Sprintf("step %d  loss %.3g", s.Step, s.Loss))
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("rings step %d loss %.3g", s.Step, s.Loss))
			bar.Add(1)
		}
		return nil
	})
	ck := &harness.FlowCheckpoint{Path: filepath.Join(cfg.Out, "checkpoint.gob"), Every: cfg.CheckpointEvery, Curve: &curve, State: &st}
	fcfg := flows.Config{
		Steps: cfg.Steps, Directions: cfg.Directions, Seed: cfg.Seed, Recorder: harness.Recorders{&curve, frames},
		Optimizer: &optim.Momentum{Tau: cfg.Tau, M: cfg.Momentum},
	}
	if cfg.CheckpointEvery > 0 {
		fcfg.Checkpoint = ck.Config()
	}
	fl, err = flows.New(src, functionals.MMD{Target: tgt, Kernel: k}, fcfg)
	if err != nil {
		return RingsResult{}, err
	}
	defer fl.Close()
	st.Frames = append(st.Frames, points(src))
	st.Caps = append(st.Caps, "step 0")
	if cfg.Resume {
		if err := resumeRings(fl, ck, &st, cfg); err != nil {
			return RingsResult{}, err
		}
		if bar != nil {
			bar.Add(fl.StepCount())
		}
	}
	res, err := fl.Run(ctx)
	if err != nil {
		hint := ""
		if res.Status == flows.Canceled && cfg.CheckpointEvery > 0 {
			hint = fmt.Sprintf(" (state saved: continue with --resume --out %s)", cfg.Out)
		}
		return RingsResult{}, fmt.Errorf("rings: flow %s after %d steps: %w%s", res.Status, res.Steps, err, hint)
	}
	if curve.Len() == 0 {
		return RingsResult{}, fmt.Errorf("rings: the checkpoint is already at step %d ≥ --steps %d", res.Steps, cfg.Steps)
	}
	return writeRings(cfg, k, res, tgt, &curve, &st)
}

// writeRings writes the run's pictures, metrics, particles and run.json.
func writeRings(cfg RingsConfig, k functionals.Kernel, res flows.Result, tgt *graph.Dataset, curve *harness.Curve, st *ringsState) (RingsResult, error) {
	out := RingsResult{InitialLoss: curve.Loss[0], FinalLoss: res.Loss, Steps: res.Steps, ElapsedS: res.Elapsed.Seconds()}
	target := points(tgt)
	// Equal scales on both axes so rings look round: the target spans
	// x ∈ [−1.8, 0.3], y ∈ [−0.3, 0.3].
	opt := render.Options{Target: &target, Bounds: &[4]float64{-2.05, 0.55, -1.3, 1.3}}
	file := func(name string) string {
		p := filepath.Join(cfg.Out, name)
		out.Files = append(out.Files, p)
		return p
	}
	opt.Title = "start"
	if err := render.WriteScatter(file("start.png"), st.Frames[0], opt); err != nil {
		return out, err
	}
	opt.Title = fmt.Sprintf("step %d, ½MMD² = %.4g", res.Steps, res.Loss)
	if err := render.WriteScatter(file("end.png"), points(res.X), opt); err != nil {
		return out, err
	}
	opt.Title = fmt.Sprintf("rings, %v", k)
	opt.Captions = st.Caps
	if err := render.WriteAnimation(file("flow.gif"), st.Frames, opt, 80*time.Millisecond); err != nil {
		return out, err
	}
	opt.Captions = nil
	if err := render.WriteLinePlot(file("loss.png"), curve.Steps(), curve.Loss, "½MMD² along the flow", "step", "loss", false); err != nil {
		return out, err
	}
	if err := curve.WriteCSV(file("metrics.csv")); err != nil {
		return out, err
	}
	if err := data.WriteMatrix(file("particles.npy"), data.Matrix{Data: res.X.Data, Rows: res.X.Len(), Cols: res.X.D}); err != nil {
		return out, err
	}
	if err := data.WriteLabels(file("labels.npy"), res.X.Labels()); err != nil {
		return out, err
	}
	manifest := map[string]any{
		"experiment": "rings", "version": Version(), "config": cfg, "kernel": k.String(),
		"seed": cfg.Seed, "result": out, "final_loss": res.Loss,
	}
	if err := harness.WriteJSON(file("run.json"), manifest); err != nil {
		return out, err
	}
	return out, nil
}

// resumeRings restores the flow and the experiment's records from the
// checkpoint, refusing one written with another configuration.
func resumeRings(fl *flows.Flow, ck *harness.FlowCheckpoint, st *ringsState, cfg RingsConfig) error {
	saved := *st
	ck.State = &saved
	at, err := ck.Resume(fl)
	ck.State = st
	if err != nil {
		return fmt.Errorf("rings: --resume: %w", err)
	}
	if at == 0 {
		return fmt.Errorf("rings: --resume: no checkpoint %s", ck.Path)
	}
	a, b := saved.Config, cfg
	a.Steps, b.Steps, a.Resume, b.Resume, a.Progress, b.Progress = 0, 0, false, false, nil, nil
	if a != b {
		return fmt.Errorf("rings: --resume: %s was written with another configuration (%+v)", ck.Path, saved.Config)
	}
	saved.Config = cfg
	saved.Config.Progress = nil
	*st = saved
	return nil
}
