package models

// The implementation of Train and Predict before the engine: a gorgonia
// graph per batch size run on a tape machine. It is the reference of the
// engine's tests and benchmarks.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
)

// trainGraph is Train on gorgonia's tape machine (with optim.Adam), the
// implementation before the engine, kept as the reference of tests and
// benchmarks; it has Train's arguments, results and errors.
func trainGraph(m Model, x []float64, labels []int, cfg TrainConfig) (TrainResult, error) {
	start := time.Now()
	nt, cfg, n, err := prepareTrain(m, x, labels, cfg)
	if err != nil {
		return TrainResult{}, err
	}
	dt := tensor.Float32
	if cfg.Float64 {
		dt = tensor.Float64
	}
	vals := make([]*tensor.Dense, len(nt.params))
	for i, p := range nt.params {
		vals[i] = denseOf(dt, p.data, p.rows, p.cols)
	}
	b := min(cfg.Batch, n)
	full, err := newTrainStep(nt, b, dt, vals)
	if err != nil {
		return TrainResult{}, err
	}
	defer full.close()
	var rest *trainStep
	if r := n % b; r > 0 {
		if rest, err = newTrainStep(nt, r, dt, vals); err != nil {
			return TrainResult{}, err
		}
		defer rest.close()
	}
	opt := optim.NewAdam(cfg.LR)
	opt.WeightDecay = cfg.WeightDecay
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6d6f64656c73)) // "models"
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	var res TrainResult
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var sum float64
		correct := 0
		for lo := 0; lo < n; lo += b {
			idx := perm[lo:min(lo+b, n)]
			s := full
			if len(idx) < b {
				s = rest
			}
			loss, ok, err := s.run(x, labels, idx)
			if err != nil {
				return res, fmt.Errorf("models: train %v: epoch %d: %w", nt, epoch+1, err)
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return res, fmt.Errorf("models: train %v: epoch %d, step %d: loss %v: %w", nt, epoch+1, res.Steps+1, loss, ErrDiverged)
			}
			if err := opt.Step(s.params); err != nil {
				return res, fmt.Errorf("models: train %v: %w", nt, err)
			}
			sum += loss * float64(len(idx))
			correct += ok
			res.Steps++
		}
		res.endEpoch(epoch, n, sum, correct, cfg, start)
	}
	out := make([][]float64, len(vals))
	for i, v := range vals {
		out[i] = make([]float64, len(nt.params[i].data))
		if err := copyOut(out[i], v); err != nil {
			return res, err
		}
		if err := checkFinite(nt.params[i].name, out[i]); err != nil {
			return res, fmt.Errorf("models: train %v: %w (%w)", nt, ErrDiverged, err)
		}
	}
	for i := range out {
		copy(nt.params[i].data, out[i])
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// trainStep is the graph of one mini-batch size: inputs, one-hot labels,
// weights bound to the shared value tensors, the loss and its symbolic
// gradients (recomputed on every run, so nothing accumulates).
type trainStep struct {
	nt      *Net
	b       int
	x, y    *tensor.Dense
	logits  *gorgonia.Node
	loss    *gorgonia.Node
	grads   gorgonia.Nodes
	vm      gorgonia.VM
	params  []gorgonia.ValueGrad
	weights []*tensor.Dense
}

func newTrainStep(nt *Net, b int, dt tensor.Dtype, vals []*tensor.Dense) (*trainStep, error) {
	g := gorgonia.NewGraph()
	s := &trainStep{nt: nt, b: b, weights: vals}
	s.x = tensor.New(tensor.Of(dt), tensor.WithShape(b, nt.d))
	s.y = tensor.New(tensor.Of(dt), tensor.WithShape(b, nt.classes))
	x := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(b, nt.d), gorgonia.WithName("x"), gorgonia.WithValue(s.x))
	y := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(b, nt.classes), gorgonia.WithName("y"), gorgonia.WithValue(s.y))
	ws := make([]*gorgonia.Node, len(vals))
	for i, p := range nt.params {
		ws[i] = gorgonia.NewMatrix(g, dt, gorgonia.WithShape(p.rows, p.cols), gorgonia.WithName(p.name), gorgonia.WithValue(vals[i]))
	}
	var err error
	if s.logits, err = nt.forward(x, ws); err != nil {
		return nil, fmt.Errorf("models: %v: %w", nt, err)
	}
	if s.loss, err = graph.MeanCrossEntropy(s.logits, y); err != nil {
		return nil, fmt.Errorf("models: %v: %w", nt, err)
	}
	if s.grads, err = gorgonia.Grad(s.loss, ws...); err != nil {
		return nil, fmt.Errorf("models: %v: gradient: %w", nt, err)
	}
	roots := append(gorgonia.Nodes{s.loss, s.logits}, s.grads...)
	s.vm = gorgonia.NewTapeMachine(g.ExactSubgraphRoots(roots...))
	s.params = make([]gorgonia.ValueGrad, len(vals))
	return s, nil
}

