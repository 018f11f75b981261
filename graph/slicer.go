package graph

import (
	"math"
	"slices"

	"github.com/wowflow/wowflow/internal/par"
)

// chunk is the number of directions handled by one unit of parallel work.
// It is fixed (not derived from GOMAXPROCS) so that the order of floating-point
// reductions, and hence every result, is the same on any number of cores.
const chunk = 8

// group is one class of one input: rows lo..hi-1 of input in.
type group struct{ in, lo, hi int }

// slicer computes sliced transport costs between all classes of one or two
// projected datasets, and their gradient. It caches the sorted projections
// and permutations of the last forward pass for the backward pass.
type slicer struct {
	p       int
	groups  []group
	goff    []int // offset of each group in the concatenated order
	ntot    int
	nIn     int
	skip    []bool // skip[g*G+h]: pair not computed (constant zero)
	L       int
	sorted  []float64 // L × ntot, per direction the classes' sorted projections
	perm    []int32   // L × ntot, row (within its input) of each sorted value
	partial []float64

	// The percentile estimator (quant > 0): per direction, each class's
	// sorted projections are summarised by quant interpolated quantiles
	// (knots at levels m/(quant−1)), which are interpolated again at quant
	// random levels in [0,1] (levels, L × quant); the 1-D cost is the mean
	// of |v_a − v_b|^p over those levels (qvals: L × G × quant).
	quant  int
	levels []float64
	qvals  []float64
}

func newSlicer(p int, skipBB bool, layouts ...Layout) *slicer {
	s := &slicer{p: p, nIn: len(layouts)}
	for in, l := range layouts {
		for c := 0; c < l.NumClasses(); c++ {
			s.groups = append(s.groups, group{in: in, lo: l.Offsets[c], hi: l.Offsets[c+1]})
			s.goff = append(s.goff, s.ntot)
			s.ntot += l.ClassSize(c)
		}
	}
	G := len(s.groups)
	s.skip = make([]bool, G*G)
	for g := range s.groups {
		for h := range s.groups {
			s.skip[g*G+h] = g == h || (skipBB && len(layouts) == 2 && s.groups[g].in == 1 && s.groups[h].in == 1)
		}
	}
	return s
}

// column reads column l of an n×L row-major matrix of float32 or float64.
type matrix struct {
	f64 []float64
	f32 []float32
	L   int
}

// forward sorts every (class, direction) and returns the G×G matrix of
// (1/L) Σ_l W_p^p, symmetric, zero on the diagonal and on skipped pairs.
func (s *slicer) forward(in []matrix, L int) []float64 {
	G := len(s.groups)
	s.L = L
	s.sorted = grow(s.sorted, L*s.ntot)
	s.perm = grow(s.perm, L*s.ntot)
	nch := (L + chunk - 1) / chunk
	s.partial = grow(s.partial, nch*G*G)
	clear(s.partial)
	maxn := 0
	for _, g := range s.groups {
		maxn = max(maxn, g.hi-g.lo)
	}
	bits := idxBits(maxn)
	K := s.quant
	if K > 0 {
		s.qvals = grow(s.qvals, L*G*K)
	}
	parallel(nch, func() any { return make([]uint64, 2*maxn) }, func(ch int, scratch any) {
		keys := scratch.([]uint64)
		part := s.partial[ch*G*G : (ch+1)*G*G]
		for l := ch * chunk; l < min(L, (ch+1)*chunk); l++ {
			row := l * s.ntot
			for gi, g := range s.groups {
				n := g.hi - g.lo
				s.sortGroup(in[g.in], g.lo, n, l, bits, keys[:n], keys[maxn:maxn+n], s.sorted[row+s.goff[gi]:], s.perm[row+s.goff[gi]:])
				if K > 0 {
					percentiles(s.class(l, gi), s.levels[l*K:(l+1)*K], s.qvals[(l*G+gi)*K:(l*G+gi+1)*K])
				}
			}
			for g := 0; g < G; g++ {
				a := s.curve(l, g)
				for h := g + 1; h < G; h++ {
					if s.skip[g*G+h] {
						continue
					}
					part[g*G+h] += Cost1D(a, s.curve(l, h), s.p)
				}
			}
		}
	})
	out := make([]float64, G*G)
	for ch := 0; ch < nch; ch++ {
		part := s.partial[ch*G*G : (ch+1)*G*G]
		for i, v := range part {
			out[i] += v
		}
	}
	for g := 0; g < G; g++ {
		for h := g + 1; h < G; h++ {
			out[g*G+h] /= float64(L)
			out[h*G+g] = out[g*G+h]
		}
	}
	return out
}

