package experiments

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wowflow/wowflow/experiments/harness"
	"github.com/wowflow/wowflow/internal/atomicfile"
)

// WriteDistillTable writes ROOT/table.md from every finished run under root
// and returns it.
func WriteDistillTable(root string) (string, error) {
	t := DistillTableDir(root)
	if t == "" {
		return "", fmt.Errorf("distill: no finished run under %s", root)
	}
	return t, atomicfile.WriteBytes(filepath.Join(root, "table.md"), []byte(t))
}

// publishedDistill holds the published numbers (test accuracy %, IPC
// 1/10/50; NaN where none is known): the paper's own Table 1 rows as a
// secondary summary of the paper gives them (approximate; IPC 50 not
// given), the DC and DSA numbers of method.md, and the whole training set.
var publishedDistill = map[string]struct {
	Rows  []publishedRow
	Whole float64
}{
	"mnist": {[]publishedRow{
		{"paper: WoW MMDSW, ambient (approx.)", [3]float64{66.5, 93.2, nan}},
		{"paper: WoW MMDSW, A+ψ (approx.)", [3]float64{60.3, 96.4, nan}},
		{"paper: DM, A+ψ (approx.)", [3]float64{87.8, 97.0, nan}},
		{"published DC (ConvNet-128, GPU)", [3]float64{91.7, 97.4, 98.8}},
		{"published DSA (ConvNet-128, GPU)", [3]float64{88.7, 97.8, 99.2}},
	}, 99.6},
	"fmnist": {[]publishedRow{
		{"paper: WoW MMDSW, ambient (approx.)", [3]float64{60.0, 76.7, nan}},
		{"paper: WoW MMDSW, A+ψ (approx.)", [3]float64{60.9, 78.0, nan}},
		{"paper: DM, A+ψ (approx.)", [3]float64{58.7, 81.2, nan}},
		{"published DC (ConvNet-128, GPU)", [3]float64{70.5, 82.3, 83.6}},
		{"published DSA (ConvNet-128, GPU)", [3]float64{70.6, 84.6, 88.7}},
	}, 93.5},
}

// publishedRow is one published method's accuracies at IPC 1, 10 and 50.
type publishedRow struct {
	Name string
	IPC  [3]float64
}

var nan = math.NaN()

// DistillTableDir reads every ROOT/*/result.json and formats the tables.
func DistillTableDir(root string) string {
	paths, _ := filepath.Glob(filepath.Join(root, "*", "result.json"))
	var rs []DistillResult
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var r DistillResult
		if json.Unmarshal(b, &r) == nil && len(r.Accuracies) > 0 {
			rs = append(rs, r)
		}
	}
	return DistillTable(rs)
}

// DistillTable formats one markdown table per dataset: a row per method and
// space, a column per IPC, each cell the mean ± std test accuracy over the
// trainings with the flow's steps and wall-clock time, beside
// the paper's own rows and the published DC and DSA numbers.
func DistillTable(rs []DistillResult) string {
	var b strings.Builder
	ipcs := map[string][]int{}
	for _, r := range rs {
		if !slices.Contains(ipcs[r.Config.Dataset], r.Config.IPC) {
			ipcs[r.Config.Dataset] = append(ipcs[r.Config.Dataset], r.Config.IPC)
		}
	}
	datasets := make([]string, 0, len(ipcs))
	for d := range ipcs {
		datasets = append(datasets, d)
	}
	slices.Sort(datasets)
	for _, ds := range datasets {
		cols := ipcs[ds]
		slices.Sort(cols)
		b.WriteString(distillDatasetTable(ds, cols, rs))
	}
	return b.String()
}

