package graph

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrSinkhorn reports a Sinkhorn solve that produced a non-finite value.
var ErrSinkhorn = errors.New("graph: Sinkhorn failed")

// DefaultEpsilonScale is ott-jax's DEFAULT_EPSILON_SCALE (0.05,
// ott/geometry/epsilon_scheduler.py): with neither ε nor relative_epsilon
// given, a Geometry uses ε = 0.05 × std of its (scaled) cost matrix
// (ott/geometry/geometry.py, Geometry.epsilon_scheduler, ott-jax main of
// 2025-11-06).
const DefaultEpsilonScale = 0.05

// EntropicOptions configures EntropicOT.
type EntropicOptions struct {
	// Scale divides the cost before solving (C̃ = C / Scale); 0 means the
	// mean of C at each evaluation (ott's scale_cost="mean"). The scale is
	// held constant in the gradient, as the envelope theorem treats it.
	Scale float64
	// Epsilon is the entropic regularisation for C̃; 0 means ott-jax's
	// PointCloud default, DefaultEpsilonScale × std(C̃), recomputed at each
	// evaluation and held constant in the gradient (ott stops its gradient).
	Epsilon float64
	// Tol is the stopping threshold on the L1 error of the row marginal
	// after a column update; 0 means 1e-3, ott-jax's Sinkhorn default
	// (threshold=1e-3 on the L1 marginal error, norm_error=1).
	Tol float64
	// MaxIter caps the Sinkhorn iterations; 0 means 10000. Reaching the cap
	// is not an error (the value is then that of the last iterate); the op's
	// Stats count such evaluations.
	MaxIter int
}

// SinkhornStats is what an EntropicOT node's solver did so far.
type SinkhornStats struct {
	Solves, Iterations, NotConverged int64
	LastEpsilon, LastScale           float64
}

// EntropicOT returns the scalar entropic optimal transport cost between
// uniform weights a = 1/n, b = 1/m under the cost c (n×m, float64):
//
//	OT_ε(C̃) = min_P ⟨P, C̃⟩ + ε KL(P ‖ a bᵀ)  s.t. P 1 = a, Pᵀ 1 = b,  C̃ = C / s,
//
// solved by log-domain Sinkhorn (f_i = −ε LSE_j(log b_j + (g_j − C̃_ij)/ε),
// g_j likewise; P_ij = a_i b_j exp((f_i + g_j − C̃_ij)/ε)) and returned as the
// dual value ⟨f, a⟩ + ⟨g, b⟩, which is ott-jax's reg_ot_cost. Its gradient is
// exact at the optimum by the envelope theorem, ∂OT_ε/∂C = P*/s, with s and
// ε held constant. Each solve starts from the potentials of the previous
// evaluation of the same node (a warm start: the fixed point does not
// depend on it, only the iteration count does). The stats report on the
// solves. A non-finite cost, ε ≤ 0 or a non-finite result (ε far too
// small for float64) is an error wrapping ErrSinkhorn, never a NaN.
func EntropicOT(c *gorgonia.Node, opt EntropicOptions) (*gorgonia.Node, *SinkhornStats, error) {
	if len(c.Shape()) != 2 || c.Dtype() != tensor.Float64 {
		return nil, nil, fmt.Errorf("graph: EntropicOT of a %v %v, want a float64 n×m cost: %w", c.Dtype(), c.Shape(), ErrShape)
	}
	if opt.Scale < 0 || opt.Epsilon < 0 || opt.Tol < 0 || opt.MaxIter < 0 || math.IsInf(opt.Scale, 0) || math.IsInf(opt.Epsilon, 0) {
		return nil, nil, fmt.Errorf("graph: EntropicOT options %+v: scale, ε, tol and iterations must be ≥ 0 and finite: %w", opt, ErrOption)
	}
	if opt.Tol == 0 {
		opt.Tol = 1e-3
	}
	if opt.MaxIter == 0 {
		opt.MaxIter = 10000
	}
	n, m := c.Shape()[0], c.Shape()[1]
	st := &sinkhornState{}
	name := fmt.Sprintf("EntropicOT{%d×%d,scale=%v,eps=%v,tol=%v,iter=%d,id=%d}", n, m, opt.Scale, opt.Epsilon, opt.Tol, opt.MaxIter, sinkhornIDs.Add(1))
	node, err := gorgonia.ApplyOp(entropicOp{newOpBase(name, []int{2}, 0, tensor.ScalarShape(), []bool{true}), n, m, opt, st}, c)
	return node, &st.stats, err
}

var sinkhornIDs atomic.Int64

// sinkhornState is shared by an EntropicOT node and its gradient: the last
// potentials (warm start) and the ε and scale they were solved with.
type sinkhornState struct {
	f, g       []float64
	ct         []float64 // the transposed cost, scratch of solve
	eps, scale float64
	stats      SinkhornStats
}

type entropicOp struct {
	opBase
	n, m int
	opt  EntropicOptions
	st   *sinkhornState
}

func (op entropicOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}

func (op entropicOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := inputs[float64](op, vals, op.n*op.m)
	if err != nil {
		return nil, err
	}
	v, err := op.solve(in[0])
	if err != nil {
		return nil, err
	}
	return gorgonia.NewF64(v), nil
}