func (s *slicer) class(l, g int) []float64 {
	off := l*s.ntot + s.goff[g]
	return s.sorted[off : off+s.groups[g].hi-s.groups[g].lo]
}

// curve is what the 1-D cost compares for class g on direction l: its sorted
// projections (exact transport) or its percentile values.
func (s *slicer) curve(l, g int) []float64 {
	if s.quant == 0 {
		return s.class(l, g)
	}
	G, K := len(s.groups), s.quant
	return s.qvals[(l*G+g)*K : (l*G+g+1)*K]
}

// interp returns the indices and weights of linear interpolation at u ∈ [0,1]
// in a table of n values (the paper code's percentile rule).
func interp(u float64, n int) (lo, hi int, fr float64) {
	pos := u * float64(n-1)
	lo = min(int(math.Floor(pos)), n-1)
	lo = max(lo, 0)
	hi = min(lo+1, n-1)
	return lo, hi, pos - float64(lo)
}

// percentiles writes to v the values at the random levels u of the quantile
// curve of the sorted sample s, summarised by len(u) knots at levels
// m/(len(u)−1).
func percentiles(s, u, v []float64) {
	K := len(u)
	n := len(s)
	for j, uj := range u {
		m0, m1, f := interp(uj, K)
		knot := func(m int) float64 {
			lo, hi, fr := interp(float64(m)/float64(K-1), n)
			return s[lo]*(1-fr) + s[hi]*fr
		}
		v[j] = knot(m0)*(1-f) + knot(m1)*f
	}
}

// percentilesGrad adds to gs (length n) the gradient with respect to the
// sorted sample of Σ_j gv_j v_j, v = percentiles(s, u).
func percentilesGrad(n int, u, gv, gknot, gs []float64) {
	K := len(u)
	clear(gknot)
	for j, uj := range u {
		m0, m1, f := interp(uj, K)
		gknot[m0] += gv[j] * (1 - f)
		gknot[m1] += gv[j] * f
	}
	for m, g := range gknot {
		lo, hi, fr := interp(float64(m)/float64(K-1), n)
		gs[lo] += g * (1 - fr)
		gs[hi] += g * fr
	}
}

// backward writes ∂(Σ_gh dout_gh S_gh)/∂P for input t into dst (an n_t×L
// row-major float64 or float32 matrix), using the cached sort.
func (s *slicer) backward(t int, dout []float64, dst matrix) {
	G := len(s.groups)
	L := s.L
	nch := (L + chunk - 1) / chunk
	maxn := 0
	for _, g := range s.groups {
		maxn = max(maxn, g.hi-g.lo)
	}
	invL := 1 / float64(L)
	K := s.quant
	parallel(nch, func() any { return make([]float64, maxn+2*K) }, func(ch int, scratch any) {
		buf := scratch.([]float64)
		accBuf, accV, gknot := buf[:maxn], buf[maxn:maxn+K], buf[maxn+K:]
		for l := ch * chunk; l < min(L, (ch+1)*chunk); l++ {
			for g := 0; g < G; g++ {
				if s.groups[g].in != t {
					continue
				}
				acc := accBuf[:len(s.class(l, g))]
				clear(acc)
				a, ga := s.curve(l, g), acc
				if K > 0 {
					ga = accV
					clear(ga)
				}
				for h := 0; h < G; h++ {
					if s.skip[g*G+h] {
						continue
					}
					coef := (dout[g*G+h] + dout[h*G+g]) * invL
					if coef == 0 {
						continue
					}
					grad1D(a, s.curve(l, h), s.p, coef, ga)
				}
				if K > 0 {
					percentilesGrad(len(acc), s.levels[l*K:(l+1)*K], accV, gknot, acc)
				}
				perm := s.perm[l*s.ntot+s.goff[g]:]
				if dst.f64 != nil {
					for i, v := range acc {
						dst.f64[int(perm[i])*L+l] = v
					}
				} else {
					for i, v := range acc {
						dst.f32[int(perm[i])*L+l] = float32(v)
					}
				}
			}
		}
	})
}

