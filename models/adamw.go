package models

import "math"

// adamW is optim.Adam with a weight decay (AdamW, as torch.optim.AdamW)
// applied in place to the engine's weights and gradients: optim.Adam's
// float64 arithmetic on float32 or float64 tensors, without the tensors
// and the float64 copies of float32 values, with the bias corrections as
// products with their reciprocals (one division per value instead of
// three: equal to optim.Adam up to float64 round-off), and split over
// blocks of values run in parallel (the update is elementwise, so the
// split does not change the result).
type adamW[F float] struct {
	tau, beta1, beta2, eps, decay float64
	t                             int
	m, s                          [][]float64 // first and second moments, per parameter
}

// adamBlock is the number of values one goroutine updates at a time.
const adamBlock = 1 << 14

// newAdamW returns AdamW of learning rate tau and weight decay wd with
// optim.NewAdam's β1 = 0.9, β2 = 0.999, ε = 1e-8, for parameters of the
// sizes of ws.
func newAdamW[F float](tau, wd float64, ws [][]F) *adamW[F] {
	o := &adamW[F]{tau: tau, beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: wd,
		m: make([][]float64, len(ws)), s: make([][]float64, len(ws))}
	for i, w := range ws {
		o.m[i], o.s[i] = make([]float64, len(w)), make([]float64, len(w))
	}
	return o
}

// step updates the weights w from their gradients g.
func (o *adamW[F]) step(w, g [][]F) {
	o.t++
	b1, b2, eps := o.beta1, o.beta2, o.eps
	r1, r2 := 1/(1-math.Pow(b1, float64(o.t))), 1/(1-math.Pow(b2, float64(o.t)))
	decay := 1 - o.tau*o.decay
	type block struct{ p, lo, hi int }
	var blocks []block
	for p, v := range w {
		for lo := 0; lo < len(v); lo += adamBlock {
			blocks = append(blocks, block{p, lo, min(len(v), lo+adamBlock)})
		}
	}
	c := [9]float64{decay, b1, 1 - b1, b2, 1 - b2, o.tau, r1, r2, eps}
	parallel(len(blocks), func(int) {}, func(i, _ int) {
		bl := blocks[i]
		x, gr := w[bl.p][bl.lo:bl.hi], g[bl.p][bl.lo:bl.hi]
		m, s := o.m[bl.p][bl.lo:bl.hi], o.s[bl.p][bl.lo:bl.hi]
		j0 := 0
		if x32, ok := any(x).([]float32); ok && useAVX2 && len(x) >= 4 {
			// The same operations, four values at a time.
			j0 = len(x) &^ 3
			adamStep32(&x32[0], &any(gr).([]float32)[0], &m[0], &s[0], j0, &c)
		}
		for j := j0; j < len(x); j++ {
			xj, gj := float64(x[j]), float64(gr[j])
			xj *= decay
			m[j] = b1*m[j] + (1-b1)*gj
			s[j] = b2*s[j] + (1-b2)*gj*gj
			xj -= o.tau * (m[j] * r1) / (math.Sqrt(s[j]*r2) + eps)
			x[j] = F(xj)
		}
	})
}
