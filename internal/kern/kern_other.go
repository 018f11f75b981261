//go:build !amd64 || purego

package kern

// AVX2 says whether the kernels run in assembly: AVX2 and FMA on amd64,
// not with -tags purego. A variable, so that tests can run both paths.
var AVX2 = false

func copyRows32(dst *float32, ldd, dplane int, src *float32, lds, splane int, n, rows, planes int) {
	panic("kern: no assembly kernels")
}

func planeMoments32(plane *float32, n int, k float64, s *[2]float64) {
	panic("kern: no assembly kernels")
}

func reluPool32(plane *float32, w, ph, pw int, mu, q float32, y *float32) {
	panic("kern: no assembly kernels")
}

func winoIn32(rows *float32, W, tw int, dst *float32, S int) { panic("kern: no assembly kernels") }

func winoOut32(src *float32, S, tw int, y *float32, ldy int) { panic("kern: no assembly kernels") }
