package experiments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/models"
)

func needImages(t *testing.T) {
	t.Helper()
	for _, ds := range []string{"mnist", "fmnist"} {
		if _, _, err := data.Locate(ds, "test"); errors.Is(err, data.ErrNotInstalled) {
			t.Skipf("%s is not installed (scripts/deps.sh installs it): %v", ds, err)
		}
	}
}

// A tiny transfer run: every arm is trained, results.json and table.md are
// written, and rerunning resumes without redoing finished trials.
func TestTransferShortAndResume(t *testing.T) {
	needImages(t)
	dir := t.TempDir()
	cfg := TransferConfig{Shots: []int{2}, SourcePerClass: 6, Steps: 30, Directions: 32, Flows: 1, Trainings: 1,
		Epochs: 1, TestImages: 200, Out: dir, Seed: 2, MixedWeight: 0.1}
	res, err := Transfer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Flows) != 1 || len(res.Trials) != len(TransferArms) {
		t.Fatalf("%d flows and %d trials, want 1 and %d (every arm, the mixed one included)", len(res.Flows), len(res.Trials), len(TransferArms))
	}
	for _, tr := range res.Trials {
		want := 20 // 2 shots × 10 classes
		if tr.Arm != ArmShots {
			want += 60 // + 6 flowed (or repeated) images × 10 classes
		}
		if tr.Images != want || !(tr.Accuracy >= 0 && tr.Accuracy <= 100) {
			t.Errorf("%s: %d images, accuracy %v", tr.Arm, tr.Images, tr.Accuracy)
		}
	}
	if f := res.Flows[0]; !(f.FinalLoss < f.FirstLoss) || len(f.Alignment) != 10 {
		t.Errorf("flow: loss %v → %v, alignment %v", f.FirstLoss, f.FinalLoss, f.Alignment)
	}
	table, err := os.ReadFile(filepath.Join(dir, "table.md"))
	if err != nil || !strings.Contains(string(table), "| 2 |") || !strings.Contains(string(table), "k repeated") {
		t.Errorf("table.md: %v\n%s", err, table)
	}
	for _, f := range []string{"k2_flow0_x.npy", "k2_flow0_labels.npy", "k2_flow0_grid.png", "k2_flow0_loss.png", "results.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	// The k shots are saved beside the flowed images: 2 per class, each an
	// image of the target's training set.
	shots, err := LoadLabeled(filepath.Join(dir, "k2_flow0_shots_x.npy"), filepath.Join(dir, "k2_flow0_shots_labels.npy"))
	if err != nil {
		t.Fatal(err)
	}
	fm, err := data.Load("fmnist", "train")
	if err != nil {
		t.Fatal(err)
	}
	train := map[string]int{}
	for i := 0; i < fm.N; i++ {
		train[fmt.Sprint(fm.X[i*fm.D:(i+1)*fm.D])] = fm.Labels[i]
	}
	for c := 0; c < shots.NumClasses(); c++ {
		x := shots.Class(c)
		if len(x) != 2*fm.D {
			t.Errorf("class %d: %d shots", c, len(x)/fm.D)
		}
		for j := 0; j < len(x)/fm.D; j++ {
			if l, ok := train[fmt.Sprint(x[j*fm.D:(j+1)*fm.D])]; !ok || l != c {
				t.Errorf("shot %d of class %d is not a training image of that class (found %v, label %d)", j, c, ok, l)
			}
		}
	}
	again, err := Transfer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Trials) != len(res.Trials) || again.Trials[0] != res.Trials[0] {
		t.Errorf("resume redid trials: %d → %d", len(res.Trials), len(again.Trials))
	}
	// A run directory from before trial records (results.json, the flow's
	// files, no trials/) resumes: its trainings are imported, none is redone.
	if err := os.RemoveAll(filepath.Join(dir, "trials")); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	old := cfg
	old.Progress = &log
	imported, err := Transfer(context.Background(), old)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "trial train-") || len(imported.Trials) != len(res.Trials) || imported.Trials[3] != res.Trials[3] {
		t.Errorf("an old-layout run was not resumed as it was:\n%s", log.String())
	}
	// Another protocol in the same directory is refused, not mixed in.
	other := cfg
	other.Momentum = 0.5
	if _, err := Transfer(context.Background(), other); err == nil || !strings.Contains(err.Error(), "another protocol") {
		t.Errorf("resume with another momentum: %v", err)
	}
}

