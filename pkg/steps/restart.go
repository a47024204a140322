package steps

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/nginx"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
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

// prepare builds an engine with its archive open; done closes the archive
// and the connections.
func prepare(inv *inventory.Inventory, pb *playbook.Playbook, opts Options) (*Engine, func(), error) {
	if opts.Forks <= 0 {
		opts.Forks = 10
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 5 * time.Minute
	}
	if opts.JoinTimeout <= 0 {
		opts.JoinTimeout = 2 * time.Minute
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Dial == nil {
		opts.Dial = remote.NewDialer() // one connection per jump host for the run
	}
	command := opts.Command
	if command == "" {
		command = "up"
	}
	e := &Engine{inv: inv, pb: pb, opts: opts, hosts: map[string]*host{}, local: localFiles{files: map[string][]byte{}}, lockInfo: NewLockInfo(command)}
	e.out = &printer{w: opts.Out, mask: NewMasker(inv.Secrets()), diffs: opts.ShowDiff, verbose: opts.Verbose}
	if inv.Java.Archive != "" {
		jdk, err := openJDK(inv.Java.Archive)
		if err != nil {
			return nil, nil, err
		}
		e.jdk = jdk
	}
	e.vars = newVars(inv, pb)
	e.vars.JavaHome = javaHomeOf(inv.Java, e.jdk)
	if err := e.build(); err != nil {
		return nil, nil, err
	}
	arch, err := openArchive(inv.Product.Archive)
	if err != nil {
		return nil, nil, err
	}
	e.arch = arch
	return e, func() { e.closeHosts(); arch.close() }, nil
}

// dial connects to the hosts and reads their state.
func (e *Engine) dial(ctx context.Context) ([]*Result, error) {
	keys, err := remote.NewHostKeys(e.inv.SSH.KnownHosts, e.opts.AcceptNewHostKeys)
	if err != nil {
		return nil, fmt.Errorf("%s: ssh.known_hosts: %w", e.inv.Path, err)
	}
	return e.connect(ctx, keys), nil
}

// Operate starts, stops or restarts the nodes (op is OpStart, OpStop or
// OpRestart) under the cluster's run lock. Start: managers, then workers.
// Stop: workers, then managers. Restart: rolling, one worker at a time, each
// waiting until every other node logs that it joined again, the managers
// last. Start and restart refuse while `up` would change the configuration
// of a target (they apply none). The error is for problems before any node
// was touched.
func Operate(ctx context.Context, inv *inventory.Inventory, pb *playbook.Playbook, opts Options, op string) (*Report, error) {
	opts.Apply, opts.Command = true, op
	e, done, err := prepare(inv, pb, opts)
	if err != nil {
		return nil, err
	}
	defer done()
	report := &Report{}
	targets := e.targets
	if op == OpRestart {
		e.targets = e.nodes // waiting for peers to see a node reads every node's log
	}
	connected, err := e.dial(ctx)
	e.targets = targets
	if err != nil {
		return nil, err
	}
	report.Results = append(report.Results, connected...)
	lock, ok := e.lockRun(ctx, report)
	if !ok {
		return report, interrupted(ctx, "lock")
	}
	defer e.unlock(lock)
	report.Results = append(report.Results, e.operate(ctx, op)...)
	report.tally(e.addresses(), e.order())
	return report, interrupted(ctx, op)
}

// operate runs op on the targets.
func (e *Engine) operate(ctx context.Context, op string) []*Result {
	s, ok := e.startStep()
	if !ok {
		return []*Result{{Step: op, Target: e.inv.Cluster.Name, Status: Failed, Err: fmt.Errorf("playbook %s has no start step", e.pb.Name)}}
	}
	header := op
	if op == OpRetire {
		header = OpStop
	}
	e.out.header(strings.ToUpper(header), e.inv.Cluster.Name)
	if op == OpStop || op == OpRetire {
		return e.printed(e.stopAll(ctx, s, op == OpRetire))
	}
	if drift := e.silentPlan(ctx); len(drift) > 0 {
		return e.printed(drift)
	}
	e.opts.Apply = true
	if op == OpStart {
		return e.printed(e.startStopped(ctx, s))
	}
	return e.rollingRestart(ctx, s)
}

// startStopped starts the targets that are not running (managers first,
// then workers) and leaves running ones alone, whatever they run with.
func (e *Engine) startStopped(ctx context.Context, s playbook.Step) []*Result {
	all := e.targets
	defer func() { e.targets = all }()
	var stopped []*node
	running := map[*node]*Result{}
	for _, n := range all {
		if pid := runningPID(n); pid != "" && !n.isFailed() {
			running[n] = &Result{Step: s.Name, Target: n.name(), Note: "running (pid " + pid + ")"}
		} else {
			stopped = append(stopped, n)
		}
	}
	e.targets = stopped
	started := e.runStart(ctx, s)
	results := make([]*Result, 0, len(all))
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
func (e *Engine) printed(results []*Result) []*Result {
	for _, r := range results {
		e.out.result(r, false)
	}
	return results
}

// startStep is the playbook's start step.
func (e *Engine) startStep() (playbook.Step, bool) {
	for _, s := range e.pb.Steps {
		if s.Type == "start" {
			return s, true
		}
	}
	return playbook.Step{}, false
}

// silentPlan runs the playbook's other steps as a plan, so that the engine
// knows every file it manages (for the start fingerprint). It returns a
// failed result per target where `up` would change something.
func (e *Engine) silentPlan(ctx context.Context) []*Result {
	apply, out := e.opts.Apply, e.out.w
	e.opts.Apply, e.out.w = false, io.Discard
	defer func() { e.opts.Apply, e.out.w = apply, out }()
	drift := map[string][]string{}
	for _, s := range e.pb.Steps {
		if s.Type == "start" || ctx.Err() != nil {
			continue
		}
		for _, r := range e.runStep(ctx, s) {
			switch r.Status {
			case Changed:
				drift[r.Target] = append(drift[r.Target], s.Name)
			case Failed:
				drift[r.Target] = append(drift[r.Target], fmt.Sprintf("%s (cannot check: %v)", s.Name, r.Err))
			}
		}
	}
	var targets []string
	for t := range drift {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	var results []*Result
	for _, t := range targets {
		results = append(results, &Result{Step: "drift", Target: t, Status: Failed,
			Err: fmt.Errorf("`up` would change %s here: run `carbonctl up` first", strings.Join(drift[t], ", "))})
	}
	return results
}

// stopAll stops the running targets: workers first, then managers; retire
// also removes their units.
func (e *Engine) stopAll(ctx context.Context, s playbook.Step, retire bool) []*Result {
	workers, managers := e.byRole()
	results := make([]*Result, 0, len(e.targets))
	for _, phase := range [][]*node{workers, managers} {
		out := make([]*Result, len(phase))
		e.parallel(len(phase), func(i int) {
			out[i] = e.stopOne(ctx, s, phase[i])
			if retire && out[i].Status != Failed && out[i].Status != Skipped {
				e.removeUnit(ctx, phase[i], out[i])
			}
		})
		results = append(results, out...)
	}
	return results
}

// byRole splits the targets into workers and managers, in inventory order.
func (e *Engine) byRole() (workers, managers []*node) {
	for _, n := range e.targets {
		if n.vars.Node.IsManager {
			managers = append(managers, n)
		} else {
			workers = append(workers, n)
		}
	}
	return workers, managers
}

// runningPID is the node's pid as read at connect time, "" if it is down.
func runningPID(n *node) string {
	alive, _ := n.host.probe("alive:" + n.name())
	if alive.ExitCode != 0 {
		return ""
	}
	return strings.TrimSpace(alive.Stdout)
}

// stopOne stops one node if it runs.
func (e *Engine) stopOne(ctx context.Context, s playbook.Step, n *node) *Result {
	res := &Result{Step: s.Name, Target: n.name()}
	if n.isFailed() {
		res.Status, res.Note = Skipped, "(cannot reach its host)"
		return res
	}
	pid := runningPID(n)
	if pid == "" {
		res.Note = "not running"
		return res
	}
	desc := fmt.Sprintf("stop pid %s", pid)
	if unit, ok := e.serviceUnit(n); ok {
		desc = fmt.Sprintf("systemctl stop %s (pid %s)", unit, pid)
	}
	res.changed(desc, "")
	if err := e.stopNode(ctx, n); err != nil {
		return fail(res, err)
	}
	return res
}

// removeUnit disables and deletes node n's unit where it has one.
func (e *Engine) removeUnit(ctx context.Context, n *node, res *Result) {
	unit, ok := e.serviceUnit(n)
	if !ok {
		return
	}
	script := fmt.Sprintf("systemctl --no-reload disable --quiet %s && rm -f %s %s && systemctl daemon-reload",
		remote.Quote(unit), remote.Quote(e.unitPath(n)), remote.Quote(setupEnvFile(unit)))
	res.changed("disable and delete "+unit, "")
	if err := run(ctx, n.host, "root", script, nil, "remove the unit "+unit); err != nil {
		fail(res, err)
	}
}

// rollingRestart restarts the workers one at a time, then the managers,
// each waiting until every other node logs that it joined again. It stops
// at the first node that fails, leaving the rest running.
func (e *Engine) rollingRestart(ctx context.Context, s playbook.Step) []*Result {
	workers, managers := e.byRole()
	var results []*Result
	for i, n := range append(workers, managers...) {
		if i > 0 && !e.settleLB(ctx) {
			break
		}
		r := e.restartOne(ctx, s, n)
		e.out.result(r, false)
		results = append(results, r)
		if r.Status == Failed || ctx.Err() != nil {
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
func (e *Engine) settleLB(ctx context.Context) bool {
	if e.lb == nil {
		return ctx.Err() == nil
	}
	wait := nginx.FailTimeout + time.Second
	e.out.printf("waiting %s for the load balancer to take the restarted node back (fail_timeout)\n", wait)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(wait):
		return true
	}
}

// restartOne restarts one node and waits until its peers see it again.
func (e *Engine) restartOne(ctx context.Context, s playbook.Step, n *node) *Result {
	res := &Result{Step: s.Name, Target: n.name()}
	if n.isFailed() {
		return fail(res, fmt.Errorf("cannot reach its host"))
	}
	fp, err := e.fingerprint(ctx, n)
	if err != nil {
		return fail(res, err)
	}
	setup, err := n.host.read(ctx, n.home(setupMarker))
	if err != nil {
		return fail(res, err)
	}
	pid := runningPID(n)
	d := decideStart(pid != "", "", fp, e.takesSetup(n), setup.Exists)
	d.action = OpRestart
	if pid == "" {
		d.action = OpStart
	}
	args := append([]string{}, e.baseArgs(n)...)
	if d.setup && e.pb.Start.SetupArg != "" {
		args = append([]string{e.pb.Start.SetupArg}, args...)
	}
	offsets, down, err := e.logSizes(ctx, n)
	if err != nil {
		return fail(res, err)
	}
	res.changed(fmt.Sprintf("%s %s (was pid %s)", d.action, n.name(), orDash(pid)), "")
	if err := e.launch(ctx, n, d, args, pid, fp, res); err != nil {
		n.markFailed()
		return fail(res, err)
	}
	if err := e.awaitRejoin(ctx, n, offsets); err != nil {
		n.markFailed()
		return fail(res, err)
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
func (e *Engine) peersOf(n *node) []*node {
	var peers []*node
	for _, p := range e.nodes {
		if p != n {
			peers = append(peers, p)
		}
	}
	return peers
}

// logSizes records the size of each running peer's log before n
// restarts, so that only "joined" lines logged after it count. Peers that
// are not running cannot log anything and are returned in down.
func (e *Engine) logSizes(ctx context.Context, n *node) (sizes map[*node]int64, down []string, err error) {
	return e.logSizesOf(ctx, e.peersOf(n))
}

// logSizesOf is logSizes for the given peers.
func (e *Engine) logSizesOf(ctx context.Context, peers []*node) (sizes map[*node]int64, down []string, err error) {
	sizes = map[*node]int64{}
	for _, p := range peers {
		if p.host.client == nil {
			return nil, nil, fmt.Errorf("peer %s is not connected", p.name())
		}
		script := fmt.Sprintf("wc -c < %s 2>/dev/null || echo 0\n%s && echo running\nexit 0",
			remote.Quote(p.home(e.pb.Start.Log)), aliveScript(p.home(e.pb.Start.PidFile)))
		out, err := runOut(ctx, p.host, p.vars.Product.User, script, nil, "measure the log of "+p.name())
		if err != nil {
			return nil, nil, err
		}
		fields := strings.Fields(out)
		if len(fields) == 0 || !strings.Contains(out, "running") {
			down = append(down, p.name())
			continue
		}
		sizes[p], _ = strconv.ParseInt(fields[0], 10, 64)
	}
	return sizes, down, nil
}

// awaitRejoin waits (up to the join timeout) until every peer has logged,
// after its recorded log size, that n joined.
func (e *Engine) awaitRejoin(ctx context.Context, n *node, offsets map[*node]int64) error {
	joined, _, err := memberPatterns(e.pb.Start)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(e.opts.JoinTimeout)
	for {
		var waiting []string
		for p, off := range offsets {
			ok, err := e.loggedJoin(ctx, p, off, n, joined.FindStringSubmatch)
			if err != nil {
				return err
			}
			if !ok {
				waiting = append(waiting, p.name())
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		sort.Strings(waiting)
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not log %q for %s (%s) within %s", strings.Join(waiting, ", "), "Member joined", n.name(), n.vars.Node.MemberAddr(), e.opts.JoinTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// loggedJoin reports whether p logged, after byte off of its log, that n joined.
func (e *Engine) loggedJoin(ctx context.Context, p *node, off int64, n *node, match func(string) []string) (bool, error) {
	script := fmt.Sprintf("tail -c +%d %s 2>/dev/null; exit 0", off+1, remote.Quote(p.home(e.pb.Start.Log)))
	out, err := runOut(ctx, p.host, p.vars.Product.User, script, nil, "read the log of "+p.name())
	if err != nil {
		return false, err
	}
	return joinedIn(out, n.vars.Node.MemberAddr(), match), nil
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
