package experiments

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The exact OTDD against the independent known answers of
// scripts/otdd_known_answer.py (POT's ot.emd2 and scipy's sqrtm), in the
// given features and with a 2-D PCA of the label Gaussians.
func TestDistanceOTDDKnownAnswer(t *testing.T) {
	const dir = "testdata/otdd"
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Value      float64     `json:"value"`
		LabelCost  [][]float64 `json:"label_cost"`
		Value2     float64     `json:"value_label_dims_2"`
		LabelCost2 [][]float64 `json:"label_cost_label_dims_2"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dims  int
		value float64
		cost  [][]float64
	}{{0, want.Value, want.LabelCost}, {2, want.Value2, want.LabelCost2}} {
		cfg := DefaultDistanceConfig()
		cfg.Metric, cfg.LabelDims = "otdd", c.dims
		cfg.X, cfg.XLabels = filepath.Join(dir, "x.npy"), filepath.Join(dir, "x_labels.npy")
		cfg.Y, cfg.YLabels = filepath.Join(dir, "y.npy"), filepath.Join(dir, "y_labels.npy")
		res, err := Distance(cfg)
		if err != nil {
			t.Fatal(err)
		}
		// 1e-9 relative: both are exact LPs and eigendecompositions in float64.
		if math.Abs(res.Value-c.value) > 1e-9*c.value {
			t.Errorf("label dims %d: OTDD %v, POT %v", c.dims, res.Value, c.value)
		}
		for a := range c.cost {
			for k := range c.cost[a] {
				if math.Abs(res.Cost[a][k]-c.cost[a][k]) > 1e-9*(1+c.cost[a][k]) {
					t.Errorf("label dims %d: label cost [%d][%d] = %v, scipy %v", c.dims, a, k, res.Cost[a][k], c.cost[a][k])
				}
			}
		}
		mass := 0.0
		for _, row := range res.Coupling {
			for _, v := range row {
				mass += v
			}
		}
		if math.Abs(mass-1) > 1e-12 {
			t.Errorf("class coupling has mass %v", mass)
		}
	}
	cfg := DefaultDistanceConfig()
	cfg.Metric, cfg.LabelDims = "otdd", -1
	cfg.X, cfg.XLabels = filepath.Join(dir, "x.npy"), filepath.Join(dir, "x_labels.npy")
	cfg.Y, cfg.YLabels = cfg.X, cfg.XLabels
	if _, err := Distance(cfg); err == nil {
		t.Error("--label-dims -1 accepted")
	}
	// A dataset against itself: OTDD 0.
	cfg.LabelDims = 0
	res, err := Distance(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Value > 1e-9 {
		t.Errorf("OTDD(X, X) = %v, want 0", res.Value)
	}
}
