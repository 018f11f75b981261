package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/wowflow/wowflow/experiments"
)

// benchTable3 is `wow bench --workload table3`: the paper's Table 3 timings
// (--steps timed steps per method and k, after --warmup).
func benchTable3(cmd *cobra.Command, cfg experiments.BenchConfig, asJSON bool) error {
	if len(cfg.Workloads) != 1 {
		return fmt.Errorf("--workload table3 runs alone")
	}
	rows, err := experiments.BenchTable3(cmd.Context(), experiments.Table3Config{Steps: cfg.Steps, Warmup: cfg.Warmup, Progress: os.Stderr})
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Print(experiments.Table3Markdown(rows))
	return nil
}

func wantsTable3(ws []string) bool {
	for _, w := range ws {
		if w == "table3" {
			return true
		}
	}
	return false
}
