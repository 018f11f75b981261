package models

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
)

// engine is the tape-free forward and backward pass of a Net on up to cap
// rows, in float32 or float64, with every buffer allocated once.
//
// The layers before the first dense layer (convolution, pooling, instance
// normalisation, ReLU: per image) run on chunks of images in parallel; each
// convolution of a chunk is one GEMM of the weights with the im2col
// matrices of all its images side by side. The dense layers run on the
// whole batch. The chunks depend only on the number of rows, and the
// per-chunk weight gradients are summed in chunk order, so results do not
// depend on the number of cores.
//
// Forward keeps what backward needs: every layer's output, in place where
// the layer below does not need its own output (ReLU and instance norm
// after a convolution or a dense layer). ReLU is fused into the convolution
// below it; conv → ReLU → max pooling is one pass over the GEMM output
// that stores only the pooled values and their maxima (reluMaxPool); ReLU
// after instance normalisation is fused into the average pooling above it.
// Convolutions of up to wideMaxFilters filters are wide (convShape). In
// inference mode (train false) there are no gradient buffers and no kept
// im2col matrices.
type engine[F float] struct {
	nt    *Net
	cap   int  // the most rows
	train bool // keep what backward needs
	split int  // layers [0, split) run per chunk of images, the rest on the batch

	w, g [][]F // weights and their gradients, one slice per parameter

	x       []F   // the input rows, cap × d
	act     [][]F // act[i]: the output of layer i, cap × size[i] (may alias act[i-1])
	size    []int // values per row of the output of layer i
	geom    []convShape
	inplace []bool // layer i overwrites its input
	skip    []bool // layer i is fused into another (ReLU) and does nothing itself
	pool    []bool // convolution i is fused with the ReLU and max pooling above it

	col  [][]F         // kept im2col matrices of convolutions (training), cap·z·ps
	idx  [][]int32     // max pooling: offsets of the maxima, cap × size[i]
	rstd [][]float64   // instance norm: 1/s per plane, cap × channels
	part [][][]F       // per chunk, per parameter: weight gradients of the chunk (convolutions)
	dB   [2][]F        // gradient buffers of the dense layers, cap × maxB
	sc   []*scratch[F] // per worker
	maxA int           // values per row of the largest output of layers [0, split)
	zn   int           // the largest z·ps of a convolution
	on   int           // the largest o·ps of a convolution
	padn int           // the largest padLen of a wide convolution

	// Wide convolutions (convShape, corr.go): the offsets of their patches
	// and of their input gradient's correlation, their weights with
	// corrPad(o) rows and with channels swapped (corrPad(c) rows), and the
	// largest o·gradLen and corrPad(c)·gradCols of one.
	offs, goffs   [][]int32
	glo, ghi      [][]int
	wpad, wswap   [][]F
	gradn, gradPn int
}

// scratch is one worker's space: an im2col matrix, a convolution's
// output, the padded images of a chunk, the padded output gradient and
// input gradient of one image (wide convolutions), and two gradient
// buffers, each for one chunk.
type scratch[F float] struct {
	col, tmp, pad, grad, gradP []F
	d                          [2][]F
}

// maxChunks is the number of chunks of images of a batch (fewer for fewer
// images); fixed, so that results do not depend on the number of cores.
const maxChunks = 16

// wideMaxFilters is the most filters of a wide convolution (convShape); a
// variable so that tests can run both layouts.
var wideMaxFilters = 16

// keepColMax bounds the values of the im2col matrices kept from forward to
// backward per convolution; larger ones are recomputed.
const keepColMax = 1 << 23

// chunking returns the number of images per chunk and of chunks for rows.
func chunking(rows int) (per, chunks int) {
	per = (rows + maxChunks - 1) / maxChunks
	return per, (rows + per - 1) / per
}

