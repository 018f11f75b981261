package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/internal/gradcheck"
)

// randomTaps returns a tap table of out×T entries into in values, some
// weights zero and some indices repeated.
func randomTaps(r *rand.Rand, in, out, T int) (idx, wts []float64) {
	idx, wts = make([]float64, out*T), make([]float64, out*T)
	for k := range idx {
		idx[k] = float64(r.IntN(in))
		if r.IntN(5) > 0 {
			wts[k] = r.Float64()
		}
	}
	return idx, wts
}

func tapNodes(g *gorgonia.ExprGraph, dt tensor.Dtype, idx, wts []float64, out, T int) (*gorgonia.Node, *gorgonia.Node) {
	in := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(out, T), gorgonia.WithName("idx"), gorgonia.WithValue(denseFrom(dt, slices.Clone(idx), out, T)))
	wn := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(out, T), gorgonia.WithName("wts"), gorgonia.WithValue(denseFrom(dt, slices.Clone(wts), out, T)))
	return in, wn
}

// The sparse map equals the product with its dense matrix.
func TestResampleMatchesDenseProduct(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, c := range []struct{ n, in, out, T int }{{1, 5, 3, 1}, {3, 7, 9, 4}, {40, 30, 30, 4}} {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			t.Run(fmt.Sprintf("%dx%d→%d_T%d/%v", c.n, c.in, c.out, c.T, dt), func(t *testing.T) {
				idx, wts := randomTaps(r, c.in, c.out, c.T)
				x := randSlice(r, c.n*c.in)
				g := gorgonia.NewGraph()
				xn := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(c.n, c.in), gorgonia.WithName("x"), gorgonia.WithValue(denseFrom(dt, slices.Clone(x), c.n, c.in)))
				in, wn := tapNodes(g, dt, idx, wts, c.out, c.T)
				got := runGraph(t, g, must(Resample(xn, in, wn)))[0]
				m := make([]float64, c.in*c.out)
				for k, j := range idx {
					m[int(j)*c.out+k/c.T] += wts[k]
				}
				tol := 1e-14
				if dt == tensor.Float32 {
					tol = 1e-6
				}
				for i := 0; i < c.n; i++ {
					for p := 0; p < c.out; p++ {
						want := 0.0
						for j := 0; j < c.in; j++ {
							want += x[i*c.in+j] * m[j*c.out+p]
						}
						if g := got[i*c.out+p]; math.Abs(g-want) > tol*(1+math.Abs(want)) {
							t.Fatalf("row %d, output %d: %v, dense product %v", i, p, g, want)
						}
					}
				}
			})
		}
	}
}

func TestResampleGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	const n, in, out, T = 50, 12, 10, 4 // n·out·T ≥ 2¹⁵/… : also the parallel path below
	for _, rows := range []int{n, 900} {
		t.Run(fmt.Sprint(rows), func(t *testing.T) {
			idx, wts := randomTaps(r, in, out, T)
			g := gorgonia.NewGraph()
			xn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(rows, in), gorgonia.WithName("x"))
			itn, wn := tapNodes(g, tensor.Float64, idx, wts, out, T)
			loss := weightedSum(t, must(Resample(xn, itn, wn)), r)
			x := randSlice(r, rows*in)
			var res gradcheck.Result
			var err error
			if len(x) > 1000 {
				res, err = gradcheck.Directional(g, loss, xn, x, r, 3, 1e-6, 1e-4)
			} else {
				res, err = gradcheck.Check(g, loss, xn, x, 1e-6, 1e-4)
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.MaxRelErr > 1e-6 { // the map is linear: only round-off
				t.Errorf("input or direction %d: gradient %v, central difference %v (relative error %.3g)", res.Index, res.Analytic, res.Numeric, res.MaxRelErr)
			}
		})
	}
}

func TestResampleRejectsBadTaps(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(2, 4), gorgonia.WithName("x"), gorgonia.WithValue(denseFrom(tensor.Float64, make([]float64, 8), 2, 4)))
	if _, err := Resample(x, x, must(gorgonia.Transpose(x))); !errors.Is(err, ErrShape) {
		t.Errorf("tables of different shapes: %v, want ErrShape", err)
	}
	for _, bad := range []float64{4, -1, 1.5} {
		g := gorgonia.NewGraph()
		xn := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(2, 4), gorgonia.WithName("x"), gorgonia.WithValue(denseFrom(tensor.Float64, make([]float64, 8), 2, 4)))
		in, wn := tapNodes(g, tensor.Float64, []float64{0, bad}, []float64{1, 1}, 1, 2)
		must(Resample(xn, in, wn))
		vm := gorgonia.NewTapeMachine(g)
		// The tape machine wraps errors as text.
		if err := vm.RunAll(); err == nil || !strings.Contains(err.Error(), "not an index in [0, 4)") {
			t.Errorf("index %v: %v, want an error naming the bad index", bad, err)
		}
		vm.Close()
	}
}
