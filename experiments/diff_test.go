package experiments

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wowflow/wowflow/data"
)

func TestDiff(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, rows, cols int, v ...float64) string {
		p := filepath.Join(dir, name)
		if err := data.WriteMatrix(p, data.Matrix{Data: v, Rows: rows, Cols: cols}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.npy", 2, 2, 1, 2, 3, 4)
	// b differs by 3 and 4 in row 1 (a row distance of 5) and by one ulp at (0, 0).
	b := write("b.npy", 2, 2, math.Nextafter(1, 2), 2, 6, 8)
	if r, err := Diff(a, a); err != nil || !r.Identical || r.Differing != 0 || r.MaxAbs != 0 {
		t.Errorf("a vs a: %+v, %v", r, err)
	}
	r, err := Diff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	rms := math.Sqrt((9 + 16 + math.Pow(math.Nextafter(1, 2)-1, 2)) / 4)
	if r.Identical || r.Differing != 3 || r.MaxAbs != 4 || math.Abs(r.MaxAbsRow-5) > 1e-15 ||
		math.Abs(r.RMS-rms) > 1e-15 || math.Abs(r.RelRMS-math.Sqrt(25/30.0)) > 1e-12 {
		t.Errorf("a vs b: %+v (want 3 differing, max 4, row 5, rms %g)", r, rms)
	}
	if _, err := Diff(a, write("c.npy", 1, 4, 1, 2, 3, 4)); err == nil || !strings.Contains(err.Error(), "2×2") {
		t.Errorf("shape mismatch: %v", err)
	}
	if _, err := Diff(a, filepath.Join(dir, "missing.npy")); err == nil || !strings.Contains(err.Error(), "missing.npy") {
		t.Errorf("missing file: %v", err)
	}
}
