package main

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"strconv"

	"codeberg.org/sbinet/npyio"
	"encoding/json"
	"gonum.org/v1/gonum/mat"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/graph"
)

var wowBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wowbin")
	if err != nil {
		panic(err)
	}
	wowBin = filepath.Join(dir, "wow")
	// The wow the tests run keeps the kernels OpenBLAS chose, as this
	// process does (restartForBLAS; TestBLASRestart checks it).
	os.Setenv(keepBLASEnv, "1")
	if out, err := exec.Command("go", "build", "-tags", buildTags, "-o", wowBin, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func wow(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(wowBin, args...)
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return so.String(), se.String(), code
}

const ka = "../../experiments/testdata/known-answer"

func evalArgs(kernel, param string) []string {
	p := func(n string) string { return filepath.Join(ka, n) }
	return []string{"eval", "--x", p("x.npy"), "--x-labels", p("x_labels.npy"), "--y", p("y.npy"), "--y-labels", p("y_labels.npy"),
		"--projections", p("projections.npy"), "--kernel", kernel, "--param", param}
}

func TestEvalReproducesKnownAnswers(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(ka, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Cases []struct {
			Kernel      string  `json:"kernel"`
			Param       float64 `json:"param"`
			Value       float64 `json:"value"`
			WoWGradNorm float64 `json:"wow_grad_norm"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	for _, c := range exp.Cases {
		out, stderr, code := wow(t, evalArgs(c.Kernel, strings.TrimSuffix(jsonNum(c.Param), ".0"))...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.Kernel, code, stderr)
		}
		var got struct {
			Value       float64 `json:"value"`
			WoWGradNorm float64 `json:"wow_grad_norm"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: output %q: %v", c.Kernel, out, err)
		}
		if math.Abs(got.Value-c.Value) > 1e-9*math.Abs(c.Value) || math.Abs(got.WoWGradNorm-c.WoWGradNorm) > 1e-9*c.WoWGradNorm {
			t.Errorf("%s(%g): value %v grad %v, expected %v %v", c.Kernel, c.Param, got.Value, got.WoWGradNorm, c.Value, c.WoWGradNorm)
		}
	}
}

func jsonNum(v float64) string { b, _ := json.Marshal(v); return string(b) }

func TestEvalBadInputs(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(data.WriteMatrix(p("x.npy"), data.Matrix{Data: []float64{0, 0, 1, 1, 2, 2}, Rows: 3, Cols: 2}))
	must(data.WriteMatrix(p("x3.npy"), data.Matrix{Data: []float64{0, 0, 0, 1, 1, 1}, Rows: 2, Cols: 3}))
	must(data.WriteLabels(p("l.npy"), []int{0, 1, 1}))
	must(data.WriteLabels(p("gap.npy"), []int{0, 2, 2}))
	must(data.WriteLabels(p("short.npy"), []int{0, 1}))
	must(data.WriteMatrix(p("th.npy"), data.Matrix{Data: []float64{1, 0, 0, 1}, Rows: 2, Cols: 2}))
	must(data.WriteMatrix(p("thbad.npy"), data.Matrix{Data: []float64{2, 0}, Rows: 1, Cols: 2}))
	must(os.WriteFile(p("garbage.npy"), []byte("not an npy file at all"), 0o644))
	writeNPY := func(name string, v any) {
		f, err := os.Create(p(name))
		must(err)
		must(npyio.Write(f, v))
		must(f.Close())
	}
	writeNPY("nan.npy", mat.NewDense(3, 2, []float64{0, 0, math.NaN(), 1, 2, 2}))
	writeNPY("inf.npy", mat.NewDense(1, 2, []float64{math.Inf(1), 0}))
	writeNPY("flabels.npy", []float64{0, 1, 1})
	writeNPY("vector.npy", []float64{0, 1, 2})
	must(os.WriteFile(p("truncated.npy"), mustRead(t, p("x.npy"))[:70], 0o644))
	must(data.WriteLabels(p("one.npy"), []int{0, 1, 2})) // three classes of one point each
	base := map[string]string{"x": p("x.npy"), "x-labels": p("l.npy"), "y": p("x.npy"), "y-labels": p("l.npy"), "projections": p("th.npy")}
	args := func(over map[string]string) []string {
		a := []string{"eval"}
		for k, v := range base {
			if o, ok := over[k]; ok {
				v = o
			}
			if v != "" {
				a = append(a, "--"+k, v)
			}
		}
		return a
	}
	if _, se, code := wow(t, args(nil)...); code != 0 {
		t.Fatalf("valid input failed: %s", se)
	}
	for name, tc := range map[string]struct {
		over map[string]string
		want string
	}{
		"missing file":   {map[string]string{"x": p("nope.npy")}, "nope.npy"},
		"garbage":        {map[string]string{"y": p("garbage.npy")}, "garbage.npy"},
		"empty class":    {map[string]string{"x-labels": p("gap.npy")}, "class 1"},
		"label length":   {map[string]string{"y-labels": p("short.npy")}, "short.npy"},
		"dimension":      {map[string]string{"y": p("x3.npy"), "y-labels": p("short.npy")}, "dimension"},
		"non-unit theta": {map[string]string{"projections": p("thbad.npy")}, "thbad.npy"},
		"missing flag":   {map[string]string{"projections": ""}, "projections"},
	} {
		_, se, code := wow(t, args(tc.over)...)
		lines := strings.Split(strings.TrimSpace(se), "\n")
		if code == 0 || len(lines) != 1 || !strings.Contains(se, tc.want) || strings.Contains(se, "panic") {
			t.Errorf("%s: exit %d, stderr %q; want one line naming %q", name, code, se, tc.want)
		}
	}
	if _, se, code := wow(t, append(args(nil), "--kernel", "cosine")...); code == 0 || !strings.Contains(se, "cosine") {
		t.Errorf("bad kernel: exit %d %q", code, se)
	}
	for _, bad := range [][]string{{"gaussian", "-1"}, {"riesz", "2"}, {"imq", "NaN"}, {"laplace", "-0.5"}} {
		if _, se, code := wow(t, append(args(nil), "--kernel", bad[0], "--param", bad[1])...); code == 0 || !(strings.Contains(se, bad[0]) || strings.Contains(se, "--param")) {
			t.Errorf("%s --param %s: exit %d %q", bad[0], bad[1], code, se)
		}
	}
	// A class of one point is valid (a Dirac; the k = 1 shot transfer targets).
	if out, se, code := wow(t, args(map[string]string{"x-labels": p("one.npy"), "y-labels": p("one.npy")})...); code != 0 || !strings.Contains(out, `"value"`) {
		t.Errorf("one-point classes: exit %d %q %q", code, out, se)
	}
}

func TestHelpListsSubcommands(t *testing.T) {
	out, _, code := wow(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, sub := range []string{"rings", "eval"} {
		if !strings.Contains(out, sub) {
			t.Errorf("wow --help does not list %s:\n%s", sub, out)
		}
	}
}

func TestRingsCommand(t *testing.T) {
	dir := t.TempDir()
	out, se, code := wow(t, "rings", "--steps", "30", "--directions", "64", "--frames", "20", "--out", dir, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	for _, f := range []string{"flow.gif", "start.png", "end.png", "metrics.csv", "run.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	if !strings.Contains(out, "30 steps") {
		t.Errorf("summary line: %q", out)
	}
	for _, bad := range [][]string{{"--tau", "-1"}, {"--tau", "0"}, {"--steps", "0"}, {"--directions", "-5"}, {"--param", "0"},
		{"--frames", "3"}, {"--momentum", "1"}, {"--kernel", "nope"}, {"--steps", "abc"}} {
		_, se, code := wow(t, "rings", bad[0], bad[1], "--out", dir, "--quiet")
		if code == 0 || strings.Count(strings.TrimSpace(se), "\n") != 0 || strings.Contains(se, "panic") {
			t.Errorf("rings %s %s: exit %d, stderr %q; want a one-line error", bad[0], bad[1], code, se)
		}
	}
}

func TestBenchCommandJSON(t *testing.T) {
	out, se, code := wow(t, "bench", "--workload", "W3", "--dtype", "f64", "--steps", "20", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	var r struct {
		Workload string  `json:"workload"`
		MedianMs float64 `json:"median_ms"`
		MinMs    float64 `json:"min_ms"`
		MaxMs    float64 `json:"max_ms"`
		Steps    int     `json:"steps"`
		Peak     float64 `json:"peak_rss_mib"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if r.Workload != "W3" || r.Steps != 20 || !(r.MinMs > 0 && r.MinMs <= r.MedianMs && r.MedianMs <= r.MaxMs) || !(r.Peak > 0) {
		t.Errorf("bench JSON %+v", r)
	}
	if _, se, code := wow(t, "bench", "--workload", "W9"); code == 0 || !strings.Contains(se, "W9") {
		t.Errorf("unknown workload: exit %d %q", code, se)
	}
}

// The model workloads print their FLOP counts and floors: W5 always, W4
// (two widths, about 15 s) in the full suite.
func TestBenchModelWorkloads(t *testing.T) {
	names := "W5"
	if !testing.Short() {
		names = "W4,W5"
	}
	out, se, code := wow(t, "bench", "--workload", names, "--steps", "3", "--warmup", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	type row struct {
		Workload  string  `json:"workload"`
		Width     int     `json:"width"`
		Steps     int     `json:"steps"`
		MedianMs  float64 `json:"median_ms"`
		GFLOP     float64 `json:"gflop"`
		GFLOPS    float64 `json:"gflop_per_s"`
		Machine   float64 `json:"machine_gflop_per_s"`
		FloorMs   float64 `json:"floor_ms"`
		OverFloor float64 `json:"over_floor"`
		Peak      float64 `json:"peak_rss_mib"`
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		got = append(got, fmt.Sprintf("%s/%d", r.Workload, r.Width))
		rel := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Abs(b) }
		if r.Steps != 3 || !(r.MedianMs > 0) || !(r.GFLOP > 0) || !(r.Machine > 0) || !(r.Peak > 0) ||
			!rel(r.GFLOPS, r.GFLOP/(r.MedianMs/1000)) || !rel(r.FloorMs, 1000*r.GFLOP/r.Machine) || !rel(r.OverFloor, r.MedianMs/r.FloorMs) {
			t.Errorf("bench JSON %+v", r)
		}
	}
	want := []string{"W5/0"}
	if !testing.Short() {
		want = []string{"W4/128", "W4/32", "W5/0"}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// A rings run killed with SIGKILL (or stopped with SIGTERM) and resumed from
// its last checkpoint ends with bit-identical particles to an uninterrupted run.
func TestRingsKilledAndResumed(t *testing.T) {
	args := func(dir string) []string {
		return []string{"rings", "--steps", "240", "--directions", "200", "--checkpoint-every", "15", "--seed", "4", "--out", dir, "--quiet"}
	}
	ref := t.TempDir()
	if _, se, code := wow(t, args(ref)...); code != 0 {
		t.Fatalf("uninterrupted run: %s", se)
	}
	want, err := os.ReadFile(filepath.Join(ref, "particles.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(wowBin, args(dir)...)
			var se strings.Builder
			cmd.Stderr = &se
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := os.Stat(filepath.Join(dir, "checkpoint.gob")); err == nil {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatal("no checkpoint after 30 s")
				}
				time.Sleep(2 * time.Millisecond)
			}
			time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond) // kill at an arbitrary point
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			if _, statErr := os.Stat(filepath.Join(dir, "particles.npy")); statErr == nil {
				t.Skip("the run finished before the signal arrived")
			}
			if err == nil {
				t.Fatalf("killed run exited 0")
			}
			if sig == syscall.SIGTERM && !strings.Contains(se.String(), "--resume") {
				t.Errorf("SIGTERM: stderr %q does not say how to resume", se.String())
			}
			// A SIGKILL during a checkpoint write leaves its temporary file;
			// plant one so that the resume's cleanup is always exercised.
			if err := os.WriteFile(filepath.Join(dir, ".checkpoint.gob.tmp-stale"), []byte("partial"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, se, code := wow(t, append(args(dir), "--resume")...); code != 0 {
				t.Fatalf("resume: %s", se)
			}
			got, err := os.ReadFile(filepath.Join(dir, "particles.npy"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Error("resumed run's particles differ from the uninterrupted run's")
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp") {
					t.Errorf("half-written file left behind: %s", e.Name())
				}
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDataExport(t *testing.T) {
	dir := t.TempDir()
	for _, ds := range []string{"mnist", "fmnist"} {
		prefix := filepath.Join(dir, ds)
		if _, se, code := wow(t, "data", "export", "--dataset", ds, "--split", "test", "--per-class", "4", "--seed", "3", "--out", prefix); code != 0 {
			if strings.Contains(se, "install") {
				t.Skipf("%s not installed here: %s", ds, se) // scripts/deps.sh installs both
			}
			t.Fatalf("%s: %s", ds, se)
		}
		m, err := data.ReadMatrix(prefix + "_x.npy")
		if err != nil {
			t.Fatal(err)
		}
		labels, err := data.ReadLabels(prefix + "_labels.npy")
		if err != nil {
			t.Fatal(err)
		}
		if m.Rows != 40 || m.Cols != 784 || len(labels) != 40 {
			t.Fatalf("%s: %d×%d matrix, %d labels; want 40×784, 40", ds, m.Rows, m.Cols, len(labels))
		}
		for i, l := range labels {
			if l != i/4 {
				t.Fatalf("%s: label %d is %d, want classes grouped 4 by 4", ds, i, l)
			}
		}
		lo, hi := 1.0, 0.0
		for _, v := range m.Data {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo < 0 || hi > 1 || hi < 0.5 {
			t.Errorf("%s: pixel range [%v, %v], want within [0,1] and not blank", ds, lo, hi)
		}
		if st, err := os.Stat(prefix + "_grid.png"); err != nil || st.Size() < 1000 {
			t.Errorf("%s: grid PNG missing or tiny: %v", ds, err)
		}
		// Same seed, same sample.
		again := filepath.Join(dir, ds+"2")
		wow(t, "data", "export", "--dataset", ds, "--split", "test", "--per-class", "4", "--seed", "3", "--out", again)
		if !bytes.Equal(mustRead(t, prefix+"_x.npy"), mustRead(t, again+"_x.npy")) {
			t.Errorf("%s: same seed, different samples", ds)
		}
	}
}

func TestDistanceCommand(t *testing.T) {
	p := func(n string) string { return filepath.Join(ka, n) }
	for _, metric := range []string{"wow", "sw", "mmdsw"} {
		for _, self := range []bool{false, true} {
			y, yl := p("y.npy"), p("y_labels.npy")
			if self {
				y, yl = p("x.npy"), p("x_labels.npy")
			}
			out, se, code := wow(t, "distance", "--x", p("x.npy"), "--x-labels", p("x_labels.npy"), "--y", y, "--y-labels", yl, "--metric", metric)
			if code != 0 {
				t.Fatalf("%s: %s", metric, se)
			}
			var r struct {
				Value     float64     `json:"value"`
				Cost      [][]float64 `json:"cost"`
				Coupling  [][]float64 `json:"coupling"`
				Alignment []int       `json:"alignment"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if len(r.Cost) != 3 || len(r.Coupling) != 3 || len(r.Alignment) != 3 {
				t.Fatalf("%s: shapes cost %d coupling %d alignment %d", metric, len(r.Cost), len(r.Coupling), len(r.Alignment))
			}
			for c, row := range r.Coupling {
				s := 0.0
				for _, v := range row {
					s += v
				}
				if math.Abs(s-1.0/3) > 1e-9 {
					t.Errorf("%s: coupling row %d sums to %v, want 1/3", metric, c, s)
				}
			}
			if self {
				if math.Abs(r.Value) > 1e-9 || r.Alignment[0] != 0 || r.Alignment[1] != 1 || r.Alignment[2] != 2 {
					t.Errorf("%s(X, X) = %v, alignment %v; want 0 and identity", metric, r.Value, r.Alignment)
				}
			} else if !(r.Value > 0) {
				t.Errorf("%s(X, Y) = %v, want > 0", metric, r.Value)
			}
		}
	}
	if _, se, code := wow(t, "distance", "--x", p("x.npy"), "--x-labels", p("x_labels.npy"), "--y", p("y.npy"), "--y-labels", p("y_labels.npy"), "--metric", "kl"); code == 0 || !strings.Contains(se, "kl") {
		t.Errorf("bad metric: exit %d %q", code, se)
	}
}

// wow distill: a tiny run writes its set and the table; bad flags are
// refused with the flag's name.
func TestDistillCommand(t *testing.T) {
	for _, ds := range []string{"mnist"} {
		if _, _, err := data.Locate(ds, "test"); errors.Is(err, data.ErrNotInstalled) {
			t.Skipf("%s is not installed: %v", ds, err)
		}
	}
	root := t.TempDir()
	tiny := []string{"distill", "--ipc", "1", "--steps", "6", "--directions", "8", "--batch", "4", "--eval-width", "4", "--eval-depth", "2",
		"--eval-epochs", "1", "--trainings", "1", "--root", root}
	out, se, code := wow(t, tiny...)
	if code != 0 || !strings.Contains(out, "WoW MMDSW flow, ambient") || !strings.Contains(se, "take about") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, se)
	}
	if _, err := os.Stat(filepath.Join(root, "mnist-ipc1-mmdsw-ambient", "synthetic.png")); err != nil {
		t.Error(err)
	}
	for _, bad := range [][]string{{"--ipc", "0"}, {"--steps", "-1"}, {"--tau", "0"}, {"--eval-lr", "-1"}, {"--method", "dc"}, {"--space", "latent"}, {"--dataset", "cifar"}} {
		if _, se, code := wow(t, append(tiny, bad...)...); code == 0 || !strings.Contains(se, strings.TrimPrefix(bad[0], "--")) && !strings.Contains(se, bad[1]) {
			t.Errorf("%v: exit %d, stderr %s", bad, code, se)
		}
	}
}

// Every flag means what it says: each command, run briefly with values other
// than the defaults (zero wherever zero is valid), records exactly those
// values in the configuration of its run file; a flag left out records the
// command's default (the method's own, for distill's momentum).
func TestCommandsRecordTheConfigurationAsked(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every experiment command (about 30 s)")
	}
	for _, ds := range []string{"mnist", "fmnist"} {
		if _, _, err := data.Locate(ds, "test"); errors.Is(err, data.ErrNotInstalled) {
			t.Skipf("%s is not installed: %v", ds, err)
		}
	}
	for _, tc := range []struct {
		name  string
		cmd   string
		flags map[string]string // flag → value given, each checked in the record
		want  map[string]string // more fields to check (flags not given: defaults)
		file  string            // the run file, in --out, whose "config" is checked
	}{
		{"rings euler", "rings", map[string]string{"steps": "7", "momentum": "0", "tau": "0.05", "directions": "9", "kernel": "gaussian",
			"param": "0.2", "seed": "5", "frames": "20", "checkpoint-every": "3"}, nil, "run.json"},
		{"rings momentum", "rings", map[string]string{"steps": "3", "momentum": "0.5", "directions": "4", "frames": "20", "checkpoint-every": "0"},
			map[string]string{"Kernel": "riesz", "Param": "1", "Tau": "0.1"}, "run.json"},
		{"transfer momentum 0", "transfer", map[string]string{"momentum": "0", "tau": "0.5", "steps": "4", "directions": "4", "shots": "2",
			"source-per-class": "3", "flows": "1", "trainings": "1", "epochs": "1", "test-images": "20", "arms": "train-on-k,k+flowed",
			"seed": "3", "checkpoint-every": "2", "quantiles": "0", "mixed-weight": "0"}, nil, "results.json"},
		{"transfer defaults", "transfer", map[string]string{"steps": "2", "directions": "4", "shots": "1", "source-per-class": "2",
			"flows": "1", "trainings": "1", "epochs": "1", "test-images": "20", "arms": "train-on-k"},
			map[string]string{"Momentum": "0.9", "Tau": "1", "Source": "mnist", "Target": "fmnist"}, "results.json"},
		{"adapt momentum 0", "adapt", map[string]string{"momentum": "0", "tau": "0.2", "per-class": "3", "steps": "4", "every": "2", "flows": "2",
			"directions": "4", "epochs": "1", "seed": "2"}, nil, "run.json"},
		{"generate momentum 0", "generate", map[string]string{"momentum": "0", "tau": "0.5", "per-class": "3", "steps": "4", "directions": "4",
			"batch": "3", "frames": "2", "classifier-per-class": "5", "epochs": "1", "init-mean": "0", "init-std": "0.5", "seed": "2"}, nil, "result.json"},
		{"distill dm momentum 0", "distill", map[string]string{"method": "dm", "momentum": "0", "ipc": "1", "steps": "3", "directions": "4",
			"batch": "3", "eval-width": "4", "eval-depth": "1", "eval-epochs": "1", "eval-lr": "0.002", "trainings": "1", "tau": "0.5", "seed": "4"},
			nil, "result.json"},
		{"distill dm default momentum", "distill", map[string]string{"method": "dm", "ipc": "1", "steps": "2", "batch": "3",
			"eval-width": "4", "eval-depth": "1", "eval-epochs": "1", "trainings": "1"}, map[string]string{"Momentum": "0.5"}, "result.json"},
		{"distill mmdsw default momentum", "distill", map[string]string{"ipc": "1", "steps": "2", "directions": "4", "batch": "3",
			"eval-width": "4", "eval-depth": "1", "eval-epochs": "1", "trainings": "1"}, map[string]string{"Momentum": "0.9", "Tau": "1"}, "result.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{tc.cmd, "--out", dir}
			file := filepath.Join(dir, tc.file)
			switch tc.cmd {
			case "rings":
				args = append(args, "--quiet")
			case "distill": // runs go to ROOT/NAME, the table to ROOT
				args = []string{tc.cmd, "--root", dir}
				file = filepath.Join(dir, "*", tc.file)
			}
			want := map[string]string{}
			for f, v := range tc.flags {
				args = append(args, "--"+f, v)
				want[fieldOfFlag(f)] = v
			}
			for k, v := range tc.want {
				want[k] = v
			}
			if _, se, code := wow(t, args...); code != 0 {
				t.Fatalf("%v: exit %d\n%s", args, code, se)
			}
			files, _ := filepath.Glob(file)
			if len(files) != 1 {
				t.Fatalf("%d files %s", len(files), file)
			}
			b, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			var run struct{ Config map[string]json.RawMessage }
			if err := json.Unmarshal(b, &run); err != nil {
				t.Fatal(err)
			}
			for field, v := range want {
				got, ok := run.Config[field]
				if !ok {
					t.Errorf("%s records no %s", tc.file, field)
				} else if !sameValue(got, v) {
					t.Errorf("%s: %s = %s, asked for %s", tc.file, field, got, v)
				}
			}
		})
	}
}