// distillDatasetTable is the table of one dataset: its evaluation protocols,
// a row per method and space, a column per IPC, the published rows. A cell
// pools the trainings of every synthetic set (seed) of its method; a
// method's cell also gives its difference from the random initialisation of
// the same seeds (per seed, the difference of the mean accuracies; then mean
// ± std over seeds).
func distillDatasetTable(ds string, cols []int, rs []DistillResult) string {
	var protocols, order []string
	rows := map[string]map[int]*distillCell{}
	random := map[[2]uint64][]float64{} // (IPC, seed) → the random initialisation's accuracies
	for _, r := range rs {
		c := r.Config
		if c.Dataset != ds {
			continue
		}
		p := fmt.Sprintf("- evaluation: ConvNet width %d depth %d, AdamW lr %g, batch 256, %d epochs, %d trainings per set", c.EvalWidth, c.EvalDepth, c.EvalLR, c.EvalEpochs, len(r.Accuracies))
		if !slices.Contains(protocols, p) {
			protocols = append(protocols, p)
		}
		key := distillRowName(c)
		if rows[key] == nil {
			rows[key] = map[int]*distillCell{}
			order = append(order, key)
		}
		cell := rows[key][c.IPC]
		if cell == nil {
			cell = &distillCell{}
			rows[key][c.IPC] = cell
		}
		cell.add(r)
		if c.Method == DistillRandom {
			random[[2]uint64{uint64(c.IPC), c.Seed}] = r.Accuracies
		}
	}
	slices.SortStableFunc(order, func(a, b string) int { return distillRowRank(a) - distillRowRank(b) })
	t := harness.Table{
		Title:  fmt.Sprintf("### %s — test accuracy %% (mean ± std over trainings; flow steps and wall-clock on 2 CPU cores)\n\n%s", ds, strings.Join(protocols, "\n")),
		Header: []string{"method"},
	}
	for _, k := range cols {
		t.Header = append(t.Header, fmt.Sprintf("IPC %d", k))
	}
	for _, key := range order {
		row := []string{key}
		for _, k := range cols {
			cell := "–"
			if c := rows[key][k]; c != nil {
				cell = c.format(func(seed uint64) []float64 { return random[[2]uint64{uint64(k), seed}] })
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	pub, ok := publishedDistill[ds]
	if !ok {
		return t.Markdown() + "\n"
	}
	for _, m := range pub.Rows {
		row := []string{m.Name}
		for _, k := range cols {
			cell := "–"
			if i := slices.Index([]int{1, 10, 50}, k); i >= 0 && !math.IsNaN(m.IPC[i]) {
				cell = fmt.Sprintf("%.1f", m.IPC[i])
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return t.Markdown() + fmt.Sprintf("\nWhole training set (published): %.1f.\n\n", pub.Whole)
}

// distillCell gathers the runs (one per seed) of one method and IPC.
type distillCell struct {
	seeds []uint64
	acc   [][]float64 // per seed, the trainings' accuracies
	flows []string    // per flowed seed, its steps and wall-clock
	flow  bool        // a method that flows (not random)
}

func (c *distillCell) add(r DistillResult) {
	c.seeds = append(c.seeds, r.Config.Seed)
	c.acc = append(c.acc, r.Accuracies)
	if r.Config.Method != DistillRandom {
		c.flow = true
		c.flows = append(c.flows, fmt.Sprintf("%d steps × %d real/class, %s", r.Steps, r.Config.Batch, (time.Duration(r.Seconds)*time.Second).String()))
	}
}

// format is the cell's text: mean ± std over every training of every set,
// the number of sets, and for a flowing method its difference from the
// random initialisation of the same seeds (random returns a seed's
// accuracies, nil if not run).
func (c *distillCell) format(random func(seed uint64) []float64) string {
	var all []float64
	for _, a := range c.acc {
		all = append(all, a...)
	}
	s := harness.Cell(all)
	if len(c.seeds) > 1 {
		s += fmt.Sprintf(" (%d sets)", len(c.seeds))
	}
	if !c.flow {
		return s
	}
	var diffs []float64
	for i, seed := range c.seeds {
		if ra := random(seed); len(ra) > 0 {
			m, _ := harness.MeanStd(c.acc[i])
			mr, _ := harness.MeanStd(ra)
			diffs = append(diffs, m-mr)
		}
	}
	if len(diffs) > 0 {
		m, sd := harness.MeanStd(diffs)
		s += fmt.Sprintf("; %+.1f", m)
		if len(diffs) > 1 {
			s += fmt.Sprintf(" ± %.1f vs random (same %d seeds)", sd, len(diffs))
		} else {
			s += " vs random (same seed)"
		}
	}
	return s + " (" + strings.Join(slices.Compact(slices.Clone(c.flows)), "; ") + ")"
}

// distillRowRank orders the rows: random, then the WoW flow, then DM,
// ambient before embedded.
func distillRowRank(name string) int {
	r := 0
	switch {
	case strings.HasPrefix(name, "WoW"):
		r = 10
	case strings.HasPrefix(name, "DM"):
		r = 20
	}
	if strings.Contains(name, SpaceEmbedded) {
		r++
	}
	return r
}

func distillRowName(c DistillConfig) string {
	switch c.Method {
	case DistillRandom:
		return "random real images (the initialisation)"
	case DistillDM:
		return fmt.Sprintf("DM, %s%s", c.Space, distillSpaceNote(c))
	default:
		return fmt.Sprintf("WoW MMDSW flow, %s%s", c.Space, distillSpaceNote(c))
	}
}

func distillSpaceNote(c DistillConfig) string {
	if c.Space == SpaceAmbient {
		return ""
	}
	aug := "affine augmentation + "
	if c.NoAugment {
		aug = ""
	}
	return fmt.Sprintf(" (%srandom ConvNet w%d d%d)", aug, c.EmbedWidth, c.EmbedDepth)
}
