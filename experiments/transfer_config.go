package experiments

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
)

// TransferConfig configures the k-shot transfer experiment (the paper's
// Table 2, FMNIST rows): a labeled source (200 MNIST training images per
// class) is flowed onto k target images per class (Fashion-MNIST training
// set) with the Riesz MMDSW; the flowed images, clipped to [0,1] and relabelled
// by WoW alignment, augment the k real ones to train a LeNet tested on the
// whole target test set. DefaultTransferConfig holds the paper's settings;
// zero counts, τ and dataset names mean those defaults, a zero Momentum is
// plain gradient descent (see the package's configuration rule).
type TransferConfig struct {
	Source, Target string // datasets (data.Load names); "": mnist, fmnist
	SourcePerClass int    // 0: 200
	Shots          []int  // k values; nil: 1, 5, 10
	Steps          int    // flow steps; 0: 5000 for k ≤ 10, 20000 above
	Tau, Momentum  float64
	Directions     int // L; 0: 500
	Flows          int // flows per k; 0: 3
	// FirstFlow skips flows 0 … FirstFlow−1 (to run the flows of one k in
	// several processes, each with its own Out; MergeTransfer joins them).
	FirstFlow  int
	Trainings  int // classifier trainings per flow and arm; 0: 5
	Epochs     int // 0: 50
	TestImages int // test images (balanced subsample); 0: the whole test set
	Seed       uint64
	Out        string // output directory; results.json there makes the run resumable
	// CheckpointEvery saves a flow in progress every that many steps (and on
	// cancellation) to OUT/kK_flowF.ckpt; 0: 500.
	CheckpointEvery int
	// Arms to train (see TransferArms); nil: all.
	Arms []string
	// Quantiles > 0 flows with the paper code's percentile estimator
	// (functionals.MMD.Quantiles, the code uses 100) instead of exact sorting.
	Quantiles int
	// MixedWeight is λ of the k+mixed arm (0: that arm is skipped).
	MixedWeight float64
	// BaselineSteps is the number of steps of the k+otdd and k+hua flows;
	// 0: the authors' (BaselineSteps: 5000 for OTDD, 20000 for Hua et al.).
	BaselineSteps int
	Progress      io.Writer `json:"-"`
}

// DefaultTransferConfig returns the paper's k-shot protocol: 200 MNIST
// images per class flowed onto k = 1, 5, 10 Fashion-MNIST images per class
// (Riesz MMDSW, τ = 1, m = 0.9, L = 500, 5000 steps for k ≤ 10 and 20000
// above), 3 flows × 5 LeNet trainings of 50 epochs per k, seed 1, a
// checkpoint every 500 steps, output in out/transfer.
func DefaultTransferConfig() TransferConfig {
	return TransferConfig{Source: "mnist", Target: "fmnist", SourcePerClass: 200, Shots: []int{1, 5, 10},
		Tau: 1, Momentum: 0.9, Directions: 500, Flows: 3, Trainings: 5, Epochs: 50, Seed: 1,
		Out: filepath.Join("out", "transfer"), CheckpointEvery: 500}
}

func (c *TransferConfig) defaults() error {
	d := DefaultTransferConfig()
	orDefault(&c.Source, d.Source)
	orDefault(&c.Target, d.Target)
	orDefault(&c.SourcePerClass, d.SourcePerClass)
	if c.Shots == nil {
		c.Shots = d.Shots
	}
	orDefault(&c.Tau, d.Tau)
	orDefault(&c.Directions, d.Directions)
	orDefault(&c.Flows, d.Flows)
	orDefault(&c.Trainings, d.Trainings)
	orDefault(&c.Epochs, d.Epochs)
	orDefault(&c.CheckpointEvery, d.CheckpointEvery)
	switch {
	case c.Out == "":
		return fmt.Errorf("transfer: --out is required")
	case c.FirstFlow < 0 || c.FirstFlow >= c.Flows:
		return fmt.Errorf("transfer: --first-flow %d must be in [0, --flows %d)", c.FirstFlow, c.Flows)
	case c.SourcePerClass < 1 || c.Flows < 1 || c.Trainings < 1 || c.Epochs < 1 || c.Directions < 1 || c.Steps < 0 || c.TestImages < 0:
		return fmt.Errorf("transfer: counts must be positive (source %d, flows %d, trainings %d, epochs %d, directions %d, steps %d)",
			c.SourcePerClass, c.Flows, c.Trainings, c.Epochs, c.Directions, c.Steps)
	case !(c.Tau > 0) || math.IsInf(c.Tau, 0):
		return fmt.Errorf("transfer: --tau %v must be positive", c.Tau)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("transfer: --momentum %v must be in [0, 1)", c.Momentum)
	case len(c.Shots) == 0:
		return fmt.Errorf("transfer: --shots is empty")
	}
	for _, k := range c.Shots {
		if k < 1 {
			return fmt.Errorf("transfer: --shots %d must be positive", k)
		}
	}
	if c.Arms == nil {
		c.Arms = TransferArms
		if c.MixedWeight == 0 {
			c.Arms = TransferArms[:len(TransferArms)-1]
		}
	}
	if c.Quantiles < 0 {
		return fmt.Errorf("transfer: --quantiles %d must be ≥ 0 (0: exact sorting)", c.Quantiles)
	}
	if !(c.MixedWeight >= 0) || math.IsInf(c.MixedWeight, 0) {
		return fmt.Errorf("transfer: --mixed-weight %v must be ≥ 0", c.MixedWeight)
	}
	if slices.Contains(c.Arms, ArmMixed) && c.MixedWeight == 0 {
		return fmt.Errorf("transfer: the %s arm needs --mixed-weight > 0", ArmMixed)
	}
	for _, a := range c.Arms {
		if !slices.Contains(TransferArms, a) && !slices.Contains(BaselineArms, a) {
			return fmt.Errorf("transfer: unknown arm %q (want one of %s, %s)", a, strings.Join(TransferArms, ", "), strings.Join(BaselineArms, ", "))
		}
	}
	if c.BaselineSteps < 0 {
		return fmt.Errorf("transfer: --baseline-steps %d must be ≥ 0 (0: the authors' 5000 for OTDD, 20000 for Hua et al.)", c.BaselineSteps)
	}
	return nil
}

