package optim_test

import (
	"math"
	"testing"

	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// run minimises f(x) = ½ Σ c_j x_j² from x = (1, 1) for steps steps.
func run(t *testing.T, o optim.Optimizer, dt tensor.Dtype, steps int) []float64 {
	t.Helper()
	c := []float64{1, 4}
	x := tensor.New(tensor.Of(dt), tensor.WithShape(2))
	g := tensor.New(tensor.Of(dt), tensor.WithShape(2))
	set := func(tt *tensor.Dense, v []float64) {
		for i, e := range v {
			if dt == tensor.Float32 {
				tt.Data().([]float32)[i] = float32(e)
			} else {
				tt.Data().([]float64)[i] = e
			}
		}
	}
	get := func(tt *tensor.Dense) []float64 {
		out := make([]float64, 2)
		for i := range out {
			if dt == tensor.Float32 {
				out[i] = float64(tt.Data().([]float32)[i])
			} else {
				out[i] = tt.Data().([]float64)[i]
			}
		}
		return out
	}
	set(x, []float64{1, 1})
	for s := 0; s < steps; s++ {
		xv := get(x)
		set(g, []float64{c[0] * xv[0], c[1] * xv[1]})
		if err := o.Step([]gorgonia.ValueGrad{optim.Param{Val: x, Gradient: g, Label: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	return get(x)
}

func TestOptimizersAgainstHandComputedSteps(t *testing.T) {
	// Two steps on ½(x² + 4y²) from (1,1), computed by hand.
	// Euler τ=0.1: x: 1 → 0.9 → 0.81; y: 1 → 0.6 → 0.36.
	// Heavy ball τ=0.1, m=0.5: v1 = g1 = (1,4), x1 = (0.9, 0.6);
	//   g2 = (0.9, 2.4), v2 = g2 + 0.5 v1 = (1.4, 4.4), x2 = (0.76, 0.16).
	// Adam τ=0.1: the first bias-corrected step is τ·sign(g) = 0.1 per coordinate.
	for _, tc := range []struct {
		name  string
		o     func() optim.Optimizer
		steps int
		want  []float64
	}{
		{"euler", func() optim.Optimizer { return &optim.Euler{Tau: 0.1} }, 2, []float64{0.81, 0.36}},
		{"momentum", func() optim.Optimizer { return &optim.Momentum{Tau: 0.1, M: 0.5} }, 2, []float64{0.76, 0.16}},
		{"adam", func() optim.Optimizer { return optim.NewAdam(0.1) }, 1, []float64{0.9, 0.9}},
		// β1 = 0 is used as given (no first moment): the second step is
		// τ·g₂/sqrt(ŝ₂), ŝ₂ = (0.999·0.001·g₁² + 0.001·g₂²)/(1 − 0.999²),
		// g = (1, 4) then (0.9, 3.6): 0.9 − 0.094608… in both coordinates.
		{"adam β1=0", func() optim.Optimizer { o := optim.NewAdam(0.1); o.Beta1 = 0; return o }, 2, []float64{0.8053916182, 0.8053916168}},
		// AdamW λ=0.5: x ← (1 − 0.05)·1 = 0.95, then the Adam step −0.1.
		{"adamw", func() optim.Optimizer { o := optim.NewAdam(0.1); o.WeightDecay = 0.5; return o }, 1, []float64{0.85, 0.85}},
		{"gorgonia-vanilla", func() optim.Optimizer { return gorgonia.NewVanillaSolver(gorgonia.WithLearnRate(0.1)) }, 2, []float64{0.81, 0.36}},
	} {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			t.Run(tc.name+"/"+dt.String(), func(t *testing.T) {
				got := run(t, tc.o(), dt, tc.steps)
				for i := range got {
					if math.Abs(got[i]-tc.want[i]) > 1e-6 {
						t.Errorf("x[%d] = %v, want %v", i, got[i], tc.want[i])
					}
				}
			})
		}
	}
}

func TestOptimizersConverge(t *testing.T) {
	for name, o := range map[string]optim.Optimizer{
		"euler":            &optim.Euler{Tau: 0.2},
		"momentum":         &optim.Momentum{Tau: 0.05, M: 0.9},
		"nesterov":         &optim.Momentum{Tau: 0.05, M: 0.9, Nesterov: true},
		"adam":             optim.NewAdam(0.05),
		"gorgonia-adam":    gorgonia.NewAdamSolver(gorgonia.WithLearnRate(0.05)),
		"gorgonia-mom":     gorgonia.NewMomentum(gorgonia.WithLearnRate(0.05)),
		"gorgonia-rmsprop": gorgonia.NewRMSPropSolver(gorgonia.WithLearnRate(0.01)),
	} {
		x := run(t, o, tensor.Float64, 400)
		if n := math.Hypot(x[0], x[1]); n > 0.05 {
			t.Errorf("%s: |x| = %v after 400 steps on a quadratic", name, n)
		}
	}
}

func TestOptimizersRejectBadSettings(t *testing.T) {
	for name, o := range map[string]optim.Optimizer{
		"euler τ=0":    &optim.Euler{},
		"momentum m=1": &optim.Momentum{Tau: 0.1, M: 1},
		"adam τ<0":     optim.NewAdam(-1),
		"adam β2=0":    &optim.Adam{Tau: 0.1, Beta1: 0.9}, // zero is not read as a default
		"adam β1=1":    &optim.Adam{Tau: 0.1, Beta1: 1, Beta2: 0.999, Eps: 1e-8},
		"adam λ<0":     &optim.Adam{Tau: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: -1},
	} {
		x := tensor.New(tensor.WithBacking([]float64{1}))
		if err := o.Step([]gorgonia.ValueGrad{optim.Param{Val: x, Gradient: x}}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	x := tensor.New(tensor.WithBacking([]float64{1}))
	if err := (&optim.Euler{Tau: 1}).Step([]gorgonia.ValueGrad{optim.Param{Val: x, Label: "x"}}); err == nil {
		t.Error("missing gradient: no error")
	}
}