// sortGroup sorts the projections on direction l of rows lo..lo+n-1 of m,
// writing the sorted values to vals[:n] and their rows to perm[:n].
//
// Sorting is the hot loop of a flow step (one sort per class and direction),
// so it sorts plain uint64 keys, not (value, index) structs through a
// comparison function: each key is the value's order-preserving bit pattern
// with its lowest bits replaced by the row offset. The order is exact except
// between values that agree in all but the last `bits` mantissa bits (for
// float32 data, whose low 29 float64 mantissa bits are zero, it is exact
// whenever bits ≤ 29); the values themselves are read back exactly.
func (s *slicer) sortGroup(m matrix, lo, n, l int, bits uint, keys, tmp []uint64, vals []float64, perm []int32) {
	mask := uint64(1)<<bits - 1
	if m.f64 != nil {
		for i := range keys {
			keys[i] = sortableBits(m.f64[(lo+i)*m.L+l])&^mask | uint64(i)
		}
	} else {
		for i := range keys {
			keys[i] = sortableBits(float64(m.f32[(lo+i)*m.L+l]))&^mask | uint64(i)
		}
	}
	sortKeys(keys, tmp)
	if m.f64 != nil {
		for j, k := range keys {
			i := int(k & mask)
			vals[j] = m.f64[(lo+i)*m.L+l]
			perm[j] = int32(lo + i)
		}
	} else {
		for j, k := range keys {
			i := int(k & mask)
			vals[j] = float64(m.f32[(lo+i)*m.L+l])
			perm[j] = int32(lo + i)
		}
	}
}

// sortKeys sorts keys ascending, using tmp (same length) as scratch. Above
// 64 keys it runs a stable LSD radix sort on the top 32 bits (4 byte passes,
// skipping bytes all keys share), then an insertion-sort pass on the full
// keys, which is linear when, as here, keys rarely agree on their top 32 bits;
// on the flow's 200-point classes this is about twice as fast as pdqsort.
func sortKeys(keys, tmp []uint64) {
	if len(keys) < 64 {
		slices.Sort(keys)
		return
	}
	// The four byte histograms in one pass over the keys: a pass permutes
	// the keys, so every byte's histogram stays what it was at the start.
	var count [4][256]int32
	for _, k := range keys {
		count[0][byte(k>>32)]++
		count[1][byte(k>>40)]++
		count[2][byte(k>>48)]++
		count[3][byte(k>>56)]++
	}
	src, dst := keys, tmp
	for p := range count {
		shift, c := 32+8*p, &count[p]
		if int(c[byte(keys[0]>>shift)]) == len(keys) {
			continue // all keys share this byte
		}
		sum := int32(0)
		for i, v := range c {
			c[i] = sum
			sum += v
		}
		for _, k := range src {
			b := byte(k >> shift)
			dst[c[b]] = k
			c[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	for i := 1; i < len(keys); i++ {
		k := keys[i]
		j := i
		for j > 0 && keys[j-1] > k {
			keys[j] = keys[j-1]
			j--
		}
		keys[j] = k
	}
}

// sortableBits maps a float64 to a uint64 with the same order (negative
// values have all bits flipped, positive ones only the sign bit).
func sortableBits(v float64) uint64 {
	b := math.Float64bits(v)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// idxBits returns the number of bits needed to store an index below n.
func idxBits(n int) uint {
	b := uint(1)
	for 1<<b < n {
		b++
	}
	return b
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// parallel runs work(i, scratch) for i in [0, n) on GOMAXPROCS goroutines
// (internal/par), each with its own scratch value from newScratch.
func parallel(n int, newScratch func() any, work func(i int, scratch any)) {
	w := par.Workers(n)
	scratch := make([]any, w)
	for k := range scratch {
		scratch[k] = newScratch()
	}
	par.Run(n, w, func(i, k int) { work(i, scratch[k]) })
}
