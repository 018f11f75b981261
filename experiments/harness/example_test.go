package harness_test

import (
	"context"
	"fmt"
	"os"

	"github.com/wowflow/wowflow/experiments/harness"
	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
)

// A tiny experiment of three trials: two flows (seeds 1 and 2) of a
// two-class dataset onto a target, and a table that needs both. Running it
// twice computes nothing the second time.
func Example() {
	dir, err := os.MkdirTemp("", "harness-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	source, _ := graph.FromClasses(1, []float64{0, 0.1, 0.2}, []float64{1, 1.1, 1.2})
	target, _ := graph.FromClasses(1, []float64{2, 2.1, 2.2}, []float64{3, 3.1, 3.2})

	var plan harness.Plan
	var flowIDs []string
	for seed := uint64(1); seed <= 2; seed++ {
		key := struct{ Seed, Steps uint64 }{seed, 200} // what the trial's result depends on
		id, _ := harness.ID("flow", fmt.Sprintf("seed%d", seed), key)
		flowIDs = append(flowIDs, id)
		plan.Add(harness.Trial{ID: id, Kind: "flow", Name: fmt.Sprintf("seed%d", seed),
			Run: func(ctx context.Context, _ *harness.Runner) (any, error) {
				fl, err := flows.New(source, functionals.MMD{Target: target}, flows.Config{
					Steps: 200, Directions: 1, Seed: seed, Optimizer: &optim.Momentum{Tau: 0.05, M: 0}})
				if err != nil {
					return nil, err
				}
				defer fl.Close()
				res, err := fl.Run(ctx)
				return res.Loss, err // the result: the final ½MMD²
			}})
	}
	tableID, _ := harness.ID("eval", "table", flowIDs) // its inputs: the flows' IDs
	plan.Add(harness.Trial{ID: tableID, Kind: "eval", Name: "table", Needs: flowIDs,
		Run: func(_ context.Context, r *harness.Runner) (any, error) {
			var losses []float64
			for _, id := range flowIDs {
				l, err := harness.Result[float64](r.Store, id)
				if err != nil {
					return nil, err
				}
				losses = append(losses, l)
			}
			m, _ := harness.MeanStd(losses)
			return m, nil
		}})

	r := &harness.Runner{Store: harness.Store{Dir: dir}}
	for run := 0; run < 2; run++ {
		if err := r.Run(context.Background(), &plan, ""); err != nil {
			fmt.Println(err)
			return
		}
	}
	plan.Write(os.Stdout, r.Store)
	mean, _ := harness.Result[float64](r.Store, tableID)
	fmt.Println("mean final ½MMD² below 1e-6:", mean < 1e-6) // ≈ 1e-15 here
	// Output:
	// flow-seed1-0dfab81e54fc	flow	done	needs -
	// flow-seed2-e5c57c933450	flow	done	needs -
	// eval-table-c50c412c012c	eval	done	needs flow-seed1-0dfab81e54fc,flow-seed2-e5c57c933450
	// mean final ½MMD² below 1e-6: true
}
