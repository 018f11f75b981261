package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrSlurm reports a Slurm command that failed or answered what the
// backend cannot read.
var ErrSlurm = errors.New("harness: slurm")

// Slurm runs trials as the tasks of Slurm job arrays: every trial whose
// needs are finished becomes one task of an array submitted with sbatch;
// a trial whose needs are not finished yet goes into a later array,
// submitted as soon as they are (array waves, driven by this process,
// which waits for every task). Each task runs Command with "--only ID"
// appended, its output appended to DIR/slurm/logs/ID.log, and writes the
// trial's record and files to the (shared) output directory itself.
//
// The backend reads the tasks' states with squeue and the trials' records:
// a trial is finished when its record is there. A task that ended without a
// record because it was killed (CANCELLED, TIMEOUT, PREEMPTED, NODE_FAIL,
// BOOT_FAIL, DEADLINE, or purged from squeue) is resubmitted, at most
// Resubmit times, and resumes from its checkpoint; one that FAILED is
// reported with its log. Canceling ctx cancels the submitted jobs (they get
// SIGTERM, so flows save their checkpoints) and returns.
type Slurm struct {
	// Command is a task's command line but for "--only ID": the program
	// (on a file system every node sees) and the experiment's flags.
	Command []string
	// Args are more sbatch options, passed as they are (partition, time,
	// memory, account: --slurm-args).
	Args []string
	// Name is the jobs' name (sbatch --job-name); "": "wow".
	Name string
	// Poll is the time between two looks at squeue; 0: 2 s.
	Poll time.Duration
	// Resubmit is how many times a killed trial is submitted again
	// (DefaultSlurm: 3; 0: never).
	Resubmit int
	// Log gets the submissions and a progress line whenever the counts
	// change; nil: none.
	Log io.Writer
	// Bin is the directory of sbatch, squeue and scancel; "": $PATH.
	Bin string
}

// DefaultSlurm returns a Slurm backend running command, with sbatch options
// args, resubmitting a killed trial up to 3 times.
func DefaultSlurm(command, args []string) *Slurm {
	return &Slurm{Command: command, Args: args, Name: "wow", Poll: 2 * time.Second, Resubmit: 3}
}