// fieldOfFlag names the configuration field of a flag: checkpoint-every →
// CheckpointEvery, with the initialisms spelled as in the code.
func fieldOfFlag(flag string) string {
	switch flag {
	case "ipc":
		return "IPC"
	case "eval-lr":
		return "EvalLR"
	}
	var b strings.Builder
	for _, part := range strings.Split(flag, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// sameValue compares a recorded JSON value with a flag's value: numbers
// numerically, lists element by element (the flag comma-separated).
func sameValue(raw json.RawMessage, flag string) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	same := func(v any, s string) bool {
		if f, ok := v.(float64); ok {
			g, err := strconv.ParseFloat(s, 64)
			return err == nil && f == g
		}
		return fmt.Sprint(v) == s
	}
	if list, ok := v.([]any); ok {
		parts := strings.Split(flag, ",")
		if len(parts) != len(list) {
			return false
		}
		for i := range list {
			if !same(list[i], parts[i]) {
				return false
			}
		}
		return true
	}
	return same(v, flag)
}

// --plan lists the trials and runs nothing; --only runs one trial and what
// it needs; the whole run then computes only the rest, and every trial's
// result equals that of a run of the whole plan in one go.
func TestTransferPlanAndOnly(t *testing.T) {
	for _, ds := range []string{"mnist", "fmnist"} {
		if _, _, err := data.Locate(ds, "test"); errors.Is(err, data.ErrNotInstalled) {
			t.Skipf("%s is not installed: %v", ds, err)
		}
	}
	args := func(dir string, more ...string) []string {
		return append([]string{"transfer", "--shots", "1", "--source-per-class", "3", "--steps", "5", "--directions", "4", "--flows", "2",
			"--trainings", "1", "--epochs", "1", "--test-images", "20", "--arms", "train-on-k,k+flowed", "--out", dir}, more...)
	}
	split, whole := t.TempDir(), t.TempDir()
	out, se, code := wow(t, args(split, "--plan")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 6 { // 2 flows, each with 2 trainings
		t.Fatalf("--plan: exit %d, %d lines:\n%s%s", code, len(lines), out, se)
	}
	if _, err := os.Stat(filepath.Join(split, "trials")); err == nil {
		t.Error("--plan ran something")
	}
	var train string
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 4 || f[2] != "todo" {
			t.Errorf("plan line %q", l)
		}
		if strings.HasPrefix(f[0], "train-k1-flow1-train0-k+flowed-") {
			train = f[0]
		}
	}
	if _, se, code := wow(t, args(split, "--only", train)...); code != 0 {
		t.Fatalf("--only %s: %s", train, se)
	}
	recs, _ := filepath.Glob(filepath.Join(split, "trials", "*.json"))
	if len(recs) != 2 { // the training and the flow it needs
		t.Errorf("--only wrote %d records: %v", len(recs), recs)
	}
	if _, se, code := wow(t, args(split)...); code != 0 || !strings.Contains(se, "trial flow-k1-flow0-") || strings.Contains(se, "trial "+train+": running") {
		t.Errorf("the rest: exit %d\n%s", code, se)
	}
	if _, se, code := wow(t, args(whole)...); code != 0 {
		t.Fatal(se)
	}
	recs, _ = filepath.Glob(filepath.Join(whole, "trials", "*.json"))
	if len(recs) != 6 {
		t.Fatalf("%d records", len(recs))
	}
	for _, p := range recs {
		var a, b struct{ Result map[string]any }
		for i, dir := range []string{whole, split} {
			raw, err := os.ReadFile(filepath.Join(dir, "trials", filepath.Base(p)))
			if err != nil {
				t.Fatal(err)
			}
			v := []*struct{ Result map[string]any }{&a, &b}[i]
			if err := json.Unmarshal(raw, v); err != nil {
				t.Fatal(err)
			}
			delete(v.Result, "seconds") // wall-clock
		}
		if fmt.Sprint(a.Result) != fmt.Sprint(b.Result) {
			t.Errorf("%s: %v in one go, %v in pieces", filepath.Base(p), a.Result, b.Result)
		}
	}
	if _, se, code := wow(t, args(split, "--only", "nope")...); code == 0 || !strings.Contains(se, "--plan") {
		t.Errorf("unknown trial: exit %d %s", code, se)
	}
}

// Where OpenBLAS fell back to generic kernels on a CPU with AVX2 or
// AVX-512, wow restarts itself with OPENBLAS_CORETYPE set and says so;
// elsewhere, or with OPENBLAS_CORETYPE or WOWFLOW_KEEP_BLAS set, it runs
// as it is.
func TestBLASRestart(t *testing.T) {
	ct := graph.SuggestedCoreType()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, keepBLASEnv+"=") && !strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") {
			env = append(env, kv)
		}
	}
	for _, c := range []struct {
		name    string
		extra   string
		restart bool
	}{
		{"unset", "", ct != ""},
		{"keep", keepBLASEnv + "=1", false},
		{"user's choice", "OPENBLAS_CORETYPE=" + graph.BLASCore(), false},
	} {
		cmd := exec.Command(wowBin, "--version")
		cmd.Env = env
		if c.extra != "" {
			cmd.Env = append(cmd.Env, c.extra)
		}
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v: %s", c.name, err, se.String())
		}
		if !strings.Contains(so.String(), "wow") {
			t.Errorf("%s: --version printed %q", c.name, so.String())
		}
		said := strings.Contains(se.String(), "restarting with OPENBLAS_CORETYPE="+ct)
		if said != c.restart || strings.Contains(se.String(), "could not restart") {
			t.Errorf("%s (suggested core type %q): stderr %q, want a restart note: %v", c.name, ct, se.String(), c.restart)
		}
	}
}

