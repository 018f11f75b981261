package flows_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/optim"
	"gorgonia.org/tensor"
)

// A run stopped at step 17 and resumed from its checkpoint ends with
// bit-identical particles to an uninterrupted run, for each optimizer and dtype.
func TestCheckpointResumeIsBitIdentical(t *testing.T) {
	src, tgt := problem()
	f := functionals.MMD{Target: tgt, Batch: 12}
	for _, tc := range []struct {
		name string
		opt  func() optim.Optimizer
		dt   tensor.Dtype
	}{
		{"momentum/f64", func() optim.Optimizer { return &optim.Momentum{Tau: 0.1, M: 0.9} }, tensor.Float64},
		{"adam/f64", func() optim.Optimizer { return optim.NewAdam(0.01) }, tensor.Float64},
		{"momentum/f32", func() optim.Optimizer { return &optim.Momentum{Tau: 0.1, M: 0.9} }, tensor.Float32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := func() flows.Config {
				return flows.Config{Steps: 30, Directions: 32, Seed: 5, Dtype: tc.dt, Optimizer: tc.opt()}
			}
			full, err := flows.New(src, f, cfg())
			if err != nil {
				t.Fatal(err)
			}
			want, err := full.Run(context.Background())
			full.Close()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "flow.ckpt")
			halt := errors.New("halt")
			c := cfg()
			c.Checkpoint = flows.CheckpointConfig{Path: path, Every: 10, Extra: func() ([]byte, error) { return []byte("extra"), nil }}
			c.Recorder = flows.RecorderFunc(func(s flows.StepInfo) error {
				if s.Step == 17 {
					return halt
				}
				return nil
			})
			part, err := flows.New(src, f, c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := part.Run(context.Background()); !errors.Is(err, halt) {
				t.Fatalf("interrupted run: %v", err)
			}
			part.Close()
			cp, err := flows.LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			if cp.Step != 17 || string(cp.Extra) != "extra" {
				t.Fatalf("checkpoint at step %d with extra %q, want 17 and \"extra\"", cp.Step, cp.Extra)
			}
			resumed, err := flows.New(src, f, cfg())
			if err != nil {
				t.Fatal(err)
			}
			defer resumed.Close()
			if err := resumed.Restore(cp); err != nil {
				t.Fatal(err)
			}
			got, err := resumed.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got.Steps != 30 || !slices.Equal(got.X.Data, want.X.Data) || got.Loss != want.Loss {
				t.Errorf("resumed run differs from the uninterrupted one (steps %d, loss %v vs %v)", got.Steps, got.Loss, want.Loss)
			}
		})
	}
}

func TestCheckpointRejectsMismatchAndCorruption(t *testing.T) {
	src, tgt := problem()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.ckpt")
	fl, err := flows.New(src, functionals.MMD{Target: tgt}, flows.Config{Steps: 2, Directions: 8, Checkpoint: flows.CheckpointConfig{Path: path}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fl.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	fl.Close()
	cp, err := flows.LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := flows.New(src, functionals.MMD{Target: tgt, Kernel: functionals.Gaussian{H: 1}}, flows.Config{Steps: 2, Directions: 8})
	defer other.Close()
	if err := other.Restore(cp); !errors.Is(err, flows.ErrCheckpoint) {
		t.Errorf("restoring into another functional: %v", err)
	}
	raw, _ := os.ReadFile(path)
	for name, b := range map[string][]byte{"truncated": raw[:len(raw)/2], "garbage": []byte("not a checkpoint"), "empty": nil} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		if _, err := flows.LoadCheckpoint(p); !errors.Is(err, flows.ErrCheckpoint) {
			t.Errorf("%s checkpoint: %v", name, err)
		}
	}
	if _, err := flows.LoadCheckpoint(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing checkpoint: no error")
	}
}
