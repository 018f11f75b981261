package ot

import (
	"fmt"
	"math"
)

// simplex is the primal network simplex for the balanced transport problem
// on the complete bipartite graph from n sources to m sinks, every arc
// uncapacitated. Nodes 0..n−1 are the sources and n..n+m−1 the sinks; a
// basis is a spanning tree of n+m−1 arcs rooted at node 0, stored by
// parent pointers with depths, and by adjacency lists used to re-hang the
// subtree cut off by a pivot. The tree arc of a node x ≠ 0 joins x and
// parent[x]; its flow is kept in the dense flow matrix.
type simplex struct {
	n, m int
	c    []float64 // n×m costs
	a, b []float64 // positive weights
	flow []float64 // n×m, non-zero only on tree arcs
	u, v []float64 // potentials: u_i + v_j = c_ij on tree arcs

	parent []int32
	depth  []int32
	adj    [][]int32
	stack  []int32

	next  int     // arc at which pricing resumes
	block int     // arcs priced per block
	tol   float64 // reduced costs above −tol count as zero
}

// pricingTol is the size, relative to the largest |C_ij|, below which a
// negative reduced cost c_ij − u_i − v_j is taken as rounding noise. A
// potential is a signed sum of the costs along its tree path, so its
// absolute rounding error is about (path length)·ε·max|C|; 1e-13 covers
// paths of ~500 arcs at full precision, and entering an arc whose reduced
// cost is noise is harmless (a tiny or degenerate pivot). The plan is then
// optimal to within about 1e-13·max|C|·(n+m) of mass-weighted cost.
const pricingTol = 1e-13

func newSimplex(n, m int, c, a, b []float64) *simplex {
	N := n + m
	s := &simplex{
		n: n, m: m, c: c, a: a, b: b,
		flow:   make([]float64, n*m),
		u:      make([]float64, n),
		v:      make([]float64, m),
		parent: make([]int32, N),
		depth:  make([]int32, N),
		adj:    make([][]int32, N),
		stack:  make([]int32, 0, N),
		// Block search pricing (Grigoriadis 1986; LEMON's default): scan
		// √(nm) arcs, enter the most negative one found, resume after it.
		block: max(10, int(math.Sqrt(float64(n*m)))),
		tol:   pricingTol * maxAbs(c),
	}
	s.initialBasis()
	return s
}

// arc returns the index in the n×m matrix of the tree arc joining x and
// its parent p.
func (s *simplex) arc(x, p int) int {
	if x < s.n {
		return x*s.m + p - s.n
	}
	return p*s.m + x - s.n
}

// link adds the tree edge x—y to the adjacency lists.
func (s *simplex) link(x, y int) {
	s.adj[x] = append(s.adj[x], int32(y))
	s.adj[y] = append(s.adj[y], int32(x))
}

// unlink removes the tree edge x—y from the adjacency lists.
func (s *simplex) unlink(x, y int) {
	del := func(l []int32, z int32) []int32 {
		for k, w := range l {
			if w == z {
				l[k] = l[len(l)-1]
				return l[:len(l)-1]
			}
		}
		return l
	}
	s.adj[x] = del(s.adj[x], int32(y))
	s.adj[y] = del(s.adj[y], int32(x))
}

// initialBasis builds a basic feasible solution by the north-west corner
// rule: walk the staircase from cell (0,0), each cell taking the smaller
// remaining mass of its row and column, then moving down a row if the row
// is exhausted (ties included), otherwise right a column. With positive
// weights a zero-flow cell only follows a tie, hence a move down: it joins
// source i+1 to its parent sink, an arc pointing up the tree rooted at
// source 0. A tree whose zero-flow arcs all point up is strongly feasible
// (Cunningham 1976; Ahuja, Magnanti, Orlin 1993, §11.5), and the
// leaving-arc rule in pivot keeps it so, which rules out cycling.
func (s *simplex) initialBasis() {
	n, m := s.n, s.m
	i, j := 0, 0
	ra, rb := s.a[0], s.b[0]
	s.link(0, n) // cell (0,0): sink 0 hangs from the root
	for {
		f := min(ra, rb)
		s.flow[i*m+j] = f
		ra -= f
		rb -= f
		if i == n-1 && j == m-1 {
			// Any mismatch Σa − Σb (at most BalanceTol relative) is left
			// over here.
			break
		}
		if (ra <= rb && i < n-1) || j == m-1 {
			i++
			ra = s.a[i]
			s.link(i, n+j) // source i hangs from sink j
			s.parent[i] = int32(n + j)
		} else {
			j++
			rb = s.b[j]
			s.link(i, n+j) // sink j hangs from source i
			s.parent[n+j] = int32(i)
		}
	}
	s.rehang(0, -1)
}

// setPotential sets the potential of x from that of its parent p so that
// the reduced cost of their tree arc is zero.
func (s *simplex) setPotential(x, p int) {
	if p < 0 {
		s.u[x] = 0 // x is the root, source 0
		return
	}
	if x < s.n {
		s.u[x] = s.c[x*s.m+p-s.n] - s.v[p-s.n]
	} else {
		s.v[x-s.n] = s.c[p*s.m+x-s.n] - s.u[p]
	}
}

