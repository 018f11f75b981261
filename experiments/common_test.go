package experiments

import (
	"strings"
	"testing"
)

func TestLossRoseWarning(t *testing.T) {
	for _, tc := range []struct {
		first, final float64
		warn         bool
	}{
		{0.13, 0.52, true},
		{0.13, 0.0035, false},
		{0.5, 0.5, false},
		{1e-4, 1.1e-4, true},
	} {
		got := lossRoseWarning(tc.first, tc.final)
		if (got != "") != tc.warn || (tc.warn && !strings.Contains(got, "diverged")) {
			t.Errorf("lossRoseWarning(%v, %v) = %q, want a warning: %v", tc.first, tc.final, got, tc.warn)
		}
	}
}
