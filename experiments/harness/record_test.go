package harness

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/functionals"
	"github.com/wowflow/wowflow/graph"
	"github.com/wowflow/wowflow/optim"
)

func tinyFlow(t *testing.T, rec flows.Recorder, ck flows.CheckpointConfig) *flows.Flow {
	t.Helper()
	src, _ := graph.FromClasses(2, []float64{0, 0, 0.1, 0, 0, 0.1}, []float64{1, 0, 1.1, 0, 1, 0.1})
	tgt, _ := graph.FromClasses(2, []float64{2, 2, 2.2, 2, 2, 2.2}, []float64{-2, 2, -2.2, 2, -2, 2.2})
	fl, err := flows.New(src, functionals.MMD{Target: tgt}, flows.Config{Steps: 30, Directions: 8, Seed: 3,
		Optimizer: &optim.Momentum{Tau: 0.05, M: 0.5}, Recorder: rec, Checkpoint: ck})
	if err != nil {
		t.Fatal(err)
	}
	return fl
}

var errHalt = errors.New("halt")

// A flow stopped at step 12 and resumed through FlowCheckpoint ends with
// the particles, curve and state of an uninterrupted flow, and its seconds
// and curve count the first segment's time.
func TestFlowCheckpointResume(t *testing.T) {
	const pause = 50 * time.Millisecond
	var whole Curve
	fl := tinyFlow(t, &whole, flows.CheckpointConfig{})
	want, err := fl.Run(context.Background())
	fl.Close()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "f.ckpt")
	type state struct{ Seen int }
	var curve Curve
	st := &state{}
	ck := &FlowCheckpoint{Path: path, Every: 5, Curve: &curve, State: st}
	fl = tinyFlow(t, Recorders{&curve, flows.RecorderFunc(func(s flows.StepInfo) error {
		st.Seen++
		if s.Step == 12 {
			time.Sleep(pause) // the first segment takes at least this long
			return errHalt
		}
		return nil
	})}, ck.Config())
	if _, err := fl.Run(context.Background()); !errors.Is(err, errHalt) {
		t.Fatalf("halted run: %v", err)
	}
	fl.Close()

	var curve2 Curve
	st2 := &state{}
	ck2 := &FlowCheckpoint{Path: path, Curve: &curve2, State: st2}
	fl = tinyFlow(t, Recorders{&curve2, flows.RecorderFunc(func(flows.StepInfo) error { st2.Seen++; return nil })}, ck2.Config())
	defer fl.Close()
	at, err := ck2.Resume(fl)
	if err != nil || at != 12 || curve2.Len() != 12 || st2.Seen != 12 {
		t.Fatalf("resumed at %d (curve %d rows, state %+v): %v", at, curve2.Len(), st2, err)
	}
	got, err := fl.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.X.Data, want.X.Data) || !slices.Equal(curve2.Loss, whole.Loss) {
		t.Errorf("resumed flow differs from the uninterrupted one")
	}
	// The halted segment slept before its checkpoint: the resumed flow's
	// seconds and its curve after step 12 include that, and the curve never
	// goes back in time.
	if s := ck2.Seconds(); !(s >= pause.Seconds()) {
		t.Errorf("resumed flow's seconds %v, less than the first segment's %v", s, pause.Seconds())
	}
	for i := 1; i < curve2.Len(); i++ {
		if curve2.Elapsed[i] < curve2.Elapsed[i-1] || curve2.Step[i] > 12 && !(curve2.Elapsed[i] >= pause.Seconds()) {
			t.Errorf("curve elapsed %v at step %d after %v at step %d", curve2.Elapsed[i], curve2.Step[i], curve2.Elapsed[i-1], curve2.Step[i-1])
		}
	}
	p := filepath.Join(t.TempDir(), "m.csv")
	if err := curve2.WriteCSV(p, "step", "loss"); err != nil {
		t.Fatal(err)
	}
}

// The earlier checkpoints' Extra ([steps, losses]) is still read.
func TestFlowCheckpointReadsEarlierStyle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.ckpt")
	old := flows.CheckpointConfig{Path: path, Extra: func() ([]byte, error) { return json.Marshal([2][]float64{{1, 2}, {0.5, 0.25}}) }}
	fl := tinyFlow(t, flows.RecorderFunc(func(s flows.StepInfo) error {
		if s.Step == 2 {
			return errHalt
		}
		return nil
	}), old)
	fl.Run(context.Background())
	fl.Close()
	var c Curve
	ck := &FlowCheckpoint{Path: path, Curve: &c}
	fl = tinyFlow(t, nil, ck.Config())
	defer fl.Close()
	if at, err := ck.Resume(fl); err != nil || at != 2 || c.Len() != 2 || c.Loss[1] != 0.25 {
		t.Errorf("resumed at %d with curve %+v: %v", at, c, err)
	}
	// No checkpoint: step 0, nothing restored; garbage: an error naming the file.
	if at, err := (&FlowCheckpoint{Path: path + ".none"}).Resume(fl); at != 0 || err != nil {
		t.Errorf("no checkpoint: %d, %v", at, err)
	}
	bad := flows.CheckpointConfig{Path: path, Extra: func() ([]byte, error) { return []byte("nope"), nil }}
	fl2 := tinyFlow(t, flows.RecorderFunc(func(flows.StepInfo) error { return errHalt }), bad)
	fl2.Run(context.Background())
	fl2.Close()
	if _, err := ck.Resume(fl); err == nil || !strings.Contains(err.Error(), "old.ckpt") {
		t.Errorf("garbage extra: %v", err)
	}
}
