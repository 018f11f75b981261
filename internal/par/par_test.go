package par

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// Every piece runs exactly once, on a worker index below Workers(n), with 1
// and with several cores.
func TestRunCoversEveryPieceOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 3, 100} {
			w := Workers(n)
			if w < 1 || w > procs || (n > 0 && w > n) {
				t.Errorf("GOMAXPROCS %d, n %d: %d workers", procs, n, w)
			}
			counts := make([]atomic.Int32, n)
			var bad atomic.Bool
			Run(n, w, func(i, k int) {
				counts[i].Add(1)
				if k < 0 || k >= w {
					bad.Store(true)
				}
			})
			for i := range counts {
				if c := counts[i].Load(); c != 1 {
					t.Errorf("GOMAXPROCS %d, n %d: piece %d ran %d times", procs, n, i, c)
				}
			}
			if bad.Load() {
				t.Errorf("GOMAXPROCS %d, n %d: a worker index outside [0, %d)", procs, n, w)
			}
		}
	}
}
