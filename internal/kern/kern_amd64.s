//go:build amd64 && !purego

#include "textflag.h"

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
