package harness

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/wowflow/wowflow/flows"
	"github.com/wowflow/wowflow/internal/atomicfile"
)

// Recorders calls each recorder in turn; the first error stops the flow.
type Recorders []flows.Recorder

// Record implements flows.Recorder.
func (rs Recorders) Record(s flows.StepInfo) error {
	for _, r := range rs {
		if r == nil {
			continue
		}
		if err := r.Record(s); err != nil {
			return err
		}
	}
	return nil
}

// Progress prints a flow's progress to W: "NAME: step s/N loss L, X ms/step,
// ETA d" every Every steps and at the last step (Every 0: at most every
// Interval, default 10 s). A nil W prints nothing.
type Progress struct {
	W        io.Writer
	Name     string
	Steps    int // the flow's last step
	Every    int
	Interval time.Duration
	// Start is the step the flow started or resumed at (for the ETA).
	Start int
	last  time.Time
}

// Record implements flows.Recorder.
func (p *Progress) Record(s flows.StepInfo) error {
	if p.W == nil {
		return nil
	}
	due := s.Step == p.Steps
	switch {
	case p.Every > 0:
		due = due || s.Step%p.Every == 0
	default:
		iv := p.Interval
		if iv == 0 {
			iv = 10 * time.Second
		}
		due = due || time.Since(p.last) >= iv
	}
	if !due {
		return nil
	}
	p.last = time.Now()
	done := max(1, s.Step-p.Start)
	fmt.Fprintf(p.W, "%s: step %d/%d loss %.5g, %.0f ms/step, ETA %v\n", p.Name, s.Step, p.Steps, s.Loss,
		1000*s.Elapsed.Seconds()/float64(done), ETA(s.Elapsed, done, p.Steps-s.Step))
	return nil
}

// ETA is the time left for left more units of work, at the rate of done
// units in elapsed.
func ETA(elapsed time.Duration, done, left int) time.Duration {
	return time.Duration(float64(elapsed) / float64(max(1, done)) * float64(max(0, left))).Round(time.Second)
}

// Curve keeps a flow's metrics, one row per step: the step, the loss and
// the WoW-gradient norm before the step's update, and the flow's seconds so
// far — across resumes when FlowCheckpoint restored the curve (see
// FlowCheckpoint.Seconds).
type Curve struct {
	Step     []int     `json:"step"`
	Loss     []float64 `json:"loss"`
	GradNorm []float64 `json:"grad_norm"`
	Elapsed  []float64 `json:"elapsed_s"`
	offset   float64   // seconds of the segments before a resume
}

// Record implements flows.Recorder.
func (c *Curve) Record(s flows.StepInfo) error {
	c.Step = append(c.Step, s.Step)
	c.Loss = append(c.Loss, s.Loss)
	c.GradNorm = append(c.GradNorm, s.GradNorm)
	c.Elapsed = append(c.Elapsed, c.offset+s.Elapsed.Seconds())
	return nil
}

// Len is the number of rows.
func (c *Curve) Len() int { return len(c.Step) }

// Steps returns the steps as float64 (for plots).
func (c *Curve) Steps() []float64 {
	out := make([]float64, len(c.Step))
	for i, s := range c.Step {
		out[i] = float64(s)
	}
	return out
}

// WriteCSV writes the curve to path atomically with the header
// step,loss,grad_norm,elapsed_s (or only the columns named in cols).
func (c *Curve) WriteCSV(path string, cols ...string) error {
	if len(cols) == 0 {
		cols = []string{"step", "loss", "grad_norm", "elapsed_s"}
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
	rows := make([][]string, c.Len())
	for i := range rows {
		for _, col := range cols {
			var v string
			switch col {
			case "step":
				v = strconv.Itoa(c.Step[i])
			case "loss":
				v = f(c.Loss[i])
			case "grad_norm":
				v = f(c.GradNorm[i])
			case "elapsed_s":
				v = f(c.Elapsed[i])
			default:
				return fmt.Errorf("harness: curve has no column %q", col)
			}
			rows[i] = append(rows[i], v)
		}
	}
	return WriteCSV(path, cols, rows)
}

// WriteCSV writes a header and rows to path atomically.
func WriteCSV(path string, header []string, rows [][]string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	})
}

