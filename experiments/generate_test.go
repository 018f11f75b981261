package experiments

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// A tiny generative run writes its pictures and scores, and a rerun
// computes nothing.
func TestGenerateShort(t *testing.T) {
	needImages(t)
	dir := t.TempDir()
	cfg := GenerateConfig{PerClass: 5, Steps: 12, Directions: 8, Batch: 6, Frames: 3, ClassifierPerClass: 10, Epochs: 1, Momentum: 0.9, Out: dir, Seed: 2}
	res, err := Generate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 12 || math.IsNaN(res.FinalLoss) || math.IsInf(res.FinalLoss, 0) || len(res.Alignment) != 10 || !(res.Accuracy >= 0 && res.Accuracy <= 100) ||
		!(res.NearestTrainL2 > 0) || !(res.TestNearestTrainL2 > 0) {
		t.Errorf("result %+v", res)
	}
	for _, f := range []string{"flow.gif", "grid_step0.png", "grid_step6.png", "grid_step12.png", "loss.png", "loss.csv", "generated_x.npy", "result.json", "classifier.model"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	before, _ := os.Stat(filepath.Join(dir, "generated_x.npy"))
	again, err := Generate(context.Background(), cfg)
	after, _ := os.Stat(filepath.Join(dir, "generated_x.npy"))
	if err != nil || again.FinalLoss != res.FinalLoss || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("rerun: %v, loss %v vs %v, rewritten %v", err, again.FinalLoss, res.FinalLoss, !after.ModTime().Equal(before.ModTime()))
	}
	if _, err := Generate(context.Background(), GenerateConfig{Out: dir, Momentum: 1}); err == nil {
		t.Error("momentum 1: no error")
	}
}

func TestMeanNearest(t *testing.T) {
	// a: (0,0) and (3,4); b: (0,1), (3,3), (10,10): nearest 1 and 1.
	got := meanNearest([]float64{0, 0, 3, 4}, []float64{0, 1, 3, 3, 10, 10}, 2)
	if math.Abs(got-1) > 1e-12 {
		t.Errorf("mean nearest %v, want 1", got)
	}
}
