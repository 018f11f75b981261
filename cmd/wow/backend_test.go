package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/internal/slurmtest"
)

func TestTaskArgs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"transfer --steps 5 --out d", "transfer --steps 5 --out d"},
		{"transfer --backend slurm --steps 5 --slurm-args --time=1 --jobs 2", "transfer --steps 5"},
		{"transfer --backend=slurm --slurm-args=--time=1:00 --jobs=2 --out d", "transfer --out d"},
		{"transfer --plan --only x --out d", "transfer --out d"},
		{"transfer --plan=false --only=x --arms k+flowed", "transfer --arms k+flowed"},
	} {
		if got := strings.Join(taskArgs(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("taskArgs(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestBackendFlagsRefused(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"--backend pbs", `--backend "pbs"`},
		{"--jobs -1", "--jobs -1"},
		{"--slurm-args --time=1", "--slurm-args needs --backend slurm"},
		{"--backend slurm --jobs 2", "--jobs is for --backend local"},
	} {
		args := append([]string{"rings", "--steps", "2", "--out", t.TempDir()}, strings.Fields(c.args)...)
		if _, se, code := wow(t, args...); code == 0 || !strings.Contains(se, c.want) {
			t.Errorf("%s: exit %d, %q; want an error with %q", c.args, code, se, c.want)
		}
	}
}

// tinyTransfer is a transfer grid of 2 flows, each with one training of
// the k+flowed arm; a flow is long enough (1500 steps, 5–10 s here) to be
// canceled mid-way.
func tinyTransfer(t *testing.T, dir string, more ...string) []string {
	for _, ds := range []string{"mnist", "fmnist"} {
		if _, _, err := data.Locate(ds, "test"); errors.Is(err, data.ErrNotInstalled) {
			t.Skipf("%s is not installed: %v", ds, err)
		}
	}
	return append([]string{"transfer", "--shots", "1", "--source-per-class", "3", "--steps", "1500", "--directions", "4", "--flows", "2",
		"--trainings", "1", "--epochs", "1", "--test-images", "20", "--arms", "k+flowed", "--checkpoint-every", "10",
		"--out", dir}, more...)
}

// sameTrials fails t unless the run directories a and b hold the same trial
// records with the same results but for the wall-clock ("seconds"), and the
// same flowed images.
func sameTrials(t *testing.T, a, b string) {
	t.Helper()
	recs, _ := filepath.Glob(filepath.Join(a, "trials", "*.json"))
	other, _ := filepath.Glob(filepath.Join(b, "trials", "*.json"))
	if len(recs) != 4 || len(other) != len(recs) { // 2 flows, each with a training
		t.Fatalf("%d records in %s, %d in %s; want 4", len(recs), a, len(other), b)
	}
	for _, p := range recs {
		var res [2]map[string]any
		for i, dir := range []string{a, b} {
			raw, err := os.ReadFile(filepath.Join(dir, "trials", filepath.Base(p)))
			if err != nil {
				t.Fatal(err)
			}
			var r struct{ Result map[string]any }
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			delete(r.Result, "seconds")
			res[i] = r.Result
		}
		x, _ := json.Marshal(res[0]) // float64s round-trip: equal JSON is equal bits
		y, _ := json.Marshal(res[1])
		if len(res[0]) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: %s in %s, %s in %s", filepath.Base(p), x, a, y, b)
		}
	}
	for _, f := range []string{"k1_flow0_x.npy", "k1_flow1_x.npy"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between %s and %s", f, a, b)
		}
	}
}

// reference is the tiny transfer grid run once (per test binary) with the
// local backend, one trial after another in one process: its directory and
// its table.
var reference struct {
	once     sync.Once
	dir, out string
	err      error
}

// localReference returns the directory and the table of the reference run.
func localReference(t *testing.T) (dir, table string) {
	t.Helper()
	args := tinyTransfer(t, filepath.Join(filepath.Dir(wowBin), "reference")) // TestMain removes it
	reference.once.Do(func() {
		t0 := time.Now()
		out, se, code := wow(t, append(args, "--jobs", "1")...)
		if code != 0 {
			reference.err = fmt.Errorf("reference run: exit %d\n%s", code, se)
		}
		reference.dir, reference.out = args[len(args)-1], out
		t.Logf("local run of the tiny grid: %.1fs", time.Since(t0).Seconds())
	})
	if reference.err != nil {
		t.Fatal(reference.err)
	}
	return reference.dir, reference.out
}

// The local backend with 2 jobs (a process per trial) gives the records of a
// run one trial after another, in this process; two commands racing on one
// directory run each trial once (the trial locks) and leave the same
// records.
func TestTransferLocalJobsAndRace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a tiny transfer grid three times (~40 s)")
	}
	ref, _ := localReference(t)
	dir := t.TempDir()
	var errs [2]bytes.Buffer
	var cmds [2]*exec.Cmd
	for i := range cmds {
		cmds[i] = exec.Command(wowBin, tinyTransfer(t, dir, "--jobs", "2")...)
		cmds[i].Stderr = &errs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("racer %d: %v\n%s", i, err, errs[i].String())
		}
	}
	sameTrials(t, ref, dir)
	// Each trial ran in its own process (its log in DIR/logs), once.
	logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	if len(logs) != 4 {
		t.Errorf("%d trial logs, want 4", len(logs))
	}
	for _, l := range logs {
		id := strings.TrimSuffix(filepath.Base(l), ".log")
		b, _ := os.ReadFile(l)
		if n := strings.Count(string(b), "trial "+id+": running\n"); n != 1 {
			t.Errorf("trial %s ran %d times:\n%s", id, n, b)
		}
	}
}

