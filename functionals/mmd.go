package functionals

import (
	"fmt"
	"math/rand/v2"

	"github.com/wowflow/wowflow/graph"
	"gorgonia.org/gorgonia"
)

// MMD is F(P) = ½ MMD_K²(P, Q) between the flowed dataset P and the fixed
// target Q, with a kernel K on distributions built from sliced transport
// costs (see the package doc).
type MMD struct {
	// Target is Q, with its class weights b_k (uniform if nil).
	Target *graph.Dataset
	// Kernel is K; nil means Riesz{R: 1} (MMDSW).
	Kernel Kernel
	// Batch, when positive, draws b = Batch points per target class without
	// replacement at every evaluation (the whole class if it has fewer).
	// Zero uses every target point.
	Batch int
	// SkipConstant leaves out the target–target term (constant in P): the
	// value is then ½MMD² minus that constant, the gradient is unchanged, and
	// each step saves the sorting-free pair costs of the target block.
	SkipConstant bool
	// Quantiles, when positive, uses the paper code's percentile estimator
	// of the 1-D costs (Quantiles interpolated quantiles evaluated at as many
	// random levels, redrawn every step; the code uses 100) instead of exact
	// transport by sorting. See graph.SlicedOptions.Quantiles.
	Quantiles int

	targetMap     MapFunc // set by Pushforward through WithMap
	targetMapName string
}

func (m MMD) kernel() Kernel {
	if m.Kernel == nil {
		return Riesz{R: 1}
	}
	return m.Kernel
}

func (m MMD) validate(d int) error {
	if err := m.Target.Validate(); err != nil {
		return fmt.Errorf("functionals: MMD target: %w", err)
	}
	if m.Target.D != d {
		return fmt.Errorf("functionals: MMD target has dimension %d, the flowed dataset %d: %w", m.Target.D, d, ErrParam)
	}
	if m.Batch < 0 {
		return fmt.Errorf("functionals: MMD batch %d must be ≥ 0: %w", m.Batch, ErrParam)
	}
	if m.Quantiles < 0 || m.Quantiles == 1 {
		return fmt.Errorf("functionals: MMD quantiles %d: want 0 (exact) or at least 2: %w", m.Quantiles, ErrParam)
	}
	return m.kernel().Validate()
}

// Build implements Functional.
func (m MMD) Build(env *Env, x graph.Node) (*gorgonia.Node, error) {
	if m.Target == nil {
		return nil, fmt.Errorf("functionals: MMD has no target: %w", ErrParam)
	}
	d := x.Layout.D
	if m.targetMap != nil {
		d = m.Target.D // the target is mapped below, like the particles were
	}
	if err := m.validate(d); err != nil {
		return nil, err
	}
	y, err := referenceNode(env, m.Target, m.Batch, m.targetMap, x.Layout.D)
	if err != nil {
		return nil, err
	}
	return mmdFromNodes(env, m.kernel(), x, y, m.SkipConstant, m.Quantiles)
}

// referenceNode adds a reference dataset t to the graph — whole, or a
// mini-batch of batch points per class redrawn at every evaluation — mapped
// by φ when not nil (φ must send it to dimension d, the particles').
func referenceNode(env *Env, t *graph.Dataset, batch int, phi MapFunc, d int) (graph.Node, error) {
	y, ly, err := targetNode(env, t, batch)
	if err != nil {
		return graph.Node{}, err
	}
	if phi != nil {
		if y, err = phi(env, y); err != nil {
			return graph.Node{}, fmt.Errorf("functionals: mapping the target: %w", err)
		}
		if y.Shape()[1] != d {
			return graph.Node{}, fmt.Errorf("functionals: the map sends the target to dimension %d, the particles to %d: %w", y.Shape()[1], d, ErrParam)
		}
		ly.D = d
	}
	return graph.Node{X: y, Layout: ly}, nil
}

