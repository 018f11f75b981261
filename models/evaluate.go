package models

// evalBatch is the most rows Predict and Evaluate run through the network
// at once.
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
// (n×d, row-major), computed in float64 by the network's engine, at most
// evalBatch = 1000 rows at a time (fewer for wide ConvNets, to bound memory).
func Predict(m Model, x []float64) ([]int, error) {
	nt, err := netOf(m)
	if err != nil {
		return nil, err
	}
	if _, err := checkData(nt, x, nil, false); err != nil {
		return nil, err
	}
	return predict(nt, x)
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
	pred, err := predict(nt, x)
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

// predict runs the rows of x (validated) through the network's engine in
// float64, evalRows(nt) rows at a time.
func predict(nt *Net, x []float64) ([]int, error) {
	n := len(x) / nt.d
	rows := min(n, evalRows(nt))
	e, err := newEngine[float64](nt, rows, false)
	if err != nil {
		return nil, err
	}
	e.setWeights()
	out := make([]int, 0, n)
	k := nt.classes
	for lo := 0; lo < n; lo += rows {
		r := min(rows, n-lo)
		copy(e.x, x[lo*nt.d:(lo+r)*nt.d])
		z := e.forward(r)
		for i := 0; i < r; i++ {
			out = append(out, argmax(z[i*k:(i+1)*k]))
		}
	}
	return out, nil
}

// evalRows is the number of rows predict runs at once: evalBatch, or fewer
// where a layer's outputs would exceed evalValues values (wide ConvNets).
func evalRows(nt *Net) int {
	m := nt.d
	for _, l := range nt.layers {
		if l.kind == kConv {
			m = max(m, l.c*l.h*l.w)
		}
		if l.kind == kDense {
			m = max(m, l.out)
		}
	}
	return max(1, min(evalBatch, evalValues/m))
}

// evalValues bounds the values of one of predict's two activation buffers.
const evalValues = 1 << 22
