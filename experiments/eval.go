package experiments

import (
	"fmt"
	"math"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
)

// EvalConfig names the files of `wow eval`: a flowed dataset X, a target Y,
// their labels and the projection directions, all NPY.
type EvalConfig struct {
	X, XLabels, Y, YLabels string  // float64 n×d matrices and integer labels
	Projections            string  // L×d unit directions (one per row), used as given
	Kernel                 string  // gaussian, riesz (default), laplace or imq
	Param                  float64 // h (gaussian, laplace, imq) or r (riesz); 0: default
}

// DefaultEvalConfig returns the defaults of `wow eval`: the Riesz kernel with
// r = 1 (the files must be set).
func DefaultEvalConfig() EvalConfig { return EvalConfig{Kernel: "riesz"} }

// EvalResult is what `wow eval` prints.
type EvalResult struct {
	Kernel      string      `json:"kernel"`
	Value       float64     `json:"value"`         // ½MMD²(X, Y)
	WoWGradNorm float64     `json:"wow_grad_norm"` // ‖(n_c/a_c)·∂F/∂x‖_F over all particles of X
	SWMatrixXY  [][]float64 `json:"sw_matrix_xy"`  // S_p(x_c, y_k): SW_2² (SW_1 for laplace)
	Classes     [2]int      `json:"classes"`       // C of X, C of Y
	Directions  int         `json:"directions"`
}

// LoadLabeled reads a labeled dataset from an NPY matrix and an NPY label
// vector, with errors naming the files.
func LoadLabeled(xPath, labelsPath string) (*graph.Dataset, error) {
	m, err := data.ReadMatrix(xPath)
	if err != nil {
		return nil, err
	}
	labels, err := data.ReadLabels(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(labels) != m.Rows {
		return nil, fmt.Errorf("%s has %d labels but %s has %d rows", labelsPath, len(labels), xPath, m.Rows)
	}
	ds, err := graph.FromLabeled(m.Data, labels, m.Cols)
	if err != nil {
		return nil, fmt.Errorf("%s with labels %s: %w", xPath, labelsPath, err)
	}
	return ds, nil
}

// Eval computes ½MMD² between the datasets of cfg with the given directions
// and kernel, and the norm of its WoW gradient.
func Eval(cfg EvalConfig) (EvalResult, error) {
	k, err := functionals.KernelByName(cfg.Kernel, cfg.Param)
	if err != nil {
		return EvalResult{}, err
	}
	x, err := LoadLabeled(cfg.X, cfg.XLabels)
	if err != nil {
		return EvalResult{}, err
	}
	y, err := LoadLabeled(cfg.Y, cfg.YLabels)
	if err != nil {
		return EvalResult{}, err
	}
	if x.D != y.D {
		return EvalResult{}, fmt.Errorf("%s has dimension %d but %s has %d", cfg.X, x.D, cfg.Y, y.D)
	}
	th, err := data.ReadMatrix(cfg.Projections)
	if err != nil {
		return EvalResult{}, err
	}
	if th.Cols != x.D {
		return EvalResult{}, fmt.Errorf("%s has %d columns but the data has dimension %d", cfg.Projections, th.Cols, x.D)
	}
	// The file holds one direction per row (L×d); the Go API takes Θ d×L.
	L, d := th.Rows, th.Cols
	theta := make([]float64, d*L)
	for l := 0; l < L; l++ {
		n := 0.0
		for j, v := range th.Data[l*d : (l+1)*d] {
			theta[j*L+l] = v
			n += v * v
		}
		if math.Abs(math.Sqrt(n)-1) > 1e-6 {
			return EvalResult{}, fmt.Errorf("%s: direction %d has norm %.6g, want unit vectors", cfg.Projections, l, math.Sqrt(n))
		}
	}
	f := functionals.MMD{Target: y, Kernel: k}
	fl, err := flows.New(x, f, flows.Config{
		Directions:      L,
		DirectionSource: functionals.FixedDirections{Theta: theta, L: L},
	})
	if err != nil {
		return EvalResult{}, err
	}
	defer fl.Close()
	value, g, err := fl.Evaluate()
	if err != nil {
		return EvalResult{}, err
	}
	norm := 0.0
	for _, v := range g {
		norm += v * v
	}
	S, err := graph.ReferenceSliced(theta, L, k.Order(), x, y)
	if err != nil {
		return EvalResult{}, err
	}
	C, K := x.NumClasses(), y.NumClasses()
	G := C + K
	sxy := make([][]float64, C)
	for c := range sxy {
		sxy[c] = append([]float64(nil), S[c*G+C:c*G+G]...)
	}
	return EvalResult{Kernel: k.String(), Value: value, WoWGradNorm: math.Sqrt(norm), SWMatrixXY: sxy,
		Classes: [2]int{C, K}, Directions: L}, nil
}
