package steps

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
)

// startPlan is what the start step decided for one node.
type startPlan struct {
	n       *engine.Node
	d       startDecision
	args    []string
	pid, fp string
	res     *engine.Result
}

// runStart decides for every target, then (when applying) acts in this
// order: managers that are not running start, in parallel; then the
// workers that are not running, in parallel; then running nodes whose
// configuration changed restart one at a time, workers first, each waiting
// until its running peers log that it joined again (a failure stops the
// roll). New nodes thus serve before the roll takes others away. Finally
// it waits until every node sees every peer.
func runStart(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	plans := make([]*startPlan, len(e.Targets))
	e.Parallel(len(e.Targets), func(i int) { plans[i] = decideOne(ctx, e, s, e.Targets[i]) })
	results := map[*engine.Node]*engine.Result{}
	for _, p := range plans {
		results[p.n] = p.res
	}
	if e.Split != nil && !e.Planning() {
		stopForFullRestart(ctx, e, plans)
	}
	managers, rolling, workers := startPhases(plans)
	if e.Planning() {
		// Each plan's result says what `up` would do; nothing starts.
		skipIfManagerDown(e, s, plans, append(workers, rolling...))
		return inOrder(e, results)
	}
	launchAll(ctx, e, managers)
	if skipIfManagerDown(e, s, plans, append(workers, rolling...)) {
		return inOrder(e, results)
	}
	launchAll(ctx, e, workers)
	roll(ctx, e, rolling)
	awaitMembership(ctx, e, results)
	return inOrder(e, results)
}

// stopForFullRestart stops every node that would restart, workers first,
// then managers, so that none of them still runs the old configuration
// when the first starts with the new one; their restart becomes a start
// (managers first). A node that cannot be stopped fails.
func stopForFullRestart(ctx context.Context, e *engine.Engine, plans []*startPlan) {
	var workers, managers []*startPlan
	for _, p := range plans {
		switch {
		case p.res.Status != engine.Changed || p.d.action != actRestart:
		case p.n.Vars.Node.IsManager:
			managers = append(managers, p)
		default:
			workers = append(workers, p)
		}
	}
	e.Out.Printf("full restart: stopping %d nodes (%s)\n", len(workers)+len(managers), e.Split.Reason())
	for _, phase := range [][]*startPlan{workers, managers} {
		e.Parallel(len(phase), func(i int) {
			p := phase[i]
			err := engine.RunScript(ctx, p.n.Host, p.n.Vars.Product.User, stopScript(p.n.Home(e.PB.Start.PidFile)), nil, "stop "+p.n.Name()+" for the full restart")
			if err != nil {
				p.n.MarkFailed()
				engine.Fail(p.res, err)
				return
			}
			p.d.action = actStart
		})
	}
}

// startPhases splits the plans that start or restart a node into the
// managers to start, the nodes to restart one by one (workers first, then
// managers) and the workers to start, each in target order.
func startPhases(plans []*startPlan) (managers, rolling, workers []*startPlan) {
	var rollManagers []*startPlan
	for _, p := range plans {
		if p.res.Status != engine.Changed {
			continue
		}
		switch manager := p.n.Vars.Node.IsManager; {
		case p.d.action == actStart && manager:
			managers = append(managers, p)
		case p.d.action == actStart:
			workers = append(workers, p)
		case manager:
			rollManagers = append(rollManagers, p)
		default:
			rolling = append(rolling, p)
		}
	}
	return managers, append(rolling, rollManagers...), workers
}

// skipIfManagerDown marks the plans skipped when a manager failed in this
// step or was skipped and is not running, and reports whether it did.
func skipIfManagerDown(e *engine.Engine, s playbook.Step, all, plans []*startPlan) bool {
	down := ""
	for _, p := range all {
		if p.n.Vars.Node.IsManager && (p.res.Status == engine.Failed || p.res.Status == engine.Skipped && p.pid == "") {
			down = p.n.Name()
			break
		}
	}
	if down == "" {
		return false
	}
	for _, p := range plans {
		if p.res.Status == engine.Changed {
			p.res.Status, p.res.Actions, p.res.Note = engine.Skipped, nil, "(manager "+down+" is not running)"
		}
	}
	return true
}

// inOrder lists the results in target order.
func inOrder(e *engine.Engine, results map[*engine.Node]*engine.Result) []*engine.Result {
	out := make([]*engine.Result, 0, len(e.Targets))
	for _, n := range e.Targets {
		out = append(out, results[n])
	}
	return out
}

