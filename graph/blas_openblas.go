//go:build cgo && !purego

package graph

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BLAS names the BLAS implementation in use: OpenBLAS through cgo here
// (Debian's libopenblas-dev), pure-Go gonum with -tags purego or CGO_ENABLED=0.
const BLAS = "openblas"

func init() {
	impl := netlib.Implementation{}
	blas64.Use(impl)
	blas32.Use(impl)
	tensor.Use(impl)
	gorgonia.Use(impl)
}
