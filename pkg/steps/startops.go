package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/pkg/systemd"
)

// What the start kind does for the operations (pkg/ops: start, stop,
// restart, retire), with the decisions it shares with the start step.

// StartStopped starts the targets that are not running (managers first,
// then workers) and leaves running ones alone, whatever they run with.
func (*Start) StartStopped(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	all := e.Targets
	defer func() { e.Targets = all }()
	var stopped []*engine.Node
	running := map[*engine.Node]*engine.Result{}
	for _, n := range all {
		if pid := engine.RunningPID(n); pid != "" && !n.IsFailed() {
			running[n] = &engine.Result{Step: s.Name, Target: n.Name(), Note: "running (pid " + pid + ")"}
		} else {
			stopped = append(stopped, n)
		}
	}
	e.Targets = stopped
	started := runStart(ctx, e, s)
	results := make([]*engine.Result, 0, len(all))
	for _, n := range all {
		if r := running[n]; r != nil {
			results = append(results, r)
			continue
		}
		results = append(results, started[0])
		started = started[1:]
	}
	return results
}

// StopAll stops the running targets: workers first, then managers; retire
// also disables and deletes their units, so that a reboot does not bring a
// removed node back.
func (*Start) StopAll(ctx context.Context, e *engine.Engine, s playbook.Step, retire bool) []*engine.Result {
	workers, managers := byRole(e)
	results := make([]*engine.Result, 0, len(e.Targets))
	for _, phase := range [][]*engine.Node{workers, managers} {
		out := make([]*engine.Result, len(phase))
		e.Parallel(len(phase), func(i int) {
			out[i] = stopOne(ctx, e, s, phase[i])
			if retire && out[i].Status != engine.Failed && out[i].Status != engine.Skipped {
				removeUnit(ctx, e, phase[i], out[i])
			}
		})
		results = append(results, out...)
	}
	return results
}

// byRole splits the targets into workers and managers, in inventory order.
func byRole(e *engine.Engine) (workers, managers []*engine.Node) {
	for _, n := range e.Targets {
		if n.Vars.Node.IsManager {
			managers = append(managers, n)
		} else {
			workers = append(workers, n)
		}
	}
	return workers, managers
}

// stopOne stops one node if it runs.
func stopOne(ctx context.Context, e *engine.Engine, s playbook.Step, n *engine.Node) *engine.Result {
	res := &engine.Result{Step: s.Name, Target: n.Name()}
	if n.IsFailed() {
		res.Status, res.Note = engine.Skipped, "(cannot reach its host)"
		return res
	}
	pid := engine.RunningPID(n)
	if pid == "" {
		res.Note = "not running"
		return res
	}
	desc := fmt.Sprintf("stop pid %s", pid)
	if unit, ok := ServiceUnit(e, n); ok {
		desc = fmt.Sprintf("systemctl stop %s (pid %s)", unit, pid)
	}
	res.AddChange(desc, "")
	if err := stopNode(ctx, e, n); err != nil {
		return engine.Fail(res, err)
	}
	return res
}

// removeUnit disables and deletes node n's unit where it has one.
func removeUnit(ctx context.Context, e *engine.Engine, n *engine.Node, res *engine.Result) {
	unit, ok := ServiceUnit(e, n)
	if !ok {
		return
	}
	script := fmt.Sprintf("systemctl --no-reload disable --quiet %s && rm -f %s %s && systemctl daemon-reload",
		remote.Quote(unit), remote.Quote(unitPath(e, n)), remote.Quote(systemd.SetupEnvFile(unit)))
	res.AddChange("disable and delete "+unit, "")
	if err := engine.RunScript(ctx, n.Host, "root", script, nil, "remove the unit "+unit); err != nil {
		engine.Fail(res, err)
	}
}

// RollingRestart restarts the workers one at a time, then the managers,
// each waiting until every other node logs that it joined again. It prints
// each result as it comes, and stops at the first node that fails, leaving
// the rest running.
func (*Start) RollingRestart(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	workers, managers := byRole(e)
	var results []*engine.Result
	for i, n := range append(workers, managers...) {
		if i > 0 && !settleLB(ctx, e) {
			break
		}
		r := restartOne(ctx, e, s, n)
		e.Out.PrintResult(r, false)
		results = append(results, r)
		if r.Status == engine.Failed || ctx.Err() != nil {
			break
		}
	}
	return results
}

// restartOne restarts one node and waits until its peers see it again.
func restartOne(ctx context.Context, e *engine.Engine, s playbook.Step, n *engine.Node) *engine.Result {
	res := &engine.Result{Step: s.Name, Target: n.Name()}
	if n.IsFailed() {
		return engine.Fail(res, fmt.Errorf("cannot reach its host"))
	}
	fp, err := fingerprint(ctx, e, n)
	if err != nil {
		return engine.Fail(res, err)
	}
	setup, err := n.Host.Read(ctx, n.Home(setupMarker))
	if err != nil {
		return engine.Fail(res, err)
	}
	pid := engine.RunningPID(n)
	d := decideStart(pid != "", "", fp, takesSetup(e, n), setup.Exists)
	d.action = actRestart
	if pid == "" {
		d.action = actStart
	}
	args := append([]string{}, baseArgs(e, n)...)
	if d.setup && e.PB.Start.SetupArg != "" {
		args = append([]string{e.PB.Start.SetupArg}, args...)
	}
	offsets, down, err := logSizes(ctx, e, n)
	if err != nil {
		return engine.Fail(res, err)
	}
	res.AddChange(fmt.Sprintf("%s %s (was pid %s)", d.action, n.Name(), orDash(pid)), "")
	if err := launch(ctx, e, n, d, args, pid, fp, res); err != nil {
		n.MarkFailed()
		return engine.Fail(res, err)
	}
	if err := awaitRejoin(ctx, e, n, offsets); err != nil {
		n.MarkFailed()
		return engine.Fail(res, err)
	}
	res.Note += ", every running peer saw it join again"
	if len(down) > 0 {
		res.Note += " (not running, not waited for: " + strings.Join(down, ", ") + ")"
	}
	return res
}

// orDash is s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