// newEngine returns the engine of nt for up to rows rows, for training
// (forward and backward) or inference (forward only).
func newEngine[F float](nt *Net, rows int, train bool) (*engine[F], error) {
	if rows < 1 {
		return nil, fmt.Errorf("models: %v: engine for %d rows: %w", nt, rows, ErrParam)
	}
	L := len(nt.layers)
	e := &engine[F]{nt: nt, cap: rows, train: train, split: L,
		act: make([][]F, L), size: make([]int, L), geom: make([]convShape, L),
		inplace: make([]bool, L), skip: make([]bool, L), pool: make([]bool, L),
		col: make([][]F, L), idx: make([][]int32, L), rstd: make([][]float64, L),
		offs: make([][]int32, L), goffs: make([][]int32, L), glo: make([][]int, L), ghi: make([][]int, L),
		wpad: make([][]F, L), wswap: make([][]F, L)}
	for i, l := range nt.layers {
		if l.kind == kDense {
			e.split = i
			break
		}
	}
	// Walk the layers: shapes, sizes, in-place and fused layers.
	c, h, w := 1, nt.h, nt.w
	in := nt.d
	for i, l := range nt.layers {
		spatial := i < e.split
		prev := layerKind(-1)
		if i > 0 {
			prev = nt.layers[i-1].kind
		}
		switch l.kind {
		case kConv:
			if !spatial || l.in != c {
				return nil, fmt.Errorf("models: %v: layer %d: convolution of %d channels on %d: %w", nt, i, l.in, c, ErrParam)
			}
			e.geom[i] = convShape{c: c, h: h, w: w, o: l.out, k: l.k, pad: l.pad, oh: l.h, ow: l.w, wide: l.out <= wideMaxFilters}
			c, h, w = l.c, l.h, l.w
			in = c * h * w
		case kPool, kAvgPool:
			if l.kind == kPool && i > 1 && prev == kReLU && nt.layers[i-2].kind == kConv {
				// conv → ReLU → max pooling: one pass from the GEMM output.
				e.pool[i-2], e.skip[i] = true, true
			}
			if !spatial || h < 2 || w < 2 {
				return nil, fmt.Errorf("models: %v: layer %d: pooling of %d×%d planes: %w", nt, i, h, w, ErrParam)
			}
			e.geom[i] = convShape{c: c, h: h, w: w}
			c, h, w = l.c, l.h, l.w
			in = c * h * w
		case kInstNorm:
			if !spatial {
				return nil, fmt.Errorf("models: %v: layer %d: instance norm after a dense layer: %w", nt, i, ErrParam)
			}
			e.geom[i] = convShape{c: c, h: h, w: w}
			e.inplace[i] = i > 0 && prev == kConv
		case kReLU:
			e.geom[i] = convShape{c: c, h: h, w: w}
			e.inplace[i] = i > 0 && (prev == kConv || prev == kDense)
			e.skip[i] = i > 0 && prev == kConv
			if i > 0 && prev == kInstNorm && i+1 < L && nt.layers[i+1].kind == kAvgPool {
				e.skip[i], e.inplace[i] = true, true // fused into the pooling above
			}
		case kFlatten:
			e.inplace[i] = true
		case kDense:
			if l.in != in {
				return nil, fmt.Errorf("models: %v: layer %d: dense layer of %d inputs on %d: %w", nt, i, l.in, in, ErrParam)
			}
			in = l.out
		}
		e.size[i] = in
	}
	if in != nt.classes {
		return nil, fmt.Errorf("models: %v: %d outputs for %d classes: %w", nt, in, nt.classes, ErrParam)
	}
	// Buffers.
	e.w, e.g = make([][]F, len(nt.params)), make([][]F, len(nt.params))
	for i, p := range nt.params {
		e.w[i] = make([]F, len(p.data))
		if train {
			e.g[i] = make([]F, len(p.data))
		}
	}
	e.x = make([]F, rows*nt.d)
	maxB := 0
	for i, l := range nt.layers {
		if i < e.split {
			e.maxA = max(e.maxA, e.size[i])
		} else {
			maxB = max(maxB, e.size[i])
		}
		switch {
		case e.inplace[i]:
			e.act[i] = e.act[i-1]
			continue
		case l.kind == kConv && e.pool[i]:
			// The convolution's output is never stored: it and the ReLU's
			// are the pooled output of layer i+2 (set there).
		case l.kind == kPool && e.skip[i]:
			e.act[i] = make([]F, rows*e.size[i])
			e.act[i-1], e.act[i-2] = e.act[i], e.act[i]
		default:
			e.act[i] = make([]F, rows*e.size[i])
		}
		g := e.geom[i]
		switch l.kind {
		case kConv:
			if g.wide {
				e.on = max(e.on, g.outRows()*g.ps())
				e.padn = max(e.padn, g.padLen())
				e.offs[i] = g.offsets()
				e.wpad[i] = make([]F, corrPad(g.o)*g.z())
				if train && i > 0 {
					e.goffs[i], e.glo[i], e.ghi[i] = g.gradOffsets()
					e.wswap[i] = make([]F, corrPad(g.c)*g.o*g.k*g.k)
					e.gradn = max(e.gradn, g.o*g.gradLen())
					e.gradPn = max(e.gradPn, corrPad(g.c)*g.gradCols())
				}
				break
			}
			e.zn, e.on = max(e.zn, g.z()*g.ps()), max(e.on, g.o*g.ps())
			if train && rows*g.z()*g.ps() <= keepColMax {
				e.col[i] = make([]F, rows*g.z()*g.ps())
			}
		case kPool:
			e.idx[i] = make([]int32, rows*e.size[i])
		case kInstNorm:
			e.rstd[i] = make([]float64, rows*g.c)
		}
	}
	for i := range nt.layers {
		if e.nt.layers[i].kind == kInstNorm && e.inplace[i] {
			e.rstd[i] = make([]float64, rows*e.geom[i].c)
		}
	}
	if train {
		if e.split > 0 {
			maxB = max(maxB, e.size[e.split-1])
		}
		e.dB = [2][]F{make([]F, rows*maxB), make([]F, rows*maxB)}
		_, chunks := chunking(rows)
		e.part = make([][][]F, chunks)
		for ch := range e.part {
			e.part[ch] = make([][]F, len(nt.params))
			for i := 0; i < e.split; i++ {
				if l := nt.layers[i]; l.kind == kConv {
					e.part[ch][l.param] = make([]F, len(nt.params[l.param].data))
					e.part[ch][l.param+1] = make([]F, len(nt.params[l.param+1].data))
				}
			}
		}
	}
	return e, nil
}

