package experiments

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/graph"
)

// blobs returns C classes of n points in d dimensions around distinct centres.
func blobs(r *rand.Rand, C, n, d int, shift float64) *graph.Dataset {
	var classes [][]float64
	for c := 0; c < C; c++ {
		v := make([]float64, n*d)
		for i := range v {
			v[i] = 0.3*r.NormFloat64() + float64(c)*float64(1+i%d%2) + shift
		}
		classes = append(classes, v)
	}
	ds, err := graph.FromClasses(d, classes...)
	if err != nil {
		panic(err)
	}
	return ds
}

// The embedding gives one-point target classes Σ = I, refuses a one-point
// source class, and the labels of the target's own rows are their classes.
func TestEmbedBaseline(t *testing.T) {
	r := rand.New(rand.NewPCG(191, 192))
	src, tgt := blobs(r, 3, 6, 5, 0), blobs(r, 3, 1, 5, 0.5)
	sets, err := embedBaseline(src, tgt)
	if err != nil {
		t.Fatal(err)
	}
	if sets.x.D != 5+graph.GaussCols || sets.y.Len() != 3 {
		t.Fatalf("product rows of %d columns, %d target rows", sets.x.D, sets.y.Len())
	}
	for c, g := range sets.tgt {
		if g.Cov[0] != 1 || g.Cov[1] != 0 || g.Cov[3] != 1 {
			t.Errorf("one-shot target class %d has Σ = %v, want I", c, g.Cov)
		}
	}
	_, labels, err := baselineLabels(sets.y, sets)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range labels {
		if l != i {
			t.Errorf("target row %d labelled %d", i, l)
		}
	}
	if _, err := embedBaseline(blobs(r, 3, 1, 5, 0), tgt); err == nil || !strings.Contains(err.Error(), "class 0 has one point") {
		t.Errorf("one-point source class: error %v", err)
	}
}

// A few steps of each baseline flow stay finite, keep every Σ SPD, and
// lower the objective (OTDD: 200 AdamW steps; Hua: 30 steps without noise
// would be deterministic, with the authors' noise the loss still falls).
func TestBaselineFlowsRun(t *testing.T) {
	r := rand.New(rand.NewPCG(193, 194))
	src, tgt := blobs(r, 3, 8, 4, 0), blobs(r, 3, 2, 4, 1.5)
	sets, err := embedBaseline(src, tgt)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method string
		steps  int
	}{{BaselineOTDD, 200}, {BaselineHua, 30}} {
		t.Run(c.method, func(t *testing.T) {
			var first, last float64
			rec := flows.RecorderFunc(func(s flows.StepInfo) error {
				if s.Step == 1 {
					first = s.Loss
				}
				last = s.Loss
				return nil
			})
			fl, _, err := baselineFlow(c.method, sets, flows.Config{Steps: c.steps, Seed: 3, Recorder: rec})
			if err != nil {
				t.Fatal(err)
			}
			defer fl.Close()
			res, err := fl.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !(last < first) || math.IsNaN(res.Loss) {
				t.Errorf("loss %v → %v (final %v), want a decrease", first, last, res.Loss)
			}
			if _, _, err := baselineLabels(res.X, sets); err != nil {
				t.Errorf("labels after the flow: %v", err)
			}
		})
	}
	if _, _, err := baselineFlow("nope", sets, flows.Config{Steps: 1}); err == nil {
		t.Error("unknown baseline accepted")
	}
}
