package graph

import "math"

// Cost1D returns the exact one-dimensional transport cost W_p^p between the
// uniform empirical measures on the sorted samples a and b (ascending), for
// p = 1 or 2. Sizes may differ: the quantile functions are integrated over the
// merged breakpoints i/len(a) and j/len(b).
func Cost1D(a, b []float64, p int) float64 {
	n, m := len(a), len(b)
	if n == m {
		s := 0.0
		if p == 1 {
			for i, x := range a {
				s += math.Abs(x - b[i])
			}
		} else {
			for i, x := range a {
				d := x - b[i]
				s += d * d
			}
		}
		return s / float64(n)
	}
	// Merge the quantile grids in integer units of 1/(n·m) to stay exact.
	s := 0.0
	i, j, t := 0, 0, 0
	for i < n && j < m {
		ea, eb := (i+1)*m, (j+1)*n
		e := min(ea, eb)
		d := a[i] - b[j]
		if p == 1 {
			s += float64(e-t) * math.Abs(d)
		} else {
			s += float64(e-t) * d * d
		}
		t = e
		if ea == e {
			i++
		}
		if eb == e {
			j++
		}
	}
	return s / float64(n*m)
}

// grad1D adds coef · ∂W_p^p(a, b)/∂a_(i) to acc[i] for every order statistic
// a_(i) of the sorted sample a (b is sorted too).
func grad1D(a, b []float64, p int, coef float64, acc []float64) {
	n, m := len(a), len(b)
	if n == m {
		c := coef / float64(n)
		if p == 1 {
			for i, x := range a {
				acc[i] += c * sign(x-b[i])
			}
		} else {
			c *= 2
			for i, x := range a {
				acc[i] += c * (x - b[i])
			}
		}
		return
	}
	c := coef / float64(n*m)
	if p == 2 {
		c *= 2
	}
	i, j, t := 0, 0, 0
	for i < n && j < m {
		ea, eb := (i+1)*m, (j+1)*n
		e := min(ea, eb)
		d := a[i] - b[j]
		if p == 1 {
			acc[i] += c * float64(e-t) * sign(d)
		} else {
			acc[i] += c * float64(e-t) * d
		}
		t = e
		if ea == e {
			i++
		}
		if eb == e {
			j++
		}
	}
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}