// The slurm backend on a private one-node cluster (internal/slurmtest).
func TestSlurm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Slurm cluster and runs tiny transfer grids on it (~1 min)")
	}
	tinyTransfer(t, "") // skips without the datasets, before the cluster starts
	slurmtest.Start(t)
	t.Run("canceled task resumes", slurmCanceledTaskResumes)
	t.Run("failed trial", slurmFailedTrial)
}

// One flow's task is canceled (scancel) mid-flow, resubmitted and resumes
// from its checkpoint; the records and the table equal a local run's;
// running the command again submits nothing.
func slurmCanceledTaskResumes(t *testing.T) {
	ref, refOut := localReference(t)
	dir := t.TempDir()
	sargs := tinyTransfer(t, dir, "--backend", "slurm", "--slurm-args", "--time=10 --cpus-per-task=1")
	var so, se2 bytes.Buffer
	cmd := exec.Command(wowBin, sargs...)
	cmd.Stdout, cmd.Stderr = &so, &se2
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Cancel flow 0's task once it has saved a checkpoint.
	var canceled string
	for canceled == "" {
		select {
		case err := <-exited:
			t.Fatalf("wow --backend slurm ended (%v) before flow 0 saved a checkpoint:\n%s", err, se2.String())
		case <-time.After(20 * time.Millisecond):
		}
		if _, err := os.Stat(filepath.Join(dir, "k1_flow0.ckpt")); err != nil {
			continue
		}
		logs, _ := filepath.Glob(filepath.Join(dir, "slurm", "logs", "flow-k1-flow0-*.log"))
		if len(logs) != 1 {
			t.Fatalf("flow 0's logs: %v", logs)
		}
		b, _ := os.ReadFile(logs[0])
		m := regexp.MustCompile(`\(task (\d+_\d+)\)`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s names no job:\n%s", logs[0], b)
		}
		canceled = string(m[1])
		if out, err := exec.Command("scancel", canceled).CombinedOutput(); err != nil {
			t.Fatalf("scancel %s: %v %s", canceled, err, out)
		}
	}
	if err := <-exited; err != nil {
		t.Fatalf("wow --backend slurm: %v\n%s", err, se2.String())
	}
	t.Logf("slurm: %.1fs (job %s canceled)", time.Since(t0).Seconds(), canceled)
	if !strings.Contains(se2.String(), "resubmitting") {
		t.Errorf("the canceled task was not resubmitted:\n%s", se2.String())
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "slurm", "logs", "flow-k1-flow0-*.log"))
	if b, _ := os.ReadFile(logs[0]); !regexp.MustCompile(`resuming at step [1-9]`).Match(b) {
		t.Errorf("flow 0 did not resume from its checkpoint:\n%s", b)
	}
	sameTrials(t, ref, dir)
	if so.String() != refOut {
		t.Errorf("table:\n%s\nlocal:\n%s", so.String(), refOut)
	}
	out, se, code := wow(t, sargs...)
	if code != 0 || strings.Contains(se, "submitted") || out != refOut {
		t.Errorf("rerun: exit %d, stdout\n%s\nstderr\n%s", code, out, se)
	}
}

// A failed trial (flow 1: its checkpoint is unreadable) is reported with
// its ID, log and last lines; the trials that need it are not run, the
// others finish.
func slurmFailedTrial(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "k1_flow1.ckpt"), []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, se, code := wow(t, tinyTransfer(t, dir, "--steps", "20", "--backend", "slurm")...)
	if code == 0 {
		t.Errorf("exit 0 with a failed trial:\n%s", se)
	}
	log, _ := filepath.Glob(filepath.Join(dir, "slurm", "logs", "flow-k1-flow1-*.log"))
	if len(log) != 1 {
		t.Fatalf("flow 1's logs: %v", log)
	}
	id := strings.TrimSuffix(filepath.Base(log[0]), ".log")
	for _, want := range []string{"trial " + id + ": harness: slurm: task ", " FAILED ", "log " + log[0], "k1_flow1.ckpt", "remove it to restart the flow",
		"train-k1-flow1-train0-k+flowed-", "not run: it needs " + id, "slurm: 2/4 done, 0 running, 0 pending, 2 failed"} {
		if !strings.Contains(se, want) {
			t.Errorf("stderr lacks %q:\n%s", want, se)
		}
	}
	recs, _ := filepath.Glob(filepath.Join(dir, "trials", "*.json"))
	var names []string
	for _, r := range recs {
		names = append(names, filepath.Base(r)[:len("train-k1-flow0")])
	}
	slices.Sort(names)
	if strings.Join(names, " ") != "flow-k1-flow0- train-k1-flow0" {
		t.Errorf("records %v, want flow 0 and its training", names)
	}
}
