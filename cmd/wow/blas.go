package main

import (
	"fmt"
	"os"

	"github.com/wowflow/wowflow/graph"
)

// keepBLASEnv, when set, keeps the kernels OpenBLAS chose (tests set it,
// so that the wow they run computes with the same kernels as they do).
const keepBLASEnv = "WOWFLOW_KEEP_BLAS"

// restartForBLAS restarts wow with OPENBLAS_CORETYPE set when OpenBLAS
// fell back to generic kernels on a CPU it does not know
// (graph.SuggestedCoreType: 3–4× slower products), saying so on stderr.
// It does nothing when OPENBLAS_CORETYPE or WOWFLOW_KEEP_BLAS is set: a
// choice made by the user stands. It returns only if it did not restart.
func restartForBLAS() {
	if os.Getenv("OPENBLAS_CORETYPE") != "" || os.Getenv(keepBLASEnv) != "" {
		return
	}
	ct := graph.SuggestedCoreType()
	if ct == "" {
		return
	}
	core := graph.BLASCore()
	exe, err := os.Executable()
	if err == nil {
		fmt.Fprintf(os.Stderr, "wow: OpenBLAS does not know this CPU and chose its %s kernels, which leave its vector units unused; restarting with OPENBLAS_CORETYPE=%s (set OPENBLAS_CORETYPE yourself, or %s=1, to choose)\n", core, ct, keepBLASEnv)
		err = execSelf(exe, os.Args, append(os.Environ(), "OPENBLAS_CORETYPE="+ct))
	}
	fmt.Fprintf(os.Stderr, "wow: could not restart with OPENBLAS_CORETYPE=%s (%v); running on OpenBLAS's %s kernels\n", ct, err, core)
}
