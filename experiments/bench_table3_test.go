package experiments

import (
	"fmt"
	"testing"

	"github.com/wowflow/wowflow/internal/cputime"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/graph"
)

// BenchmarkBaselineStep times one step of each baseline flow of Table 3 on
// the transfer experiment's data (flow 0), per k:
//
//	go test ./experiments -run '^$' -bench BaselineStep/hua -cpuprofile hua.prof
func BenchmarkBaselineStep(b *testing.B) {
	tc := DefaultTransferConfig()
	if err := tc.defaults(); err != nil {
		b.Fatal(err)
	}
	r := &transferRun{cfg: tc}
	for _, method := range []string{BaselineOTDD, BaselineHua} {
		for _, k := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/k=%d", method, k), func(b *testing.B) {
				src, shots, err := r.sample(k, 0)
				if err != nil {
					b.Fatal(err)
				}
				x, err := graph.FromLabeled(src.X, src.Labels, src.D)
				if err != nil {
					b.Fatal(err)
				}
				q, err := graph.FromLabeled(shots.X, shots.Labels, shots.D)
				if err != nil {
					b.Fatal(err)
				}
				sets, err := embedBaseline(x, q)
				if err != nil {
					b.Fatal(err)
				}
				fl, _, err := baselineFlow(method, sets, flows.Config{Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				defer fl.Close()
				if _, err := fl.Step(); err != nil {
					b.Fatal(err)
				}
				cpu0, f0 := cputime.Seconds(), cputime.Faults()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := fl.Step(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cputime.Seconds()-cpu0)*1000/float64(b.N), "cpu-ms/op")
				b.ReportMetric((cputime.Faults()-f0)/float64(b.N), "faults/op")
			})
		}
	}
}
