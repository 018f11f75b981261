// Package par runs the parallel loops of the numerical kernels (graph's ops,
// models' engine): n independent pieces of work on up to GOMAXPROCS
// goroutines. Callers split their work into a number of pieces that does
// not depend on the machine, and combine the pieces' results in index
// order, so that results do not depend on the number of cores.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers is the number of goroutines Run uses for n pieces: GOMAXPROCS,
// at most n, at least 1.
func Workers(n int) int { return max(1, min(runtime.GOMAXPROCS(0), n)) }

// Run calls work(i, w) for every i in [0, n), on workers goroutines (w in
// [0, workers) names the goroutine, for per-worker buffers); pieces are
// handed out in index order as goroutines become free. With one worker it
// runs in the calling goroutine.
func Run(n, workers int, work func(i, w int)) {
	if workers <= 1 || n <= 1 {
		for i := 0; i < n; i++ {
			work(i, 0)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				work(i, w)
			}
		}()
	}
	wg.Wait()
}
