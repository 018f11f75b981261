// Package cputime reads the CPU time of this process, for benchmarks that
// must be compared on a machine shared with other jobs (where wall time also
// counts the waits for a core).
package cputime

import (
	"math"
	"syscall"
)

// Seconds returns the user and system CPU time of the process so far, NaN
// if it cannot be read.
func Seconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// Faults returns the process's minor page faults so far (a first touch of
// fresh memory each), NaN if they cannot be read. Where fresh memory is
// expensive (a VM returning freed pages to its host), a benchmark reports
// them beside its CPU time.
func Faults() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Minflt)
}