// run evaluates the loss and gradients on the rows idx of x, and returns the
// loss and the number of rows classified correctly; s.params then pairs the
// weights with their gradients.
func (s *trainStep) run(x []float64, labels []int, idx []int) (float64, int, error) {
	d, k := s.nt.d, s.nt.classes
	switch xs := s.x.Data().(type) {
	case []float64:
		ys := s.y.Data().([]float64)
		clear(ys)
		for r, i := range idx {
			copy(xs[r*d:(r+1)*d], x[i*d:(i+1)*d])
			ys[r*k+labels[i]] = 1
		}
	case []float32:
		ys := s.y.Data().([]float32)
		clear(ys)
		for r, i := range idx {
			for j, v := range x[i*d : (i+1)*d] {
				xs[r*d+j] = float32(v)
			}
			ys[r*k+labels[i]] = 1
		}
	}
	s.vm.Reset()
	if err := s.vm.RunAll(); err != nil {
		return 0, 0, err
	}
	var loss float64
	switch v := s.loss.Value().(type) {
	case *gorgonia.F64:
		loss = float64(*v)
	case *gorgonia.F32:
		loss = float64(*v)
	default:
		return 0, 0, fmt.Errorf("loss value %T: %w", v, ErrParam)
	}
	pred, err := argmaxRows(s.logits.Value(), s.b, k)
	if err != nil {
		return 0, 0, err
	}
	correct := 0
	for r, i := range idx {
		if pred[r] == labels[i] {
			correct++
		}
	}
	for i, w := range s.weights {
		gv, ok := s.grads[i].Value().(tensor.Tensor)
		if !ok {
			return 0, 0, fmt.Errorf("gradient of %s is %T: %w", s.nt.params[i].name, s.grads[i].Value(), ErrParam)
		}
		s.params[i] = optim.Param{Val: w, Gradient: gv, Label: s.nt.params[i].name}
	}
	return loss, correct, nil
}

func (s *trainStep) close() { s.vm.Close() }

// argmaxRows returns the index of the largest value of each of the n rows
// of k values of v (the first on ties).
func argmaxRows(v gorgonia.Value, n, k int) ([]int, error) {
	t, ok := v.(tensor.Tensor)
	if !ok || t.Shape().TotalSize() != n*k {
		return nil, fmt.Errorf("models: logits %v, want %d×%d: %w", v.Shape(), n, k, ErrDim)
	}
	out := make([]int, n)
	switch d := t.Data().(type) {
	case []float64:
		for i := range out {
			out[i] = argmax(d[i*k : (i+1)*k])
		}
	case []float32:
		for i := range out {
			out[i] = argmax(d[i*k : (i+1)*k])
		}
	default:
		return nil, fmt.Errorf("models: logits of dtype %v: %w", t.Dtype(), ErrParam)
	}
	return out, nil
}

// predictGraph is predict on gorgonia's tape machine (the implementation
// before the engine), evalBatch rows at a time, for tests and benchmarks.
func predictGraph(nt *Net, x []float64, dt tensor.Dtype, evalBatch int) ([]int, error) {
	n := len(x) / nt.d
	out := make([]int, 0, n)
	var ev *evaluator
	defer func() {
		if ev != nil {
			ev.close()
		}
	}()
	for lo := 0; lo < n; lo += evalBatch {
		rows := min(evalBatch, n-lo)
		if ev == nil || ev.rows != rows {
			if ev != nil {
				ev.close()
			}
			var err error
			if ev, err = newEvaluator(nt, rows, dt); err != nil {
				return nil, err
			}
		}
		p, err := ev.run(x[lo*nt.d : (lo+rows)*nt.d])
		if err != nil {
			return nil, fmt.Errorf("models: %v: rows %d to %d: %w", nt, lo, lo+rows, err)
		}
		out = append(out, p...)
	}
	return out, nil
}

// evaluator is a forward-only graph for a fixed number of rows.
type evaluator struct {
	nt     *Net
	rows   int
	x      *tensor.Dense
	logits *gorgonia.Node
	vm     gorgonia.VM
}

func newEvaluator(nt *Net, rows int, dt tensor.Dtype) (*evaluator, error) {
	g := gorgonia.NewGraph()
	e := &evaluator{nt: nt, rows: rows, x: tensor.New(tensor.Of(dt), tensor.WithShape(rows, nt.d))}
	x := gorgonia.NewMatrix(g, dt, gorgonia.WithShape(rows, nt.d), gorgonia.WithName("x"), gorgonia.WithValue(e.x))
	var err error
	if e.logits, err = nt.Logits(x); err != nil {
		return nil, err
	}
	e.vm = gorgonia.NewTapeMachine(g.ExactSubgraphRoots(e.logits))
	return e, nil
}

func (e *evaluator) run(x []float64) ([]int, error) {
	switch xs := e.x.Data().(type) {
	case []float64:
		copy(xs, x)
	case []float32:
		for i, v := range x {
			xs[i] = float32(v)
		}
	}
	e.vm.Reset()
	if err := e.vm.RunAll(); err != nil {
		return nil, err
	}
	return argmaxRows(e.logits.Value(), e.rows, e.nt.classes)
}

func (e *evaluator) close() { e.vm.Close() }
