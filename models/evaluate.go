package models

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// evalBatch is the number of rows Predict and Evaluate run through one graph.
const evalBatch = 1000

// Evaluation reports a classifier's performance on labeled data.
type Evaluation struct {
	// Accuracy is the fraction of inputs classified correctly.
	Accuracy float64
	// PerClass[c] is the accuracy on the inputs of class c (the recall of
	// c); NaN for a class with no inputs.
	PerClass []float64
	// Confusion[t][p] counts the inputs of class t predicted as p.
	Confusion [][]int
}

// Predict returns the class of largest logit of each of the n rows of x
// (n×d, row-major), computed in float64 by m's graph evaluated
// evalBatch = 1000 rows at a time.
func Predict(m Model, x []float64) ([]int, error) {
	nt, err := netOf(m)
	if err != nil {
		return nil, err
	}
	if _, err := checkData(nt, x, nil, false); err != nil {
		return nil, err
	}
	return predict(nt, x, tensor.Float64)
}

// Evaluate returns the accuracy, per-class accuracy and confusion matrix of
// m's predictions (see Predict) on the rows of x and their labels.
func Evaluate(m Model, x []float64, labels []int) (Evaluation, error) {
	nt, err := netOf(m)
	if err != nil {
		return Evaluation{}, err
	}
	if _, err := checkData(nt, x, labels, true); err != nil {
		return Evaluation{}, err
	}
	pred, err := predict(nt, x, tensor.Float64)
	if err != nil {
		return Evaluation{}, err
	}
	k := nt.classes
	ev := Evaluation{PerClass: make([]float64, k), Confusion: make([][]int, k)}
	for c := range ev.Confusion {
		ev.Confusion[c] = make([]int, k)
	}
	correct := 0
	for i, p := range pred {
		ev.Confusion[labels[i]][p]++
		if p == labels[i] {
			correct++
		}
	}
	ev.Accuracy = float64(correct) / float64(len(pred))
	for c, row := range ev.Confusion {
		total := 0
		for _, v := range row {
			total += v
		}
		ev.PerClass[c] = float64(row[c]) / float64(total) // NaN if total = 0
	}
	return ev, nil
}

// predict runs the rows of x (validated) through the network in dtype dt.
func predict(nt *Net, x []float64, dt tensor.Dtype) ([]int, error) {
	return predictB(nt, x, dt, evalBatch)
}

func predictB(nt *Net, x []float64, dt tensor.Dtype, evalBatch int) ([]int, error) {
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
