//go:build !amd64 || purego

package models

// useAVX2 says whether the float32 correlation kernels run in assembly.
var useAVX2 = false

func corr6x16(w *float32, ldw, K int, offs *int32, in *float32, out *float32, ldo int, nblk int) {
	panic("models: no assembly kernels")
}

func corrGrad6x2(dt *float32, ldt, dts int, in *float32, ins, off0, off1, nimg, n8 int, s *[12]float32) {
	panic("models: no assembly kernels")
}

func reluMaxPoolPlane(plane *float32, rs, ph, pw int, b float32, y *float32, idx *int32) {
	panic("models: no assembly kernels")
}

func adamStep32(x, gr *float32, m, s *float64, n int, c *[9]float64) {
	panic("models: no assembly kernels")
}
