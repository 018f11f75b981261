// Package harness runs experiments as data. An experiment is a Plan: the
// trials it enumerates — one unit of work each: one flow, one classifier
// training of one arm, one evaluation — with their dependencies, and a
// tabulation of their results.
//
// A trial has a stable ID derived from its kind, a readable name and a key
// that holds its configuration and its inputs (the IDs of the trials it
// needs among them), so that the same trial has the same ID in every run,
// whatever else the plan holds:
//
//	ID = kind-name-h,   h = first 12 hex digits of sha256(JSON(key))
//
// Trials are idempotent and resumable. A finished trial's record
// (DIR/trials/ID.json: its result, version and wall-clock) is written
// atomically and never recomputed; an unfinished flow resumes from its
// checkpoint (FlowCheckpoint). Running a plan runs its unfinished trials in
// dependency order; Only runs one trial and what it needs. A trial draws its
// randomness from its own key, never from a generator shared with another
// trial, so independent trials give the same bytes in any order — the
// contract a cluster scheduler relies on.
//
// A Backend runs the trials: Local in this process, Jobs at a time, each
// trial as soon as what it needs is finished; Slurm as the tasks of Slurm
// job arrays, each running the experiment's command with --only ID,
// resubmitting a killed task (it resumes from its checkpoint) and reporting
// a failed one with its log. Either way a trial runs only while its process
// holds the trial's lock (flock on DIR/trials/ID.lock), so processes racing
// on one directory run each trial once and never write the same file at
// the same time; a failed trial's dependents are not run, the other trials
// are.
//
// Stock recorders, in the spirit of gonum's optimize.Printer: Progress
// prints the step, loss and ETA of a flow; Curve keeps the loss curve for
// the CSV, the plot and the checkpoint. MeanStd and Table make the
// markdown and JSON tables.
package harness