// scratchFor returns worker w's scratch space, allocated on first use.
func (e *engine[F]) scratchFor(w int) *scratch[F] {
	s := e.sc[w]
	if s == nil {
		per, _ := chunking(e.cap)
		s = &scratch[F]{col: make([]F, per*e.zn), tmp: make([]F, per*e.on), pad: make([]F, per*e.padn),
			grad: make([]F, e.gradn), gradP: make([]F, e.gradPn)}
		if e.train {
			s.d = [2][]F{make([]F, per*e.maxA), make([]F, per*e.maxA)}
		}
		e.sc[w] = s
	}
	return s
}

func (e *engine[F]) startWorkers(n int) {
	for len(e.sc) < n {
		e.sc = append(e.sc, nil)
	}
}

// setWeights copies the weights of the network into the engine.
func (e *engine[F]) setWeights() {
	for i, p := range e.nt.params {
		for j, v := range p.data {
			e.w[i][j] = F(v)
		}
	}
}

// input returns the input of layer i.
func (e *engine[F]) input(i int) []F {
	if i == 0 {
		return e.x
	}
	return e.act[i-1]
}

// inSize returns the values per row of the input of layer i.
func (e *engine[F]) inSize(i int) int {
	if i == 0 {
		return e.nt.d
	}
	return e.size[i-1]
}

