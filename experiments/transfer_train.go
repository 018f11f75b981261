package experiments

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/models"
)

// train is the training trial of k, flow f, training t and arm: a LeNet
// trained on the arm's set (the shots and the flow's images read from the
// run directory) and tested on the target test set. An arm whose images
// do not exist (a flow from before the snapshots) is recorded as skipped.
func (r *transferRun) train(_ context.Context, k, f, t int, arm string) (TransferTrial, error) {
	cfg, prefix, steps := r.cfg, r.prefix(k, f), r.cfg.steps(k)
	_, shots, err := r.sample(k, f)
	if err != nil {
		return TransferTrial{}, err
	}
	sets := map[int]labeledSet{}
	setPrefix := prefix
	if m := baselineOf(arm); m != "" {
		setPrefix = prefix + "_" + m
	}
	final, ok := readSet(setPrefix)
	if !ok {
		return TransferTrial{}, fmt.Errorf("transfer: the flow's %s_x.npy is missing or unreadable", setPrefix)
	}
	sets[0] = final
	// Only the arms that use them read the snapshots and the mixed flow
	// (each is as large as the flowed set).
	if arm == ArmEarly || arm == ArmSnapshots {
		for _, st := range snapshotSteps(steps) {
			if snap, ok := readSet(fmt.Sprintf("%s_step%d", prefix, st)); ok {
				sets[st] = snap
			}
		}
	}
	if arm == ArmMixed {
		if mixed, ok := readSet(prefix + "_mixed"); ok {
			sets[mixedKey] = mixed
		}
	}
	tr := TransferTrial{K: k, Flow: f, Training: t, Arm: arm}
	trng := rand.New(rand.NewPCG(cfg.Seed, uint64(1e6+1000*k+100*f+t)))
	x, y, err := trainingSet(arm, shots, sets, steps, trng)
	if err != nil {
		r.logf("k=%d flow %d: skipping %s: %v", k, f, arm, err)
		tr.Skipped = err.Error()
		return tr, nil
	}
	t0 := time.Now()
	m, err := models.NewLeNet(shots.H, shots.W, shots.Classes, trng)
	if err != nil {
		return tr, err
	}
	tc := models.DefaultTrainConfig()
	tc.Epochs, tc.Seed = cfg.Epochs, trng.Uint64()
	if _, err := models.Train(m, x, y, tc); err != nil {
		return tr, fmt.Errorf("transfer: training %s: %w", arm, err)
	}
	ev, err := models.Evaluate(m, r.test.X, r.test.Labels)
	if err != nil {
		return tr, err
	}
	tr.Accuracy, tr.Images, tr.Seconds = 100*ev.Accuracy, len(y), time.Since(t0).Seconds()
	r.logf("k=%d flow %d training %d %-11s %5.1f%% (%d images, %.0fs)", k, f, t, arm, tr.Accuracy, tr.Images, tr.Seconds)
	return tr, nil
}

// trainingSet assembles the images of one arm from the shots and the flow's
// sets (key 0: the final particles; other keys: snapshots at that step).
func trainingSet(arm string, shots *data.Images, sets map[int]labeledSet, steps int, rng *rand.Rand) ([]float64, []int, error) {
	x := append([]float64(nil), shots.X...)
	y := append([]int(nil), shots.Labels...)
	final := sets[0]
	d := shots.D
	switch arm {
	case ArmFlow, ArmOTDD, ArmHua:
		x = append(x, final.X...)
		y = append(y, final.Labels...)
	case ArmMixed:
		mixed, ok := sets[mixedKey]
		if !ok {
			return nil, nil, fmt.Errorf("no mixed flow")
		}
		x = append(x, mixed.X...)
		y = append(y, mixed.Labels...)
	case ArmEarly:
		early, ok := sets[snapshotSteps(steps)[0]]
		if !ok {
			return nil, nil, fmt.Errorf("no snapshot at step %d (flowed before snapshots existed)", snapshotSteps(steps)[0])
		}
		x = append(x, early.X...)
		y = append(y, early.Labels...)
	case ArmSnapshots:
		snaps := []labeledSet{}
		for _, st := range snapshotSteps(steps)[1:] {
			s, ok := sets[st]
			if !ok {
				return nil, nil, fmt.Errorf("no snapshot at step %d (flowed before snapshots existed)", st)
			}
			snaps = append(snaps, s)
		}
		snaps = append(snaps, final)
		for i := range final.Labels {
			s := snaps[i%len(snaps)] // particle i from one snapshot only: 1/4 of each class from each
			x = append(x, s.X[i*d:(i+1)*d]...)
			y = append(y, s.Labels[i])
		}
	case ArmRepeat, ArmJitter:
		for i := range final.Labels {
			j := i % shots.N
			img := append([]float64(nil), shots.X[j*d:(j+1)*d]...)
			if arm == ArmJitter {
				img = jitter(img, shots.H, shots.W, rng)
			}
			x = append(x, img...)
			y = append(y, shots.Labels[j])
		}
	}
	return x, y, nil
}

// jitter shifts an image by up to one pixel in each direction and adds
// N(0, 0.05²) noise, clipped to [0,1]: the cheap augmentation a user would try.
func jitter(img []float64, h, w int, rng *rand.Rand) []float64 {
	dy, dx := rng.IntN(3)-1, rng.IntN(3)-1
	out := make([]float64, len(img))
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			sr, sc := r-dy, c-dx
			v := 0.0
			if sr >= 0 && sr < h && sc >= 0 && sc < w {
				v = img[sr*w+sc]
			}
			out[r*w+c] = math.Min(1, math.Max(0, v+0.05*rng.NormFloat64()))
		}
	}
	return out
}
