package models

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"
)

// TrainConfig configures Train. DefaultTrainConfig is the paper's LeNet
// protocol: AdamW, learning rate 3·10⁻⁴, weight decay 0.01, batch 64,
// 50 epochs. A zero Epochs, Batch or LR (values Train cannot take) means
// that default; a zero WeightDecay means no weight decay.
type TrainConfig struct {
	// Epochs is the number of passes over the data; 0 means 50.
	Epochs int
	// Batch is the mini-batch size; 0 means 64. A batch larger than the
	// data is the whole data.
	Batch int
	// LR is AdamW's learning rate; 0 means 3e-4.
	LR float64
	// WeightDecay is AdamW's decoupled weight decay λ ≥ 0 (x ← x − LR·λ·x
	// each step, on every weight and bias); DefaultTrainConfig sets 0.01
	// (PyTorch's default), 0 is plain Adam.
	WeightDecay float64
	// Seed seeds the shuffling of every epoch.
	Seed uint64
	// Float64 trains in float64; by default the engine's weights,
	// activations and gradients are float32, faster with half the memory
	// (AdamW's moments and update are float64 either way, as optim.Adam's).
	// The model's weights are float64 either way.
	Float64 bool
	// Progress, if not nil, receives one line per epoch: the mean loss and
	// the accuracy on the training batches of that epoch, the time taken and
	// the estimated time left.
	Progress io.Writer
}

// TrainResult reports a training run.
type TrainResult struct {
	// Epochs and Steps count the epochs and optimizer steps taken.
	Epochs, Steps int
	// FinalLoss is the mean cross-entropy over the training batches of the
	// last epoch (each weighted by its size), computed before each step.
	FinalLoss float64
	// FinalAccuracy is the accuracy on the same batches.
	FinalAccuracy float64
	// Seconds is the wall-clock duration.
	Seconds float64
}

// DefaultTrainConfig returns the paper's LeNet protocol (AdamW 3e-4, weight
// decay 0.01, batch 64, 50 epochs, seed 0).
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Epochs: 50, Batch: 64, LR: 3e-4, WeightDecay: 0.01}
}

func (c TrainConfig) withDefaults() (TrainConfig, error) {
	d := DefaultTrainConfig()
	if c.Epochs == 0 {
		c.Epochs = d.Epochs
	}
	if c.Batch == 0 {
		c.Batch = d.Batch
	}
	if c.LR == 0 {
		c.LR = d.LR
	}
	switch {
	case c.Epochs < 0:
		return c, fmt.Errorf("models: train: %d epochs: %w", c.Epochs, ErrParam)
	case c.Batch < 0:
		return c, fmt.Errorf("models: train: batch size %d: %w", c.Batch, ErrParam)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return c, fmt.Errorf("models: train: learning rate %v: %w", c.LR, ErrParam)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return c, fmt.Errorf("models: train: weight decay %v: %w", c.WeightDecay, ErrParam)
	}
	return c, nil
}

// checkData validates n rows of inputs x for the network and, if labels is
// not nil, their labels; it returns n.
func checkData(nt *Net, x []float64, labels []int, withLabels bool) (int, error) {
	if len(x) == 0 {
		return 0, fmt.Errorf("models: %s: no inputs: %w", nt.arch, ErrNoData)
	}
	if len(x)%nt.d != 0 {
		return 0, fmt.Errorf("models: %s: %d input values are not rows of %d: %w", nt.arch, len(x), nt.d, ErrDim)
	}
	n := len(x) / nt.d
	if withLabels {
		if len(labels) != n {
			return 0, fmt.Errorf("models: %s: %d labels for %d inputs: %w", nt.arch, len(labels), n, ErrDim)
		}
		for i, l := range labels {
			if l < 0 || l >= nt.classes {
				return 0, fmt.Errorf("models: %s: label %d of input %d is outside [0, %d): %w", nt.arch, l, i, nt.classes, ErrLabel)
			}
		}
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("models: %s: input %d has value %v at %d: %w", nt.arch, i/nt.d, v, i%nt.d, ErrNaN)
		}
	}
	return n, nil
}

