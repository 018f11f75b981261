package experiments

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/experiments/render"
)

// ExportConfig configures `wow data export`: a class-balanced sample of a
// named image dataset written as NPY.
type ExportConfig struct {
	Dataset  string // mnist, fmnist, kmnist, usps or a directory (see data.Load)
	Split    string // train (default) or test
	PerClass int    // images per class, > 0
	Seed     uint64 // seeds the sample
	Out      string // prefix: PREFIX_x.npy, PREFIX_labels.npy, PREFIX_grid.png
}

// DefaultExportConfig returns the defaults of `wow data export`: 100
// training images per class of MNIST from seed 1 (Out must be set).
func DefaultExportConfig() ExportConfig {
	return ExportConfig{Dataset: "mnist", Split: "train", PerClass: 100, Seed: 1}
}

// ExportResult lists what Export wrote.
type ExportResult struct {
	Files   []string `json:"files"`
	N       int      `json:"n"`
	D       int      `json:"d"`
	Classes int      `json:"classes"`
}

// LoadBalanced loads split of dataset and draws perClass images per class
// without replacement, grouped by class, from seed.
func LoadBalanced(dataset, split string, perClass int, seed uint64) (*data.Images, error) {
	if perClass <= 0 {
		return nil, fmt.Errorf("--per-class %d must be positive", perClass)
	}
	im, err := data.Load(dataset, split)
	if err != nil {
		return nil, err
	}
	return data.BalancedSample(im, perClass, rand.New(rand.NewPCG(seed, 0xda7a)))
}

// Export writes a balanced sample: PREFIX_x.npy (float64, N·C × d, values in
// [0,1]), PREFIX_labels.npy (int64) and PREFIX_grid.png (one row per class).
func Export(cfg ExportConfig) (ExportResult, error) {
	orDefault(&cfg.Split, DefaultExportConfig().Split)
	if cfg.Out == "" {
		return ExportResult{}, fmt.Errorf("data export: --out PREFIX is required")
	}
	im, err := LoadBalanced(cfg.Dataset, cfg.Split, cfg.PerClass, cfg.Seed)
	if err != nil {
		return ExportResult{}, fmt.Errorf("data export: %w", err)
	}
	if dir := filepath.Dir(cfg.Out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return ExportResult{}, fmt.Errorf("data export: %w", err)
		}
	}
	res := ExportResult{N: im.N, D: im.D, Classes: im.Classes}
	x, l, g := cfg.Out+"_x.npy", cfg.Out+"_labels.npy", cfg.Out+"_grid.png"
	if err := data.WriteMatrix(x, data.Matrix{Data: im.X, Rows: im.N, Cols: im.D}); err != nil {
		return res, err
	}
	if err := data.WriteLabels(l, im.Labels); err != nil {
		return res, err
	}
	if err := render.WriteImageGrid(g, im.X, im.Labels, im.H, im.W, render.GridOptions{}); err != nil {
		return res, err
	}
	res.Files = []string{x, l, g}
	return res, nil
}
