package graph

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// naiveSliced is ReferenceSliced as plainly as it can be written: every
// class projected direction by direction, sorted, every ordered pair (g, h)
// summed over the directions in order. ReferenceSliced must agree with it
// bit for bit (it only reorders independent work).
func naiveSliced(theta []float64, L, p int, sets ...*Dataset) []float64 {
	var proj [][][]float64 // class → direction → sorted projections
	for _, ds := range sets {
		for c := 0; c < ds.NumClasses(); c++ {
			x, n := ds.Class(c), ds.ClassSize(c)
			pc := make([][]float64, L)
			for l := range pc {
				v := make([]float64, n)
				for i := range v {
					for k := 0; k < ds.D; k++ {
						v[i] += x[i*ds.D+k] * theta[k*L+l]
					}
				}
				slices.Sort(v)
				pc[l] = v
			}
			proj = append(proj, pc)
		}
	}
	G := len(proj)
	S := make([]float64, G*G)
	for i := 0; i < G; i++ {
		for j := 0; j < G; j++ {
			for l := 0; l < L; l++ {
				S[i*G+j] += Cost1D(proj[i][l], proj[j][l], p)
			}
			S[i*G+j] /= float64(L)
		}
	}
	return S
}

func TestReferenceSliced(t *testing.T) {
	for _, tc := range []struct {
		name   string
		xs, ys []int // class sizes; ys nil: one dataset
		d, L   int
		p      int
	}{
		{"equal/p2", []int{4, 4}, []int{4, 4, 4}, 3, 5, 2},
		{"equal/p1", []int{4, 4}, []int{4, 4}, 3, 5, 1},
		{"unequal/p2", []int{3, 5}, []int{4, 2}, 2, 6, 2},
		{"unequal/p1", []int{3, 5}, []int{7}, 2, 4, 1},
		{"self/p2", []int{3, 4, 5}, nil, 3, 5, 2},
		{"d=1", []int{6}, []int{9}, 1, 3, 2},
		{"sparse/p2", []int{6, 9}, []int{5, 7}, 4, 6, 2}, // zero coordinates, skipped by the projection
		{"sparse/p1", []int{6, 6}, []int{6}, 4, 6, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, uint64(len(tc.name))))
			lx, ly := layoutOf(tc.d, tc.xs...), layoutOf(tc.d, tc.ys...)
			points := func(n int) []float64 {
				v := randSlice(r, n)
				if strings.HasPrefix(tc.name, "sparse") {
					for i := range v {
						switch r.IntN(3) {
						case 0:
							v[i] = 0
						case 1:
							v[i] = math.Copysign(0, -1)
						}
					}
				}
				return v
			}
			x := &Dataset{Data: points(lx.Len() * tc.d), Offsets: lx.Offsets, D: tc.d}
			sets := []*Dataset{x}
			var ydata []float64
			if tc.ys != nil {
				ydata = points(ly.Len() * tc.d)
				sets = append(sets, &Dataset{Data: ydata, Offsets: ly.Offsets, D: tc.d})
			}
			theta := randDirections(r, tc.d, tc.L)
			got, err := ReferenceSliced(theta, tc.L, tc.p, sets...)
			if err != nil {
				t.Fatal(err)
			}
			if want := naiveSliced(theta, tc.L, tc.p, sets...); !slices.Equal(got, want) {
				t.Errorf("ReferenceSliced %v,\nnaive loops     %v", got, want)
			}
			// Against the brute-force quantile integral, and against the op.
			want := directSliced(x.Data, ydata, lx, ly, theta, tc.L, tc.p)
			G := len(want)
			sg := buildSliced(t, tensor.Float64, lx, ly, theta, ydata, tc.L, tc.p, randSlice(r, G), tc.ys == nil)
			var sv gorgonia.Value // S as computed, before the loss reuses its memory
			gorgonia.Read(sg.s, &sv)
			if err := gorgonia.Let(sg.x, tensor.New(tensor.WithShape(lx.Len(), tc.d), tensor.WithBacking(slices.Clone(x.Data)))); err != nil {
				t.Fatal(err)
			}
			m := gorgonia.NewTapeMachine(sg.g)
			defer m.Close()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			op := sv.Data().([]float64)
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12*math.Max(1, want[i]) || math.Abs(got[i]-op[i]) > 1e-12*math.Max(1, op[i]) {
					t.Fatalf("S[%d] = %v, quantile integral %v, Sliced op %v", i, got[i], want[i], op[i])
				}
			}
		})
	}
}

// The work is split across goroutines but not the sums: any number of cores
// gives the same bits.
func TestReferenceSlicedDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	d, L := 7, 40
	x, err := FromClasses(d, randSlice(r, 30*d), randSlice(r, 17*d), randSlice(r, 25*d))
	if err != nil {
		t.Fatal(err)
	}
	y, err := FromClasses(d, randSlice(r, 11*d), randSlice(r, 30*d))
	if err != nil {
		t.Fatal(err)
	}
	theta := randDirections(r, d, L)
	var out [][]float64
	for _, procs := range []int{1, 2, 5} {
		prev := runtime.GOMAXPROCS(procs)
		s, err := ReferenceSliced(theta, L, 2, x, y)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	for i := 1; i < len(out); i++ {
		if !slices.Equal(out[0], out[i]) {
			t.Errorf("results differ between GOMAXPROCS settings")
		}
	}
}

func TestReferenceSlicedErrors(t *testing.T) {
	x, err := FromClasses(2, []float64{0, 1, 2, 3}, []float64{4, 5})
	if err != nil {
		t.Fatal(err)
	}
	y3, err := FromClasses(3, []float64{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	theta := []float64{1, 0, 0, 1} // 2×2
	if _, err := ReferenceSliced(theta, 2, 2, x); err != nil {
		t.Fatal(err)
	}
	bad := &Dataset{Data: []float64{0, 1}, Offsets: []int{0, 2}, D: 2}
	for _, tc := range []struct {
		name  string
		theta []float64
		L, p  int
		sets  []*Dataset
		want  error
	}{
		{"p=3", theta, 2, 3, []*Dataset{x}, ErrOption},
		{"no dataset", theta, 2, 2, nil, ErrShape},
		{"theta length", theta[:3], 2, 2, []*Dataset{x}, ErrShape},
		{"L=0", nil, 0, 2, []*Dataset{x}, ErrShape},
		{"dimensions", theta, 2, 2, []*Dataset{x, y3}, ErrShape},
		{"invalid dataset", theta, 2, 2, []*Dataset{bad}, ErrShape},
		{"nan direction", []float64{1, math.NaN(), 0, 1}, 2, 2, []*Dataset{x}, ErrNonFinite},
	} {
		if _, err := ReferenceSliced(tc.theta, tc.L, tc.p, tc.sets...); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
