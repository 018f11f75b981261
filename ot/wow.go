package ot

import (
	"fmt"
	"runtime"
	"sync"
)

// ClassCosts returns the C×K matrix (row-major) of exact W_2² between every
// class of x and every class of y — the ground cost of the class-level
// problem, whose "points" are the classes' empirical measures — with the
// class pairs computed in parallel by W2. The weights of x and y play no
// part here.
func ClassCosts(x, y Classes) ([]float64, error) {
	if err := x.Validate("first dataset"); err != nil {
		return nil, err
	}
	if err := y.Validate("second dataset"); err != nil {
		return nil, err
	}
	if x.D != y.D {
		return nil, fmt.Errorf("ot: datasets of dimension %d and %d: %w", x.D, y.D, ErrShape)
	}
	C, K := x.NumClasses(), y.NumClasses()
	cost := make([]float64, C*K)
	errs := make([]error, C*K)
	var wg sync.WaitGroup
	jobs := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				c, k := p/K, p%K
				xc, n := x.Class(c)
				yk, m := y.Class(k)
				cost[p], errs[p] = W2(xc, n, yk, m, x.D)
			}
		}()
	}
	for p := 0; p < C*K; p++ {
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	for p, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("ot: classes %d and %d: %w", p/K, p%K, err)
		}
	}
	return cost, nil
}

// WoWResult is the Wasserstein-over-Wasserstein distance between two labeled
// datasets and its optimal class coupling.
type WoWResult struct {
	Value     float64   // WW_2² = Σ_ck Γ_ck Cost_ck
	Cost      []float64 // C×K ground cost between classes (row-major)
	Coupling  []float64 // C×K optimal coupling Γ of the class weights
	Alignment []int     // for each class c of the first dataset, argmax_k Γ_ck
	C, K      int
}

// WoW returns WW_2²(P, Q) = min_Γ Σ_ck Γ_ck W_2²(μ_c, ν_k) over couplings of
// the class weights (exact transport between classes, exact W_2² between
// their point clouds), with the alignment of P's classes to Q's labels. It is
// ClassCosts followed by WoWFromCost with the class weights of x and y.
func WoW(x, y Classes) (WoWResult, error) {
	cost, err := ClassCosts(x, y)
	if err != nil {
		return WoWResult{}, err
	}
	return WoWFromCost(cost, x.ClassWeights(), y.ClassWeights())
}

// WoWFromCost solves the class-level transport for a given C×K ground cost
// (exact W_2² from ClassCosts, sliced costs, …) and class weights a (C) and
// b (K).
func WoWFromCost(cost, a, b []float64) (WoWResult, error) {
	C, K := len(a), len(b)
	if len(cost) != C*K {
		return WoWResult{}, fmt.Errorf("ot: %d costs for %d×%d classes: %w", len(cost), C, K, ErrShape)
	}
	plan, total, err := EMD(a, b, cost)
	if err != nil {
		return WoWResult{}, err
	}
	return WoWResult{Value: total, Cost: cost, Coupling: plan, Alignment: Align(plan, C, K), C: C, K: K}, nil
}

// Align returns, for each row c of the C×K coupling, the column receiving
// most of its mass (the lowest index on ties): the label of flowed class c.
func Align(coupling []float64, C, K int) []int {
	out := make([]int, C)
	for c := range out {
		best := 0
		for k := 1; k < K; k++ {
			if coupling[c*K+k] > coupling[c*K+best] {
				best = k
			}
		}
		out[c] = best
	}
	return out
}
