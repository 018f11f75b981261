package experiments

import (
	"strings"
	"testing"
)

// A run of the baseline arms only plans one baseline flow per k, flow and
// method, no MMDSW flow, and trainings that need their baseline's flow;
// with a control arm the MMDSW flow is planned with its usual ID.
func TestTransferBaselinePlan(t *testing.T) {
	plan := func(arms ...string) map[string][]string {
		cfg := DefaultTransferConfig()
		cfg.Out, cfg.Shots, cfg.Flows, cfg.Trainings, cfg.Arms = t.TempDir(), []int{1}, 1, 2, arms
		e, err := NewTransfer(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, tr := range e.Plan.Trials {
			out[tr.Name] = tr.Needs
		}
		return out
	}
	p := plan(ArmOTDD, ArmHua)
	if _, ok := p["k1-flow0"]; ok {
		t.Error("baseline-only run plans the MMDSW flow")
	}
	for _, m := range []string{"otdd", "hua"} {
		if _, ok := p["k1-flow0-"+m]; !ok {
			t.Errorf("no %s flow in %v", m, p)
		}
		needs := p["k1-flow0-train1-k+"+m]
		if len(needs) != 1 || !strings.Contains(needs[0], "k1-flow0-"+m) {
			t.Errorf("training of k+%s needs %v", m, needs)
		}
	}
	q := plan(ArmRepeat, ArmOTDD)
	if _, ok := q["k1-flow0"]; !ok {
		t.Error("a control arm without the MMDSW flow")
	}
	if len(q) != 2+2*2 {
		t.Errorf("%d trials, want 2 flows + 2 arms × 2 trainings: %v", len(q), q)
	}
	cfg := DefaultTransferConfig()
	cfg.Out, cfg.BaselineSteps = t.TempDir(), -1
	if _, err := NewTransfer(cfg, nil); err == nil {
		t.Error("--baseline-steps -1 accepted")
	}
}
