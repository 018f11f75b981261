package experiments

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
)

// Distillation methods.
const (
	// DistillMMDSW flows the synthetic set with the Riesz MMDSW against the
	// real training set (the paper's method).
	DistillMMDSW = "mmdsw"
	// DistillDM flows it with Distribution Matching: per class, the squared
	// distance between mean (embedded) images (Zhao & Bilen (2023)).
	DistillDM = "dm"
	// DistillRandom keeps the initialisation: random real images.
	DistillRandom = "random"
)

// Distillation spaces.
const (
	SpaceAmbient  = "ambient"  // pixels
	SpaceEmbedded = "embedded" // a random ConvNet redrawn every step, after a random augmentation
)

// DistillConfig configures one distillation run (the paper's Table 1 on a
// CPU budget): IPC synthetic images per class, initialised from random real
// training images, flowed to minimise an objective against the real training
// set, then evaluated by training ConvNets on them and testing on the whole
// test set. DefaultDistillConfig(method) holds the defaults in brackets; a
// zero count, τ, learning rate or name means that default, a zero Momentum
// is plain gradient descent (see the package's configuration rule).
type DistillConfig struct {
	Dataset string // mnist or fmnist [mnist]
	IPC     int    // images per class [10]
	Method  string // mmdsw, dm or random [mmdsw]
	Space   string // ambient or embedded [ambient]
	// Flow: steps [2000], τ [1], momentum [0.9; DM: 0.5; used as given], L [500], real
	// images per class drawn each step [256]. MMDSW follows the WoW gradient
	// (the paper's settings); DM follows the plain Euclidean gradient with
	// its authors' optimizer (SGD, learning rate 1, momentum 0.5), as
	// published.
	Steps         int
	Tau, Momentum float64
	Directions    int
	Batch         int
	// Embedding (embedded space): random ConvNet width [32] and depth [3],
	// preceded by a random affine augmentation unless NoAugment.
	EmbedWidth, EmbedDepth int
	NoAugment              bool
	// Evaluation: ConvNet width [32] and depth [3], AdamW with learning rate
	// EvalLR [1e-3], batch 256, EvalEpochs [300] epochs, Trainings [3] runs.
	EvalWidth, EvalDepth int
	EvalEpochs           int
	EvalLR               float64
	Trainings            int
	// TestImages, when positive, evaluates on a balanced subsample of the
	// test set (for quick runs); 0 means the whole test set.
	TestImages int
	Seed       uint64
	// Out is the run's directory; "" means ROOT/NAME with Root [out/distill]
	// and NAME = Name(). A run there resumes: a finished flow is reused, a
	// checkpoint continues, finished trainings are kept.
	Out, Root string
	// CheckpointEvery saves the flow every that many steps [250].
	CheckpointEvery int
	// EstimateOnly measures a few steps, prints the estimated run time and
	// returns without writing anything.
	EstimateOnly bool
	Progress     io.Writer `json:"-"`
}

// Name is the run's directory name: DATASET-ipcN-METHOD-SPACE, with
// -seedS when the seed is not 1 (so that the runs of several synthetic
// sets of one cell live side by side under one root).
func (c DistillConfig) Name() string {
	name := fmt.Sprintf("%s-ipc%d-%s-%s", c.Dataset, c.IPC, c.Method, c.Space)
	if c.Method == DistillRandom {
		name = fmt.Sprintf("%s-ipc%d-%s", c.Dataset, c.IPC, c.Method)
	}
	if c.Seed != 1 {
		name += fmt.Sprintf("-seed%d", c.Seed)
	}
	return name
}

// DefaultDistillConfig returns the defaults of a run of method (mmdsw, dm
// or random) on MNIST at IPC 10 in pixel space: 2000 steps of τ = 1 with
// momentum 0.9 (DM: 0.5, its authors' SGD momentum), L = 500, 256 real
// images per class per step; a random ConvNet width 32, depth 3 after the
// affine augmentation for the embedded space; evaluation by 3 trainings of
// a ConvNet width 32, depth 3 (AdamW 1e-3, 300 epochs); seed 1; a
// checkpoint every 250 steps; runs under out/distill.
func DefaultDistillConfig(method string) DistillConfig {
	c := DistillConfig{Dataset: "mnist", IPC: 10, Method: method, Space: SpaceAmbient,
		Steps: 2000, Tau: 1, Momentum: 0.9, Directions: 500, Batch: 256, EmbedWidth: 32, EmbedDepth: 3,
		EvalWidth: 32, EvalDepth: 3, EvalEpochs: 300, EvalLR: 1e-3, Trainings: 3, Seed: 1,
		Root: filepath.Join("out", "distill"), CheckpointEvery: 250}
	if method == DistillDM {
		c.Momentum = 0.5
	}
	return c
}

func (c *DistillConfig) defaults() error {
	orDefault(&c.Method, DistillMMDSW)
	d := DefaultDistillConfig(c.Method)
	orDefault(&c.Dataset, d.Dataset)
	orDefault(&c.Space, d.Space)
	orDefault(&c.IPC, d.IPC)
	orDefault(&c.Steps, d.Steps)
	orDefault(&c.Directions, d.Directions)
	orDefault(&c.Batch, d.Batch)
	orDefault(&c.EmbedWidth, d.EmbedWidth)
	orDefault(&c.EmbedDepth, d.EmbedDepth)
	orDefault(&c.EvalWidth, d.EvalWidth)
	orDefault(&c.EvalDepth, d.EvalDepth)
	orDefault(&c.EvalEpochs, d.EvalEpochs)
	orDefault(&c.Trainings, d.Trainings)
	orDefault(&c.CheckpointEvery, d.CheckpointEvery)
	orDefault(&c.Tau, d.Tau)
	orDefault(&c.EvalLR, d.EvalLR)
	orDefault(&c.Root, d.Root)
	switch {
	case c.Method != DistillMMDSW && c.Method != DistillDM && c.Method != DistillRandom:
		return fmt.Errorf("distill: unknown method %q (want %s, %s or %s)", c.Method, DistillMMDSW, DistillDM, DistillRandom)
	case c.Space != SpaceAmbient && c.Space != SpaceEmbedded:
		return fmt.Errorf("distill: unknown space %q (want %s or %s)", c.Space, SpaceAmbient, SpaceEmbedded)
	case c.IPC < 1 || c.Steps < 1 || c.Directions < 1 || c.Batch < 1 || c.EmbedWidth < 1 || c.EmbedDepth < 1 ||
		c.EvalWidth < 1 || c.EvalDepth < 1 || c.EvalEpochs < 1 || c.Trainings < 1 || c.CheckpointEvery < 1 || c.TestImages < 0:
		return fmt.Errorf("distill: counts must be positive (ipc %d, steps %d, directions %d, batch %d, embed width %d depth %d, eval width %d depth %d epochs %d, trainings %d, checkpoint every %d)",
			c.IPC, c.Steps, c.Directions, c.Batch, c.EmbedWidth, c.EmbedDepth, c.EvalWidth, c.EvalDepth, c.EvalEpochs, c.Trainings, c.CheckpointEvery)
	case !(c.Tau > 0) || math.IsInf(c.Tau, 0) || !(c.Momentum >= 0 && c.Momentum < 1) || !(c.EvalLR > 0) || math.IsInf(c.EvalLR, 0):
		return fmt.Errorf("distill: --tau %v and --eval-lr %v must be positive and finite, --momentum %v in [0, 1)", c.Tau, c.EvalLR, c.Momentum)
	}
	if c.Out == "" {
		c.Out = filepath.Join(c.Root, c.Name())
	}
	return nil
}
