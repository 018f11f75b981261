package ot

import (
	"math/rand/v2"
	"testing"
)

// mnistLike returns n points in d dimensions shaped roughly like MNIST
// digits: about 80% of the coordinates zero, the rest uniform in (0, 1],
// the support varying around a common template of one class.
func mnistLike(r *rand.Rand, n, d int) []float64 {
	template := make([]float64, d)
	for k := range template {
		template[k] = r.Float64() * 0.4 // P(pixel on) per coordinate
	}
	x := make([]float64, n*d)
	for i := range n {
		for k := range d {
			if r.Float64() < template[k] {
				x[i*d+k] = r.Float64()
			}
		}
	}
	return x
}

func BenchmarkAssignment(b *testing.B) {
	b.Run("n=500", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		n := 500
		c := costKinds[0].gen(r, n, n) // i.i.d. uniform costs
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := Assignment(c, n); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkW2(b *testing.B) {
	b.Run("n=500,d=784", func(b *testing.B) {
		r := rand.New(rand.NewPCG(3, 4))
		n, d := 500, 784
		x, y := mnistLike(r, n, d), mnistLike(r, n, d)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := W2(x, n, y, n, d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEMD(b *testing.B) {
	b.Run("500x300", func(b *testing.B) {
		r := rand.New(rand.NewPCG(5, 6))
		n, m, d := 500, 300, 784
		c, err := SqEuclidean(mnistLike(r, n, d), n, mnistLike(r, m, d), m, d)
		if err != nil {
			b.Fatal(err)
		}
		a, w := uniform(n), uniform(m)
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := EMD(a, w, c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
