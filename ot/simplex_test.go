package ot

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSimplexStronglyFeasible checks the anti-cycling invariant on
// degenerate problems (small-integer weights and costs, so many flows are
// exactly zero): after the initial basis and after every pivot, each tree
// arc with zero flow points up the tree, from a source child to its parent
// sink (Cunningham 1976). It also checks the tree itself: parents, depths
// and zero reduced costs on tree arcs.
func TestSimplexStronglyFeasible(t *testing.T) {
	for _, sz := range [][2]int{{2, 2}, {3, 5}, {6, 6}, {12, 9}, {20, 20}} {
		n, m := sz[0], sz[1]
		t.Run(fmt.Sprintf("%dx%d", n, m), func(t *testing.T) {
			for seed := range uint64(30) {
				r := rand.New(rand.NewPCG(seed, 21))
				intW := func(k int) []float64 {
					w := make([]float64, k)
					for i := range w {
						w[i] = float64(1 + r.IntN(3))
					}
					return w
				}
				a, b := intW(n), intW(m)
				// Balance exactly (integers): pad the lighter side.
				var sa, sb float64
				for _, w := range a {
					sa += w
				}
				for _, w := range b {
					sb += w
				}
				if sa < sb {
					a[n-1] += sb - sa
				} else {
					b[m-1] += sa - sb
				}
				c := costKinds[1].gen(r, n, m) // integers 0..3: many ties
				s := newSimplex(n, m, c, a, b)
				checkTree(t, s)
				for piv := 0; ; piv++ {
					i, j, ok := s.entering()
					if !ok {
						break
					}
					if piv > 10*n*m {
						t.Fatalf("seed %d: no optimum after %d pivots", seed, piv)
					}
					s.pivot(i, j)
					checkTree(t, s)
				}
			}
		})
	}
}

func checkTree(t *testing.T, s *simplex) {
	t.Helper()
	n := s.n
	if s.parent[0] != -1 || s.depth[0] != 0 {
		t.Fatalf("root: parent %d, depth %d", s.parent[0], s.depth[0])
	}
	for x := 1; x < s.n+s.m; x++ {
		p := int(s.parent[x])
		if p < 0 || (x < n) == (p < n) {
			t.Fatalf("node %d has parent %d", x, p)
		}
		if s.depth[x] != s.depth[p]+1 {
			t.Fatalf("node %d at depth %d under %d at depth %d", x, s.depth[x], p, s.depth[p])
		}
		k := s.arc(x, p)
		if f := s.flow[k]; f < 0 {
			t.Fatalf("negative flow %v on tree arc %d–%d", f, x, p)
		} else if f == 0 && x >= n {
			t.Fatalf("zero flow on downward arc %d→%d: tree not strongly feasible", p, x)
		}
		if rc := s.c[k] - s.u[k/s.m] - s.v[k%s.m]; rc != 0 {
			t.Fatalf("tree arc %d–%d has reduced cost %v", x, p, rc)
		}
	}
}