// solve runs Sinkhorn on the cost c and returns the dual value.
func (op entropicOp) solve(c []float64) (float64, error) {
	n, m, st := op.n, op.m, op.st
	sum, sq := 0.0, 0.0
	for i, v := range c {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("graph: EntropicOT: cost entry (%d, %d) is %v: %w", i/m, i%m, v, ErrSinkhorn)
		}
		sum += v
		sq += v * v
	}
	N := float64(n * m)
	scale := op.opt.Scale
	if scale == 0 {
		scale = sum / N
	}
	if !(scale > 0) {
		return 0, fmt.Errorf("graph: EntropicOT: cost scale %v (the mean cost) must be positive: %w", scale, ErrSinkhorn)
	}
	eps := op.opt.Epsilon
	if eps == 0 {
		mean := sum / N / scale
		eps = DefaultEpsilonScale * math.Sqrt(max(0, sq/N/(scale*scale)-mean*mean))
	}
	if !(eps > 0) {
		return 0, fmt.Errorf("graph: EntropicOT: ε = %v (the cost matrix is constant?): %w", eps, ErrSinkhorn)
	}
	if mx := maxAbs64(c) / scale / eps; math.IsInf(mx, 0) || mx > 1e300 {
		return 0, fmt.Errorf("graph: EntropicOT: ε = %.3g is too small for float64 at cost scale %.3g (max C̃/ε = %.3g): %w", eps, scale, mx, ErrSinkhorn)
	}
	if len(st.f) != n || len(st.g) != m {
		st.f, st.g = make([]float64, n), make([]float64, m)
	}
	inv := 1 / scale
	if len(st.ct) != n*m {
		st.ct = make([]float64, n*m) // Cᵀ, for the column updates, kept from solve to solve
	}
	ct := st.ct
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			ct[j*n+i] = c[i*m+j]
		}
	}
	la, lb := -math.Log(float64(n)), -math.Log(float64(m))
	f, g := st.f, st.g
	fhat := make([]float64, n)
	lseUpdate(c, g, f, n, m, lb, inv, eps)
	it, converged := 0, false
	for it < op.opt.MaxIter {
		it++
		lseUpdate(ct, f, g, m, n, la, inv, eps)
		// The columns of P are exact after the g update; the next f update
		// f̂ gives the row masses a_i exp((f_i − f̂_i)/ε).
		lseUpdate(c, g, fhat, n, m, lb, inv, eps)
		errL1 := 0.0
		for i := range fhat {
			errL1 += math.Abs(math.Exp(la+(f[i]-fhat[i])/eps) - math.Exp(la))
		}
		copy(f, fhat)
		if math.IsNaN(errL1) {
			break
		}
		if errL1 < op.opt.Tol {
			converged = true
			break
		}
	}
	v := 0.0
	for _, x := range f {
		v += x / float64(n)
	}
	for _, x := range g {
		v += x / float64(m)
	}
	st.stats.Solves++
	st.stats.Iterations += int64(it)
	if !converged {
		st.stats.NotConverged++
	}
	st.stats.LastEpsilon, st.stats.LastScale = eps, scale
	st.eps, st.scale = eps, scale
	if math.IsNaN(v) || math.IsInf(v, 0) {
		st.f, st.g = nil, nil // do not warm-start from garbage
		return 0, fmt.Errorf("graph: EntropicOT: Sinkhorn gave %v at ε = %.3g (cost scale %.3g) after %d iterations; a larger ε is needed: %w", v, eps, scale, it, ErrSinkhorn)
	}
	return v, nil
}

// lseUpdate sets out_i = −ε LSE_j(lw + (in_j − inv·c_ij)/ε) for the n×m
// matrix c (rows in parallel, in fixed chunks, so the result does not depend
// on the number of cores).
func lseUpdate(c, in, out []float64, n, m int, lw, inv, eps float64) {
	const chunk = 64
	if n*m < 1<<16 { // small: goroutines cost more than they save
		lseRows(c, in, out, 0, n, m, lw, inv, eps)
		return
	}
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			lseRows(c, in, out, lo, hi, m, lw, inv, eps)
		}(lo, min(n, lo+chunk))
	}
	wg.Wait()
}

func lseRows(c, in, out []float64, lo, hi, m int, lw, inv, eps float64) {
	for i := lo; i < hi; i++ {
		row := c[i*m : (i+1)*m]
		mx := math.Inf(-1)
		for j, cij := range row {
			mx = max(mx, (in[j]-inv*cij)/eps)
		}
		s := 0.0
		for j, cij := range row {
			s += math.Exp((in[j]-inv*cij)/eps - mx)
		}
		out[i] = -eps * (lw + mx + math.Log(s))
	}
}

func (op entropicOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := gorgonia.ApplyOp(entropicGradOp{newOpBase(op.name+"Grad", []int{2, 0}, 2, tensor.Shape{op.n, op.m}, nil), op.n, op.m, op.st, newOutBuffer()}, in[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// entropicGradOp returns grad · P*/s from the potentials of the last solve.
type entropicGradOp struct {
	opBase
	n, m int
	st   *sinkhornState
	out  outBuffer
}

func (op entropicGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 2 {
		return nil, fmt.Errorf("graph: %v: %d inputs: %w", op, len(vals), ErrShape)
	}
	in, err := inputs[float64](op, vals[:1], op.n*op.m)
	if err != nil {
		return nil, err
	}
	up, err := scalarValue(vals[1])
	if err != nil {
		return nil, err
	}
	st := op.st
	if len(st.f) != op.n || len(st.g) != op.m {
		return nil, fmt.Errorf("graph: %v: no solve to differentiate: %w", op, ErrSinkhorn)
	}
	out := op.out.get(op.n * op.m)
	lab := -math.Log(float64(op.n)) - math.Log(float64(op.m))
	for i := 0; i < op.n; i++ {
		for j := 0; j < op.m; j++ {
			out[i*op.m+j] = up * math.Exp(lab+(st.f[i]+st.g[j]-in[0][i*op.m+j]/st.scale)/st.eps) / st.scale
		}
	}
	return tensor.New(tensor.WithShape(op.n, op.m), tensor.WithBacking(out)), nil
}

func (op entropicGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, op.notDifferentiable()
}

func maxAbs64(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}
