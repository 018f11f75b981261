package experiments

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wowflow/wowflow/data"
)

// tinyDistill is a distillation small enough for a unit test.
func tinyDistill(root, method, space string) DistillConfig {
	return DistillConfig{Dataset: "mnist", IPC: 2, Method: method, Space: space, Steps: 20, Directions: 16, Batch: 8,
		EmbedWidth: 4, EmbedDepth: 2, EvalWidth: 4, EvalDepth: 2, EvalEpochs: 2, Trainings: 1, TestImages: 200,
		Seed: 3, Root: root, CheckpointEvery: 5}
}

// Every method and space runs, writes its files and a table row, and a
// rerun with more trainings keeps the flow and the finished trainings.
func TestDistillShortAndResume(t *testing.T) {
	needImages(t)
	root := t.TempDir()
	for _, c := range []struct{ method, space string }{
		{DistillRandom, SpaceAmbient}, {DistillMMDSW, SpaceAmbient}, {DistillMMDSW, SpaceEmbedded}, {DistillDM, SpaceEmbedded},
	} {
		cfg := tinyDistill(root, c.method, c.space)
		res, err := Distill(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.space, err)
		}
		if len(res.Accuracies) != 1 || !(res.Accuracies[0] >= 0 && res.Accuracies[0] <= 100) {
			t.Errorf("%s %s: accuracies %v", c.method, c.space, res.Accuracies)
		}
		dir := filepath.Join(root, res.Config.Name())
		for _, f := range []string{"synthetic_x.npy", "synthetic_labels.npy", "synthetic.png", "result.json"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
		if c.method == DistillRandom {
			continue
		}
		if res.Steps != cfg.Steps || !(res.FirstLoss > 0) || res.FinalLoss != res.FinalLoss {
			t.Errorf("%s %s: %d steps, loss %v → %v", c.method, c.space, res.Steps, res.FirstLoss, res.FinalLoss)
		}
		if c.method == DistillMMDSW && len(res.Alignment) != 10 {
			t.Errorf("alignment %v", res.Alignment)
		}
		if _, err := os.Stat(filepath.Join(dir, "checkpoint.gob")); !os.IsNotExist(err) {
			t.Errorf("the checkpoint of a finished flow is left behind: %v", err)
		}
		// More trainings: the flow is reused (same particles), one training added.
		before, _ := os.ReadFile(filepath.Join(dir, "synthetic_x.npy"))
		var log bytes.Buffer
		cfg.Trainings, cfg.Progress = 2, &log
		res2, err := Distill(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, "synthetic_x.npy"))
		if len(res2.Accuracies) != 2 || res2.Accuracies[0] != res.Accuracies[0] || !bytes.Equal(before, after) || strings.Contains(log.String(), "measured") {
			t.Errorf("resume: accuracies %v after %v, particles kept %v, log:\n%s", res2.Accuracies, res.Accuracies, bytes.Equal(before, after), log.String())
		}
	}
	table, err := os.ReadFile(filepath.Join(root, "table.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### mnist", "| IPC 2 |", "random real images", "WoW MMDSW flow, ambient", "DM, embedded", "published DC", "paper: WoW MMDSW, A+ψ"} {
		if !strings.Contains(string(table), want) {
			t.Errorf("table.md lacks %q:\n%s", want, table)
		}
	}
}

// A flow canceled mid-way resumes from its checkpoint to the same particles
// as an uninterrupted run; --estimate writes nothing.
func TestDistillCheckpointResume(t *testing.T) {
	needImages(t)
	whole := tinyDistill(t.TempDir(), DistillMMDSW, SpaceAmbient)
	if _, err := Distill(context.Background(), whole); err != nil {
		t.Fatal(err)
	}
	cut := tinyDistill(t.TempDir(), DistillMMDSW, SpaceAmbient)
	ctx, cancel := context.WithCancel(context.Background())
	cut.Progress = cancelOn{"measured", cancel}
	if _, err := Distill(ctx, cut); err == nil {
		t.Fatal("canceled run: no error")
	}
	dir := filepath.Join(cut.Root, cut.Name())
	if _, err := os.Stat(filepath.Join(dir, "checkpoint.gob")); err != nil {
		t.Fatalf("no checkpoint after cancel: %v", err)
	}
	var log bytes.Buffer
	cut.Progress = &log
	if _, err := Distill(context.Background(), cut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "resuming the flow at step 15") {
		t.Errorf("no resume from the checkpoint:\n%s", log.String())
	}
	a, _ := os.ReadFile(filepath.Join(whole.Root, whole.Name(), "synthetic_x.npy"))
	b, _ := os.ReadFile(filepath.Join(dir, "synthetic_x.npy"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("resumed flow differs from the uninterrupted one")
	}

	est := tinyDistill(t.TempDir(), DistillMMDSW, SpaceEmbedded)
	est.EstimateOnly = true
	log.Reset()
	est.Progress = &log
	res, err := Distill(context.Background(), est)
	if err != nil || !(res.StepMs > 0) || !strings.Contains(log.String(), "take about") || !strings.Contains(log.String(), "estimated run time") {
		t.Errorf("estimate: %v, %v ms/step, log:\n%s", err, res.StepMs, log.String())
	}
	// The estimate covers the flow and the trainings.
	if flow := res.StepMs * float64(est.Steps) / 1000; !(res.EstimatedSeconds > flow) {
		t.Errorf("estimated %v s for the run, less than the flow's %v s", res.EstimatedSeconds, flow)
	}
	if _, err := os.Stat(est.Root); err == nil {
		if entries, _ := os.ReadDir(est.Root); len(entries) > 0 {
			t.Errorf("--estimate wrote %d entries in %s", len(entries), est.Root)
		}
	}
}

// cancelOn cancels when a progress line contains a string.
type cancelOn struct {
	s      string
	cancel context.CancelFunc
}

func (c cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.s) {
		c.cancel()
	}
	return len(p), nil
}

