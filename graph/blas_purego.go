//go:build !cgo || purego

package graph

// BLAS names the BLAS implementation in use: pure-Go gonum in this build.
const BLAS = "gonum"
