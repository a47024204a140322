// Package steps is carbonctl's step engine: it connects to every host once,
// reads their state in one batch, then runs a playbook's steps in order — hosts
// in parallel within a step — each step deciding from the state it read and
// acting only where something differs. A plan runs the same decisions and acts
// nowhere.
package steps

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/carbonctl/carbonctl/pkg/archive"
	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/pkg/runlock"
	"github.com/carbonctl/carbonctl/pkg/textdiff"
)

// Options configure one run.
type Options struct {
	Apply             bool          // false: plan only, change nothing
	Limit             []string      // node names; empty = all
	Forks             int           // hosts worked on at once (default 10)
	ShowDiff          bool          // print diffs while applying (plans always do)
	Verbose           bool          // print every action, even on ok results
	StartTimeout      time.Duration // per node, until the product logs that it started
	JoinTimeout       time.Duration // until every node sees every peer
	AcceptNewHostKeys bool
	Out               io.Writer
	Command           string // recorded in the run lock (default "up")
	BreakLock         bool   // break a stale run lock
	// AllowDowntime lets a change that running members cannot bridge (a
	// new clustering domain, ...) be carried out as a full restart: every
	// node of the product stops, then the manager starts first.
	AllowDowntime bool
	// Dial opens the connection to a host; nil is remote.DialHost (SSH).
	// Tests give a fake.
	Dial remote.Dialer
	// pool shares connections between the product groups of one run
	// (Run); nil dials and closes per group.
	pool *connPool
}

// Dialer is how this run opens its connections.
func (o Options) Dialer() remote.Dialer {
	if o.Dial != nil {
		return o.Dial
	}
	return remote.DialHost
}

// Engine runs one playbook against one inventory.
type Engine struct {
	inv   *inventory.Inventory
	pb    *playbook.Playbook
	opts  Options
	out   *printer
	vars  Vars
	arch  *archive.Product
	jdk   *archive.JDK // [java] archive; nil with [java] home
	hosts map[string]*host
	nodes []*node // every node of the inventory
	// targets are the nodes this run works on (--limit).
	targets []*node
	local   localFiles
	lb      *lbState // nil without a [loadbalancer] or load balancer steps
	// lockInfo describes this run in the run lock it takes when applying.
	lockInfo runlock.LockInfo
	// lockRelease is the run lock's release, made ready at connect.
	lockRelease remote.Deferred
	// split is set when this run's changes need a full restart.
	split *clusterSplit
}

// runGroup executes pb against inv and returns what happened. The error is
// only for problems before any step ran (bad --limit, unreadable archive).
func runGroup(ctx context.Context, inv *inventory.Inventory, pb *playbook.Playbook, opts Options) (*Report, error) {
	e, closeAll, err := prepare(inv, pb, opts)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	opts = e.opts

	keys, err := remote.NewHostKeys(inv.SSH.KnownHosts, opts.AcceptNewHostKeys)
	if err != nil {
		return nil, fmt.Errorf("%s: ssh.known_hosts: %w", inv.Path, err)
	}
	report := &Report{}
	report.Results = append(report.Results, e.connect(ctx, keys)...)
	defer e.dropRelease()
	e.split = e.planSplit(ctx)
	if refused := e.refusal(); refused != nil {
		e.out.result(refused, false)
		report.Results = append(report.Results, refused)
		report.tally(e.addresses(), e.order())
		return report, nil
	}
	if opts.Apply {
		lock, ok := e.lockRun(ctx, report)
		if !ok {
			return report, interrupted(ctx, "lock")
		}
		defer e.unlock(lock)
	}
	step := "connect"
	for _, s := range pb.Steps {
		if ctx.Err() != nil {
			break
		}
		step = s.Name
		e.out.header("STEP", s.Name)
		began := time.Now()
		results := e.runStep(ctx, s)
		for _, r := range results {
			e.out.result(r, !opts.Apply)
		}
		if opts.Verbose {
			e.out.printf("  (%s took %s)\n", s.Name, time.Since(began).Round(time.Millisecond))
		}
		report.Results = append(report.Results, results...)
	}
	e.refreshRecords(ctx)
	report.tally(e.addresses(), e.order())
	return report, interrupted(ctx, step)
}

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
	command := opts.Command
	if command == "" {
		command = "up"
	}
	e := &Engine{inv: inv, pb: pb, opts: opts, hosts: map[string]*host{}, local: localFiles{files: map[string][]byte{}}, lockInfo: runlock.NewLockInfo(command)}
	e.out = &printer{w: opts.Out, mask: NewMasker(inv.Secrets()), diffs: opts.ShowDiff, verbose: opts.Verbose}
	if inv.Java.Archive != "" {
		jdk, err := archive.OpenJDK(inv.Java.Archive)
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
	arch, err := archive.OpenProduct(inv.Product.Archive)
	if err != nil {
		return nil, nil, err
	}
	e.arch = arch
	return e, func() { e.closeHosts(); arch.Close() }, nil
}

