//go:build purego

package main

// buildTags are passed to the go build of the wow binary the tests run, so a
// -tags purego test run tests the pure-Go BLAS build of the command too.
const buildTags = "purego"
