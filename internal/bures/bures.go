package bures

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Errors of this package.
var (
	ErrNotSPD = errors.New("bures: matrix is not symmetric positive definite")
	ErrShape  = errors.New("bures: shape mismatch")
)

// symTol is the relative asymmetry |Σ_ij − Σ_ji| / max|Σ| accepted as
// symmetric, and the relative size of a negative eigenvalue clipped to 0.
const symTol = 1e-9

// CheckSPD returns an error wrapping ErrNotSPD, naming what, unless the d×d
// matrix s is symmetric (to a relative 1e-9) with positive eigenvalues.
func CheckSPD(what string, s []float64, d int) error {
	if err := checkSym(what, s, d); err != nil {
		return err
	}
	vals, _, err := eigSym(s, d, false)
	if err != nil {
		return fmt.Errorf("bures: %s: %w", what, err)
	}
	if vals[0] <= 0 {
		return fmt.Errorf("bures: %s has eigenvalue %.3g: %w", what, vals[0], ErrNotSPD)
	}
	return nil
}

func checkSym(what string, s []float64, d int) error {
	if d <= 0 || len(s) != d*d {
		return fmt.Errorf("bures: %s has %d values, want %d×%d: %w", what, len(s), d, d, ErrShape)
	}
	scale := 0.0
	for _, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("bures: %s holds %v: %w", what, v, ErrNotSPD)
		}
		scale = math.Max(scale, math.Abs(v))
	}
	for i := 0; i < d; i++ {
		for j := i + 1; j < d; j++ {
			if math.Abs(s[i*d+j]-s[j*d+i]) > symTol*scale {
				return fmt.Errorf("bures: %s is not symmetric (entries %d,%d and %d,%d: %v, %v): %w", what, i, j, j, i, s[i*d+j], s[j*d+i], ErrNotSPD)
			}
		}
	}
	return nil
}

// eigSym returns the ascending eigenvalues (and, if vectors, the
// eigenvectors as columns of a dense matrix) of the symmetric part of s.
func eigSym(s []float64, d int, vectors bool) ([]float64, *mat.Dense, error) {
	sym := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, (s[i*d+j]+s[j*d+i])/2)
		}
	}
	var e mat.EigenSym
	if !e.Factorize(sym, vectors) {
		return nil, nil, errors.New("eigendecomposition failed")
	}
	var v *mat.Dense
	if vectors {
		v = new(mat.Dense)
		e.VectorsTo(v)
	}
	return e.Values(nil), v, nil
}

// Sqrtm returns the symmetric square root of the symmetric positive
// semi-definite d×d matrix s. Eigenvalues in [−1e-9·max|λ|, 0) are rounding
// and are clipped to 0; a more negative one is an error wrapping ErrNotSPD.
func Sqrtm(what string, s []float64, d int) ([]float64, error) {
	if err := checkSym(what, s, d); err != nil {
		return nil, err
	}
	vals, v, err := eigSym(s, d, true)
	if err != nil {
		return nil, fmt.Errorf("bures: %s: %w", what, err)
	}
	top := math.Max(math.Abs(vals[0]), math.Abs(vals[d-1]))
	out := make([]float64, d*d)
	for k, l := range vals {
		if l < 0 {
			if l < -symTol*top {
				return nil, fmt.Errorf("bures: %s has eigenvalue %.3g: %w", what, l, ErrNotSPD)
			}
			l = 0
		}
		r := math.Sqrt(l)
		for i := 0; i < d; i++ {
			vi := v.At(i, k) * r
			for j := 0; j < d; j++ {
				out[i*d+j] += vi * v.At(j, k)
			}
		}
	}
	return out, nil
}

