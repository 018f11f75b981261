package optim

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ProductSpace moves particles of R^p × SPD(2), rows [z, Σ11, Σ12, Σ21,
// Σ22] of Cols columns (the baselines' [x, μ, Σ]), as the WoW paper's
// authors move them:
//
//   - BWStep > 0 (Hua et al.): Inner moves the first Cols − 4 columns and
//     Σ moves by the Bures–Wasserstein exponential map,
//     Σ ← (I + S) Σ (I + S), S = −2·BWStep·sym(G_Σ), sym(G) = (G + Gᵀ)/2
//     (the authors' exp_bw; their gradient is symmetrised here so that Σ
//     stays symmetric; no momentum on Σ, as in their code);
//   - BWStep = 0 (the OTDD flow): Inner moves every column, Σ included as
//     four free coordinates (the authors' AdamW), then each Σ is
//     symmetrised and its eigenvalues clipped to at least MinEig — a
//     documented regularisation that keeps it in the cone (the authors'
//     code has none; a Σ leaving it gives NaN there).
//
// A step whose exponential map leaves the cone (I + S singular) is an error
// naming the row. Inner's state is the ProductSpace's (Stateful).
type ProductSpace struct {
	Inner  Optimizer
	Cols   int
	BWStep float64
	MinEig float64 // 0: 1e-6
	// Projected counts the covariances that the clipping changed.
	Projected int
	z, gz     *tensor.Dense
}

var (
	_ Optimizer = (*ProductSpace)(nil)
	_ Stateful  = (*ProductSpace)(nil)
)

// Step implements Optimizer.
func (o *ProductSpace) Step(params []gorgonia.ValueGrad) error {
	if o.Inner == nil || o.Cols < 5 || !(o.BWStep >= 0) || o.MinEig < 0 {
		return fmt.Errorf("optim: product space needs an inner optimizer, ≥ 5 columns (got %d), BWStep ≥ 0 (got %v) and MinEig ≥ 0: %w", o.Cols, o.BWStep, ErrParam)
	}
	if len(params) != 1 {
		return fmt.Errorf("optim: product space moves one particle matrix, got %d parameters: %w", len(params), ErrParam)
	}
	p := params[0]
	gv, err := p.Grad()
	if err != nil {
		return err
	}
	xt, ok1 := p.Value().(*tensor.Dense)
	gt, ok2 := gv.(*tensor.Dense)
	if !ok1 || !ok2 || xt.Dtype() != tensor.Float64 || gt.Dtype() != tensor.Float64 {
		return fmt.Errorf("optim: product space takes float64 dense tensors: %w", ErrParam)
	}
	x, g := xt.Data().([]float64), gt.Data().([]float64)
	D := o.Cols
	if len(x)%D != 0 || len(g) != len(x) {
		return fmt.Errorf("optim: product space of %d columns on %d values: %w", D, len(x), ErrParam)
	}
	n := len(x) / D
	if o.BWStep == 0 {
		if err := o.Inner.Step(params); err != nil {
			return err
		}
		minEig := o.MinEig
		if minEig == 0 {
			minEig = 1e-6
		}
		for i := 0; i < n; i++ {
			if projectSPD2(x[i*D+D-4:(i+1)*D], minEig) {
				o.Projected++
			}
		}
		return nil
	}
	// Euclidean part through Inner, on a contiguous copy.
	e := D - 4
	if o.z == nil || o.z.Shape()[0] != n {
		o.z = tensor.New(tensor.WithShape(n, e), tensor.Of(tensor.Float64))
		o.gz = tensor.New(tensor.WithShape(n, e), tensor.Of(tensor.Float64))
	}
	z, gz := o.z.Data().([]float64), o.gz.Data().([]float64)
	for i := 0; i < n; i++ {
		copy(z[i*e:(i+1)*e], x[i*D:i*D+e])
		copy(gz[i*e:(i+1)*e], g[i*D:i*D+e])
	}
	if err := o.Inner.Step([]gorgonia.ValueGrad{Param{Val: o.z, Gradient: o.gz, Label: "product-euclidean"}}); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		copy(x[i*D:i*D+e], z[i*e:(i+1)*e])
		s, gs := x[i*D+e:(i+1)*D], g[i*D+e:(i+1)*D]
		off := (gs[1] + gs[2]) / 2
		S := [4]float64{-2 * o.BWStep * gs[0], -2 * o.BWStep * off, -2 * o.BWStep * off, -2 * o.BWStep * gs[3]}
		// (I + S) Σ (I + S)
		a := [4]float64{1 + S[0], S[1], S[2], 1 + S[3]}
		t := mul2(a, [4]float64{s[0], s[1], s[2], s[3]})
		r := mul2(t, a)
		r[1] = (r[1] + r[2]) / 2
		r[2] = r[1]
		if !(r[0] > 0 && r[3] > 0 && r[0]*r[3]-r[1]*r[2] > 0) {
			return fmt.Errorf("optim: the exponential map leaves the SPD cone at row %d (Σ %v, step S %v): %w", i, s, S, ErrParam)
		}
		copy(s, r[:])
	}
	return nil
}

func mul2(a, b [4]float64) [4]float64 {
	return [4]float64{a[0]*b[0] + a[1]*b[2], a[0]*b[1] + a[1]*b[3], a[2]*b[0] + a[3]*b[2], a[2]*b[1] + a[3]*b[3]}
}

// projectSPD2 symmetrises the 2×2 matrix s in place and raises its
// eigenvalues to at least min; it reports whether an eigenvalue was raised.
func projectSPD2(s []float64, min float64) bool {
	b := (s[1] + s[2]) / 2
	a, d := s[0], s[3]
	s[1], s[2] = b, b
	tr, diff := (a+d)/2, math.Hypot((a-d)/2, b)
	l1, l2 := tr+diff, tr-diff // l1 ≥ l2
	if l2 >= min {
		return false
	}
	// Eigenvector of l1: (b, l1 − a) or (l1 − d, b).
	vx, vy := b, l1-a
	if math.Hypot(vx, vy) < 1e-300 {
		vx, vy = l1-d, b
	}
	if nv := math.Hypot(vx, vy); nv > 0 {
		vx, vy = vx/nv, vy/nv
	} else {
		vx, vy = 1, 0
	}
	l1, l2 = math.Max(l1, min), min
	// Σ = l1 v vᵀ + l2 w wᵀ, w ⊥ v.
	s[0] = l1*vx*vx + l2*vy*vy
	s[3] = l1*vy*vy + l2*vx*vx
	s[1] = (l1 - l2) * vx * vy
	s[2] = s[1]
	return true
}

// State implements Stateful (the inner optimizer's state).
func (o *ProductSpace) State() State {
	if s, ok := o.Inner.(Stateful); ok {
		return s.State()
	}
	return State{}
}

// SetState implements Stateful.
func (o *ProductSpace) SetState(st State) error {
	if s, ok := o.Inner.(Stateful); ok {
		return s.SetState(st)
	}
	return nil
}