// forward computes the logits of the first rows rows of e.x into
// e.act[len-1] and returns them.
func (e *engine[F]) forward(rows int) []F {
	for i, w := range e.wpad {
		if w != nil {
			copy(w, e.w[e.nt.layers[i].param])
		}
	}
	if e.split > 0 {
		per, chunks := chunking(rows)
		parallel(chunks, e.startWorkers, func(ch, w int) {
			lo, hi := ch*per, min(rows, (ch+1)*per)
			sc := e.scratchFor(w)
			for i := 0; i < e.split; i++ {
				e.forwardSpatial(i, lo, hi, sc)
			}
		})
	}
	for i := e.split; i < len(e.nt.layers); i++ {
		l := e.nt.layers[i]
		in, out := e.input(i)[:rows*e.inSize(i)], e.act[i][:rows*e.size[i]]
		switch l.kind {
		case kDense:
			b := e.w[l.param+1]
			for r := 0; r < rows; r++ {
				copy(out[r*l.out:(r+1)*l.out], b)
			}
			gemmRows(blas.NoTrans, blas.NoTrans, rows, l.out, l.in, in, l.in, e.w[l.param], l.out, 1, out, l.out)
		case kReLU:
			for j, v := range in {
				out[j] = rect(v)
			}
		}
	}
	return e.act[len(e.act)-1][:rows*e.nt.classes]
}

// forwardSpatial runs layer i < split on the images [lo, hi).
func (e *engine[F]) forwardSpatial(i, lo, hi int, sc *scratch[F]) {
	if e.skip[i] {
		return
	}
	l, g := e.nt.layers[i], e.geom[i]
	is, os := e.inSize(i), e.size[i]
	nb := hi - lo
	in := e.input(i)[lo*is : hi*is]
	var out []F
	if l.kind == kConv && e.pool[i] {
		out = e.act[i][lo*e.size[i+2] : hi*e.size[i+2]]
	} else {
		out = e.act[i][lo*os : hi*os]
	}
	planes := nb * g.c
	switch l.kind {
	case kConv:
		z, p, ps, rs := g.z(), g.p(), g.ps(), g.rs()
		n := nb * ps
		tmp := sc.tmp[:g.outRows()*n]
		if g.wide {
			pl := g.padLen()
			for j := 0; j < nb; j++ {
				pad := sc.pad[j*pl : (j+1)*pl]
				padImage(g, in[j*is:(j+1)*is], pad)
				corr(g.o, ps, e.wpad[i], pad, e.offs[i], tmp[j*ps:], n)
			}
		} else {
			col := sc.col[:z*n]
			if e.col[i] != nil {
				col = e.col[i][lo*z*ps : hi*z*ps]
			}
			for j := 0; j < nb; j++ {
				im2col(g, in[j*is:(j+1)*is], col[j*ps:], n)
			}
			gemm(blas.NoTrans, blas.NoTrans, g.o, n, z, e.w[l.param], z, col, n, 0, tmp, n)
		}
		b := e.w[l.param+1]
		if e.pool[i] {
			q := e.size[i+2]
			reluMaxPool(tmp, n, b, out[:nb*q], e.idx[i+2][lo*q:hi*q], nb, g.o, g.oh, g.ow, rs, ps)
			return
		}
		relu := i+1 < len(e.skip) && e.skip[i+1]
		for j := 0; j < nb; j++ {
			for o := 0; o < g.o; o++ {
				bo := b[o]
				for r := 0; r < g.oh; r++ {
					src, dst := tmp[o*n+j*ps+r*rs:][:g.ow], out[j*os+o*p+r*g.ow:][:g.ow]
					if relu {
						for q, v := range src {
							dst[q] = rect(v + bo)
						}
					} else {
						for q, v := range src {
							dst[q] = v + bo
						}
					}
				}
			}
		}
	case kReLU:
		for j, v := range in {
			out[j] = rect(v)
		}
	case kPool:
		maxPool2(in, out, e.idx[i][lo*os:hi*os], planes, g.h, g.w)
	case kAvgPool:
		avgPool2(in, out, planes, g.h, g.w, i > 0 && e.skip[i-1] && e.nt.layers[i-1].kind == kReLU)
	case kInstNorm:
		instNorm(in, out, e.rstd[i][lo*g.c:hi*g.c], planes, g.h*g.w)
	}
}