// Slurm job states (squeue %T) of a task still queued or running.
var slurmActive = []string{"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
	"RESIZING", "SUSPENDED", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD"}

// Slurm job states of a task that ended without finishing its trial by no
// fault of the trial: it is resubmitted.
var slurmKilled = []string{"CANCELLED", "TIMEOUT", "PREEMPTED", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", ""}

// slurmTask is a trial's task in flight.
type slurmTask struct {
	key   string // JOB_TASK, as squeue prints it (%i)
	state string
}

// Run implements Backend.
func (s *Slurm) Run(ctx context.Context, r *Runner, p *Plan, ids []string) error {
	if len(s.Command) == 0 {
		return fmt.Errorf("%w: no command for the tasks", ErrSlurm)
	}
	if s.Resubmit < 0 {
		return fmt.Errorf("%w: resubmit %d must not be negative", ErrSlurm, s.Resubmit)
	}
	dir, err := filepath.Abs(filepath.Join(r.Store.Dir, "slurm"))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSlurm, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return fmt.Errorf("%w: %v", ErrSlurm, err)
	}
	poll := s.Poll
	if poll == 0 {
		poll = 2 * time.Second
	}
	inFlight := map[string]*slurmTask{} // by trial ID
	submits := map[string]int{}
	errs := map[string]error{}
	jobs := map[string]bool{} // job IDs submitted, for scancel
	done := func(id string) bool { return r.Store.Done(id) }
	var line string
	squeueFailures := 0
	for {
		if err := ctx.Err(); err != nil {
			s.cancel(jobs)
			return err
		}
		// Submit every trial whose needs are finished, in one array.
		var wave []string
		for _, id := range ids {
			if done(id) || inFlight[id] != nil || errs[id] != nil {
				continue
			}
			t, _ := p.Trial(id)
			ready := true
			for _, n := range t.Needs {
				if errs[n] != nil {
					errs[id] = &TrialError{ID: id, Err: fmt.Errorf("%w: not run: it needs %s", ErrNeedFailed, n)}
				}
				ready = ready && done(n)
			}
			if errs[id] == nil && ready {
				wave = append(wave, id)
			}
		}
		if len(wave) > 0 {
			job, err := s.submit(ctx, dir, wave)
			if err != nil {
				s.cancel(jobs)
				return err
			}
			jobs[job] = true
			for i, id := range wave {
				inFlight[id] = &slurmTask{key: job + "_" + strconv.Itoa(i), state: "PENDING"}
				submits[id]++
			}
			s.logf("slurm: submitted job array %s: %d trials", job, len(wave))
		}
		if len(inFlight) == 0 {
			if l := s.progress(ids, inFlight, errs, done); l != line {
				s.logf("%s", l)
			}
			break
		}
		select {
		case <-ctx.Done():
			s.cancel(jobs)
			return ctx.Err()
		case <-time.After(poll):
		}
		states, err := s.states(ctx)
		if err != nil && ctx.Err() == nil {
			if squeueFailures++; squeueFailures < 30 {
				s.logf("slurm: %v (trying again)", err)
				continue
			}
			s.cancel(jobs)
			return err
		}
		if err != nil {
			continue // canceled: the loop's top cancels the jobs
		}
		squeueFailures = 0
		for _, id := range ids {
			task := inFlight[id]
			if task == nil {
				continue
			}
			task.state = states[task.key]
			if slices.Contains(slurmActive, task.state) {
				continue
			}
			delete(inFlight, id)
			if done(id) {
				continue
			}
			log := filepath.Join(dir, "logs", id+".log")
			switch {
			case slices.Contains(slurmKilled, task.state) && submits[id] <= s.Resubmit:
				st := task.state
				if st == "" {
					st = "gone from squeue"
				}
				s.logf("slurm: trial %s: task %s %s; resubmitting (it resumes from its checkpoint)", id, task.key, st)
			case task.state == "COMPLETED":
				errs[id] = &TrialError{ID: id, Err: fmt.Errorf("%w: task %s completed without a record", ErrSlurm, task.key), Log: log, Tail: tail(log, 10)}
			default:
				errs[id] = &TrialError{ID: id, Err: fmt.Errorf("%w: task %s %s after %d submissions", ErrSlurm, task.key, task.state, submits[id]), Log: log, Tail: tail(log, 10)}
			}
		}
		if l := s.progress(ids, inFlight, errs, done); l != line {
			line = l
			s.logf("%s", l)
		}
	}
	var out []error
	for _, id := range ids {
		if errs[id] != nil {
			out = append(out, errs[id])
		}
	}
	return errors.Join(out...)
}

// progress is the line "slurm: D/N done, R running, P pending, F failed".
func (s *Slurm) progress(ids []string, inFlight map[string]*slurmTask, errs map[string]error, done func(string) bool) string {
	var d, run, pend, fail int
	for _, id := range ids {
		switch t := inFlight[id]; {
		case done(id):
			d++
		case errs[id] != nil:
			fail++
		case t != nil && (t.state == "RUNNING" || t.state == "COMPLETING" || t.state == "CONFIGURING"):
			run++
		default:
			pend++ // queued, or waiting for the trials it needs
		}
	}
	return fmt.Sprintf("slurm: %d/%d done, %d running, %d pending, %d failed", d, len(ids), run, pend, fail)
}

// submit writes the array's script under dir and submits it; it returns
// the job ID.
func (s *Slurm) submit(ctx context.Context, dir string, wave []string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSlurm, err)
	}
	var b strings.Builder
	b.WriteString("#!/bin/bash\n# Trials of one wow job array, one per task (written by wow --backend slurm).\nids=(")
	for _, id := range wave {
		b.WriteString(" " + shellQuote(id))
	}
	b.WriteString(" )\nid=${ids[$SLURM_ARRAY_TASK_ID]}\n")
	fmt.Fprintf(&b, "log=%s/\"$id\".log\n", shellQuote(filepath.Join(dir, "logs")))
	b.WriteString("echo \"== $(date -u +%FT%TZ) slurm job $SLURM_JOB_ID (task ${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID) on $(hostname): trial $id\" >>\"$log\"\nexec")
	for _, a := range s.Command {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString(" --only \"$id\" >>\"$log\" 2>&1\n")
	f, err := os.CreateTemp(dir, "array-*.sh")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSlurm, err)
	}
	_, err = f.WriteString(b.String())
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrSlurm, f.Name(), err)
	}
	name := s.Name
	if name == "" {
		name = "wow"
	}
	args := []string{"--parsable", fmt.Sprintf("--array=0-%d", len(wave)-1), "--job-name=" + name,
		"--open-mode=append", "--output=" + filepath.Join(dir, "logs", "slurm-%A_%a.out"), "--chdir=" + wd}
	args = append(append(args, s.Args...), f.Name())
	// Not canceled with ctx: a job submitted must be known to be canceled.
	ctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer stop()
	out, err := s.command(ctx, "sbatch", args...)
	if err != nil {
		return "", err
	}
	job, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if _, err := strconv.Atoi(job); err != nil {
		return "", fmt.Errorf("%w: sbatch answered %q, not a job ID", ErrSlurm, out)
	}
	return job, nil
}

// states returns the state of each of this user's tasks squeue knows
// (finished ones until Slurm's MinJobAge), by JOB_TASK.
func (s *Slurm) states(ctx context.Context) (map[string]string, error) {
	out, err := s.command(ctx, "squeue", "--me", "--array", "--noheader", "--states=all", "--format=%i|%T")
	if err != nil {
		return nil, err
	}
	st := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "|"); ok {
			st[k] = v
		}
	}
	return st, nil
}

// cancel cancels jobs (best effort: the run is ending).
func (s *Slurm) cancel(jobs map[string]bool) {
	if len(jobs) == 0 {
		return
	}
	ids := make([]string, 0, len(jobs))
	for j := range jobs {
		ids = append(ids, j)
	}
	slices.Sort(ids)
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	if _, err := s.command(ctx, "scancel", ids...); err != nil {
		s.logf("slurm: %v", err)
	} else {
		s.logf("slurm: canceled jobs %s", strings.Join(ids, " "))
	}
}

func (s *Slurm) command(ctx context.Context, name string, args ...string) (string, error) {
	prog := name
	if s.Bin != "" {
		prog = filepath.Join(s.Bin, name)
	}
	var so, se bytes.Buffer
	c := exec.CommandContext(ctx, prog, args...)
	c.Stdout, c.Stderr = &so, &se
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("%w: %s %s: %v: %s", ErrSlurm, name, strings.Join(args, " "), err, strings.TrimSpace(se.String()))
	}
	return so.String(), nil
}

func (s *Slurm) logf(format string, a ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", a...)
	}
}

// shellQuote quotes a for bash.
func shellQuote(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-_./=:,@%") == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

// tail returns the last n lines of the file at path (none if unreadable).
func tail(path string, n int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return lines[max(0, len(lines)-n):]
}
