package ops

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
)

// Operations of `carbonctl start|stop|restart`.
const (
	OpStart   = "start"
	OpStop    = "stop"
	OpRestart = "restart"
	// OpRetire stops nodes for good (remove-node): like OpStop, and on
	// systemd hosts it also disables and deletes the node's unit, so that a
	// reboot does not bring the removed node back.
	OpRetire = "retire"
)

// nodeOperator is what an operation needs of the kind that starts the
// nodes (steps.Start): its node actions, which share the start step's
// decisions (arguments, setup runs, fingerprints, membership).
type nodeOperator interface {
	StartStopped(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result
	StopAll(ctx context.Context, e *engine.Engine, s playbook.Step, retire bool) []*engine.Result
	RollingRestart(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result
}

// operateGroup starts, stops or restarts the nodes (op is OpStart, OpStop or
// OpRestart) under the cluster's run lock. Start: managers, then workers.
// Stop: workers, then managers. Restart: rolling, one worker at a time, each
// waiting until every other node logs that it joined again, the managers
// last. Start and restart refuse while `up` would change the configuration
// of a target (they apply none). The error is for problems before any node
// was touched.
func operateGroup(ctx context.Context, inv *inventory.Inventory, pb *playbook.Playbook, opts engine.Options, op string) (*engine.Report, error) {
	opts.Apply, opts.Command = true, op
	e, done, err := engine.Prepare(inv, pb, opts)
	if err != nil {
		return nil, err
	}
	defer done()
	report := &engine.Report{}
	targets := e.Targets
	if op == OpRestart {
		e.Targets = e.Nodes // waiting for peers to see a node reads every node's log
	}
	connected, err := e.Dial(ctx)
	e.Targets = targets
	if err != nil {
		return nil, err
	}
	report.Results = append(report.Results, connected...)
	lock, ok := e.LockRun(ctx, report)
	if !ok {
		return report, engine.Interrupted(ctx, "lock")
	}
	defer e.Unlock(lock)
	report.Results = append(report.Results, operate(ctx, e, op)...)
	report.Tally(e.Addresses(), e.Order())
	return report, engine.Interrupted(ctx, op)
}

// operate runs op on the targets.
func operate(ctx context.Context, e *engine.Engine, op string) []*engine.Result {
	s, ok := startStep(e)
	k, isOperator := s.Kind.(nodeOperator)
	if !ok || !isOperator {
		return []*engine.Result{{Step: op, Target: e.Inv.Cluster.Name, Status: engine.Failed, Err: fmt.Errorf("playbook %s has no start step", e.PB.Name)}}
	}
	header := op
	if op == OpRetire {
		header = OpStop
	}
	e.Out.Header(strings.ToUpper(header), e.Inv.Cluster.Name)
	if op == OpStop || op == OpRetire {
		return printed(e, k.StopAll(ctx, e, s, op == OpRetire))
	}
	if drift := silentPlan(ctx, e); len(drift) > 0 {
		return printed(e, drift)
	}
	e.Opts.Apply = true
	if op == OpStart {
		return printed(e, k.StartStopped(ctx, e, s))
	}
	return k.RollingRestart(ctx, e, s)
}

// printed prints results and returns them.
func printed(e *engine.Engine, results []*engine.Result) []*engine.Result {
	for _, r := range results {
		e.Out.PrintResult(r, false)
	}
	return results
}

// startStep is the playbook's start step.
func startStep(e *engine.Engine) (playbook.Step, bool) {
	for _, s := range e.PB.Steps {
		if engine.StepIs[engine.NodeStarter](s) {
			return s, true
		}
	}
	return playbook.Step{}, false
}

// silentPlan runs the playbook's other steps as a plan, so that the engine
// knows every file it manages (for the start fingerprint). It returns a
// failed result per target where `up` would change something.
func silentPlan(ctx context.Context, e *engine.Engine) []*engine.Result {
	apply, out := e.Opts.Apply, e.Out.W
	e.Opts.Apply, e.Out.W = false, io.Discard
	defer func() { e.Opts.Apply, e.Out.W = apply, out }()
	drift := map[string][]string{}
	for _, s := range e.PB.Steps {
		if engine.StepIs[engine.NodeStarter](s) || ctx.Err() != nil {
			continue
		}
		for _, r := range e.RunStep(ctx, s) {
			switch r.Status {
			case engine.Changed:
				drift[r.Target] = append(drift[r.Target], s.Name)
			case engine.Failed:
				drift[r.Target] = append(drift[r.Target], fmt.Sprintf("%s (cannot check: %v)", s.Name, r.Err))
			}
		}
	}
	var targets []string
	for t := range drift {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	var results []*engine.Result
	for _, t := range targets {
		results = append(results, &engine.Result{Step: "drift", Target: t, Status: engine.Failed,
			Err: fmt.Errorf("`up` would change %s here: run `carbonctl up` first", strings.Join(drift[t], ", "))})
	}
	return results
}

// Operate runs op (start, stop, restart or retire; operateGroup) on each
// product group: in inventory order, except stop and retire, which go in
// reverse so that the products that depend on another stop first. The
// error with a nil report is for problems before any node was touched.
func Operate(ctx context.Context, groups []engine.Group, opts engine.Options, op string) (*engine.Report, error) {
	combined := &engine.Report{}
	ran, err := engine.EachGroup(ctx, groups, opts, op == OpStop || op == OpRetire, func(g engine.Group, o engine.Options) error {
		r, err := operateGroup(ctx, g.Inv, g.PB, o, op)
		if r == nil {
			combined = nil
			return err
		}
		combined.Results = append(combined.Results, r.Results...)
		combined.Tallies = append(combined.Tallies, r.Tallies...)
		return err
	})
	if !ran || combined == nil {
		return nil, err // a bad --limit, or a group that could not start
	}
	return combined, err
}