// prepareTrain checks a training's model, configuration and data; it
// returns the network, the configuration with its defaults and the number
// of rows.
func prepareTrain(m Model, x []float64, labels []int, cfg TrainConfig) (*Net, TrainConfig, int, error) {
	nt, err := netOf(m)
	if err != nil {
		return nil, cfg, 0, err
	}
	if cfg, err = cfg.withDefaults(); err != nil {
		return nil, cfg, 0, err
	}
	n, err := checkData(nt, x, labels, true)
	return nt, cfg, n, err
}

// Train fits the weights of m, a model of this package, to the n rows of x
// (n×d, row-major) and their labels, minimising the mean cross-entropy of
// mini-batches with AdamW (see the package documentation). Every epoch
// visits the data in an order drawn with cfg.Seed; the last batch of an
// epoch holds the n mod Batch remaining rows, if any. The same model, data
// and configuration give the same weights, on any number of cores. On
// error the weights of m are left as they were; a non-finite loss stops the
// run with ErrDiverged.
func Train(m Model, x []float64, labels []int, cfg TrainConfig) (TrainResult, error) {
	start := time.Now()
	nt, cfg, n, err := prepareTrain(m, x, labels, cfg)
	if err != nil {
		return TrainResult{}, err
	}
	if cfg.Float64 {
		return trainEngine[float64](nt, x, labels, n, cfg, start)
	}
	return trainEngine[float32](nt, x, labels, n, cfg, start)
}

// trainEngine is Train on the engine of dtype F, from validated arguments.
func trainEngine[F float](nt *Net, x []float64, labels []int, n int, cfg TrainConfig, start time.Time) (TrainResult, error) {
	b := min(cfg.Batch, n)
	e, err := newEngine[F](nt, b, true)
	if err != nil {
		return TrainResult{}, err
	}
	e.setWeights()
	opt := newAdamW(cfg.LR, cfg.WeightDecay, e.w)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6d6f64656c73)) // "models"
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	d, k := nt.d, nt.classes
	var res TrainResult
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var sum float64
		correct := 0
		for lo := 0; lo < n; lo += b {
			idx := perm[lo:min(lo+b, n)]
			rows := len(idx)
			for r, i := range idx {
				xr := e.x[r*d : (r+1)*d]
				for j, v := range x[i*d : (i+1)*d] {
					xr[j] = F(v)
				}
			}
			z := e.forward(rows)
			loss, ok := lossGrad(z, e.dB[0], rows, k, func(r int) int { return labels[idx[r]] })
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return res, fmt.Errorf("models: train %v: epoch %d, step %d: loss %v: %w", nt, epoch+1, res.Steps+1, loss, ErrDiverged)
			}
			e.backward(rows)
			opt.step(e.w, e.g)
			sum += loss * float64(rows)
			correct += ok
			res.Steps++
		}
		res.endEpoch(epoch, n, sum, correct, cfg, start)
	}
	out := make([][]float64, len(e.w))
	for i, w := range e.w {
		out[i] = make([]float64, len(w))
		for j, v := range w {
			out[i][j] = float64(v)
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

// endEpoch records the end of epoch (0-based) in res — its mean loss sum/n
// and accuracy correct/n over the training batches — and writes the
// progress line with the time elapsed since start and the time left.
func (res *TrainResult) endEpoch(epoch, n int, sum float64, correct int, cfg TrainConfig, start time.Time) {
	res.Epochs = epoch + 1
	res.FinalLoss = sum / float64(n)
	res.FinalAccuracy = float64(correct) / float64(n)
	if cfg.Progress != nil {
		el := time.Since(start)
		eta := time.Duration(float64(el) / float64(epoch+1) * float64(cfg.Epochs-epoch-1))
		fmt.Fprintf(cfg.Progress, "epoch %d/%d: loss %.4f, train accuracy %.4f, %s elapsed, ETA %s\n",
			epoch+1, cfg.Epochs, res.FinalLoss, res.FinalAccuracy, el.Round(time.Millisecond), eta.Round(time.Second))
	}
}
