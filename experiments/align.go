package experiments

import (
	"fmt"

	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/ot"
)

// wowOf is ot.WoW between two labeled datasets: WW_2²(x, y) with exact W_2²
// between classes, the optimal class coupling and the alignment of x's
// classes to y's labels. It validates the datasets as graph does (positive
// class weights summing to 1), then hands their packed data to ot without a
// copy.
func wowOf(x, y *graph.Dataset) (ot.WoWResult, error) {
	if err := x.Validate(); err != nil {
		return ot.WoWResult{}, fmt.Errorf("ot: first dataset: %w", err)
	}
	if err := y.Validate(); err != nil {
		return ot.WoWResult{}, fmt.Errorf("ot: second dataset: %w", err)
	}
	return ot.WoW(classesOf(x), classesOf(y))
}

// classesOf is the ot view of a dataset: the same packed points, class
// offsets and class weights (nil, uniform, stays nil).
func classesOf(ds *graph.Dataset) ot.Classes {
	return ot.Classes{Points: ds.Data, D: ds.D, Offsets: ds.Offsets, Weights: ds.Weights}
}
