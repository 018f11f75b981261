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
