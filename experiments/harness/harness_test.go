package harness

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustID(t *testing.T, kind, name string, key any) string {
	t.Helper()
	id, err := ID(kind, name, key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestIDStableAndDistinct(t *testing.T) {
	type key struct {
		K    int
		Seed uint64
	}
	a := mustID(t, "flow", "k1 flow0", key{1, 1})
	if b := mustID(t, "flow", "k1 flow0", key{1, 1}); a != b {
		t.Errorf("same key, IDs %s and %s", a, b)
	}
	for _, other := range []string{mustID(t, "flow", "k1 flow0", key{1, 2}), mustID(t, "train", "k1 flow0", key{1, 1}), mustID(t, "flow", "k1 flow1", key{1, 1})} {
		if other == a {
			t.Errorf("different trials share the ID %s", a)
		}
	}
	// A readable, file-safe ID: kind-name-12 hex digits (the hash of the
	// key {"K":1,"Seed":1} is fixed by SHA-256, not by this machine).
	if !strings.HasPrefix(a, "flow-k1_flow0-") || len(a) != len("flow-k1_flow0-")+12 {
		t.Errorf("ID %q", a)
	}
	if _, err := ID("x", "y", func() {}); err == nil {
		t.Error("a key that does not encode: no error")
	}
}

// counter is a plan of three trials: a and b independent, c needs both.
func counter(t *testing.T, calls map[string]int, fail string) (*Plan, [3]string) {
	t.Helper()
	var p Plan
	var ids [3]string
	for i, name := range []string{"a", "b", "c"} {
		id := mustID(t, "unit", name, i)
		ids[i] = id
		tr := Trial{ID: id, Kind: "unit", Name: name, Run: func(ctx context.Context, r *Runner) (any, error) {
			calls[name]++
			if name == fail {
				return nil, errors.New("boom")
			}
			if name == "c" {
				a, err := Result[int](r.Store, ids[0])
				if err != nil {
					return nil, err
				}
				b, err := Result[int](r.Store, ids[1])
				return a + b + 10, err
			}
			return i + 1, nil
		}}
		if name == "c" {
			tr.Needs = []string{ids[0], ids[1]}
		}
		if err := p.Add(tr); err != nil {
			t.Fatal(err)
		}
	}
	return &p, ids
}

func TestRunResumeOnly(t *testing.T) {
	dir := t.TempDir()
	calls := map[string]int{}
	p, ids := counter(t, calls, "")
	r := &Runner{Store: Store{dir}, Version: "test"}
	// Only c: runs a and b first, then c.
	if err := r.Run(context.Background(), p, ids[2]); err != nil {
		t.Fatal(err)
	}
	if c, err := Result[int](r.Store, ids[2]); err != nil || c != 13 {
		t.Errorf("c = %d, %v; want 1 + 2 + 10", c, err)
	}
	// Everything again: nothing is recomputed.
	if err := r.Run(context.Background(), p, ""); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if calls[n] != 1 {
			t.Errorf("%s ran %d times", n, calls[n])
		}
	}
	var plan bytes.Buffer
	if err := p.Write(&plan, r.Store); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(plan.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], "done\tneeds "+ids[0]+","+ids[1]) || !strings.HasPrefix(lines[0], ids[0]+"\tunit\tdone") {
		t.Errorf("plan:\n%s", plan.String())
	}
	if err := r.Run(context.Background(), p, "nope"); !errors.Is(err, ErrUnknownTrial) {
		t.Errorf("unknown trial: %v", err)
	}
}

// Independent trials give the same records in either order.
func TestOrderIndependence(t *testing.T) {
	run := func(order ...int) [3][]byte {
		dir := t.TempDir()
		p, ids := counter(t, map[string]int{}, "")
		r := &Runner{Store: Store{dir}, Version: "test"}
		for _, i := range order {
			if err := r.Run(context.Background(), p, ids[i]); err != nil {
				t.Fatal(err)
			}
		}
		var out [3][]byte
		for i, id := range ids {
			rec, err := r.Store.Record(id)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = rec.Result
		}
		return out
	}
	ab, ba := run(0, 1, 2), run(1, 0, 2)
	for i := range ab {
		if !bytes.Equal(ab[i], ba[i]) {
			t.Errorf("trial %d: %s in one order, %s in the other", i, ab[i], ba[i])
		}
	}
}

func TestFailedTrialLeavesNoRecord(t *testing.T) {
	dir := t.TempDir()
	p, ids := counter(t, map[string]int{}, "b")
	r := &Runner{Store: Store{dir}}
	err := r.Run(context.Background(), p, "")
	if err == nil || !strings.Contains(err.Error(), ids[1]) || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error %v should name trial b and its error", err)
	}
	if !r.Store.Done(ids[0]) || r.Store.Done(ids[1]) || r.Store.Done(ids[2]) {
		t.Errorf("done: a %v b %v c %v; want only a", r.Store.Done(ids[0]), r.Store.Done(ids[1]), r.Store.Done(ids[2]))
	}
	// A corrupt record is an error naming the file, not a silent rerun.
	if err := os.WriteFile(filepath.Join(dir, "trials", ids[0]+".json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.Record(ids[0]); err == nil || !strings.Contains(err.Error(), ids[0]+".json") {
		t.Errorf("corrupt record: %v", err)
	}
}

func TestPlanRejects(t *testing.T) {
	var p Plan
	run := func(context.Context, *Runner) (any, error) { return nil, nil }
	if err := p.Add(Trial{ID: "x", Run: run, Needs: []string{"y"}}); !errors.Is(err, ErrUnknownTrial) {
		t.Errorf("unknown need: %v", err)
	}
	if err := p.Add(Trial{ID: "x", Run: run}); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(Trial{ID: "x", Run: run}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate: %v", err)
	}
	if err := p.Add(Trial{ID: "z"}); err == nil {
		t.Error("no Run: no error")
	}
}

func TestTable(t *testing.T) {
	m, s := MeanStd([]float64{1, 2, 3})
	if m != 2 || s != 1 {
		t.Errorf("mean %v std %v", m, s)
	}
	if c := Cell(nil); c != "–" {
		t.Errorf("empty cell %q", c)
	}
	got := Table{Title: "T", Header: []string{"a", "b"}, Rows: [][]string{{"1", Cell([]float64{2, 4})}}}.Markdown()
	if want := "T\n\n| a | b |\n|---|---|\n| 1 | 3.0 ± 1.4 |\n"; got != want {
		t.Errorf("table %q, want %q", got, want)
	}
}
