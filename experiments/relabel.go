package experiments

import (
	"math"

	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/ot"
)

// relabel is the one relabel-by-alignment of the experiments: each class c
// of ds takes the label of the class of q it sends most mass to in the WoW
// coupling (exact W_2² between classes). It returns one label per particle
// and the WoW result.
func relabel(ds, q *graph.Dataset) ([]int, ot.WoWResult, error) {
	w, err := ot.WoW(ds, q)
	if err != nil {
		return nil, w, err
	}
	labels := make([]int, ds.Len())
	for i := range labels {
		labels[i] = w.Alignment[ds.ClassOf(i)]
	}
	return labels, w, nil
}

// clipped returns a copy of ds with every value clipped to [0, 1] (pixels).
func clipped(ds *graph.Dataset) *graph.Dataset {
	ds = ds.Clone()
	for i, v := range ds.Data {
		ds.Data[i] = math.Min(1, math.Max(0, v))
	}
	return ds
}
