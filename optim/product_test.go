package optim

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func dense(v []float64, r, c int) *tensor.Dense {
	return tensor.New(tensor.WithShape(r, c), tensor.WithBacking(v))
}

// Hua et al.'s step: the Euclidean columns move by the inner optimizer,
// Σ by the exponential map (I + S) Σ (I + S), S = −2τ sym(G_Σ).
func TestProductSpaceBW(t *testing.T) {
	x := []float64{1, 2, 2, 0.5, 0.5, 1}
	g := []float64{0.1, -0.2, 0.3, 0.1, 0.3, -0.2}
	o := &ProductSpace{Inner: &Euler{Tau: 0.5}, Cols: 6, BWStep: 0.5}
	if err := o.Step([]gorgonia.ValueGrad{Param{Val: dense(x, 1, 6), Gradient: dense(g, 1, 6)}}); err != nil {
		t.Fatal(err)
	}
	if x[0] != 1-0.05 || x[1] != 2+0.1 {
		t.Errorf("Euclidean part %v, want [0.95 2.1]", x[:2])
	}
	// S = −2·0.5·[[0.3, 0.2], [0.2, −0.2]] = [[−0.3, −0.2], [−0.2, 0.2]]; I+S = [[0.7, −0.2], [−0.2, 1.2]].
	a := [4]float64{0.7, -0.2, -0.2, 1.2}
	want := mul2(mul2(a, [4]float64{2, 0.5, 0.5, 1}), a)
	for i := range want {
		if math.Abs(x[2+i]-want[i]) > 1e-12 {
			t.Fatalf("Σ = %v, want %v", x[2:], want)
		}
	}
	// A step that makes I + S singular leaves the cone: an error.
	x2 := []float64{0, 0, 1, 0, 0, 1}
	g2 := []float64{0, 0, 1, 0, 0, 0} // S11 = −2·0.5·1 = −1
	if err := o.Step([]gorgonia.ValueGrad{Param{Val: dense(x2, 1, 6), Gradient: dense(g2, 1, 6)}}); err == nil {
		t.Error("singular exponential map accepted")
	}
}

// The OTDD step: Inner moves every column, then Σ is projected to SPD.
func TestProductSpaceProject(t *testing.T) {
	x := []float64{0, 1, 1, 1, 1} // Σ = [[1, 1], [1, 1]] − step → indefinite
	g := []float64{0, 0, 0, 0, 2}
	o := &ProductSpace{Inner: &Euler{Tau: 0.5}, Cols: 5, MinEig: 1e-3}
	if err := o.Step([]gorgonia.ValueGrad{Param{Val: dense(x, 1, 5), Gradient: dense(g, 1, 5)}}); err != nil {
		t.Fatal(err)
	}
	s := x[1:]
	det := s[0]*s[3] - s[1]*s[2]
	tr := s[0] + s[3]
	lmin := tr/2 - math.Sqrt(tr*tr/4-det)
	if s[1] != s[2] || math.Abs(lmin-1e-3) > 1e-9 || o.Projected != 1 {
		t.Errorf("projected Σ %v (smallest eigenvalue %v, projected %d), want symmetric with eigenvalue 1e-3", s, lmin, o.Projected)
	}
	// An SPD Σ is left as it is.
	x = []float64{0, 2, 0.1, 0.1, 1}
	if projectSPD2(x[1:], 1e-6) || x[1] != 2 || x[2] != 0.1 {
		t.Errorf("SPD Σ changed: %v", x[1:])
	}
}