// WriteJSON writes v to path atomically, indented, with a final newline.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// checkpointExtra is what FlowCheckpoint stores with the flow's state: the
// curve so far, the experiment's own state and the flow's seconds so far,
// all JSON.
type checkpointExtra struct {
	Curve   *Curve          `json:"curve"`
	State   json.RawMessage `json:"state,omitempty"`
	Seconds float64         `json:"seconds,omitempty"`
}

// FlowCheckpoint is the one checkpoint style of the experiments: the flow's
// full state (flows.Checkpoint) with the curve so far and, optionally, the
// experiment's own state (State, JSON-encoded) as its Extra.
type FlowCheckpoint struct {
	Path  string
	Every int    // steps between checkpoints (0: only when the run ends or is canceled)
	Curve *Curve // the flow's curve (restored by Resume)
	State any    // the experiment's state, encoded with every checkpoint; Resume decodes into it

	start   time.Time // this segment's start: the first Config call
	earlier float64   // seconds of the segments before a resume
}

// Seconds is the flow's wall-clock time so far: this segment's, from the
// first Config call, plus after Resume the earlier segments' as their
// checkpoint recorded them — so a flow stopped and resumed reports the time
// of its whole run, not of its last part. The work done after the last
// checkpoint of a killed segment is redone and counted once, by the
// segment that redoes it. (A checkpoint written before this was recorded
// gives its curve's last elapsed time, which covers its own segment.)
func (c *FlowCheckpoint) Seconds() float64 {
	if c.start.IsZero() {
		return c.earlier
	}
	return c.earlier + time.Since(c.start).Seconds()
}

// Config returns the flows.CheckpointConfig saving c, and starts the clock
// of Seconds.
func (c *FlowCheckpoint) Config() flows.CheckpointConfig {
	if c.start.IsZero() {
		c.start = time.Now()
	}
	return flows.CheckpointConfig{Path: c.Path, Every: c.Every, Extra: func() ([]byte, error) {
		e := checkpointExtra{Curve: c.Curve, Seconds: c.Seconds()}
		if e.Curve == nil {
			e.Curve = &Curve{} // the flow keeps no curve; an empty one marks this style
		}
		if c.State != nil {
			b, err := json.Marshal(c.State)
			if err != nil {
				return nil, err
			}
			e.State = b
		}
		return json.Marshal(e)
	}}
}

// Resume restores fl, the curve and the state from the checkpoint at c.Path
// if there is one, and returns the step restored (0 without a checkpoint).
// It also reads the earlier style, whose Extra held [steps, losses].
//
// A run resumes in its own directory, so no other process writes c.Path:
// Resume first removes the temporary files a checkpoint write killed midway
// (SIGKILL) left behind.
func (c *FlowCheckpoint) Resume(fl *flows.Flow) (int, error) {
	if _, err := atomicfile.RemoveStale(c.Path); err != nil {
		return 0, err
	}
	cp, err := flows.LoadCheckpoint(c.Path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w (remove it to restart the flow)", c.Path, err)
	}
	var e checkpointExtra
	if err := json.Unmarshal(cp.Extra, &e); err != nil || e.Curve == nil {
		var old [2][]float64 // the earlier style: [steps, losses]
		if err2 := json.Unmarshal(cp.Extra, &old); err2 != nil || len(old[0]) != len(old[1]) {
			return 0, fmt.Errorf("%s: unreadable extra state (%v) (remove it to restart the flow)", c.Path, err)
		}
		e.Curve = &Curve{Loss: old[1]}
		for _, s := range old[0] {
			e.Curve.Step = append(e.Curve.Step, int(s))
			e.Curve.GradNorm = append(e.Curve.GradNorm, 0)
			e.Curve.Elapsed = append(e.Curve.Elapsed, 0)
		}
	}
	if c.State != nil && len(e.State) > 0 {
		if err := json.Unmarshal(e.State, c.State); err != nil {
			return 0, fmt.Errorf("%s: experiment state: %v (remove it to restart the flow)", c.Path, err)
		}
	}
	if err := fl.Restore(cp); err != nil {
		return 0, fmt.Errorf("%s: %w (remove it to restart the flow)", c.Path, err)
	}
	c.earlier = e.Seconds
	if n := len(e.Curve.Elapsed); c.earlier == 0 && n > 0 {
		c.earlier = e.Curve.Elapsed[n-1]
	}
	if c.Curve != nil {
		*c.Curve = *e.Curve
		c.Curve.offset = c.earlier
	}
	return cp.Step, nil
}
