package experiments

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/wowflow/wowflow/experiments/harness"
	"github.com/wowflow/wowflow/experiments/render"
	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/models"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/tensor"
)

// adaptState is what a flow's checkpoint holds besides the flow: the
// configuration (a resume with another one is refused) and the curve.
type adaptState struct {
	Config AdaptConfig
	Points []AdaptPoint
}

// flow is flow f: it flows the source onto the target and every Every
// steps relabels the flowed classes by WoW alignment and records the
// classifier's accuracy on the flowed images, continuing from its
// checkpoint.gob if there is one.
func (r *adaptRun) flow(ctx context.Context, f int) ([]AdaptPoint, error) {
	cfg, dir := r.cfg, r.dir(f)
	if err := r.load(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("adapt: %w", err)
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
	st := adaptState{Config: cfg}
	st.Config.Progress = nil
	ck := &harness.FlowCheckpoint{Path: filepath.Join(dir, "checkpoint.gob"), Every: cfg.Every, State: &st}
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
		pt := AdaptPoint{Step: step, Accuracy: 100 * float64(correct) / float64(len(pred)), Loss: loss, Seconds: ck.Seconds()}
		st.Points = append(st.Points, pt)
		r.logf("flow %d step %d: accuracy %.1f%% (alignment %v), loss %.4g, %.0fs", f, step, pt.Accuracy, w.Alignment, loss, pt.Seconds)
		if step == 0 || step%(cfg.Every*5) == 0 || step == cfg.Steps {
			return render.WriteImageGrid(filepath.Join(dir, fmt.Sprintf("grid_step%d.png", step)), ds.Data, ds.Labels(), r.src.H, r.src.W, render.GridOptions{})
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
	fl, err = flows.New(x, functionals.MMD{Target: q}, flows.Config{Steps: cfg.Steps, Directions: cfg.Directions, Seed: r.flowSeed(f),
		Dtype: tensor.Float32, Recorder: rec, Optimizer: &optim.Momentum{Tau: cfg.Tau, M: cfg.Momentum}, Checkpoint: ck.Config()})
	if err != nil {
		return nil, err
	}
	defer fl.Close()
	resumed, err := r.resume(fl, ck, &st)
	if err != nil {
		return nil, err
	}
	if !resumed {
		if err := evaluate(0, math.NaN(), x); err != nil {
			return nil, err
		}
	}
	if _, err := fl.Run(ctx); err != nil {
		return nil, fmt.Errorf("adapt: flow %d: %w (rerun the same command to continue)", f, err)
	}
	return st.Points, nil
}

// resume restores the flow and the curve from its checkpoint if there is
// one (as every experiment's flows do: rerunning a command continues it),
// refusing one of another configuration, and reports whether it did.
func (r *adaptRun) resume(fl *flows.Flow, ck *harness.FlowCheckpoint, st *adaptState) (bool, error) {
	at, err := ck.Resume(fl)
	if err != nil {
		return false, fmt.Errorf("adapt: %w", err)
	}
	if at == 0 {
		if r.cfg.Resume {
			r.logf("no checkpoint %s: starting at step 0", ck.Path)
		}
		return false, nil
	}
	if !sameAdaptRun(st.Config, r.cfg) {
		return false, fmt.Errorf("adapt: %s was written with another configuration (%+v); remove it or use another --out", ck.Path, st.Config)
	}
	r.logf("resuming at step %d from %s", at, ck.Path)
	return true, nil
}

// curve is the mean accuracy curve over the finished flows: per evaluation
// step the mean and standard deviation of the accuracy, each flow's, and
// the mean loss and the largest elapsed time.
func (r *adaptRun) curve(store harness.Store) ([]AdaptPoint, error) {
	var runs [][]AdaptPoint
	for _, id := range r.flowIDs {
		pts, err := harness.Result[[]AdaptPoint](store, id)
		if err != nil {
			return nil, err
		}
		runs = append(runs, pts)
	}
	out := append([]AdaptPoint(nil), runs[0]...)
	for i := range out {
		var acc []float64
		loss := 0.0
		for _, pts := range runs {
			if i >= len(pts) || pts[i].Step != out[i].Step {
				return nil, fmt.Errorf("adapt: the flows were evaluated at other steps")
			}
			acc = append(acc, pts[i].Accuracy)
			loss += pts[i].Loss / float64(len(runs))
			out[i].Seconds = math.Max(out[i].Seconds, pts[i].Seconds)
		}
		out[i].Accuracy, out[i].Std = harness.MeanStd(acc)
		out[i].Loss, out[i].PerFlow = loss, acc
	}
	return out, nil
}

// tabulate writes accuracy.csv, accuracy.png and run.json from the flows.
func (r *adaptRun) tabulate(store harness.Store) ([]AdaptPoint, error) {
	pts, err := r.curve(store)
	if err != nil {
		return nil, err
	}
	return pts, writeAdapt(r.cfg, pts)
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

// writeAdapt writes run.json, accuracy.csv (step, mean accuracy, its std
// over flows, mean loss, elapsed, then each flow's accuracy) and
// accuracy.png (the mean and each flow beside the paper's curve).
func writeAdapt(cfg AdaptConfig, pts []AdaptPoint) error {
	run := adaptRunFile{Experiment: "adapt", Version: Version(), Config: cfg, Points: pts}
	if err := harness.WriteJSON(filepath.Join(cfg.Out, "run.json"), run); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
	header := []string{"step", "accuracy", "accuracy_std", "loss", "elapsed_s"}
	for k := 0; k < cfg.Flows; k++ {
		header = append(header, fmt.Sprintf("accuracy_flow%d", k))
	}
	rows := make([][]string, len(pts))
	xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
	perFlow := make([]render.Series, cfg.Flows)
	for i, p := range pts {
		rows[i] = []string{strconv.Itoa(p.Step), f(p.Accuracy), f(p.Std), f(p.Loss), f(p.Seconds)}
		for k, a := range p.PerFlow {
			rows[i] = append(rows[i], f(a))
			perFlow[k].X, perFlow[k].Y = append(perFlow[k].X, float64(p.Step)), append(perFlow[k].Y, a)
		}
		xs[i], ys[i] = float64(p.Step), p.Accuracy
	}
	if err := harness.WriteCSV(filepath.Join(cfg.Out, "accuracy.csv"), header, rows); err != nil {
		return err
	}
	var px, py []float64
	for _, p := range paperFig3[cfg.Source] {
		if p[0] <= float64(max(cfg.Steps, 1)) {
			px, py = append(px, p[0]), append(py, p[1])
		}
	}
	series := []render.Series{{Name: fmt.Sprintf("wowflow, mean of %d flows", cfg.Flows), X: xs, Y: ys}}
	if cfg.Flows > 1 {
		for k := range perFlow {
			perFlow[k].Name = fmt.Sprintf("flow %d", k)
			series = append(series, perFlow[k])
		}
	}
	if len(px) > 0 {
		series = append(series, render.Series{Name: "paper (mean of 3 flows)", X: px, Y: py})
	}
	return render.WriteLinesPlot(filepath.Join(cfg.Out, "accuracy.png"), fmt.Sprintf("accuracy of the %s classifier on flowed %s", cfg.Target, cfg.Source),
		"step", "accuracy %", series...)
}