// loss returns the mean cross-entropy of the logits z of rows rows with
// labels y(r) and the number of rows whose largest logit is their label,
// and writes its gradient (softmax(z_r) − e_y)/rows into dz, as
// graph.MeanCrossEntropy computes them (in float64).
func lossGrad[F float](z, dz []F, rows, k int, y func(r int) int) (float64, int) {
	total, correct := 0.0, 0
	inv := 1 / float64(rows)
	for r := 0; r < rows; r++ {
		zr, dr := z[r*k:(r+1)*k], dz[r*k:(r+1)*k]
		m := math.Inf(-1)
		for _, v := range zr {
			m = math.Max(m, float64(v))
		}
		s := 0.0
		for _, v := range zr {
			s += math.Exp(float64(v) - m)
		}
		lse := m + math.Log(s)
		yr := y(r)
		total += lse - float64(zr[yr])
		for j, v := range zr {
			dr[j] = F(inv * math.Exp(float64(v)-lse))
		}
		dr[yr] = F(inv * (math.Exp(float64(zr[yr])-lse) - 1))
		if argmax(zr) == yr {
			correct++
		}
	}
	return total * inv, correct
}

// backward computes the gradients e.g of the mean cross-entropy of the
// first rows rows, whose gradient with respect to the logits is in
// e.dB[0] (see lossGrad), after forward.
func (e *engine[F]) backward(rows int) {
	L := len(e.nt.layers)
	for i, w := range e.wswap {
		if w != nil {
			swapChannels(e.geom[i], e.w[e.nt.layers[i].param], w)
		}
	}
	cur := 0 // e.dB[cur] holds the gradient with respect to the output of layer i
	for i := L - 1; i >= e.split; i-- {
		l := e.nt.layers[i]
		is := e.inSize(i)
		dy := e.dB[cur][:rows*e.size[i]]
		next := 1 - cur
		if e.inplace[i] {
			next = cur
		}
		var dx []F
		if i > 0 {
			dx = e.dB[next][:rows*is]
		}
		switch l.kind {
		case kDense:
			in := e.input(i)[:rows*is]
			gemmRows(blas.Trans, blas.NoTrans, l.in, l.out, rows, in, l.in, dy, l.out, 0, e.g[l.param], l.out)
			db := e.g[l.param+1]
			clear(db)
			for r := 0; r < rows; r++ {
				for j, v := range dy[r*l.out : (r+1)*l.out] {
					db[j] += v
				}
			}
			if i > 0 {
				gemmRows(blas.NoTrans, blas.Trans, rows, l.in, l.out, dy, l.out, e.w[l.param], l.out, 0, dx, l.in)
			}
		case kReLU:
			out := e.act[i][:rows*e.size[i]]
			for j, v := range out {
				if !(v > 0) {
					dx[j] = 0
				} else {
					dx[j] = dy[j]
				}
			}
		}
		cur = next
	}
	if e.split == 0 {
		return
	}
	per, chunks := chunking(rows)
	top := e.dB[cur]
	parallel(chunks, e.startWorkers, func(ch, w int) {
		lo, hi := ch*per, min(rows, (ch+1)*per)
		sc := e.scratchFor(w)
		s := e.size[e.split-1]
		dy := top[lo*s : hi*s]
		k := -1 // the scratch buffer holding dy (−1: top)
		for i := e.split - 1; i >= 0; i-- {
			if e.skip[i] {
				continue
			}
			var dx []F
			next := k
			switch {
			case i == 0:
			case e.inplace[i]:
				dx = dy
			default:
				next = 0
				if k == 0 {
					next = 1
				}
				dx = sc.d[next][:(hi-lo)*e.inSize(i)]
			}
			e.backwardSpatial(i, lo, hi, ch, dy, dx, sc)
			dy, k = dx, next
		}
	})
	// Sum the chunks' weight gradients in chunk order.
	for i := 0; i < e.split; i++ {
		if l := e.nt.layers[i]; l.kind == kConv {
			for _, p := range []int{l.param, l.param + 1} {
				g := e.g[p]
				copy(g, e.part[0][p])
				for ch := 1; ch < chunks; ch++ {
					for j, v := range e.part[ch][p] {
						g[j] += v
					}
				}
			}
		}
	}
}