func TestDistillBadConfig(t *testing.T) {
	for _, c := range []DistillConfig{
		{Method: "dc"}, {Space: "latent"}, {IPC: -1}, {Steps: -5}, {Tau: math.Inf(1)}, {Momentum: 1}, {EvalLR: -1}, {TestImages: -1},
	} {
		c.Root = t.TempDir()
		if _, err := Distill(context.Background(), c); err == nil || !strings.HasPrefix(err.Error(), "distill: ") {
			t.Errorf("%+v: error %v", c, err)
		}
	}
	c := tinyDistill(t.TempDir(), DistillMMDSW, SpaceAmbient)
	c.Dataset = "cifar"
	if _, err := Distill(context.Background(), c); err == nil || !strings.Contains(err.Error(), "cifar") {
		t.Errorf("unknown dataset: %v", err)
	}
}

// The table pools the sets (seeds) of a cell and compares each method with
// the random initialisation of the same seeds.
func TestDistillTableOverSeeds(t *testing.T) {
	run := func(method string, seed uint64, acc ...float64) DistillResult {
		c := DefaultDistillConfig(method)
		c.Seed, c.IPC = seed, 1
		return DistillResult{Config: c, Steps: 2000, Seconds: 60, Accuracies: acc}
	}
	table := DistillTable([]DistillResult{
		run(DistillRandom, 1, 60, 62), run(DistillRandom, 2, 50, 52),
		run(DistillMMDSW, 1, 64, 66), run(DistillMMDSW, 2, 52, 52),
		run(DistillDM, 3, 70, 70), // no random run of seed 3
	})
	for _, want := range []string{
		"| random real images (the initialisation) | 56.0 ± 5.9 (2 sets) |",
		"58.5 ± 7.5 (2 sets); +2.5 ± 2.1 vs random (same 2 seeds) (2000 steps × 256 real/class, 1m0s)",
		"| DM, ambient | 70.0 ± 0.0 (2000 steps",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if a, b := DefaultDistillConfig(DistillMMDSW), DefaultDistillConfig(DistillMMDSW); a.Name() == func() string { b.Seed = 2; return b.Name() }() {
		t.Errorf("seeds 1 and 2 share the run name %s", a.Name())
	}
}

// A synthetic set whose pixels leave [0, 1] gets a second picture drawn on
// each image's own range, and the run says so; one inside [0, 1] does not
// (and an earlier scaled picture is removed).
func TestDistillScaledPicture(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	r := &distillRun{cfg: DistillConfig{Out: dir, IPC: 1}, log: &log, train: &data.Images{N: 2, D: 4, H: 2, W: 2}}
	scaled := filepath.Join(dir, "synthetic_scaled.png")
	for _, c := range []struct {
		x    []float64
		want bool
		span string
	}{
		{[]float64{-4, 0, 6, 19.5, 0, 0.5, 1, 1}, true, "[-4, 19.5]"},
		{[]float64{0, 0.2, 0.4, 1, 0, 0.5, 1, 1}, false, ""},
	} {
		log.Reset()
		if err := r.saveSynthetic(c.x, []int{0, 1}); err != nil {
			t.Fatal(err)
		}
		_, err := os.Stat(scaled)
		if got := err == nil; got != c.want {
			t.Errorf("values %v: synthetic_scaled.png written %v, want %v", c.x, got, c.want)
		}
		if c.want && !strings.Contains(log.String(), c.span+", outside [0, 1]") {
			t.Errorf("values %v: log %q does not give the range %s", c.x, log.String(), c.span)
		}
		if _, err := os.Stat(filepath.Join(dir, "synthetic.png")); err != nil {
			t.Error(err)
		}
	}
}
