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

	cols [][]float64 // per worker, one chunk's columns (columnBuffers)
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

// matrix is an n×L row-major matrix of float32 or float64 (one of f64, f32 set).
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
	workers := par.Workers(nch)
	colBufs := s.columnBuffers(workers)
	keyBufs := make([][]uint64, workers)
	par.Run(nch, workers, func(ch, w int) {
		if keyBufs[w] == nil {
			keyBufs[w] = make([]uint64, 2*maxn)
		}
		keys := keyBufs[w]
		part := s.partial[ch*G*G : (ch+1)*G*G]
		l0, l1 := ch*chunk, min(L, (ch+1)*chunk)
		s.gatherColumns(in, l0, l1, colBufs[w])
		for l := l0; l < l1; l++ {
			row := l * s.ntot
			cols := colBufs[w][(l-l0)*s.ntot:]
			for gi, g := range s.groups {
				n := g.hi - g.lo
				sortColumn(cols[s.goff[gi]:s.goff[gi]+n], g.lo, bits, keys[:n], keys[maxn:maxn+n], s.sorted[row+s.goff[gi]:], s.perm[row+s.goff[gi]:])
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
	workers := par.Workers(nch)
	colBufs := s.columnBuffers(workers)
	bufs := make([][]float64, workers)
	par.Run(nch, workers, func(ch, w int) {
		if bufs[w] == nil {
			bufs[w] = make([]float64, maxn+2*K)
		}
		accBuf, accV, gknot := bufs[w][:maxn], bufs[w][maxn:maxn+K], bufs[w][maxn+K:]
		l0, l1 := ch*chunk, min(L, (ch+1)*chunk)
		for l := l0; l < l1; l++ {
			cols := colBufs[w][(l-l0)*s.ntot:]
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
				// Scattered into the chunk's columns (rows in group order),
				// written to dst row by row below.
				lo, col := s.groups[g].lo, cols[s.goff[g]:]
				perm := s.perm[l*s.ntot+s.goff[g]:]
				for i, v := range acc {
					col[int(perm[i])-lo] = v
				}
			}
		}
		s.scatterColumns(t, l0, l1, colBufs[w], dst)
	})
}

// columnBuffers returns a buffer of chunk·ntot values per worker, for the
// columns of one chunk of directions, kept from call to call (fresh memory
// is slow on some machines).
func (s *slicer) columnBuffers(workers int) [][]float64 {
	for len(s.cols) < workers {
		s.cols = append(s.cols, make([]float64, chunk*s.ntot))
	}
	return s.cols[:workers]
}

// gatherColumns copies columns l0..l1−1 of every group's rows of the inputs
// into cols, column-major: column l's values of group g at
// cols[(l−l0)·ntot + goff[g] …]. Reading a row's few adjacent columns at a
// time uses whole cache lines, where reading one column at a time (one
// value per row) would not.
func (s *slicer) gatherColumns(in []matrix, l0, l1 int, cols []float64) {
	w := l1 - l0
	for gi, g := range s.groups {
		m, off := in[g.in], s.goff[gi]
		for r := g.lo; r < g.hi; r++ {
			c := cols[off+r-g.lo:]
			if m.f64 != nil {
				for j, v := range m.f64[r*m.L+l0 : r*m.L+l0+w] {
					c[j*s.ntot] = v
				}
			} else {
				for j, v := range m.f32[r*m.L+l0 : r*m.L+l0+w] {
					c[j*s.ntot] = float64(v)
				}
			}
		}
	}
}

// scatterColumns writes columns l0..l1−1 of the rows of input t's groups
// from cols (laid out as gatherColumns's) into dst.
func (s *slicer) scatterColumns(t, l0, l1 int, cols []float64, dst matrix) {
	w, L := l1-l0, s.L
	for gi, g := range s.groups {
		if g.in != t {
			continue
		}
		off := s.goff[gi]
		for r := g.lo; r < g.hi; r++ {
			c := cols[off+r-g.lo:]
			if dst.f64 != nil {
				d := dst.f64[r*L+l0 : r*L+l0+w]
				for j := range d {
					d[j] = c[j*s.ntot]
				}
			} else {
				d := dst.f32[r*L+l0 : r*L+l0+w]
				for j := range d {
					d[j] = float32(c[j*s.ntot])
				}
			}
		}
	}
}

// sortColumn sorts the projections col (n values, of rows lo…lo+n−1 on
// one direction), writing the sorted values to vals[:n] and their rows to
// perm[:n].
//
// Sorting is the hot loop of a flow step (one sort per class and direction),
// so it sorts plain uint64 keys, not (value, index) structs through a
// comparison function: each key is the value's order-preserving bit pattern
// with its lowest bits replaced by the row offset. The order is exact except
// between values that agree in all but the last `bits` mantissa bits (for
// float32 data, whose low 29 float64 mantissa bits are zero, it is exact
// whenever bits ≤ 29); the values themselves are read back exactly.
func sortColumn(col []float64, lo int, bits uint, keys, tmp []uint64, vals []float64, perm []int32) {
	mask := uint64(1)<<bits - 1
	for i, v := range col {
		keys[i] = sortableBits(v)&^mask | uint64(i)
	}
	sortKeys(keys, tmp)
	for j, k := range keys {
		i := int(k & mask)
		vals[j] = col[i]
		perm[j] = int32(lo + i)
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
