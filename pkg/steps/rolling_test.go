package steps

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"
)

func TestStartPhases(t *testing.T) {
	plan := func(name, role, action string, status engine.Status) *startPlan {
		n := &engine.Node{}
		n.Vars.Node = engine.NodeVars{Name: name, Role: role, IsManager: role == "manager"}
		return &startPlan{n: n, d: startDecision{action: action}, res: &engine.Result{Target: name, Status: status}}
	}
	names := func(plans []*startPlan) string {
		var out []string
		for _, p := range plans {
			out = append(out, p.n.Name())
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		name                       string
		plans                      []*startPlan
		managers, rolling, workers string
	}{
		{"fresh cluster: managers, then workers", []*startPlan{
			plan("mgr1", "manager", "start", engine.Changed), plan("wrk1", "worker", "start", engine.Changed), plan("wrk2", "worker", "start", engine.Changed)},
			"mgr1", "", "wrk1,wrk2"},
		{"configuration changed everywhere: workers roll first, managers last", []*startPlan{
			plan("mgr1", "manager", "restart", engine.Changed), plan("wrk1", "worker", "restart", engine.Changed), plan("mgr2", "manager", "restart", engine.Changed), plan("wrk2", "worker", "restart", engine.Changed)},
			"", "wrk1,wrk2,mgr1,mgr2", ""},
		{"a new node and one changed peer", []*startPlan{
			plan("mgr1", "manager", "none", engine.OK), plan("wrk1", "worker", "restart", engine.Changed), plan("wrk2", "worker", "none", engine.OK), plan("wrk3", "worker", "start", engine.Changed)},
			"", "wrk1", "wrk3"},
		{"failed and skipped nodes take no part", []*startPlan{
			plan("mgr1", "manager", "start", engine.Failed), plan("wrk1", "worker", "restart", engine.Skipped), plan("wrk2", "worker", "start", engine.Changed)},
			"", "", "wrk2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, r, w := startPhases(c.plans)
			if names(m) != c.managers || names(r) != c.rolling || names(w) != c.workers {
				t.Errorf("managers %q, rolling %q, workers %q; want %q, %q, %q", names(m), names(r), names(w), c.managers, c.rolling, c.workers)
			}
		})
	}
}

// TestInterrupted: a cancelled run names the step it was in and the cause.
func TestInterrupted(t *testing.T) {
	if err := engine.Interrupted(context.Background(), "start"); err != nil {
		t.Errorf("live context: %v", err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupt signal received"))
	err := engine.Interrupted(ctx, "start")
	if err == nil || err.Error() != "step start was interrupted: interrupt signal received" {
		t.Errorf("got %v", err)
	}
}
