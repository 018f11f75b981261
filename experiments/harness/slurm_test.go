package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// helperEnv makes the test binary a Slurm task of the fake cluster: it runs
// trial --only ID of the plan widePlan(3) in --dir (TestMain).
const helperEnv = "HARNESS_TEST_TASK"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperTask(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helperTask runs one trial as a task would (wow … --only ID); trial
// $HARNESS_TEST_FAIL fails.
func helperTask(args []string) int {
	var dir, only string
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "--dir":
			dir = args[i+1]
		case "--only":
			only = args[i+1]
		}
	}
	fail, _ := strconv.Atoi(os.Getenv("HARNESS_TEST_FAIL"))
	p, _, err := widePlan(3, func(i int) error {
		if i == fail {
			return errors.New("boom: the trial's own error")
		}
		return nil
	}, func() {})
	if err == nil {
		err = (&Runner{Store: Store{dir}, Log: os.Stderr}).Run(context.Background(), p, only)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// fakeSlurm writes sbatch, squeue and scancel scripts that run each array
// task at once in the background, keeping the states in files; a file
// "cancel-first" in the state directory makes the first task started end
// CANCELLED without running. It returns the scripts' directory.
func fakeSlurm(t *testing.T, state string) string {
	bin := t.TempDir()
	scripts := map[string]string{
		"sbatch": `d=` + state + `
for a in "$@"; do case $a in --array=0-*) n=${a#--array=0-};; esac; script=$a; done
j=$(( $(cat $d/next 2>/dev/null || echo 0) + 1 )); echo $j > $d/next
echo "$@" >> $d/sbatch.args
for i in $(seq 0 $n); do
	echo PENDING > $d/${j}_$i
	(
		if mv $d/cancel-first $d/cancel-done 2>/dev/null; then echo CANCELLED > $d/${j}_$i; exit; fi
		echo RUNNING > $d/${j}_$i
		if SLURM_ARRAY_TASK_ID=$i SLURM_JOB_ID=$j$i SLURM_ARRAY_JOB_ID=$j bash "$script"; then s=COMPLETED; else s=FAILED; fi
		echo $s > $d/${j}_$i
	) >/dev/null 2>&1 &
done
echo "$j;fake"`,
		"squeue":  `for f in ` + state + `/*_*; do [ -e "$f" ] && echo "$(basename $f)|$(cat $f)"; done; true`,
		"scancel": `echo "$@" >> ` + state + `/scancel.args`,
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/bash\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// The Slurm backend on a fake Slurm (scripts standing in for sbatch and
// squeue): trials in waves, a canceled task resubmitted, a failed trial
// reported with its log, and sbatch given the options.
func TestSlurmBackendOnFakeSlurm(t *testing.T) {
	for _, c := range []struct {
		name         string
		fail         int // the trial that fails (-1: none)
		cancel       bool
		done, arrays int
	}{
		{"all finish", -1, false, 4, 2},
		{"canceled task resubmitted", -1, true, 4, 3},
		{"failed trial", 1, false, 2, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			state, dir := t.TempDir(), t.TempDir()
			if c.cancel {
				os.WriteFile(filepath.Join(state, "cancel-first"), nil, 0o644)
			}
			t.Setenv(helperEnv, "1")
			t.Setenv("HARNESS_TEST_FAIL", strconv.Itoa(c.fail))
			p, ids := wide(t, 3, func(int) error { return errors.New("the driver ran a trial itself") }, func() {})
			var log bytes.Buffer
			s := DefaultSlurm([]string{os.Args[0], "--dir", dir}, []string{"--time=5", "--partition=x y"})
			s.Poll, s.Bin, s.Log = 20*time.Millisecond, fakeSlurm(t, state), &log
			err := (&Runner{Store: Store{dir}, Backend: s}).Run(context.Background(), p, "")
			n := 0
			for _, id := range ids {
				if (Store{dir}).Done(id) {
					n++
				}
			}
			if n != c.done || strings.Count(log.String(), "submitted job array") != c.arrays {
				t.Errorf("%d trials done, want %d; log:\n%s", n, c.done, log.String())
			}
			args, _ := os.ReadFile(filepath.Join(state, "sbatch.args"))
			if !strings.Contains(string(args), "--time=5 --partition=x y ") || !strings.Contains(string(args), "--array=0-2 ") {
				t.Errorf("sbatch got %s", args)
			}
			if c.cancel != strings.Contains(log.String(), "CANCELLED; resubmitting") {
				t.Errorf("log:\n%s", log.String())
			}
			if c.fail < 0 {
				if err != nil {
					t.Fatal(err)
				}
				if v, err := Result[int](Store{dir}, ids[3]); err != nil || v != 3 {
					t.Errorf("last trial %d, %v", v, err)
				}
				return
			}
			var te *TrialError
			logPath := filepath.Join(dir, "slurm", "logs", ids[c.fail]+".log")
			if !errors.As(err, &te) || te.ID != ids[c.fail] || te.Log != logPath ||
				!strings.Contains(err.Error(), "FAILED after 1 submissions; log "+logPath) || !strings.HasSuffix(te.Tail[len(te.Tail)-1], ": boom: the trial's own error") {
				t.Errorf("error %v", err)
			}
			if !errors.Is(err, ErrNeedFailed) || !strings.Contains(log.String(), "slurm: 2/4 done, 0 running, 0 pending, 2 failed") {
				t.Errorf("error %v, log:\n%s", err, log.String())
			}
		})
	}
}

// A canceled context cancels the submitted jobs.
func TestSlurmBackendCanceled(t *testing.T) {
	state, dir := t.TempDir(), t.TempDir()
	p, _ := wide(t, 3, func(int) error { return nil }, func() {})
	s := DefaultSlurm([]string{"bash", "-c", "sleep 0.5", "task"}, nil) // "--only ID" become $1 and $2
	ctx, cancel := context.WithCancel(context.Background())
	s.Poll, s.Bin, s.Log = 20*time.Millisecond, fakeSlurm(t, state), writerFunc(func(b []byte) (int, error) {
		if bytes.Contains(b, []byte("submitted")) {
			cancel()
		}
		return len(b), nil
	})
	if err := (&Runner{Store: Store{dir}, Backend: s}).Run(ctx, p, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(state, "scancel.args")); strings.TrimSpace(string(b)) != "1" {
		t.Errorf("scancel got %q, want job 1", b)
	}
	// The fake scancel cancels nothing: let the tasks end before the
	// directories go.
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		ended := 0
		for i := range 3 {
			out, _ := os.ReadFile(filepath.Join(state, fmt.Sprint("1_", i)))
			if st := strings.TrimSpace(string(out)); st == "COMPLETED" || st == "FAILED" {
				ended++
			}
		}
		if ended == 3 {
			break
		}
	}
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(b []byte) (int, error) { return w(b) }

// Local with more than one job and a Command runs each trial in a process
// of its own, its output in DIR/logs/ID.log; a failed one is reported with
// its log.
func TestLocalProcesses(t *testing.T) {
	for _, fail := range []int{-1, 2} {
		t.Run(fmt.Sprint("fail=", fail), func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv(helperEnv, "1")
			t.Setenv("HARNESS_TEST_FAIL", strconv.Itoa(fail))
			p, ids := wide(t, 3, func(int) error { return errors.New("a trial ran in the test's process") }, func() {})
			var log bytes.Buffer
			err := (&Runner{Store: Store{dir}, Log: &log, Backend: Local{Jobs: 2, Command: []string{os.Args[0], "--dir", dir}}}).Run(context.Background(), p, "")
			logPath := filepath.Join(dir, "logs", ids[0]+".log")
			if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), "trial "+ids[0]+": running") {
				t.Errorf("%s: %q", logPath, b)
			}
			if fail < 0 {
				if v, err2 := Result[int](Store{dir}, ids[3]); err != nil || err2 != nil || v != 3 {
					t.Errorf("error %v; last trial %d, %v", err, v, err2)
				}
				return
			}
			var te *TrialError
			if !errors.As(err, &te) || te.ID != ids[fail] || len(te.Tail) == 0 || !strings.HasSuffix(te.Tail[len(te.Tail)-1], ": boom: the trial's own error") || !errors.Is(err, ErrNeedFailed) {
				t.Errorf("error %v", err)
			}
			if !(Store{dir}).Done(ids[1]) || (Store{dir}).Done(ids[3]) {
				t.Error("trial 1 should be done, trial 3 not run")
			}
		})
	}
}

// A Local run of one trial runs it in this process whatever Jobs is, so a
// task (wow … --only ID) never starts a task of its own.
func TestLocalOneTrialRunsHere(t *testing.T) {
	var ran atomic.Int32
	p, ids := wide(t, 1, func(int) error { ran.Add(1); return nil }, func() {})
	r := &Runner{Store: Store{t.TempDir()}, Backend: Local{Jobs: 4, Command: []string{"false"}}}
	if err := r.Run(context.Background(), p, ids[0]); err != nil || ran.Load() != 1 {
		t.Errorf("error %v, %d trials ran here", err, ran.Load())
	}
}
