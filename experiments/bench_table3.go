package experiments

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/tensor"
)

// Table3Config configures `wow bench --workload table3`: the run times of
// the paper's Table 3 (5000 iterations, M→F: 200 MNIST images per class
// onto k Fashion-MNIST images per class) measured in one process, as a
// per-step time × 5000 for the MMDSW flow and the two baselines.
type Table3Config struct {
	Shots    []int // nil: 1, 5, 10
	Steps    int   // timed steps per method and k; 0: 20
	Warmup   int   // untimed steps first (used as given)
	Progress io.Writer
}

// Table3Row is one method at one k.
type Table3Row struct {
	Method   string  `json:"method"`
	K        int     `json:"k"`
	MedianMs float64 `json:"median_ms"`
	Per5000S float64 `json:"per_5000_steps_s"` // median step × 5000
	RatioMMD float64 `json:"ratio_to_mmdsw"`   // over the MMDSW flow at the same k
	PaperS   float64 `json:"paper_s"`          // the paper's GPU time for 5000 iterations (NaN: none)
	// PaperRatio is the paper's time over its MMDSW time (14 s).
	PaperRatio float64 `json:"paper_ratio_to_mmdsw"`
}

// paperTable3 is the paper's Table 3 (5000 iterations, M→F, GPU, seconds),
// as method.md §7 reports it: MMDSW 14; OTDD 295 / 1131 / 2294 at k = 1 / 5
// / 10; Hua et al. 132 (132–134).
var paperTable3 = map[string]map[int]float64{
	"mmdsw":      {1: 14, 5: 14, 10: 14},
	BaselineOTDD: {1: 295, 5: 1131, 10: 2294},
	BaselineHua:  {1: 132, 5: 132, 10: 132},
}

// BenchTable3 times flow steps of the MMDSW flow (float32, Riesz, L = 500,
// τ = 1, m = 0.9: the transfer flow), the OTDD flow and Hua et al.'s flow
// (float64, baselineFlow) on the transfer experiment's data of flow 0 at
// each k, and returns one row per method and k.
func BenchTable3(ctx context.Context, cfg Table3Config) ([]Table3Row, error) {
	if cfg.Shots == nil {
		cfg.Shots = []int{1, 5, 10}
	}
	orDefault(&cfg.Steps, 20)
	if cfg.Steps < 1 || cfg.Warmup < 0 {
		return nil, fmt.Errorf("bench table3: --steps %d must be positive and --warmup %d ≥ 0", cfg.Steps, cfg.Warmup)
	}
	tc := DefaultTransferConfig()
	if err := tc.defaults(); err != nil {
		return nil, err
	}
	r := &transferRun{cfg: tc}
	var rows []Table3Row
	for _, k := range cfg.Shots {
		src, shots, err := r.sample(k, 0)
		if err != nil {
			return nil, err
		}
		x, err := graph.FromLabeled(src.X, src.Labels, src.D)
		if err != nil {
			return nil, err
		}
		q, err := graph.FromLabeled(shots.X, shots.Labels, shots.D)
		if err != nil {
			return nil, err
		}
		sets, err := embedBaseline(x, q)
		if err != nil {
			return nil, err
		}
		var mmd float64
		for _, method := range []string{"mmdsw", BaselineOTDD, BaselineHua} {
			if err := ctx.Err(); err != nil {
				return rows, err
			}
			var fl *flows.Flow
			if method == "mmdsw" {
				fl, err = flows.New(x, functionals.MMD{Target: q}, flows.Config{Directions: tc.Directions, Seed: 1, Dtype: tensor.Float32,
					Optimizer: &optim.Momentum{Tau: tc.Tau, M: tc.Momentum}})
			} else {
				fl, _, err = baselineFlow(method, sets, flows.Config{Seed: 1})
			}
			if err != nil {
				return rows, fmt.Errorf("bench table3: %s, k=%d: %w", method, k, err)
			}
			ms, err := timeSteps(fl, cfg.Warmup, cfg.Steps)
			fl.Close()
			if err != nil {
				return rows, fmt.Errorf("bench table3: %s, k=%d: %w", method, k, err)
			}
			if method == "mmdsw" {
				mmd = ms
			}
			p := paperTable3[method][k]
			if p == 0 {
				p = math.NaN()
			}
			row := Table3Row{Method: method, K: k, MedianMs: ms, Per5000S: ms * 5000 / 1000, RatioMMD: ms / mmd, PaperS: p, PaperRatio: p / 14}
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "bench table3: %s k=%d: median %.1f ms/step (%.0f s per 5000 steps)\n", method, k, ms, row.Per5000S)
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// timeSteps takes warmup untimed steps, then returns the median wall-clock
// of steps timed steps in milliseconds.
func timeSteps(fl *flows.Flow, warmup, steps int) (float64, error) {
	for i := 0; i < warmup; i++ {
		if _, err := fl.Step(); err != nil {
			return 0, err
		}
	}
	ts := make([]float64, steps)
	for i := range ts {
		t0 := time.Now()
		if _, err := fl.Step(); err != nil {
			return 0, err
		}
		ts[i] = float64(time.Since(t0).Microseconds()) / 1000
	}
	sort.Float64s(ts)
	return ts[len(ts)/2], nil
}

// Table3Markdown formats rows as the README's table: per k, each method's
// measured time for 5000 steps and ratio to MMDSW beside the paper's.
func Table3Markdown(rows []Table3Row) string {
	var b strings.Builder
	b.WriteString("| method | k | ms/step (median) | × 5000 steps | ratio to MMDSW | paper (GPU, 5000 it.) | paper ratio |\n|---|---|---|---|---|---|---|\n")
	names := map[string]string{"mmdsw": "MMDSW flow", BaselineOTDD: "OTDD flow", BaselineHua: "Hua et al. flow"}
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.0f s | %.1f | %.0f s | %.1f |\n", names[r.Method], r.K, r.MedianMs, r.Per5000S, r.RatioMMD, r.PaperS, r.PaperRatio)
	}
	return b.String()
}
