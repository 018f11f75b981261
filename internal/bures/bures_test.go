package bures

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// randSPD returns A Aᵀ + 0.1 I for a random d×d A: SPD.
func randSPD(r *rand.Rand, d int) []float64 {
	a := make([]float64, d*d)
	for i := range a {
		a[i] = r.NormFloat64()
	}
	s := make([]float64, d*d)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			for k := 0; k < d; k++ {
				s[i*d+j] += a[i*d+k] * a[j*d+k]
			}
		}
		s[i*d+i] += 0.1
	}
	return s
}

func randVec(r *rand.Rand, d int) []float64 {
	v := make([]float64, d)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

// Known answers: diagonal (commuting) covariances have
// W₂² = |μ₁−μ₂|² + Σ_i (√a_i − √b_i)², and W₂(Σ, Σ) = 0.
func TestW2SqKnown(t *testing.T) {
	cases := []struct {
		name           string
		m1, s1, m2, s2 []float64
		d              int
		want           float64
	}{
		{"identical", []float64{1, 2}, []float64{2, 0.5, 0.5, 1}, []float64{1, 2}, []float64{2, 0.5, 0.5, 1}, 2, 0},
		{"diagonal", []float64{0, 0}, []float64{4, 0, 0, 1}, []float64{1, 1}, []float64{1, 0, 0, 9}, 2, 2 + 1 + 4},
		{"d=3 diagonal", []float64{0, 0, 0}, []float64{1, 0, 0, 0, 4, 0, 0, 0, 9}, []float64{0, 0, 3},
			[]float64{4, 0, 0, 0, 4, 0, 0, 0, 1}, 3, 9 + 1 + 0 + 4},
		{"point masses", []float64{0}, []float64{0}, []float64{2}, []float64{0}, 1, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := W2Sq(c.m1, c.s1, c.m2, c.s2, c.d)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-c.want) > 1e-10*(1+c.want) {
				t.Errorf("W2Sq = %v, want %v", got, c.want)
			}
			if c.d == 2 && c.s1[0] > 0 {
				got2, err := W2Sq2(c.m1, c.s1, c.m2, c.s2)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(got2-c.want) > 1e-10*(1+c.want) {
					t.Errorf("W2Sq2 = %v, want %v", got2, c.want)
				}
			}
		})
	}
}

// The 2×2 closed form equals the eigendecomposition on random SPD pairs,
// and the general form is symmetric in its arguments.
func TestW2Sq2MatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		m1, m2, s1, s2 := randVec(r, 2), randVec(r, 2), randSPD(r, 2), randSPD(r, 2)
		g, err := W2Sq(m1, s1, m2, s2, 2)
		if err != nil {
			t.Fatal(err)
		}
		h, err := W2Sq(m2, s2, m1, s1, 2)
		if err != nil {
			t.Fatal(err)
		}
		c, err := W2Sq2(m1, s1, m2, s2)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(g-c) > 1e-9*(1+g) || math.Abs(g-h) > 1e-9*(1+g) {
			t.Fatalf("pair %d: general %v, swapped %v, closed form %v", i, g, h, c)
		}
	}
}

func TestNotSPD(t *testing.T) {
	m := []float64{0, 0}
	good := []float64{1, 0, 0, 1}
	for name, s := range map[string][]float64{
		"negative eigenvalue": {1, 2, 2, 1},
		"negative diagonal":   {-1, 0, 0, -1},
		"asymmetric":          {1, 0.5, 0, 1},
		"NaN":                 {math.NaN(), 0, 0, 1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := W2Sq(m, s, m, good, 2); !errors.Is(err, ErrNotSPD) {
				t.Errorf("W2Sq: error %v, want ErrNotSPD", err)
			}
			if name != "asymmetric" {
				if _, err := W2Sq2(m, s, m, good); !errors.Is(err, ErrNotSPD) {
					t.Errorf("W2Sq2: error %v, want ErrNotSPD", err)
				}
			}
			if err := CheckSPD("Σ", s, 2); !errors.Is(err, ErrNotSPD) {
				t.Errorf("CheckSPD: error %v, want ErrNotSPD", err)
			}
		})
	}
}

func TestSqrtm(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, d := range []int{1, 2, 5} {
		s := randSPD(r, d)
		q, err := Sqrtm("Σ", s, d)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < d; i++ {
			for j := 0; j < d; j++ {
				v := 0.0
				for k := 0; k < d; k++ {
					v += q[i*d+k] * q[k*d+j]
				}
				if math.Abs(v-s[i*d+j]) > 1e-9*(1+math.Abs(s[i*d+j])) {
					t.Fatalf("d=%d: (√Σ)² [%d,%d] = %v, want %v", d, i, j, v, s[i*d+j])
				}
			}
		}
	}
}

// The exponential map stays SPD, is the identity at S = 0, and moves Σ to
// first order by SΣ + ΣS (its differential at S = 0).
func TestExpMap(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	sigma := randSPD(r, 2)
	id, err := ExpMap(sigma, make([]float64, 4), 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range id {
		if math.Abs(id[i]-sigma[i]) > 1e-12 {
			t.Fatalf("exp_Σ(0) = %v, want %v", id, sigma)
		}
	}
	s := []float64{0.3, -0.2, -0.2, 0.1}
	const h = 1e-6
	sh := []float64{h * s[0], h * s[1], h * s[2], h * s[3]}
	e, err := ExpMap(sigma, sh, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			want := 0.0
			for k := 0; k < 2; k++ {
				want += s[i*2+k]*sigma[k*2+j] + sigma[i*2+k]*s[k*2+j]
			}
			if got := (e[i*2+j] - sigma[i*2+j]) / h; math.Abs(got-want) > 1e-5 {
				t.Errorf("d exp [%d,%d] = %v, want %v", i, j, got, want)
			}
		}
	}
	// A large step whose I + S is singular leaves the cone: an error.
	if _, err := ExpMap(sigma, []float64{-1, 0, 0, 0}, 2); !errors.Is(err, ErrNotSPD) {
		t.Errorf("singular I + S: error %v, want ErrNotSPD", err)
	}
}
