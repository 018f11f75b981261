//go:build amd64 && !purego

#include "textflag.h"

// WINOROW finishes one row k of Bᵀ d B for 4 tiles: from columns 0–3 (X0),
// 4–7 (X1), 2–5 (X2) and 6–9 (X3) of row k of Bᵀ d, the even columns E,
// odd O, and the same two columns on E′, O′, then E − E′, O + E′, E′ − O,
// O − O′ into planes 4k … 4k + 3 from base.
#define WINOROW(base) \
	VSHUFPS $0x88, X1, X0, X4 \
	VSHUFPS $0xDD, X1, X0, X5 \
	VSHUFPS $0x88, X3, X2, X6 \
	VSHUFPS $0xDD, X3, X2, X7 \
	VSUBPS  X6, X4, X8 \
	VADDPS  X6, X5, X9 \
	VSUBPS  X5, X6, X10 \
	VSUBPS  X7, X5, X11 \
	VMOVUPS X8, (base) \
	VMOVUPS X9, (base)(R9*1) \
	VMOVUPS X10, (base)(R9*2) \
	VMOVUPS X11, (base)(R13*1)

// func copyRows32(dst *float32, ldd, dplane int, src *float32, lds, splane int, n, rows, planes int)
//
// A run of n ≥ 8 is copied 8 values at a time, the last 8 overlapping the
// one before; a run of 4 ≤ n < 8 as two overlapping quadruples.
TEXT ·copyRows32(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	MOVQ dplane+16(FP), R9
	MOVQ src+24(FP), SI
	MOVQ lds+32(FP), R10
	MOVQ splane+40(FP), R11
	MOVQ n+48(FP), CX
	MOVQ rows+56(FP), R12
	MOVQ planes+64(FP), R13
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, R11
	MOVQ CX, DX
	SHLQ $2, DX
	SUBQ $32, DX // the byte offset of the last 8 values

plane:
	MOVQ DI, AX
	MOVQ SI, BX
	MOVQ R12, R14

row:
	CMPQ CX, $8
	JLT  small
	XORQ R15, R15

vec:
	VMOVUPS (BX)(R15*1), Y0
	VMOVUPS Y0, (AX)(R15*1)
	ADDQ    $32, R15
	CMPQ    R15, DX
	JLE     vec
	VMOVUPS (BX)(DX*1), Y0
	VMOVUPS Y0, (AX)(DX*1)
	JMP     next

small:
	LEAQ    16(DX), R15 // the byte offset of the last 4 values
	VMOVUPS (BX), X0
	VMOVUPS (BX)(R15*1), X1
	VMOVUPS X0, (AX)
	VMOVUPS X1, (AX)(R15*1)

next:
	ADDQ R8, AX
	ADDQ R10, BX
	DECQ R14
	JNZ  row
	ADDQ R9, DI
	ADDQ R11, SI
	DECQ R13
	JNZ  plane
	VZEROUPPER
	RET

// func planeMoments32(plane *float32, n int, k float64, s *[2]float64)
//
// 16 values per iteration, four float64 vectors each of Σ d and Σ d².
TEXT ·planeMoments32(SB), NOSPLIT, $0-32
	MOVQ         plane+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD k+16(FP), Y15
	MOVQ         s+24(FP), DI
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	VXORPD       Y4, Y4, Y4
	VXORPD       Y5, Y5, Y5
	VXORPD       Y6, Y6, Y6
	VXORPD       Y7, Y7, Y7

mloop:
	VCVTPS2PD   (SI), Y8
	VCVTPS2PD   16(SI), Y9
	VCVTPS2PD   32(SI), Y10
	VCVTPS2PD   48(SI), Y11
	VSUBPD      Y15, Y8, Y8
	VSUBPD      Y15, Y9, Y9
	VSUBPD      Y15, Y10, Y10
	VSUBPD      Y15, Y11, Y11
	VADDPD      Y8, Y0, Y0
	VADDPD      Y9, Y1, Y1
	VADDPD      Y10, Y2, Y2
	VADDPD      Y11, Y3, Y3
	VFMADD231PD Y8, Y8, Y4
	VFMADD231PD Y9, Y9, Y5
	VFMADD231PD Y10, Y10, Y6
	VFMADD231PD Y11, Y11, Y7
	ADDQ        $64, SI
	SUBQ        $16, CX
	JNZ         mloop

	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VADDPD       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VMOVSD       X0, (DI)
	VADDPD       Y5, Y4, Y4
	VADDPD       Y7, Y6, Y6
	VADDPD       Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPD       X5, X4, X4
	VHADDPD      X4, X4, X4
	VMOVSD       X4, 8(DI)
	VZEROUPPER
	RET

// func reluPool32(plane *float32, w, ph, pw int, mu, q float32, y *float32)
//
// pw ≥ 8: blocks of 8 outputs from 16 columns of two rows, the last block
// overlapping the one before; 4 ≤ pw < 8: two overlapping blocks of 4
// outputs from 8 columns. Pairs are summed within a row first (VHADDPS,
// whose lanes come out as pairs 0 1 4 5 | 2 3 6 7, put back in order by
// VPERMPD), then the two rows, then scaled: normReLUPool's order.
TEXT ·reluPool32(SB), NOSPLIT, $0-48
	MOVQ         plane+0(FP), SI
	MOVQ         w+8(FP), R8
	MOVQ         ph+16(FP), R9
	MOVQ         pw+24(FP), CX
	VBROADCASTSS mu+32(FP), Y14
	VBROADCASTSS q+36(FP), Y13
	MOVQ         y+40(FP), DI
	VXORPS       Y15, Y15, Y15
	SHLQ         $2, R8 // a row in bytes
	MOVQ         CX, DX
	SUBQ         $8, DX // the last block of 8 outputs
	MOVQ         CX, R11
	SUBQ         $4, R11 // the last block of 4 outputs

prow:
	LEAQ (SI)(R8*1), BX // the second row
	CMPQ CX, $8
	JLT  p4
	XORQ R10, R10

p8:
	CMPQ R10, DX
	JLE  p8go
	MOVQ DX, R10 // the last, overlapping block

p8go:
	VMOVUPS    (SI)(R10*8), Y0
	VMOVUPS    32(SI)(R10*8), Y1
	VMOVUPS    (BX)(R10*8), Y2
	VMOVUPS    32(BX)(R10*8), Y3
	VSUBPS     Y14, Y0, Y0
	VSUBPS     Y14, Y1, Y1
	VSUBPS     Y14, Y2, Y2
	VSUBPS     Y14, Y3, Y3
	VMAXPS     Y15, Y0, Y0
	VMAXPS     Y15, Y1, Y1
	VMAXPS     Y15, Y2, Y2
	VMAXPS     Y15, Y3, Y3
	VHADDPS    Y1, Y0, Y0
	VHADDPS    Y3, Y2, Y2
	VADDPS     Y2, Y0, Y0
	VMULPS     Y13, Y0, Y0
	VPERMPD    $0xD8, Y0, Y0
	VMOVUPS    Y0, (DI)(R10*4)
	CMPQ       R10, DX
	JEQ        pnext
	ADDQ       $8, R10
	JMP        p8

p4:
	XORQ R10, R10

p4go:
	VMOVUPS      (SI)(R10*8), Y0
	VMOVUPS      (BX)(R10*8), Y2
	VSUBPS       Y14, Y0, Y0
	VSUBPS       Y14, Y2, Y2
	VMAXPS       Y15, Y0, Y0
	VMAXPS       Y15, Y2, Y2
	VEXTRACTF128 $1, Y0, X1
	VEXTRACTF128 $1, Y2, X3
	VHADDPS      X1, X0, X0
	VHADDPS      X3, X2, X2
	VADDPS       X2, X0, X0
	VMULPS       X13, X0, X0
	VMOVUPS      X0, (DI)(R10*4)
	CMPQ         R10, R11
	JEQ          pnext
	MOVQ         R11, R10
	JMP          p4go

pnext:
	LEAQ (SI)(R8*2), SI
	LEAQ (DI)(CX*4), DI
	DECQ R9
	JNZ  prow
	VZEROUPPER
	RET

// func winoIn32(rows *float32, W, tw int, dst *float32, S int)
//
// Blocks of 4 tiles (the last one overlapping the one before): per row k
// of Bᵀ d, columns 0–3, 4–7, 2–5 and 6–9 of the block, split into even and
// odd columns (VSHUFPS), then the row transform, 16 stores of 4 tiles.
TEXT ·winoIn32(SB), NOSPLIT, $0-40
	MOVQ rows+0(FP), SI
	MOVQ W+8(FP), R8
	MOVQ tw+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ S+32(FP), R9
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (R8)(R8*2), R10 // 3 rows
	LEAQ (R9)(R9*2), R13 // 3 planes
	LEAQ (DI)(R9*4), DX  // planes 4–7
	LEAQ (DX)(R9*4), BX  // planes 8–11
	LEAQ (BX)(R9*4), R14 // planes 12–15
	XORQ R11, R11        // tiles done

inblock:
	MOVQ R11, AX
	ADDQ $4, AX
	CMPQ AX, CX
	JLE  ingo
	CMPQ R11, CX
	JEQ  indone
	SUBQ CX, AX // AX = tiles to step back
	MOVQ CX, R11
	SUBQ $4, R11
	MOVQ AX, R12
	SHLQ $3, R12
	SUBQ R12, SI
	SHRQ $1, R12
	SUBQ R12, DI
	SUBQ R12, DX
	SUBQ R12, BX
	SUBQ R12, R14

ingo:
	// Row 0 of Bᵀ d: d0 − d2 (into X0–X3 for the four column groups).
	VMOVUPS (SI), X0
	VMOVUPS 16(SI), X1
	VMOVUPS 8(SI), X2
	VMOVUPS 24(SI), X3
	VSUBPS  (SI)(R8*2), X0, X0
	VSUBPS  16(SI)(R8*2), X1, X1
	VSUBPS  8(SI)(R8*2), X2, X2
	VSUBPS  24(SI)(R8*2), X3, X3
	WINOROW(DI)

	// Row 1: d1 + d2.
	VMOVUPS (SI)(R8*1), X0
	VMOVUPS 16(SI)(R8*1), X1
	VMOVUPS 8(SI)(R8*1), X2
	VMOVUPS 24(SI)(R8*1), X3
	VADDPS  (SI)(R8*2), X0, X0
	VADDPS  16(SI)(R8*2), X1, X1
	VADDPS  8(SI)(R8*2), X2, X2
	VADDPS  24(SI)(R8*2), X3, X3
	WINOROW(DX)

	// Row 2: d2 − d1.
	VMOVUPS (SI)(R8*2), X0
	VMOVUPS 16(SI)(R8*2), X1
	VMOVUPS 8(SI)(R8*2), X2
	VMOVUPS 24(SI)(R8*2), X3
	VSUBPS  (SI)(R8*1), X0, X0
	VSUBPS  16(SI)(R8*1), X1, X1
	VSUBPS  8(SI)(R8*1), X2, X2
	VSUBPS  24(SI)(R8*1), X3, X3
	WINOROW(BX)

	// Row 3: d1 − d3.
	VMOVUPS (SI)(R8*1), X0
	VMOVUPS 16(SI)(R8*1), X1
	VMOVUPS 8(SI)(R8*1), X2
	VMOVUPS 24(SI)(R8*1), X3
	VSUBPS  (SI)(R10*1), X0, X0
	VSUBPS  16(SI)(R10*1), X1, X1
	VSUBPS  8(SI)(R10*1), X2, X2
	VSUBPS  24(SI)(R10*1), X3, X3
	WINOROW(R14)

	ADDQ $4, R11
	ADDQ $32, SI
	ADDQ $16, DI
	ADDQ $16, DX
	ADDQ $16, BX
	ADDQ $16, R14
	JMP  inblock

indone:
	RET

// func winoOut32(src *float32, S, tw int, y *float32, ldy int)
//
// Blocks of 4 tiles (the last one overlapping): Aᵀ M column by column into
// X8–X15, then A, then the two output rows interleaved (VUNPCKLPS/HPS).
TEXT ·winoOut32(SB), NOSPLIT, $0-40
	MOVQ src+0(FP), SI
	MOVQ S+8(FP), R9
	MOVQ tw+16(FP), CX
	MOVQ y+24(FP), DI
	MOVQ ldy+32(FP), R8
	SHLQ $2, R9
	SHLQ $2, R8
	LEAQ (R9)(R9*2), R13 // 3 planes
	LEAQ (SI)(R9*4), DX  // planes 4–7
	LEAQ (DX)(R9*4), BX  // planes 8–11
	LEAQ (BX)(R9*4), R14 // planes 12–15
	XORQ R11, R11

outblock:
	MOVQ R11, AX
	ADDQ $4, AX
	CMPQ AX, CX
	JLE  outgo
	CMPQ R11, CX
	JEQ  outdone
	SUBQ CX, AX
	MOVQ CX, R11
	SUBQ $4, R11
	MOVQ AX, R12
	SHLQ $2, R12
	SUBQ R12, SI
	SUBQ R12, DX
	SUBQ R12, BX
	SUBQ R12, R14
	SHLQ $1, R12
	SUBQ R12, DI

outgo:
	// Column s of Aᵀ M: (m_s + m_4+s) + m_8+s into X8+s, (m_4+s − m_8+s) −
	// m_12+s into X12+s.
	VMOVUPS (SI), X0
	VMOVUPS (DX), X1
	VMOVUPS (BX), X2
	VMOVUPS (R14), X3
	VADDPS  X1, X0, X8
	VADDPS  X2, X8, X8
	VSUBPS  X2, X1, X12
	VSUBPS  X3, X12, X12
	VMOVUPS (SI)(R9*1), X0
	VMOVUPS (DX)(R9*1), X1
	VMOVUPS (BX)(R9*1), X2
	VMOVUPS (R14)(R9*1), X3
	VADDPS  X1, X0, X9
	VADDPS  X2, X9, X9
	VSUBPS  X2, X1, X13
	VSUBPS  X3, X13, X13
	VMOVUPS (SI)(R9*2), X0
	VMOVUPS (DX)(R9*2), X1
	VMOVUPS (BX)(R9*2), X2
	VMOVUPS (R14)(R9*2), X3
	VADDPS  X1, X0, X10
	VADDPS  X2, X10, X10
	VSUBPS  X2, X1, X14
	VSUBPS  X3, X14, X14
	VMOVUPS (SI)(R13*1), X0
	VMOVUPS (DX)(R13*1), X1
	VMOVUPS (BX)(R13*1), X2
	VMOVUPS (R14)(R13*1), X3
	VADDPS  X1, X0, X11
	VADDPS  X2, X11, X11
	VSUBPS  X2, X1, X15
	VSUBPS  X3, X15, X15
	// Rows of A: (e0 + e1) + e2 and (e1 − e2) − e3, for rows 0 (X8–X11)
	// and 1 (X12–X15) of Aᵀ M.
	VADDPS    X9, X8, X0
	VADDPS    X10, X0, X0
	VSUBPS    X10, X9, X1
	VSUBPS    X11, X1, X1
	VADDPS    X13, X12, X2
	VADDPS    X14, X2, X2
	VSUBPS    X14, X13, X3
	VSUBPS    X15, X3, X3
	VUNPCKLPS X1, X0, X4
	VUNPCKHPS X1, X0, X5
	VUNPCKLPS X3, X2, X6
	VUNPCKHPS X3, X2, X7
	VMOVUPS   X4, (DI)
	VMOVUPS   X5, 16(DI)
	VMOVUPS   X6, (DI)(R8*1)
	VMOVUPS   X7, 16(DI)(R8*1)

	ADDQ $4, R11
	ADDQ $16, SI
	ADDQ $16, DX
	ADDQ $16, BX
	ADDQ $16, R14
	ADDQ $32, DI
	JMP  outblock

outdone:
	RET