// W2Sq returns W₂²(N(m1,s1), N(m2,s2)) for means of length d and d×d
// covariances, which must be symmetric positive semi-definite (errors wrap
// ErrNotSPD). Rounding can make the value slightly negative; it is clipped to 0.
func W2Sq(m1, s1, m2, s2 []float64, d int) (float64, error) {
	if len(m1) != d || len(m2) != d {
		return 0, fmt.Errorf("bures: means of length %d and %d, want %d: %w", len(m1), len(m2), d, ErrShape)
	}
	r1, err := Sqrtm("Σ₁", s1, d)
	if err != nil {
		return 0, err
	}
	if err := checkSym("Σ₂", s2, d); err != nil {
		return 0, err
	}
	// M = Σ₁^½ Σ₂ Σ₁^½.
	a, b := mat.NewDense(d, d, r1), mat.NewDense(d, d, append([]float64(nil), s2...))
	var t, m mat.Dense
	t.Mul(a, b)
	m.Mul(&t, a)
	vals, _, err := eigSym(m.RawMatrix().Data, d, false)
	if err != nil {
		return 0, fmt.Errorf("bures: Σ₁^½ Σ₂ Σ₁^½: %w", err)
	}
	top := math.Max(math.Abs(vals[0]), math.Abs(vals[d-1]))
	trRoot := 0.0
	for _, l := range vals {
		if l < 0 {
			if l < -1e-7*top { // Σ₂ not PSD (Σ₁ was checked)
				return 0, fmt.Errorf("bures: Σ₂ is not positive semi-definite (Σ₁^½ Σ₂ Σ₁^½ has eigenvalue %.3g): %w", l, ErrNotSPD)
			}
			continue
		}
		trRoot += math.Sqrt(l)
	}
	v := -2 * trRoot
	for i := 0; i < d; i++ {
		v += s1[i*d+i] + s2[i*d+i]
		v += (m1[i] - m2[i]) * (m1[i] - m2[i])
	}
	return math.Max(v, 0), nil
}

// W2Sq2 is W2Sq in d = 2 by the closed form of the package doc. Covariances
// are 2×2 row-major [a, b, c, d]; each must have a positive diagonal and
// positive determinant (else an error wrapping ErrNotSPD).
func W2Sq2(m1, s1, m2, s2 []float64) (float64, error) {
	if len(m1) != 2 || len(m2) != 2 || len(s1) != 4 || len(s2) != 4 {
		return 0, fmt.Errorf("bures: W2Sq2 takes means of length 2 and 2×2 covariances: %w", ErrShape)
	}
	if err := Check2("Σ₁", s1); err != nil {
		return 0, err
	}
	if err := Check2("Σ₂", s2); err != nil {
		return 0, err
	}
	dm := (m1[0]-m2[0])*(m1[0]-m2[0]) + (m1[1]-m2[1])*(m1[1]-m2[1])
	t := s1[0]*s2[0] + s1[1]*s2[2] + s1[2]*s2[1] + s1[3]*s2[3]
	q := math.Sqrt(Det2(s1) * Det2(s2))
	return math.Max(0, dm+s1[0]+s1[3]+s2[0]+s2[3]-2*math.Sqrt(t+2*q)), nil
}

// Det2 is the determinant of the 2×2 row-major matrix s.
func Det2(s []float64) float64 { return s[0]*s[3] - s[1]*s[2] }

// Check2 returns an error wrapping ErrNotSPD unless the 2×2 matrix s has a
// positive, finite diagonal and a positive determinant (for a symmetric s:
// SPD).
func Check2(what string, s []float64) error {
	for _, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("bures: %s = %v holds %v: %w", what, s, v, ErrNotSPD)
		}
	}
	if !(s[0] > 0 && s[3] > 0 && Det2(s) > 0) {
		return fmt.Errorf("bures: %s = %v (determinant %.3g): %w", what, s, Det2(s), ErrNotSPD)
	}
	return nil
}

// ExpMap returns exp_Σ(S) = (I + S) Σ (I + S) for d×d matrices Σ (SPD) and
// S (symmetric). The result is symmetrised (rounding) and checked: an error
// wraps ErrNotSPD if it is not SPD (I + S singular or Σ not SPD).
func ExpMap(sigma, s []float64, d int) ([]float64, error) {
	if len(sigma) != d*d || len(s) != d*d {
		return nil, fmt.Errorf("bures: ExpMap of %d and %d values, want %d×%d: %w", len(sigma), len(s), d, d, ErrShape)
	}
	a := mat.NewDense(d, d, append([]float64(nil), s...))
	for i := 0; i < d; i++ {
		a.Set(i, i, a.At(i, i)+1)
	}
	var t, r mat.Dense
	t.Mul(a, mat.NewDense(d, d, append([]float64(nil), sigma...)))
	r.Mul(&t, a.T())
	out := r.RawMatrix().Data
	for i := 0; i < d; i++ {
		for j := i + 1; j < d; j++ {
			m := (out[i*d+j] + out[j*d+i]) / 2
			out[i*d+j], out[j*d+i] = m, m
		}
	}
	if err := CheckSPD("exp_Σ(S)", out, d); err != nil {
		return nil, err
	}
	return out, nil
}