// launchAll starts the planned nodes in parallel.
func launchAll(ctx context.Context, e *engine.Engine, plans []*startPlan) {
	e.Parallel(len(plans), func(i int) {
		p := plans[i]
		if err := launch(ctx, e, p.n, p.d, p.args, p.pid, p.fp, p.res); err != nil {
			p.n.MarkFailed()
			engine.Fail(p.res, err)
		}
	})
}

// roll restarts the planned nodes one at a time, each waiting until every
// running peer logs that it joined again. After a failure the rest are not
// restarted: they keep running with their previous configuration.
func roll(ctx context.Context, e *engine.Engine, plans []*startPlan) {
	stopped := ""
	for i, p := range plans {
		switch {
		case ctx.Err() != nil:
			engine.Fail(p.res, ctx.Err())
			continue
		case stopped != "":
			p.res.Status = engine.Skipped
			p.res.Note = fmt.Sprintf("(not restarted: the rolling restart stopped at %s; it runs its previous configuration)", stopped)
			continue
		}
		if i > 0 && !settleLB(ctx, e) {
			engine.Fail(p.res, ctx.Err())
			continue
		}
		e.Out.Printf("rolling restart %d/%d: %s (%s)\n", i+1, len(plans), p.n.Name(), p.d.reason)
		if err := restartRejoin(ctx, e, p); err != nil {
			p.n.MarkFailed()
			engine.Fail(p.res, err)
			stopped = p.n.Name()
		}
	}
}

// restartRejoin restarts one node and waits until its running peers (on
// the hosts this run is connected to) log that it joined again.
func restartRejoin(ctx context.Context, e *engine.Engine, p *startPlan) error {
	var peers []*engine.Node
	for _, q := range peersOf(e, p.n) {
		if q.Host.Client != nil && q.Host.Err == nil {
			peers = append(peers, q)
		}
	}
	offsets, down, err := logSizesOf(ctx, e, peers)
	if err != nil {
		return err
	}
	if err := launch(ctx, e, p.n, p.d, p.args, p.pid, p.fp, p.res); err != nil {
		return err
	}
	if err := awaitRejoin(ctx, e, p.n, offsets); err != nil {
		return err
	}
	p.res.Note += ", every running peer saw it join again"
	if len(down) > 0 {
		p.res.Note += " (not running, not waited for: " + strings.Join(down, ", ") + ")"
	}
	return nil
}

// decideOne decides what the start step does with one node; the result is
// Changed when it starts or restarts.
func decideOne(ctx context.Context, e *engine.Engine, s playbook.Step, n *engine.Node) *startPlan {
	res := &engine.Result{Step: s.Name, Target: n.Name()}
	p := &startPlan{n: n, res: res}
	if n.IsFailed() {
		res.Status, res.Note = engine.Skipped, "(an earlier step failed on this node)"
		return p
	}
	fp, err := fingerprint(ctx, e, n)
	if err != nil {
		engine.Fail(res, err)
		return p
	}
	p.fp, p.pid = fp, engine.RunningPID(n)
	started, err := n.Host.Read(ctx, n.Home(startedMarker))
	if err != nil {
		engine.Fail(res, err)
		return p
	}
	setup, err := n.Host.Read(ctx, n.Home(setupMarker))
	if err != nil {
		engine.Fail(res, err)
		return p
	}
	p.d = decideStart(p.pid != "", strings.TrimSpace(string(started.Content)), fp, takesSetup(e, n), setup.Exists)
	if p.d.action == actNone {
		res.Note = fmt.Sprintf("running (pid %s)", p.pid)
		return p
	}
	p.args = append([]string{}, baseArgs(e, n)...)
	if p.d.setup && e.PB.Start.SetupArg != "" {
		p.args = append([]string{e.PB.Start.SetupArg}, p.args...)
	}
	command := strings.Join(append([]string{path.Join(n.Vars.Node.Home, e.PB.Start.Script)}, p.args...), " ")
	reason := p.d.reason
	switch {
	case p.d.action == actRestart && e.Split != nil:
		reason += "; " + e.Split.Reason()
	case p.d.action == actRestart:
		reason += "; rolling: one node at a time, after its peers see it rejoin"
	}
	res.AddChange(fmt.Sprintf("%s %s (%s)", p.d.action, command, reason), "")
	return p
}
