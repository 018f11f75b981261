package harness

import (
	"fmt"
	"math"
	"strings"
)

// MeanStd returns the mean and the sample standard deviation (n − 1) of v;
// the deviation of one value is 0, both are NaN for none.
func MeanStd(v []float64) (mean, std float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	if len(v) > 1 {
		std /= float64(len(v) - 1)
	}
	return mean, math.Sqrt(std)
}

// Cell formats "mean ± std" with one decimal, or "–" for no values.
func Cell(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	m, s := MeanStd(v)
	return fmt.Sprintf("%.1f ± %.1f", m, s)
}

// Table is a markdown table: a title paragraph, a header and rows.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
}

// Markdown formats the table (the title, a blank line, then the table).
func (t Table) Markdown() string {
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(t.Title + "\n\n")
	}
	row := func(cells []string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	row(t.Header)
	sep := make([]string, len(t.Header))
	for i := range sep {
		sep[i] = "---"
	}
	b.WriteString("|" + strings.Join(sep, "|") + "|\n")
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}
