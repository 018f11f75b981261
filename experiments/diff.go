package experiments

import (
	"fmt"
	"math"

	"github.com/wowflow/wowflow/data"
)

// DiffResult is what `wow data diff` prints: how far two matrices of the
// same shape are apart, e.g. the particles of one flow run by two builds.
type DiffResult struct {
	Rows int `json:"rows"`
	Cols int `json:"cols"`
	// Identical is true when every value has the same bits.
	Identical bool `json:"identical"`
	// Differing counts the values that are not bit-identical.
	Differing int `json:"differing"`
	// MaxAbs and RMS are the largest and the root-mean-square |a − b| over
	// all values; MaxAbsRow is the largest row-wise Euclidean distance.
	MaxAbs    float64 `json:"max_abs"`
	RMS       float64 `json:"rms"`
	MaxAbsRow float64 `json:"max_row_l2"`
	// RelRMS is RMS divided by the RMS of a (0 when a is all zeros).
	RelRMS float64 `json:"rel_rms"`
}

// Diff compares the NPY matrices at paths a and b, which must have the same
// shape.
func Diff(a, b string) (DiffResult, error) {
	ma, err := data.ReadMatrix(a)
	if err != nil {
		return DiffResult{}, err
	}
	mb, err := data.ReadMatrix(b)
	if err != nil {
		return DiffResult{}, err
	}
	if ma.Rows != mb.Rows || ma.Cols != mb.Cols {
		return DiffResult{}, fmt.Errorf("data diff: %s is %d×%d but %s is %d×%d", a, ma.Rows, ma.Cols, b, mb.Rows, mb.Cols)
	}
	r := DiffResult{Rows: ma.Rows, Cols: ma.Cols}
	var ss, sa float64
	for i := 0; i < ma.Rows; i++ {
		row := 0.0
		for j := 0; j < ma.Cols; j++ {
			x, y := ma.Data[i*ma.Cols+j], mb.Data[i*ma.Cols+j]
			if math.Float64bits(x) != math.Float64bits(y) {
				r.Differing++
			}
			d := x - y
			r.MaxAbs = math.Max(r.MaxAbs, math.Abs(d))
			ss += d * d
			sa += x * x
			row += d * d
		}
		r.MaxAbsRow = math.Max(r.MaxAbsRow, math.Sqrt(row))
	}
	n := float64(len(ma.Data))
	r.Identical = r.Differing == 0
	r.RMS = math.Sqrt(ss / n)
	if sa > 0 {
		r.RelRMS = math.Sqrt(ss / sa)
	}
	return r, nil
}
