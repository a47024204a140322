package steps

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carbonctl/carbonctl/pkg/engine"
	"github.com/carbonctl/carbonctl/pkg/nginx"
	"github.com/carbonctl/carbonctl/pkg/remote"

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
