//go:build !purego

package main

// buildTags are passed to the go build of the wow binary the tests run.
const buildTags = ""
