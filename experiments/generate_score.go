package experiments

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/models"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// score labels the generated classes by WoW alignment with 100 real
// training images per class, and measures the scoring classifier's accuracy
// on them and on the real test set, and the distances to the nearest real
// training image of the generated images and of 1000 real test images.
func (r *generateRun) score(fr GenerateResult) (GenerateResult, error) {
	cfg := r.cfg
	if err := r.load(); err != nil {
		return fr, err
	}
	fr.Config, fr.Version = cfg, Version()
	fr.Config.Progress = nil
	clf, err := models.Load(filepath.Join(cfg.Out, "classifier.model"))
	if err != nil {
		return fr, fmt.Errorf("generate: %w", err)
	}
	gen, ok := readSet(filepath.Join(cfg.Out, "generated"))
	if !ok {
		return fr, fmt.Errorf("generate: %s is missing or unreadable", filepath.Join(cfg.Out, "generated_x.npy"))
	}
	ds, err := graph.FromLabeled(gen.X, gen.Labels, r.train.D)
	if err != nil {
		return fr, err
	}
	sample, err := data.BalancedSample(r.train, 100, rand.New(rand.NewPCG(cfg.Seed, 0xa11)))
	if err != nil {
		return fr, fmt.Errorf("generate: %w", err)
	}
	ref, err := graph.FromLabeled(sample.X, sample.Labels, sample.D)
	if err != nil {
		return fr, err
	}
	ds = clipped(ds)
	labels, w, err := relabel(ds, ref)
	if err != nil {
		return fr, fmt.Errorf("generate: alignment: %w", err)
	}
	fr.Alignment = w.Alignment
	ev, err := models.Evaluate(clf, ds.Data, labels)
	if err != nil {
		return fr, err
	}
	fr.Accuracy = 100 * ev.Accuracy
	if ev, err = models.Evaluate(clf, r.test.X, r.test.Labels); err != nil {
		return fr, err
	}
	fr.RealAccuracy = 100 * ev.Accuracy
	fr.NearestTrainL2 = meanNearest(ds.Data, r.train.X, r.train.D)
	nt := min(1000, r.test.N)
	fr.TestNearestTrainL2 = meanNearest(r.test.X[:nt*r.test.D], r.train.X, r.train.D)
	r.logf("accuracy of the real-data LeNet on the generated images %.1f%% (on real test images %.1f%%), alignment %v; "+
		"mean L2 to the nearest training image %.3f (real test images: %.3f)", fr.Accuracy, fr.RealAccuracy, fr.Alignment, fr.NearestTrainL2, fr.TestNearestTrainL2)
	return fr, nil
}

// meanNearest is the mean over the rows of a of the Euclidean distance to
// the nearest row of b (both row-major with d columns), computed as
// |a|² + |b|² − 2a·b with products over chunks of b.
func meanNearest(a, b []float64, d int) float64 {
	n, m := len(a)/d, len(b)/d
	best := make([]float64, n)
	for i := range best {
		best[i] = math.Inf(1)
	}
	na, nb := sqNorms(a, d), sqNorms(b, d)
	const chunk = 4096
	prod := make([]float64, n*chunk)
	for lo := 0; lo < m; lo += chunk {
		hi := min(m, lo+chunk)
		k := hi - lo
		blas64.Implementation().Dgemm(blas.NoTrans, blas.Trans, n, k, d, 1, a, d, b[lo*d:hi*d], d, 0, prod, k)
		for i := 0; i < n; i++ {
			for j := 0; j < k; j++ {
				best[i] = math.Min(best[i], na[i]+nb[lo+j]-2*prod[i*k+j])
			}
		}
	}
	s := 0.0
	for _, v := range best {
		s += math.Sqrt(math.Max(0, v))
	}
	return s / float64(n)
}

func sqNorms(x []float64, d int) []float64 {
	out := make([]float64, len(x)/d)
	for i := range out {
		for _, v := range x[i*d : (i+1)*d] {
			out[i] += v * v
		}
	}
	return out
}