// dial connects to the hosts and reads their state.
func (e *Engine) dial(ctx context.Context) ([]*Result, error) {
	keys, err := remote.NewHostKeys(e.inv.SSH.KnownHosts, e.opts.AcceptNewHostKeys)
	if err != nil {
		return nil, fmt.Errorf("%s: ssh.known_hosts: %w", e.inv.Path, err)
	}
	return e.connect(ctx, keys), nil
}

// interrupted names the step that was running when ctx ended (Ctrl-C), or
// is nil while ctx is live.
func interrupted(ctx context.Context, step string) error {
	if ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("step %s was interrupted: %w", step, context.Cause(ctx))
}

// build creates the hosts and nodes and applies --limit.
func (e *Engine) build() error {
	selected := map[string]bool{}
	for _, name := range e.opts.Limit {
		if e.inv.Node(name) == nil {
			return fmt.Errorf("--limit: no node named %q in %s", name, e.inv.Path)
		}
		selected[name] = true
	}
	for i, nv := range e.vars.Nodes {
		h := e.hosts[nv.Host]
		if h == nil {
			h = newHost(nv.Host)
			e.hosts[nv.Host] = h
		}
		n := &node{vars: e.vars.forNode(nv), host: h, managed: map[string]bool{}}
		e.nodes = append(e.nodes, n)
		if len(selected) == 0 || selected[e.inv.Nodes[i].Name] {
			e.targets = append(e.targets, n)
		}
	}
	e.buildLB()
	return nil
}

// connect dials every host that a target or the database tunnel needs, then
// reads each host's state in one batch.
func (e *Engine) connect(ctx context.Context, keys *remote.HostKeys) []*Result {
	needed := map[*host]bool{}
	for _, n := range e.targets {
		needed[n.host] = true
	}
	if via := e.dbViaHost(); via != nil {
		needed[via] = true
	}
	if m := e.managerNode(); m != nil {
		needed[m.host] = true // the database step reads the product's dbscripts there
	}
	if e.lb != nil {
		needed[e.lb.host] = true
	}
	requests := e.prefetch()
	var list []*host
	for h := range needed {
		list = append(list, h)
	}
	e.parallel(len(list), func(i int) {
		h := list[i]
		began := time.Now()
		target := e.sshHost(h.addr) // the host as written: a name stays a name for SSH
		cfg := e.inv.SSHConfig(target, e.opts.AcceptNewHostKeys)
		if e.opts.Verbose {
			cfg.Trace = e.out.printf // round-trip-bound phases: docs/performance.md
		}
		if e.opts.pool != nil {
			h.client, h.err = e.opts.pool.dial(ctx, e.opts.Dialer(), target, cfg, keys)
		} else {
			h.client, h.err = e.opts.Dialer()(ctx, target, cfg, keys)
		}
		dialed := time.Now()
		if h.err == nil {
			e.prepareRelease(ctx, h)
			h.err = h.gather(ctx, requests[h])
		}
		if e.opts.Verbose && h.err == nil {
			req := requests[h]
			e.out.printf("connected to %s in %s; read %d files and %d probes in %s\n", cfg.Describe(target),
				dialed.Sub(began).Round(time.Millisecond), len(req.Contents)+len(req.Stats), len(req.Probes), time.Since(dialed).Round(time.Millisecond))
		}
	})
	var results []*Result
	for _, n := range e.targets {
		if n.host.err != nil {
			results = append(results, &Result{Step: "connect", Target: n.name(), Status: Failed, Err: n.host.err})
		}
	}
	if e.lb != nil && e.lb.host.err != nil {
		results = append(results, &Result{Step: "connect", Target: lbTarget, Status: Failed, Err: e.lb.host.err})
	}
	if len(results) > 0 {
		e.out.header("CONNECT", "hosts")
		for _, r := range results {
			e.out.result(r, false)
		}
	}
	return results
}

func (e *Engine) closeHosts() {
	if e.opts.pool != nil {
		return // the pool closes them after the last group
	}
	for _, h := range e.hosts {
		if h.client != nil {
			h.client.Close()
		}
	}
}

// prefetch collects, per host, everything the playbook's steps will read.
func (e *Engine) prefetch() map[*host]remote.GatherRequest {
	reqs := map[*host]*remote.GatherRequest{}
	for _, n := range e.nodes {
		req := reqs[n.host]
		if req == nil {
			req = &remote.GatherRequest{Probes: map[string]string{}}
			reqs[n.host] = req
		}
		for _, s := range e.pb.Steps {
			e.prefetchStep(s, n, req)
		}
		e.prefetchRecord(n, req)
		prefetchUntrusted(n, req)
	}
	e.prefetchLB(reqs)
	e.prefetchNames(reqs)
	if m := e.managerNode(); m != nil && e.opts.Apply {
		reqs[m.host].Stats = append(reqs[m.host].Stats, runlock.SharedDir) // where the run lock goes
		reqs[m.host].Probes[runlock.ProbeName] = runlock.Probe(runlock.SharedPath(e.inv.Cluster.Name), e.lockInfo)
	}
	out := map[*host]remote.GatherRequest{}
	for h, r := range reqs {
		r.Contents = dedupe(r.Contents)
		r.Stats = dedupe(r.Stats)
		for user, own := range r.As {
			own.Contents, own.Stats = dedupe(own.Contents), dedupe(own.Stats)
			r.As[user] = own
			// A path read as its owner is not also read as the login user
			// (who may not read it, which costs a round trip as root).
			r.Contents = slices.DeleteFunc(r.Contents, func(p string) bool { return slices.Contains(own.Contents, p) })
			r.Stats = slices.DeleteFunc(r.Stats, func(p string) bool { return slices.Contains(own.Contents, p) || slices.Contains(own.Stats, p) })
		}
		out[h] = *r
	}
	return out
}