// backwardSpatial sets dx, the gradient with respect to the input of layer
// i < split on the images [lo, hi) of chunk ch (nil for the first layer:
// not needed), from the gradient dy with respect to its output; dx may be
// dy for a layer in place. A convolution writes its weight gradients into
// e.part[ch].
func (e *engine[F]) backwardSpatial(i, lo, hi, ch int, dy, dx []F, sc *scratch[F]) {
	l, g := e.nt.layers[i], e.geom[i]
	is, os := e.inSize(i), e.size[i]
	nb := hi - lo
	planes := nb * g.c
	switch l.kind {
	case kConv:
		z, p, ps, rs := g.z(), g.p(), g.ps(), g.rs()
		n := nb * ps
		in := e.input(i)[lo*is : hi*is]
		dt := sc.tmp[:g.outRows()*n]
		db := e.part[ch][l.param+1]
		if e.pool[i] {
			q := e.size[i+2]
			reluMaxPoolGrad(dy, e.act[i][lo*q:hi*q], e.idx[i+2][lo*q:hi*q], dt, db, n, nb, g.o, ps, (g.oh/2)*(g.ow/2))
		} else {
			if i+1 < len(e.skip) && e.skip[i+1] { // the fused ReLU
				out := e.act[i][lo*os : hi*os]
				for j, v := range out {
					if !(v > 0) {
						dy[j] = 0
					}
				}
			}
			if g.wide {
				clear(dt)
			}
			for j := 0; j < nb; j++ {
				for o := 0; o < g.o; o++ {
					for r := 0; r < g.oh; r++ {
						copy(dt[o*n+j*ps+r*rs:][:g.ow], dy[j*os+o*p+r*g.ow:])
					}
				}
			}
			for o := range db {
				db[o] = sum(dt[o*n : (o+1)*n])
			}
		}
		if g.wide {
			pl := g.padLen()
			for j := 0; j < nb; j++ {
				padImage(g, in[j*is:(j+1)*is], sc.pad[j*pl:(j+1)*pl])
			}
			corrGrad(g.o, ps, nb, dt, n, ps, sc.pad[:nb*pl], pl, e.offs[i], e.part[ch][l.param])
			if dx == nil {
				return
			}
			T, gl := g.gradCols(), g.o*g.gradLen()
			for j := 0; j < nb; j++ {
				padGrad(g, dt[j*ps:], n, sc.grad[:gl])
				corrBanded(g.c, T, e.wswap[i], sc.grad[:gl], e.goffs[i], e.glo[i], e.ghi[i], sc.gradP, T)
				unpadGrad(g, sc.gradP, dx[j*is:(j+1)*is])
			}
			return
		}
		col := sc.col[:z*n]
		if e.col[i] != nil {
			col = e.col[i][lo*z*ps : hi*z*ps]
		} else {
			for j := 0; j < nb; j++ {
				im2col(g, in[j*is:(j+1)*is], col[j*ps:], n)
			}
		}
		gemm(blas.NoTrans, blas.Trans, g.o, z, n, dt, n, col, n, 0, e.part[ch][l.param], z)
		if dx == nil {
			return
		}
		dcol := sc.col[:z*n]
		gemm(blas.Trans, blas.NoTrans, z, n, g.o, e.w[l.param], z, dt, n, 0, dcol, n)
		for j := 0; j < nb; j++ {
			dxj := dx[j*is : (j+1)*is]
			clear(dxj)
			col2im(g, dcol[j*ps:], n, dxj)
		}
	case kReLU:
		// Not in place (after instance norm): the mask of the input, as
		// gorgonia.Rectify's gradient.
		in := e.input(i)[lo*is : hi*is]
		for j, v := range in {
			if v >= 0 {
				dx[j] = dy[j]
			} else {
				dx[j] = 0
			}
		}
	case kPool:
		maxPool2Grad(dy, dx, e.idx[i][lo*os:hi*os], planes, g.h, g.w)
	case kAvgPool:
		relu := i > 0 && e.skip[i-1] && e.nt.layers[i-1].kind == kReLU
		avgPool2Grad(dy, dx, e.input(i)[lo*is:hi*is], planes, g.h, g.w, relu)
	case kInstNorm:
		instNormGrad(dy, dx, e.act[i][lo*os:hi*os], e.rstd[i][lo*g.c:hi*g.c], planes, g.h*g.w)
	case kFlatten:
		// in place: dx is dy
	}
}
