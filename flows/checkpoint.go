package flows

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/wowflow/wowflow/internal/atomicfile"
	"github.com/wowflow/wowflow/optim"
)

// ErrCheckpoint reports a checkpoint that cannot be read or does not match
// the flow it is restored into.
var ErrCheckpoint = errors.New("flows: bad checkpoint")

// checkpointVersion is bumped whenever the Checkpoint layout changes.
const checkpointVersion = 1

// Checkpoint is the full state of a flow: restoring it into a flow built
// with the same dataset layout, functional and configuration continues the
// run exactly where it stopped (bit-identical to an uninterrupted run).
type Checkpoint struct {
	Version    int
	Functional string // String() of the functional, checked on restore
	Step       int
	D          int
	Offsets    []int
	X          []float64 // the particles (float32 flows store exact float64 copies)
	RNG        []byte    // the PCG state
	Optimizer  *optim.State
	// Extra is state owned by the caller (an experiment's metrics so far,
	// animation frames, …), saved and restored verbatim.
	Extra []byte
}

// Checkpoint returns the current state of the flow. The caller's extra
// state, if any, is attached by the flow's CheckpointConfig.Extra.
func (fl *Flow) Checkpoint() (*Checkpoint, error) {
	rng, err := fl.src.MarshalBinary()
	if err != nil {
		return nil, err
	}
	cp := &Checkpoint{
		Version: checkpointVersion, Functional: fl.f.String(), Step: fl.step,
		D: fl.layout.D, Offsets: append([]int(nil), fl.layout.Offsets...),
		X: fl.Particles().Data, RNG: rng,
	}
	if s, ok := fl.cfg.Optimizer.(optim.Stateful); ok {
		st := s.State()
		cp.Optimizer = &st
	}
	if fl.cfg.Checkpoint.Extra != nil {
		if cp.Extra, err = fl.cfg.Checkpoint.Extra(); err != nil {
			return nil, fmt.Errorf("flows: checkpoint extra state: %w", err)
		}
	}
	return cp, nil
}

// Restore sets the flow's particles, optimizer state, RNG and step count
// from cp. The flow must have been built with the same layout and functional.
func (fl *Flow) Restore(cp *Checkpoint) error {
	switch {
	case cp.Version != checkpointVersion:
		return fmt.Errorf("flows: checkpoint version %d, this build reads %d: %w", cp.Version, checkpointVersion, ErrCheckpoint)
	case cp.Functional != fl.f.String():
		return fmt.Errorf("flows: checkpoint of %s, the flow optimises %s: %w", cp.Functional, fl.f, ErrCheckpoint)
	case cp.D != fl.layout.D || !equalInts(cp.Offsets, fl.layout.Offsets) || len(cp.X) != fl.layout.Len()*fl.layout.D:
		return fmt.Errorf("flows: checkpoint holds classes %v in dimension %d, the flow %v in %d: %w", cp.Offsets, cp.D, fl.layout.Offsets, fl.layout.D, ErrCheckpoint)
	case cp.Step < 0:
		return fmt.Errorf("flows: checkpoint step %d: %w", cp.Step, ErrCheckpoint)
	}
	for i, v := range cp.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("flows: checkpoint particle value %d is %v: %w", i, v, ErrCheckpoint)
		}
	}
	src := &rand.PCG{}
	if err := src.UnmarshalBinary(cp.RNG); err != nil {
		return fmt.Errorf("flows: checkpoint RNG state: %v: %w", err, ErrCheckpoint)
	}
	if s, ok := fl.cfg.Optimizer.(optim.Stateful); ok {
		if cp.Optimizer == nil {
			return fmt.Errorf("flows: checkpoint has no optimizer state for %T: %w", fl.cfg.Optimizer, ErrCheckpoint)
		}
		if err := s.SetState(*cp.Optimizer); err != nil {
			return err
		}
	}
	switch d := fl.x.Data().(type) {
	case []float64:
		copy(d, cp.X)
	case []float32:
		for i, v := range cp.X {
			d[i] = float32(v)
		}
	}
	*fl.src = *src
	fl.step = cp.Step
	return nil
}

// Save writes cp to path atomically (temporary file, fsync, rename): a crash
// leaves either the previous checkpoint or the new one, never a torn file.
func (cp *Checkpoint) Save(path string) error {
	return atomicfile.Write(path, func(w io.Writer) error { return gob.NewEncoder(w).Encode(cp) })
}

// LoadCheckpoint reads a checkpoint written by Save.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	var cp Checkpoint
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&cp); err != nil {
		return nil, fmt.Errorf("flows: %s: %v: %w", path, err, ErrCheckpoint)
	}
	if cp.Version != checkpointVersion {
		return nil, fmt.Errorf("flows: %s: checkpoint version %d, this build reads %d: %w", path, cp.Version, checkpointVersion, ErrCheckpoint)
	}
	return &cp, nil
}

// CheckpointConfig makes Run save the flow's state.
type CheckpointConfig struct {
	// Path of the checkpoint file; empty disables checkpoints.
	Path string
	// Every saves after every Every steps (0: only when the run ends, is
	// canceled or stopped).
	Every int
	// Extra, if non-nil, returns the caller's state to store with each
	// checkpoint (it is called after the step's Recorder).
	Extra func() ([]byte, error)
}

func (fl *Flow) saveCheckpoint() error {
	if fl.cfg.Checkpoint.Path == "" {
		return nil
	}
	cp, err := fl.Checkpoint()
	if err != nil {
		return err
	}
	if err := cp.Save(fl.cfg.Checkpoint.Path); err != nil {
		return fmt.Errorf("flows: saving checkpoint: %w", err)
	}
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
