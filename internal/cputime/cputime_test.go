package cputime

import "testing"

func TestSecondsGrows(t *testing.T) {
	t0 := Seconds()
	x := 0.0
	for i := 0; i < 50_000_000; i++ {
		x += float64(i)
	}
	if t1 := Seconds(); !(t1 > t0) || x == 0 {
		t.Errorf("CPU time %v then %v after a busy loop", t0, t1)
	}
}
