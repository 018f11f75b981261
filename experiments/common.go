package experiments

// What every experiment shares besides the harness: the one
// relabel-by-alignment, clipping to pixels, and labeled NPY sets.

import (
	"fmt"
	"math"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/ot"
)

// relabel is the one relabel-by-alignment of the experiments: each class c
// of ds takes the label of the class of q it sends most mass to in the WoW
// coupling (exact W_2² between classes). It returns one label per particle
// and the WoW result.
func relabel(ds, q *graph.Dataset) ([]int, ot.WoWResult, error) {
	w, err := wowOf(ds, q)
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

// labeledSet is a set of flowed images with their aligned labels.
type labeledSet struct {
	X      []float64
	Labels []int
}

// readSet reads PREFIX_x.npy and PREFIX_labels.npy.
func readSet(prefix string) (labeledSet, bool) {
	m, err := data.ReadMatrix(prefix + "_x.npy")
	if err != nil {
		return labeledSet{}, false
	}
	l, err := data.ReadLabels(prefix + "_labels.npy")
	return labeledSet{m.Data, l}, err == nil && len(l) == m.Rows
}

// writeSet writes a labeled set as PREFIX_x.npy and PREFIX_labels.npy.
func writeSet(prefix string, x []float64, labels []int, d int) error {
	if err := data.WriteMatrix(prefix+"_x.npy", data.Matrix{Data: x, Rows: len(labels), Cols: d}); err != nil {
		return err
	}
	return data.WriteLabels(prefix+"_labels.npy", labels)
}

// lossRoseWarning returns a warning for a progress line when a flow ends
// with a higher loss than it started with, else "". A flow that works
// lowers its loss by orders of magnitude; one that ends higher has usually
// diverged: with momentum, a step τ that suits many projection directions is
// too large for a few (measured: the transfer flow at τ = 1, m = 0.9 goes
// from ½MMD² 0.13 to 0.52 with L = 4 and to 0.0035 with L = 64).
func lossRoseWarning(first, final float64) string {
	if final > first {
		return fmt.Sprintf(" — WARNING: the loss rose from %.4g to %.4g; the flow may have diverged (a smaller step or more directions may help)", first, final)
	}
	return ""
}