func TestAdaptShortAndResume(t *testing.T) {
	needImages(t)
	dir := t.TempDir()
	cfg := AdaptConfig{PerClass: 6, Steps: 40, Every: 20, Epochs: 1, Directions: 32, Out: dir, Seed: 3}
	pts, err := Adapt(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 || pts[0].Step != 0 || pts[2].Step != 40 {
		t.Fatalf("points %+v", pts)
	}
	cfg.Steps, cfg.Resume = 60, true
	pts, err = Adapt(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 4 || pts[3].Step != 60 {
		t.Fatalf("resumed points %+v", pts)
	}
	// Rerunning without --resume continues too (as every experiment does),
	// and --resume in a fresh directory starts at step 0 rather than failing.
	var log strings.Builder
	cfg.Steps, cfg.Resume, cfg.Progress = 80, false, &log
	if pts, err = Adapt(context.Background(), cfg); err != nil || len(pts) != 5 || pts[4].Step != 80 {
		t.Fatalf("rerun to 80 steps: points %+v, error %v", pts, err)
	}
	if !strings.Contains(log.String(), "resuming at step 60") {
		t.Errorf("the rerun did not continue from step 60: %s", log.String())
	}
	cfg.Progress = nil
	fresh := cfg
	fresh.Out, fresh.Steps, fresh.Resume = t.TempDir(), 20, true
	if pts, err := Adapt(context.Background(), fresh); err != nil || len(pts) != 2 {
		t.Fatalf("--resume in a fresh directory: points %+v, error %v", pts, err)
	}
	for _, f := range []string{"accuracy.csv", "accuracy.png", "classifier.model", "grid_step0.png", "checkpoint.gob"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestTransferAndAdaptRejectBadConfig(t *testing.T) {
	for name, cfg := range map[string]TransferConfig{
		"no out":    {},
		"shots":     {Out: "x", Shots: []int{0}},
		"tau":       {Out: "x", Tau: -1},
		"momentum":  {Out: "x", Momentum: 1},
		"mixed λ":   {Out: "x", Arms: []string{ArmMixed}},
		"arm":       {Out: "x", Arms: []string{"k+magic"}},
		"no shots":  {Out: "x", Shots: []int{}},
		"quantiles": {Out: "x", Quantiles: -1},
	} {
		if _, err := Transfer(context.Background(), cfg); err == nil {
			t.Errorf("transfer %s: no error", name)
		}
	}
	for name, cfg := range map[string]AdaptConfig{"no out": {}, "every": {Out: "x", Every: -1}, "tau": {Out: "x", Tau: -2}, "momentum": {Out: "x", Momentum: -0.1}} {
		if _, err := Adapt(context.Background(), cfg); err == nil {
			t.Errorf("adapt %s: no error", name)
		}
	}
}

// The classifiers of package models plug into the classifier-loss functional.
var (
	_ functionals.Classifier      = (*models.Net)(nil)
	_ functionals.PlainClassifier = (*models.Net)(nil)
)

// A transfer flow canceled mid-way (as by Ctrl-C) resumes from its checkpoint
// and ends with the same flowed images as an uninterrupted flow.
func TestTransferFlowResumesMidFlow(t *testing.T) {
	needImages(t)
	cfg := func(dir string) TransferConfig {
		return TransferConfig{Shots: []int{1}, SourcePerClass: 4, Steps: 1500, Directions: 8, Flows: 1, Trainings: 1,
			Epochs: 1, TestImages: 100, Out: dir, Seed: 5, CheckpointEvery: 10}
	}
	ref := t.TempDir()
	if _, err := Transfer(context.Background(), cfg(ref)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(dir, "k1_flow0.ckpt")); err == nil {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	if _, err := Transfer(ctx, cfg(dir)); err == nil {
		t.Skip("the flow finished before it was canceled")
	}
	if _, err := os.Stat(filepath.Join(dir, "k1_flow0.ckpt")); err != nil {
		t.Fatalf("no checkpoint after cancellation: %v", err)
	}
	if _, err := Transfer(context.Background(), cfg(dir)); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(ref, "k1_flow0_x.npy"))
	b, _ := os.ReadFile(filepath.Join(dir, "k1_flow0_x.npy"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("resumed flow differs from the uninterrupted one")
	}
}

// Merging a full run, a percentile-estimator run and a mixed run: the
// estimator's k+flowed trials become k+percentile, duplicates are kept once,
// the best variant is named with its difference from the control, and runs
// of another protocol are refused.
func TestMergeTransfer(t *testing.T) {
	base := TransferConfig{Source: "mnist", Target: "fmnist", SourcePerClass: 200, Shots: []int{1}, Tau: 1, Momentum: 0.9, Directions: 500, Epochs: 50, Seed: 1}
	trial := func(arm string, flow, tr int, acc float64) TransferTrial {
		return TransferTrial{K: 1, Flow: flow, Training: tr, Arm: arm, Accuracy: acc}
	}
	full := &TransferResults{Config: base, Trials: []TransferTrial{trial(ArmRepeat, 0, 0, 40), trial(ArmRepeat, 1, 0, 42), trial(ArmFlow, 0, 0, 41),
		trial(ArmFlow, 1, 0, 43), trial(ArmEarly, 0, 0, 30)}}
	qc := base
	qc.Quantiles = 100
	q := &TransferResults{Config: qc, Trials: []TransferTrial{trial(ArmFlow, 0, 0, 45), trial(ArmFlow, 1, 0, 47), trial(ArmShots, 0, 0, 20)}}
	mc := base
	mc.MixedWeight = 0.1
	mixed := &TransferResults{Config: mc, Trials: []TransferTrial{trial(ArmMixed, 0, 0, 39), trial(ArmRepeat, 0, 0, 99)}}
	m, err := MergeTransfer(full, q, mixed)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Trials) != 8 {
		t.Fatalf("%d merged trials, want 8: %+v", len(m.Trials), m.Trials)
	}
	table := TransferTable(m)
	for _, want := range []string{"| 2 × 1 |", "| 46.0 ± 1.4 |", "k+percentile 46.0 (+5.0)", "| 41.0 ± 1.4 |"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	other := base
	other.Epochs = 10
	if _, err := MergeTransfer(full, &TransferResults{Config: other}); err == nil {
		t.Error("merged runs of different protocols")
	}
}
