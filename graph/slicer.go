package graph

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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

func (m matrix) at(i, l int) float64 {
	if m.f64 != nil {
		return m.f64[i*m.L+l]
	}
	return float64(m.f32[i*m.L+l])
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
	parallel(nch, func() any { return make([]kv, maxn) }, func(ch int, scratch any) {
		kvs := scratch.([]kv)
		part := s.partial[ch*G*G : (ch+1)*G*G]
		for l := ch * chunk; l < min(L, (ch+1)*chunk); l++ {
			row := l * s.ntot
			for gi, g := range s.groups {
				n := g.hi - g.lo
				buf := kvs[:n]
				m := in[g.in]
				for i := range buf {
					buf[i] = kv{m.at(g.lo+i, l), int32(g.lo + i)}
				}
				slices.SortFunc(buf, func(a, b kv) int { return cmp.Compare(a.v, b.v) })
				off := row + s.goff[gi]
				for i, e := range buf {
					s.sorted[off+i] = e.v
					s.perm[off+i] = e.i
				}
			}
			for g := 0; g < G; g++ {
				a := s.class(l, g)
				for h := g + 1; h < G; h++ {
					if s.skip[g*G+h] {
						continue
					}
					part[g*G+h] += Cost1D(a, s.class(l, h), s.p)
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

// backward returns ∂(Σ_gh dout_gh S_gh)/∂P for input t as an n_t×L row-major
// matrix written through set(i, l, value), using the cached sort.
func (s *slicer) backward(t int, dout []float64, set func(i, l int, v float64)) {
	G := len(s.groups)
	L := s.L
	nch := (L + chunk - 1) / chunk
	maxn := 0
	for _, g := range s.groups {
		maxn = max(maxn, g.hi-g.lo)
	}
	invL := 1 / float64(L)
	parallel(nch, func() any { return make([]float64, maxn) }, func(ch int, scratch any) {
		accBuf := scratch.([]float64)
		for l := ch * chunk; l < min(L, (ch+1)*chunk); l++ {
			for g := 0; g < G; g++ {
				if s.groups[g].in != t {
					continue
				}
				a := s.class(l, g)
				acc := accBuf[:len(a)]
				clear(acc)
				for h := 0; h < G; h++ {
					if s.skip[g*G+h] {
						continue
					}
					coef := (dout[g*G+h] + dout[h*G+g]) * invL
					if coef == 0 {
						continue
					}
					grad1D(a, s.class(l, h), s.p, coef, acc)
				}
				perm := s.perm[l*s.ntot+s.goff[g]:]
				for i, v := range acc {
					set(int(perm[i]), l, v)
				}
			}
		}
	})
}

type kv struct {
	v float64
	i int32
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// parallel runs work(i, scratch) for i in [0, n) on GOMAXPROCS goroutines,
// each with its own scratch value from newScratch.
func parallel(n int, newScratch func() any, work func(i int, scratch any)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		sc := newScratch()
		for i := 0; i < n; i++ {
			work(i, sc)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := newScratch()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				work(i, sc)
			}
		}()
	}
	wg.Wait()
}

// Slicer is the plain-Go engine behind the Sliced op, exposed for
// hand-written flow steps and benchmarks: it sorts every (class, direction)
// once per Forward and reuses the sort in Backward.
type Slicer struct{ s *slicer }

// NewSlicer returns an engine for the classes of one or two datasets.
func NewSlicer(p int, skipTarget bool, layouts ...Layout) *Slicer {
	return &Slicer{newSlicer(p, skipTarget, layouts...)}
}

// Forward returns the G×G matrix of S_p between all classes, from the n×L
// row-major projections of each input.
func (s *Slicer) Forward(L int, proj ...[]float64) []float64 {
	ms := make([]matrix, len(proj))
	for i, p := range proj {
		ms[i] = matrix{f64: p, L: L}
	}
	return s.s.forward(ms, L)
}

// Backward writes into dst (n_t×L row-major) the gradient of Σ_gh dout_gh S_gh
// with respect to the projections of input t, using the last Forward's sort.
func (s *Slicer) Backward(t int, dout, dst []float64) {
	L := s.s.L
	s.s.backward(t, dout, func(i, l int, v float64) { dst[i*L+l] = v })
}
