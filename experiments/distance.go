package experiments

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/ot"
)

// DistanceConfig configures `wow distance` between two labeled datasets.
type DistanceConfig struct {
	X, XLabels, Y, YLabels string
	// Metric: "wow" (default) the WoW distance WW_2² with exact W_2² between
	// classes; "sw" the same transport over classes with SW_2² as the cost;
	// "mmdsw" ½MMD² with the Riesz SW kernel; "otdd" the exact OTDD between
	// the point sets (see otddDistance).
	Metric     string
	Directions int    // L for sw and mmdsw; 0: 500
	Seed       uint64 // seeds the directions
	// LabelDims, for otdd, fits a PCA of that many dimensions on X and Y
	// together for the class Gaussians; 0: the given features.
	LabelDims int
}

// DefaultDistanceConfig returns the defaults of `wow distance`: the WoW
// metric; for sw and mmdsw, L = 500 directions from seed 1.
func DefaultDistanceConfig() DistanceConfig {
	return DistanceConfig{Metric: "wow", Directions: 500, Seed: 1}
}

// DistanceResult is what `wow distance` prints.
type DistanceResult struct {
	Metric     string      `json:"metric"`
	Value      float64     `json:"value"`     // WW_2² (squared) for wow and sw; ½MMD² for mmdsw
	Cost       [][]float64 `json:"cost"`      // C×C' class-to-class W_2² (SW_2² for sw and mmdsw)
	Coupling   [][]float64 `json:"coupling"`  // optimal class coupling under Cost
	Alignment  []int       `json:"alignment"` // for each class of X, the label of Y it sends most mass to
	Classes    [2]int      `json:"classes"`
	Directions int         `json:"directions,omitempty"`
	LabelDims  int         `json:"label_dims,omitempty"`
	ElapsedS   float64     `json:"elapsed_s"`
}

// Distance computes the chosen distance between the datasets of cfg.
func Distance(cfg DistanceConfig) (DistanceResult, error) {
	t0 := time.Now()
	d := DefaultDistanceConfig()
	orDefault(&cfg.Metric, d.Metric)
	orDefault(&cfg.Directions, d.Directions)
	if cfg.Directions < 0 {
		return DistanceResult{}, fmt.Errorf("distance: --directions %d must be positive", cfg.Directions)
	}
	if cfg.Metric != "wow" && cfg.Metric != "sw" && cfg.Metric != "mmdsw" && cfg.Metric != "otdd" {
		return DistanceResult{}, fmt.Errorf("distance: --metric %q, want wow, sw, mmdsw or otdd", cfg.Metric)
	}
	x, err := LoadLabeled(cfg.X, cfg.XLabels)
	if err != nil {
		return DistanceResult{}, err
	}
	y, err := LoadLabeled(cfg.Y, cfg.YLabels)
	if err != nil {
		return DistanceResult{}, err
	}
	if x.D != y.D {
		return DistanceResult{}, fmt.Errorf("%s has dimension %d but %s has %d", cfg.X, x.D, cfg.Y, y.D)
	}
	C, K := x.NumClasses(), y.NumClasses()
	res := DistanceResult{Metric: cfg.Metric, Classes: [2]int{C, K}}
	if cfg.Metric == "otdd" {
		err := otddDistance(x, y, cfg.LabelDims, &res)
		res.ElapsedS = time.Since(t0).Seconds()
		return res, err
	}
	var w ot.WoWResult
	if cfg.Metric == "wow" {
		if w, err = wowOf(x, y); err != nil {
			return res, err
		}
		res.Value = w.Value
	} else {
		res.Directions = cfg.Directions
		S, err := slicedCosts(x, y, cfg.Directions, cfg.Seed)
		if err != nil {
			return res, err
		}
		G := C + K
		cost := make([]float64, C*K)
		for c := 0; c < C; c++ {
			copy(cost[c*K:(c+1)*K], S[c*G+C:c*G+G])
		}
		a, b := make([]float64, C), make([]float64, K)
		for c := range a {
			a[c] = x.Weight(c)
		}
		for k := range b {
			b[k] = y.Weight(k)
		}
		if w, err = ot.WoWFromCost(cost, a, b); err != nil {
			return res, err
		}
		res.Value = w.Value
		if cfg.Metric == "mmdsw" {
			wt := append(append([]float64(nil), a...), b...)
			for k := C; k < G; k++ {
				wt[k] = -wt[k]
			}
			v := 0.0
			for i := 0; i < G; i++ {
				for j := 0; j < G; j++ {
					v += wt[i] * wt[j] * functionals.Riesz{}.Eval(S[i*G+j])
				}
			}
			res.Value = v / 2
		}
	}
	res.Cost, res.Coupling, res.Alignment = rows(w.Cost, C, K), rows(w.Coupling, C, K), w.Alignment
	res.ElapsedS = time.Since(t0).Seconds()
	return res, nil
}

// slicedCosts returns the (C+K)×(C+K) matrix of SW_2² between all classes of
// x and y (graph.ReferenceSliced) on L random directions drawn from seed.
func slicedCosts(x, y *graph.Dataset, L int, seed uint64) ([]float64, error) {
	theta := make([]float64, x.D*L) // d×L
	if err := (functionals.RandomDirections{}).Draw(rand.New(rand.NewPCG(seed, 0x51ced)), x.D, L, theta); err != nil {
		return nil, err
	}
	return graph.ReferenceSliced(theta, L, 2, x, y)
}

func rows(v []float64, r, c int) [][]float64 {
	out := make([][]float64, r)
	for i := range out {
		out[i] = v[i*c : (i+1)*c]
		for j, e := range out[i] {
			if math.Abs(e) < 1e-300 {
				out[i][j] = 0
			}
		}
	}
	return out
}