// prefetchStep adds to req what step s reads on node n, when its kind reads
// anything.
func (e *Engine) prefetchStep(s playbook.Step, n *node, req *remote.GatherRequest) {
	if k, ok := s.Kind.(Prefetcher); ok {
		k.Prefetch(e, s, n, req)
	}
}

// runStep runs one playbook step on its targets: as a whole when its kind
// runs so, else on each target node in parallel.
func (e *Engine) runStep(ctx context.Context, s playbook.Step) []*Result {
	if k, ok := s.Kind.(StepRunner); ok {
		return k.Run(ctx, e, s)
	}
	results := make([]*Result, len(e.targets))
	e.parallel(len(e.targets), func(i int) {
		n := e.targets[i]
		results[i] = e.runNodeStep(ctx, s, n)
	})
	return results
}

// runNodeStep runs a per-node step, honouring failures and `when`.
func (e *Engine) runNodeStep(ctx context.Context, s playbook.Step, n *node) *Result {
	res := &Result{Step: s.Name, Target: n.name()}
	if n.isFailed() {
		res.Status, res.Note = Skipped, "(an earlier step failed on this node)"
		return res
	}
	ok, err := n.vars.when(s.Name+".when", s.When)
	if err != nil {
		return fail(res, err)
	}
	if !ok {
		res.Status, res.Note = Skipped, "(not applicable)"
		return res
	}
	k, ok := s.Kind.(NodeActor)
	if !ok {
		err = fmt.Errorf("step type %q cannot run per node", s.Type)
	} else {
		err = k.RunNode(ctx, e, s, n, res)
	}
	if err != nil {
		n.markFailed()
		return fail(res, err)
	}
	return res
}

// fail marks res failed with err.
func fail(res *Result, err error) *Result {
	res.Status, res.Err = Failed, err
	return res
}

// changed appends an action and marks the result changed.
func (r *Result) changed(desc, diff string) {
	r.Status = Changed
	r.Actions = append(r.Actions, Action{Desc: desc, Diff: diff})
}

// parallel runs fn(0..n-1) with at most Forks at once.
func (e *Engine) parallel(n int, fn func(i int)) {
	sem := make(chan struct{}, e.opts.Forks)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}(i)
	}
	wg.Wait()
}

func (e *Engine) managerNode() *node {
	for _, n := range e.nodes {
		if n.vars.Node.IsManager {
			return n
		}
	}
	return nil
}

func (e *Engine) addresses() map[string]string {
	m := map[string]string{dbTarget: fmt.Sprintf("%s:%d", e.inv.Database.Host, e.inv.Database.Port)}
	if lb := e.inv.LoadBalancer; lb != nil {
		m[lbTarget] = lb.Host
	}
	for _, n := range e.nodes {
		m[n.name()] = n.vars.Node.Host
	}
	return m
}

func (e *Engine) order() []string {
	names := []string{dbTarget, lbTarget}
	for _, n := range e.nodes {
		names = append(names, n.name())
	}
	return names
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// fileChanged records a file change with its line counts and unified diff
// (headed a/PATH, b/PATH like git's, for absolute paths too).
func (r *Result) fileChanged(verb, p string, old, updated []byte) {
	r.changed(fileChange(verb, p, old, updated))
}

// fileChange describes a file change with its line counts, and its diff.
func fileChange(verb, p string, old, updated []byte) (desc, diff string) {
	added, removed := textdiff.Stat(old, updated)
	return fmt.Sprintf("%s %s (+%d -%d)", verb, p, added, removed), textdiff.Unified(strings.TrimPrefix(p, "/"), old, updated)
}

func (e *Engine) dbViaHost() *host {
	via := e.inv.Database.Via
	if via == "" {
		return nil
	}
	addr := ""
	for _, n := range e.inv.AllNodes() { // the tunnel may go through another product's node
		if n.Name == via {
			addr = n.Host
		}
	}
	if via == "lb" && e.inv.LoadBalancer != nil {
		addr = e.inv.LoadBalancer.Host
	}
	if addr == "" {
		return nil
	}
	h := e.hosts[addr]
	if h == nil {
		h = newHost(addr)
		e.hosts[addr] = h
	}
	return h
}
