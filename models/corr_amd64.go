//go:build amd64 && !purego

package models

import "golang.org/x/sys/cpu"

// useAVX2 says whether the float32 correlation kernels run in assembly.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// corr6x16 sets out[i·ldo + t] = Σ_{k<K} w[i·ldw + k] · in[offs[k] + t]
// for i < 6, t < 16·nblk (K ≥ 1).
//
//go:noescape
func corr6x16(w *float32, ldw, K int, offs *int32, in *float32, out *float32, ldo int, nblk int)

// corrGrad6x2 sets s[2i + c] = Σ_{j<nimg} Σ_{t<8·n8} dt[j·dts + i·ldt + t] ·
// in[j·ins + off_c + t] for i < 6, c < 2 (off_0 = off0, off_1 = off1).
//
//go:noescape
func corrGrad6x2(dt *float32, ldt, dts int, in *float32, ins, off0, off1, nimg, n8 int, s *[12]float32)

// reluMaxPoolPlane is reluMaxPoolBits on one plane: the 2×2 maxima of
// max(x + b, 0) of the ph×pw windows of plane (rows rs apart) into y, the
// offsets of their first maxima into idx. It reads 16·⌈pw/8⌉ values from
// the start of each of the plane's 2·ph rows.
//
//go:noescape
func reluMaxPoolPlane(plane *float32, rs, ph, pw int, b float32, y *float32, idx *int32)

// adamStep32 is adamW.step's loop on n float32 values (a multiple of 4)
// with float64 moments m, s; c holds decay, β1, 1−β1, β2, 1−β2, τ,
// 1/(1−β1ᵗ), 1/(1−β2ᵗ), ε.
//
//go:noescape
func adamStep32(x, gr *float32, m, s *float64, n int, c *[9]float64)
