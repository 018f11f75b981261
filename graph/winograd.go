package graph

import (
	"gonum.org/v1/gonum/blas"

	"github.com/wowflow/wowflow/internal/kern"
)

// Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016) for ConvBlocks' wide layers: a
// 3×3 convolution (padding 1, stride 1) of C channels into O computed on
// 4×4 input tiles d taken every 2 pixels, each giving a 2×2 output tile,
//
//	Y = Aᵀ [ Σ_c (G g_{o,c} Gᵀ) ⊙ (Bᵀ d_c B) ] A,
//
// so that the C-sums are 16 matrix products (one per position ξ of the 4×4
// transformed tile) of the O×C transformed filters U_ξ with the C×T
// transformed tiles V_ξ: 16·O·C multiply-adds per 2×2 outputs instead of
// 36·O·C, 2.25× fewer (1.72× for 7×7 planes, whose 4×4 tiles overhang).
// The transforms' coefficients are 0, ±1 and ±½, exact in binary; the
// result equals the direct convolution up to rounding (in float32, 1.4 to
// 2.5 times the direct path's round-off in TestConvBlocksMatchComposedOps).
//
//	Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
//	G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 −1 −1]

// winoMinChannels is the fewest input channels of a ConvBlocks layer that
// runs as Winograd F(2×2, 3×3) (fewer: im2col and one GEMM); a variable so
// that tests can run both.
var winoMinChannels = 64

// winoTiles returns the tiles along a side of n pixels.
func winoTiles(n int) int { return (n + 1) / 2 }

// winoPadded returns the side of the zero-padded plane that the tiles of a
// side of n pixels read: one zero before, and after up to 2·tiles + 2.
func winoPadded(n int) int { return 2*winoTiles(n) + 2 }

// winoFilters sets u (16 × o × c, position-major) to the transformed
// filters G g Gᵀ of the o×(c·9) filters w (row-major, (c, a, b) order).
func winoFilters[F float32 | float64](w []F, o, c int, u []F) {
	oc := o * c
	for i := 0; i < o; i++ {
		for ch := 0; ch < c; ch++ {
			g := w[(i*c+ch)*9:][:9]
			// G g: four rows of three.
			var t [4][3]F
			for b := 0; b < 3; b++ {
				g0, g1, g2 := g[b], g[3+b], g[6+b]
				t[0][b] = g0
				t[1][b] = (g0 + g1 + g2) / 2
				t[2][b] = (g0 - g1 + g2) / 2
				t[3][b] = g2
			}
			// (G g) Gᵀ: each row of three to four.
			for r := 0; r < 4; r++ {
				e0, e1, e2 := t[r][0], t[r][1], t[r][2]
				q := i*c + ch
				u[(4*r+0)*oc+q] = e0
				u[(4*r+1)*oc+q] = (e0 + e1 + e2) / 2
				u[(4*r+2)*oc+q] = (e0 - e1 + e2) / 2
				u[(4*r+3)*oc+q] = e2
			}
		}
	}
}

// winoInput writes the transformed tiles Bᵀ d B of one image into v
// (16 × c × T, position-major, then channel, then tile): its tiles are
// columns t0 … t0 + th·tw − 1. pad holds the image's c zero-padded planes
// of H × W (winoPadded of its sides), the pixel (y, x) at (y + 1, x + 1).
func winoInput[F float32 | float64](pad []F, c, H, W, th, tw int, v []F, T, t0 int) {
	for ch := 0; ch < c; ch++ {
		for ty := 0; ty < th; ty++ {
			kern.WinoInput(pad[(ch*H+2*ty)*W:][:4*W], W, tw, v[ch*T+t0+ty*tw:], c*T)
		}
	}
}

// winoOutput writes Aᵀ M A of the products mm (16 × o × T) for image j of
// a group of m images into conv, the o×(m·h·w) convolution output
// (channel-major, then image, then pixel), the tiles' overhang past h or w
// left out (through tmp, one plane of 2·th × 2·tw, for odd sides).
func winoOutput[F float32 | float64](mm []F, o, T, t0, th, tw, h, w int, conv []F, m, j int, tmp []F) {
	even := h == 2*th && w == 2*tw
	for i := 0; i < o; i++ {
		out := conv[(i*m+j)*h*w:][:h*w]
		y, ldy := out, w
		if !even {
			y, ldy = tmp[:4*th*tw], 2*tw
		}
		for ty := 0; ty < th; ty++ {
			kern.WinoOutput(mm[i*T+t0+ty*tw:], o*T, tw, y[2*ty*ldy:], ldy)
		}
		if !even {
			kern.CopyRows(out, w, 0, y, ldy, 0, w, h, 1)
		}
	}
}

// winoConv is one ConvBlocks layer of the m images of a group (their
// c×h×w planes at x, one after the other) as Winograd F(2×2, 3×3) with the
// transformed filters u (winoFilters), into conv (o×(m·h·w)). pad is one
// image's c padded planes (borders zero), v and mm hold 16·c·T and
// 16·o·T values, T = m·tiles, tmp 4·tiles.
func winoConv[F float32 | float64](x []F, m, c, h, w, o int, u, pad, v, mm, conv, tmp []F) {
	th, tw := winoTiles(h), winoTiles(w)
	H, W := winoPadded(h), winoPadded(w)
	per := th * tw
	T := m * per
	for j := 0; j < m; j++ {
		kern.CopyRows(pad[W+1:], W, H*W, x[j*c*h*w:][:c*h*w], w, h*w, w, h, c)
		winoInput(pad, c, H, W, th, tw, v, T, j*per)
	}
	for xi := 0; xi < 16; xi++ {
		gemm(blas.NoTrans, blas.NoTrans, o, T, c, 1, u[xi*o*c:][:o*c], c, v[xi*c*T:][:c*T], T, 0, mm[xi*o*T:][:o*T], T)
	}
	for j := 0; j < m; j++ {
		winoOutput(mm, o, T, j*per, th, tw, h, w, conv, m, j, tmp)
	}
}
