package experiments

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadLabeled feeds arbitrary bytes as the data and label files of the
// CLI's file inputs (wow eval, wow distance): any outcome but a panic is fine.
func FuzzLoadLabeled(f *testing.F) {
	x, _ := os.ReadFile("testdata/known-answer/x.npy")
	l, _ := os.ReadFile("testdata/known-answer/x_labels.npy")
	f.Add(x, l)
	f.Add(x[:len(x)/2], l)
	f.Add(l, x)
	f.Add([]byte("\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }"), l)
	f.Fuzz(func(t *testing.T, xb, lb []byte) {
		dir := t.TempDir()
		xp, lp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "l.npy")
		if err := os.WriteFile(xp, xb, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lp, lb, 0o644); err != nil {
			t.Fatal(err)
		}
		ds, err := LoadLabeled(xp, lp)
		if err == nil {
			if verr := ds.Validate(); verr != nil {
				t.Fatalf("LoadLabeled accepted an invalid dataset: %v", verr)
			}
		}
	})
}
