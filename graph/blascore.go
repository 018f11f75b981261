package graph

import (
	"strings"

	"golang.org/x/sys/cpu"
)

// SuggestedCoreType returns the OPENBLAS_CORETYPE that gives this CPU
// OpenBLAS's vector kernels when the OpenBLAS loaded fell back to a
// generic pre-AVX2 core because it does not know the CPU model, and ""
// when it did not (or the build does not use OpenBLAS).
//
// Debian 12's OpenBLAS 0.3.21 does not know Intel's Emerald Rapids (family
// 6, model 207) and runs its Prescott (SSE3) kernels there: float32 GEMM
// at 34 GFLOP/s on 2 cores against 144 with OPENBLAS_CORETYPE=SkylakeX,
// the W1 flow step 218 ms against 134 (measured with wow bench on such a
// machine). OpenBLAS reads the variable when it is loaded, so it can only
// take effect in a new process: cmd/wow restarts itself with it.
func SuggestedCoreType() string {
	x := cpu.X86
	return suggestCoreType(BLASCore(),
		x.HasAVX512F && x.HasAVX512BW && x.HasAVX512DQ && x.HasAVX512VL,
		x.HasAVX2 && x.HasFMA)
}

// genericCores are OpenBLAS's cores without AVX2/FMA kernels, the ones it
// falls back to on a CPU model it does not know.
var genericCores = map[string]bool{
	"prescott": true, "core2": true, "penryn": true, "dunnington": true, "nehalem": true,
	"sandybridge": true, "atom": true, "katmai": true, "coppermine": true, "northwood": true,
	"banias": true, "athlon": true, "opteron": true, "opteron_sse3": true, "barcelona": true,
	"nano": true, "bobcat": true,
}

// suggestCoreType is SuggestedCoreType for the given loaded core and CPU
// features: SkylakeX on a CPU with AVX-512 (F, BW, DQ, VL), Haswell on one
// with AVX2 and FMA, when the loaded core is generic.
func suggestCoreType(core string, avx512, avx2fma bool) string {
	if !genericCores[strings.ToLower(core)] {
		return ""
	}
	switch {
	case avx512:
		return "SkylakeX"
	case avx2fma:
		return "Haswell"
	}
	return ""
}