// mmdFromNodes builds ½ wᵀ K(S) w with w = (a; −b) and S the sliced cost
// matrix between all classes of x and y.
func mmdFromNodes(env *Env, k Kernel, x, y graph.Node, skipConstant bool, quantiles int) (*gorgonia.Node, error) {
	px, err := env.Project(x.X)
	if err != nil {
		return nil, err
	}
	py, err := env.Project(y.X)
	if err != nil {
		return nil, err
	}
	opt := graph.SlicedOptions{P: k.Order(), SkipTargetBlock: skipConstant, Quantiles: quantiles}
	if quantiles > 0 {
		if opt.Levels, err = env.Input(fmt.Sprintf("quantile_levels_%d", quantiles), env.L, quantiles, func(rng *rand.Rand, u []float64) error {
			for i := range u {
				u[i] = rng.Float64()
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	s, err := graph.Sliced(opt, graph.Projected{Node: px, Layout: x.Layout}, graph.Projected{Node: py, Layout: y.Layout})
	if err != nil {
		return nil, err
	}
	kv, err := k.Apply(env, s)
	if err != nil {
		return nil, err
	}
	w := append([]float64(nil), x.Layout.Weights...)
	for _, b := range y.Layout.Weights {
		w = append(w, -b)
	}
	wn := graph.Vector(env.G, env.Dtype, env.UniqueName("mmd_weights"), w)
	if skipConstant {
		// The target block of S was not computed (it holds zeros, so K holds
		// K(0) there): mask it out of the quadratic form.
		C, G := x.Layout.NumClasses(), len(w)
		mask := make([]float64, G*G)
		for i := 0; i < G; i++ {
			for j := 0; j < G; j++ {
				if i < C || j < C {
					mask[i*G+j] = 1
				}
			}
		}
		mn := gorgonia.NewMatrix(env.G, env.Dtype, gorgonia.WithShape(G, G), gorgonia.WithName(env.UniqueName("mmd_mask")),
			gorgonia.WithValue(graph.DenseFrom(env.Dtype, mask, G, G)))
		if kv, err = gorgonia.HadamardProd(kv, mn); err != nil {
			return nil, err
		}
	}
	kw, err := gorgonia.Mul(kv, wn)
	if err != nil {
		return nil, err
	}
	q, err := gorgonia.Mul(wn, kw)
	if err != nil {
		return nil, err
	}
	return gorgonia.Mul(q, env.Scalar(0.5))
}

// targetNode adds the target t (or its per-step mini-batch of batch points
// per class) to the graph.
func targetNode(env *Env, t *graph.Dataset, batch int) (*gorgonia.Node, graph.Layout, error) {
	lay := t.Layout()
	if batch == 0 || batch >= maxClassSize(t) {
		n, err := env.Constant("mmd_target", t.Len(), t.D, t.Data)
		return n, lay, err
	}
	lay.Offsets = []int{0}
	for c := 0; c < t.NumClasses(); c++ {
		lay.Offsets = append(lay.Offsets, lay.Offsets[c]+min(batch, t.ClassSize(c)))
	}
	d := t.D
	perm := make([]int, maxClassSize(t))
	n, err := env.Input("mmd_target_batch", lay.Len(), d, func(rng *rand.Rand, dst []float64) error {
		for c := 0; c < t.NumClasses(); c++ {
			nc, b := t.ClassSize(c), lay.ClassSize(c)
			p := perm[:nc]
			for i := range p {
				p[i] = i
			}
			// Partial Fisher–Yates: the first b entries are a uniform
			// sample without replacement.
			for i := 0; i < b; i++ {
				j := i + rng.IntN(nc-i)
				p[i], p[j] = p[j], p[i]
			}
			src := t.Class(c)
			for i := 0; i < b; i++ {
				copy(dst[(lay.Offsets[c]+i)*d:(lay.Offsets[c]+i+1)*d], src[p[i]*d:(p[i]+1)*d])
			}
		}
		return nil
	})
	return n, lay, err
}

func maxClassSize(ds *graph.Dataset) int {
	m := 0
	for c := 0; c < ds.NumClasses(); c++ {
		m = max(m, ds.ClassSize(c))
	}
	return m
}

func (m MMD) String() string {
	s := fmt.Sprintf("mmd(kernel=%v", m.kernel())
	if m.Target != nil {
		s += fmt.Sprintf(",target=%d classes×%d points,d=%d", m.Target.NumClasses(), m.Target.Len(), m.Target.D)
	}
	if m.Batch > 0 {
		s += fmt.Sprintf(",batch=%d", m.Batch)
	}
	if m.SkipConstant {
		s += ",skip-constant"
	}
	if m.Quantiles > 0 {
		s += fmt.Sprintf(",quantiles=%d", m.Quantiles)
	}
	if m.targetMap != nil {
		s += ",target-map=" + m.targetMapName
	}
	return s + ")"
}

// Reference implements Referencer: ½MMD² with the full target, computed with
// plain loops (graph.ReferenceSliced, then the kernel and the quadratic form).
func (m MMD) Reference(x *graph.Dataset, theta []float64, L int) (float64, error) {
	if m.targetMap != nil || m.Quantiles > 0 {
		return 0, fmt.Errorf("functionals: %v: no reference evaluation through a graph map or for the percentile estimator", m)
	}
	if err := x.Validate(); err != nil {
		return 0, err
	}
	if err := m.validate(x.D); err != nil {
		return 0, err
	}
	k := m.kernel()
	S, err := graph.ReferenceSliced(theta, L, k.Order(), x, m.Target)
	if err != nil {
		return 0, fmt.Errorf("functionals: %v: %w", m, err)
	}
	C, G := x.NumClasses(), x.NumClasses()+m.Target.NumClasses()
	w := make([]float64, G)
	for c := 0; c < C; c++ {
		w[c] = x.Weight(c)
	}
	for c := 0; c < m.Target.NumClasses(); c++ {
		w[C+c] = -m.Target.Weight(c)
	}
	v := 0.0
	for i := 0; i < G; i++ {
		for j := 0; j < G; j++ {
			if m.SkipConstant && i >= C && j >= C {
				continue
			}
			v += w[i] * w[j] * k.Eval(S[i*G+j])
		}
	}
	return v / 2, nil
}

var (
	_ Functional = MMD{}
	_ Referencer = MMD{}
)