// wow data grid draws values outside [0,1] clipped, or on each image's own
// range with --per-image-range, and rejects a shape that does not divide.
func TestDataGridPerImageRange(t *testing.T) {
	dir := t.TempDir()
	x, labels := filepath.Join(dir, "x.npy"), filepath.Join(dir, "labels.npy")
	if err := data.WriteMatrix(x, data.Matrix{Data: []float64{-4, 1, 6, 16, 2, 2, 3, 3}, Rows: 2, Cols: 4}); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteLabels(labels, []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		flag string
		want []uint8 // gray levels of the image of class 0, in picture order
	}{
		{"", []uint8{0, 0xff, 0xff, 0xff}},
		{"--per-image-range", []uint8{0, 64, 128, 0xff}},
	} {
		out := filepath.Join(dir, "grid"+c.flag+".png")
		args := []string{"data", "grid", "--x", x, "--labels", labels, "--out", out}
		if c.flag != "" {
			args = append(args, c.flag)
		}
		if _, se, code := wow(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, se)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		// 2×2 images at scale 2, after a 2-pixel gap.
		for i, w := range c.want {
			px, py := 2+2*(i%2), 2+2*(i/2)
			if g := color.GrayModel.Convert(img.At(px, py)).(color.Gray).Y; g != w {
				t.Errorf("%q: pixel %d of image 0 has gray %d, want %d", c.flag, i, g, w)
			}
		}
	}
	if _, se, code := wow(t, "data", "grid", "--x", x, "--labels", labels, "--out", filepath.Join(dir, "bad.png"), "--height", "3"); code == 0 || !strings.Contains(se, "--height 3") {
		t.Errorf("--height 3 for 4 pixels: exit %d, %q", code, se)
	}
}