// protocol names what makes two runs' trials comparable (and mergeable into
// one table): datasets, sizes, flow settings, classifier epochs, test set
// and seed. The estimator (Quantiles) and λ may differ between merged runs.
func (c TransferConfig) protocol() string {
	return fmt.Sprintf("%s → %s, %d/class, steps %d, τ=%g, m=%g, L=%d, %d epochs, test images %d, seed %d",
		c.Source, c.Target, c.SourcePerClass, c.Steps, c.Tau, c.Momentum, c.Directions, c.Epochs, c.TestImages, c.Seed)
}

// sameFlows reports whether runs a and b flow alike (so b may resume a).
func sameFlows(a, b TransferConfig) bool {
	return a.Quantiles == b.Quantiles && a.MixedWeight == b.MixedWeight
}

// snapshotSteps are the steps at which a flow's particles are saved for the
// early-stopping and snapshot arms.
func snapshotSteps(steps int) []int {
	return []int{max(1, steps/10), max(1, steps/4), max(1, steps/2), max(1, 3*steps/4)}
}

func (c TransferConfig) steps(k int) int {
	if c.Steps > 0 {
		return c.Steps
	}
	if k <= 10 {
		return 5000
	}
	return 20000
}

// Transfer arms: what the classifier is trained on.
const (
	ArmShots  = "train-on-k" // the k real images per class only
	ArmRepeat = "k-repeated" // the k shots repeated to the augmented set's size (equal optimizer steps)
	ArmJitter = "k-jittered" // the same, each copy shifted ±1 px and with N(0, 0.05²) noise
	ArmFlow   = "k+flowed"   // the k shots + the flowed source images
	// ArmEarly stops the flow early: the k shots + the particles at a tenth
	// of the steps (relabelled by their own WoW alignment).
	ArmEarly = "k+early"
	// ArmSnapshots trains on snapshots along the trajectory: the k shots +
	// a quarter of the particles of each class from each of the snapshots at
	// 1/4, 1/2, 3/4 and all of the steps (different source images from each,
	// so the set has the size of the k+flowed one).
	ArmSnapshots = "k+snapshots"
	// ArmMixed flows with a mixed functional, MMD + λ·(cross-entropy of a
	// LeNet trained on the k shots, each flowed class labelled by the plain
	// flow's alignment), and trains on the k shots + those particles. Needs
	// MixedWeight > 0; each step then also runs the LeNet on every particle
	// (about 3× the cost of an MMD step).
	ArmMixed = "k+mixed"
)

// TransferArms lists every arm, in table order.
var TransferArms = []string{ArmShots, ArmRepeat, ArmJitter, ArmFlow, ArmEarly, ArmSnapshots, ArmMixed}

// The baseline arms (not run unless --arms names them): the k shots + the
// source flowed by the OTDD flow or by Hua et al.'s flow in the product
// space of features and label Gaussians (experiments/baselines.go),
// relabelled by the nearest target class Gaussian.
const (
	ArmOTDD = "k+otdd"
	ArmHua  = "k+hua"
)

// BaselineArms lists the baseline arms, in table order.
var BaselineArms = []string{ArmOTDD, ArmHua}

// baselineOf returns the baseline method of a baseline arm, "" otherwise.
func baselineOf(arm string) string {
	switch arm {
	case ArmOTDD:
		return BaselineOTDD
	case ArmHua:
		return BaselineHua
	}
	return ""
}

func (c TransferConfig) baselineSteps(method string) int {
	if c.BaselineSteps > 0 {
		return c.BaselineSteps
	}
	return BaselineSteps(method)
}

// mixedKey is the key of the mixed flow's particles in a flow's sets.
const mixedKey = -1
