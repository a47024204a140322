package steps

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/nginx"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/pkg/systemd"
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
	if !ok {
		return []*engine.Result{{Step: op, Target: e.Inv.Cluster.Name, Status: engine.Failed, Err: fmt.Errorf("playbook %s has no start step", e.PB.Name)}}
	}
	header := op
	if op == OpRetire {
		header = OpStop
	}
	e.Out.Header(strings.ToUpper(header), e.Inv.Cluster.Name)
	if op == OpStop || op == OpRetire {
		return printed(e, stopAll(ctx, e, s, op == OpRetire))
	}
	if drift := silentPlan(ctx, e); len(drift) > 0 {
		return printed(e, drift)
	}
	e.Opts.Apply = true
	if op == OpStart {
		return printed(e, startStopped(ctx, e, s))
	}
	return rollingRestart(ctx, e, s)
}

// startStopped starts the targets that are not running (managers first,
// then workers) and leaves running ones alone, whatever they run with.
func startStopped(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
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

// stopAll stops the running targets: workers first, then managers; retire
// also removes their units.
func stopAll(ctx context.Context, e *engine.Engine, s playbook.Step, retire bool) []*engine.Result {
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
	if unit, ok := serviceUnit(e, n); ok {
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
	unit, ok := serviceUnit(e, n)
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

// rollingRestart restarts the workers one at a time, then the managers,
// each waiting until every other node logs that it joined again. It stops
// at the first node that fails, leaving the rest running.
func rollingRestart(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
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

// settleLB waits, between two restarts of a rolling restart behind the
// load balancer, until nginx has taken the node restarted last back into
// rotation (nginx.FailTimeout after it failed a request, plus a second), so
// that the next restart never leaves nginx with every backend marked down.
// It reports false when ctx ended.
func settleLB(ctx context.Context, e *engine.Engine) bool {
	if e.LB == nil {
		return ctx.Err() == nil
	}
	wait := nginx.FailTimeout + time.Second
	e.Out.Printf("waiting %s for the load balancer to take the restarted node back (fail_timeout)\n", wait)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(wait):
		return true
	}
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
	d.action = OpRestart
	if pid == "" {
		d.action = OpStart
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

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// peersOf are the nodes of the inventory other than n.
func peersOf(e *engine.Engine, n *engine.Node) []*engine.Node {
	var peers []*engine.Node
	for _, p := range e.Nodes {
		if p != n {
			peers = append(peers, p)
		}
	}
	return peers
}

// logSizes records the size of each running peer's log before n
// restarts, so that only "joined" lines logged after it count. Peers that
// are not running cannot log anything and are returned in down.
func logSizes(ctx context.Context, e *engine.Engine, n *engine.Node) (sizes map[*engine.Node]int64, down []string, err error) {
	return logSizesOf(ctx, e, peersOf(e, n))
}

// logSizesOf is logSizes for the given peers.
func logSizesOf(ctx context.Context, e *engine.Engine, peers []*engine.Node) (sizes map[*engine.Node]int64, down []string, err error) {
	sizes = map[*engine.Node]int64{}
	for _, p := range peers {
		if p.Host.Client == nil {
			return nil, nil, fmt.Errorf("peer %s is not connected", p.Name())
		}
		script := fmt.Sprintf("wc -c < %s 2>/dev/null || echo 0\n%s && echo running\nexit 0",
			remote.Quote(p.Home(e.PB.Start.Log)), aliveScript(p.Home(e.PB.Start.PidFile)))
		out, err := engine.RunScriptOut(ctx, p.Host, p.Vars.Product.User, script, nil, "measure the log of "+p.Name())
		if err != nil {
			return nil, nil, err
		}
		fields := strings.Fields(out)
		if len(fields) == 0 || !strings.Contains(out, "running") {
			down = append(down, p.Name())
			continue
		}
		sizes[p], _ = strconv.ParseInt(fields[0], 10, 64)
	}
	return sizes, down, nil
}

// awaitRejoin waits (up to the join timeout) until every peer has logged,
// after its recorded log size, that n joined.
func awaitRejoin(ctx context.Context, e *engine.Engine, n *engine.Node, offsets map[*engine.Node]int64) error {
	joined, _, err := memberPatterns(e.PB.Start)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(e.Opts.JoinTimeout)
	for {
		var waiting []string
		for p, off := range offsets {
			ok, err := loggedJoin(ctx, e, p, off, n, joined.FindStringSubmatch)
			if err != nil {
				return err
			}
			if !ok {
				waiting = append(waiting, p.Name())
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		sort.Strings(waiting)
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not log %q for %s (%s) within %s", strings.Join(waiting, ", "), "Member joined", n.Name(), n.Vars.Node.MemberAddr(), e.Opts.JoinTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// loggedJoin reports whether p logged, after byte off of its log, that n joined.
func loggedJoin(ctx context.Context, e *engine.Engine, p *engine.Node, off int64, n *engine.Node, match func(string) []string) (bool, error) {
	script := fmt.Sprintf("tail -c +%d %s 2>/dev/null; exit 0", off+1, remote.Quote(p.Home(e.PB.Start.Log)))
	out, err := engine.RunScriptOut(ctx, p.Host, p.Vars.Product.User, script, nil, "read the log of "+p.Name())
	if err != nil {
		return false, err
	}
	return joinedIn(out, n.Vars.Node.MemberAddr(), match), nil
}

// joinedIn reports whether a log excerpt has a "joined" line for addr.
func joinedIn(lines, addr string, match func(string) []string) bool {
	for _, l := range strings.Split(lines, "\n") {
		if m := match(l); m != nil && m[1] == addr {
			return true
		}
	}
	return false
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