// rehang makes p the parent of x and walks the subtree hanging from x
// (everything reachable from x in the tree without passing through p),
// setting parents, depths and potentials. Recomputing potentials from the
// tree arcs, rather than shifting them, keeps them exact to a few ulps
// however many pivots have been made.
func (s *simplex) rehang(x, p int) {
	s.parent[x] = int32(p)
	if p < 0 {
		s.depth[x] = 0
	} else {
		s.depth[x] = s.depth[p] + 1
	}
	s.setPotential(x, p)
	st := append(s.stack[:0], int32(x))
	for len(st) > 0 {
		y := st[len(st)-1]
		st = st[:len(st)-1]
		for _, z := range s.adj[y] {
			if z == s.parent[y] {
				continue
			}
			s.parent[z] = y
			s.depth[z] = s.depth[y] + 1
			s.setPotential(int(z), int(y))
			st = append(st, z)
		}
	}
	s.stack = st
}

// run pivots until no arc has a negative reduced cost, or returns an error
// wrapping ErrNotConverged after maxPivots pivots.
func (s *simplex) run(maxPivots int) (int, error) {
	for piv := 0; ; piv++ {
		i, j, ok := s.entering()
		if !ok {
			return piv, nil
		}
		if piv >= maxPivots {
			return piv, fmt.Errorf("ot: network simplex stopped after %d pivots on a %d×%d problem: %w", piv, s.n, s.m, ErrNotConverged)
		}
		s.pivot(i, j)
	}
}

// entering returns an arc (i, j) with a negative reduced cost, the most
// negative of the first block of arcs that has one, scanning cyclically
// from where the previous search stopped; ok is false at optimality.
func (s *simplex) entering() (bi, bj int, ok bool) {
	n, m := s.n, s.m
	total := n * m
	i, j := s.next/m, s.next%m
	best := -s.tol
	bi, bj = -1, -1
	inBlock := 0
	for scanned := 0; scanned < total; {
		row := s.c[i*m : (i+1)*m]
		ui := s.u[i]
		end := min(m, j+s.block-inBlock, j+total-scanned)
		j0 := j
		for ; j < end; j++ {
			if rc := row[j] - ui - s.v[j]; rc < best {
				best, bi, bj = rc, i, j
			}
		}
		scanned += end - j0
		inBlock += end - j0
		if j == m {
			j = 0
			if i++; i == n {
				i = 0
			}
		}
		if inBlock == s.block {
			if bi >= 0 {
				break
			}
			inBlock = 0
		}
	}
	s.next = i*m + j
	return bi, bj, bi >= 0
}

// pivot brings arc (i, j) into the tree. The cycle it closes is oriented
// along the arc, i → n+j; flow θ moves forward around it, θ being the least
// flow on a backward arc. Of the blocking arcs, the last one met going
// round the cycle from its apex leaves (Cunningham 1976), which keeps the
// tree strongly feasible.
func (s *simplex) pivot(i, j int) {
	n := s.n
	// Apex: the deepest common ancestor of i and n+j.
	x, y := i, n+j
	for x != y {
		switch dx, dy := s.depth[x], s.depth[y]; {
		case dx > dy:
			x = int(s.parent[x])
		case dy > dx:
			y = int(s.parent[y])
		default:
			x, y = int(s.parent[x]), int(s.parent[y])
		}
	}
	apex := x

	// The cycle runs apex ⇝ i (down), i → n+j, n+j ⇝ apex (up). Going down
	// to i, the arc into a source is backward; going up from n+j, the arc
	// out of a sink is backward. Blocking arc: on the up side the one
	// nearest the apex wins ties (met last), on the down side the one
	// nearest i; the up side is met after the down side.
	theta := math.Inf(1)
	leave, up := -1, false
	for x := i; x != apex; x = int(s.parent[x]) {
		if x < n { // backward: arc from parent sink to x, traversed sink→source
			if f := s.flow[s.arc(x, int(s.parent[x]))]; f < theta {
				theta, leave = f, x
			}
		}
	}
	for y := n + j; y != apex; y = int(s.parent[y]) {
		if y >= n { // backward: arc into sink y from its parent source, traversed y→parent
			if f := s.flow[s.arc(y, int(s.parent[y]))]; f <= theta {
				theta, leave, up = f, y, true
			}
		}
	}

	// Push θ round the cycle.
	if theta > 0 {
		for x := i; x != apex; x = int(s.parent[x]) {
			k := s.arc(x, int(s.parent[x]))
			if x < n {
				s.flow[k] -= theta
			} else {
				s.flow[k] += theta
			}
		}
		for y := n + j; y != apex; y = int(s.parent[y]) {
			k := s.arc(y, int(s.parent[y]))
			if y >= n {
				s.flow[k] -= theta
			} else {
				s.flow[k] += theta
			}
		}
		s.flow[i*s.m+j] += theta
	}
	p := int(s.parent[leave])
	s.flow[s.arc(leave, p)] = 0

	// Swap the arcs and re-hang the cut-off subtree from the entering arc.
	s.unlink(leave, p)
	s.link(i, n+j)
	if up {
		s.rehang(n+j, i)
	} else {
		s.rehang(i, n+j)
	}
}
