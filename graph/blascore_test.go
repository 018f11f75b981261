package graph

import "testing"

func TestSuggestCoreType(t *testing.T) {
	for _, c := range []struct {
		core            string
		avx512, avx2fma bool
		want            string
	}{
		{"Prescott", true, true, "SkylakeX"},
		{"Prescott", false, true, "Haswell"},
		{"Prescott", false, false, ""}, // an old CPU: Prescott is right
		{"Nehalem", false, true, "Haswell"},
		{"SANDYBRIDGE", true, true, "SkylakeX"},
		{"Haswell", true, true, ""}, // chosen by the user or by OpenBLAS: keep it
		{"SkylakeX", true, true, ""},
		{"Zen", true, true, ""},
		{"Cooperlake", true, true, ""},
		{"gonum", true, true, ""},
	} {
		if got := suggestCoreType(c.core, c.avx512, c.avx2fma); got != c.want {
			t.Errorf("suggestCoreType(%q, avx512=%v, avx2fma=%v) = %q, want %q", c.core, c.avx512, c.avx2fma, got, c.want)
		}
	}
}

func TestBLASCoreNamed(t *testing.T) {
	core := BLASCore()
	if core == "" {
		t.Fatal("BLASCore() is empty")
	}
	t.Logf("BLAS %s, core %s, suggested OPENBLAS_CORETYPE %q", BLAS, core, SuggestedCoreType())
}
