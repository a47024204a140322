// Package engine is carbonctl's step engine: it connects to every host once,
// reads their state in one batch, then runs a playbook's steps in order — hosts
// in parallel within a step — each step deciding from the state it read and
// acting only where something differs. A plan runs the same decisions and acts
// nowhere.
//
// The engine knows step kinds only through the interfaces in kind.go; the
// kinds themselves live in pkg/steps, which registers them by name. What a
// kind needs of a run (its nodes and hosts, the batch-read files, the
// guarded ways to act, results and output) is exported here.
package engine

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
	Inv   *inventory.Inventory
	PB    *playbook.Playbook
	Opts  Options
	Out   *Printer
	Vars  Vars
	Arch  *archive.Product
	JDK   *archive.JDK // [java] archive; nil with [java] home
	Hosts map[string]*Host
	Nodes []*Node // every node of the inventory
	// Targets are the nodes this run works on (--limit).
	Targets []*Node
	Local   LocalFiles
	LB      *LBState // nil without a [loadbalancer] or load balancer steps
	// lockInfo describes this run in the run lock it takes when applying.
	lockInfo runlock.LockInfo
	// lockRelease is the run lock's release, made ready at connect.
	lockRelease remote.Deferred
	// Split is set when this run's changes need a full restart.
	Split *ClusterSplit
}

// RunGroup executes pb against inv and returns what happened. The error is
// only for problems before any step ran (bad --limit, unreadable archive).
func RunGroup(ctx context.Context, inv *inventory.Inventory, pb *playbook.Playbook, opts Options) (*Report, error) {
	e, closeAll, err := Prepare(inv, pb, opts)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	opts = e.Opts

	keys, err := remote.NewHostKeys(inv.SSH.KnownHosts, opts.AcceptNewHostKeys)
	if err != nil {
		return nil, fmt.Errorf("%s: ssh.known_hosts: %w", inv.Path, err)
	}
	report := &Report{}
	report.Results = append(report.Results, e.connect(ctx, keys)...)
	defer e.dropRelease()
	e.Split = e.PlanSplit(ctx)
	if refused := e.refusal(); refused != nil {
		e.Out.PrintResult(refused, false)
		report.Results = append(report.Results, refused)
		report.Tally(e.Addresses(), e.Order())
		return report, nil
	}
	if opts.Apply {
		lock, ok := e.LockRun(ctx, report)
		if !ok {
			return report, Interrupted(ctx, "lock")
		}
		defer e.Unlock(lock)
	}
	step := "connect"
	for _, s := range pb.Steps {
		if ctx.Err() != nil {
			break
		}
		step = s.Name
		e.Out.Header("STEP", s.Name)
		began := time.Now()
		results := e.RunStep(ctx, s)
		for _, r := range results {
			e.Out.PrintResult(r, !opts.Apply)
		}
		if opts.Verbose {
			e.Out.Printf("  (%s took %s)\n", s.Name, time.Since(began).Round(time.Millisecond))
		}
		report.Results = append(report.Results, results...)
	}
	e.refreshRecords(ctx)
	report.Tally(e.Addresses(), e.Order())
	return report, Interrupted(ctx, step)
}

// Prepare builds an engine with its archive open; done closes the archive
// and the connections.
func Prepare(inv *inventory.Inventory, pb *playbook.Playbook, opts Options) (*Engine, func(), error) {
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
	e := &Engine{Inv: inv, PB: pb, Opts: opts, Hosts: map[string]*Host{}, Local: LocalFiles{Files: map[string][]byte{}}, lockInfo: runlock.NewLockInfo(command)}
	e.Out = &Printer{W: opts.Out, Mask: NewMasker(inv.Secrets()), diffs: opts.ShowDiff, verbose: opts.Verbose}
	if inv.Java.Archive != "" {
		jdk, err := archive.OpenJDK(inv.Java.Archive)
		if err != nil {
			return nil, nil, err
		}
		e.JDK = jdk
	}
	e.Vars = NewVars(inv, pb)
	e.Vars.JavaHome = javaHomeOf(inv.Java, e.JDK)
	if err := e.Build(); err != nil {
		return nil, nil, err
	}
	arch, err := archive.OpenProduct(inv.Product.Archive)
	if err != nil {
		return nil, nil, err
	}
	e.Arch = arch
	return e, func() { e.closeHosts(); arch.Close() }, nil
}

// Dial connects to the hosts and reads their state.
func (e *Engine) Dial(ctx context.Context) ([]*Result, error) {
	keys, err := remote.NewHostKeys(e.Inv.SSH.KnownHosts, e.Opts.AcceptNewHostKeys)
	if err != nil {
		return nil, fmt.Errorf("%s: ssh.known_hosts: %w", e.Inv.Path, err)
	}
	return e.connect(ctx, keys), nil
}

// Interrupted names the step that was running when ctx ended (Ctrl-C), or
// is nil while ctx is live.
func Interrupted(ctx context.Context, step string) error {
	if ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("step %s was interrupted: %w", step, context.Cause(ctx))
}

// Build creates the hosts and nodes and applies --limit.
func (e *Engine) Build() error {
	selected := map[string]bool{}
	for _, name := range e.Opts.Limit {
		if e.Inv.Node(name) == nil {
			return fmt.Errorf("--limit: no node named %q in %s", name, e.Inv.Path)
		}
		selected[name] = true
	}
	for i, nv := range e.Vars.Nodes {
		h := e.Hosts[nv.Host]
		if h == nil {
			h = NewHost(nv.Host)
			e.Hosts[nv.Host] = h
		}
		n := &Node{Vars: e.Vars.ForNode(nv), Host: h, Managed: map[string]bool{}}
		e.Nodes = append(e.Nodes, n)
		if len(selected) == 0 || selected[e.Inv.Nodes[i].Name] {
			e.Targets = append(e.Targets, n)
		}
	}
	e.buildLB()
	return nil
}

// connect dials every host that a target or the database tunnel needs, then
// reads each host's state in one batch.
func (e *Engine) connect(ctx context.Context, keys *remote.HostKeys) []*Result {
	needed := map[*Host]bool{}
	for _, n := range e.Targets {
		needed[n.Host] = true
	}
	if via := e.DBViaHost(); via != nil {
		needed[via] = true
	}
	if m := e.ManagerNode(); m != nil {
		needed[m.Host] = true // the database step reads the product's dbscripts there
	}
	if e.LB != nil {
		needed[e.LB.Host] = true
	}
	requests := e.Prefetch()
	var list []*Host
	for h := range needed {
		list = append(list, h)
	}
	e.Parallel(len(list), func(i int) {
		h := list[i]
		began := time.Now()
		target := e.sshHost(h.Addr) // the host as written: a name stays a name for SSH
		cfg := e.Inv.SSHConfig(target, e.Opts.AcceptNewHostKeys)
		if e.Opts.Verbose {
			cfg.Trace = e.Out.Printf // round-trip-bound phases: docs/performance.md
		}
		if e.Opts.pool != nil {
			h.Client, h.Err = e.Opts.pool.dial(ctx, e.Opts.Dialer(), target, cfg, keys)
		} else {
			h.Client, h.Err = e.Opts.Dialer()(ctx, target, cfg, keys)
		}
		dialed := time.Now()
		if h.Err == nil {
			e.prepareRelease(ctx, h)
			h.Err = h.Gather(ctx, requests[h])
		}
		if e.Opts.Verbose && h.Err == nil {
			req := requests[h]
			e.Out.Printf("connected to %s in %s; read %d files and %d probes in %s\n", cfg.Describe(target),
				dialed.Sub(began).Round(time.Millisecond), len(req.Contents)+len(req.Stats), len(req.Probes), time.Since(dialed).Round(time.Millisecond))
		}
	})
	var results []*Result
	for _, n := range e.Targets {
		if n.Host.Err != nil {
			results = append(results, &Result{Step: "connect", Target: n.Name(), Status: Failed, Err: n.Host.Err})
		}
	}
	if e.LB != nil && e.LB.Host.Err != nil {
		results = append(results, &Result{Step: "connect", Target: LBTarget, Status: Failed, Err: e.LB.Host.Err})
	}
	if len(results) > 0 {
		e.Out.Header("CONNECT", "hosts")
		for _, r := range results {
			e.Out.PrintResult(r, false)
		}
	}
	return results
}

func (e *Engine) closeHosts() {
	if e.Opts.pool != nil {
		return // the pool closes them after the last group
	}
	for _, h := range e.Hosts {
		if h.Client != nil {
			h.Client.Close()
		}
	}
}

// Prefetch collects, per host, everything the playbook's steps will read.
func (e *Engine) Prefetch() map[*Host]remote.GatherRequest {
	reqs := map[*Host]*remote.GatherRequest{}
	for _, n := range e.Nodes {
		req := reqs[n.Host]
		if req == nil {
			req = &remote.GatherRequest{Probes: map[string]string{}}
			reqs[n.Host] = req
		}
		for _, s := range e.PB.Steps {
			e.prefetchStep(s, n, req)
		}
		e.prefetchRecord(n, req)
		prefetchUntrusted(n, req)
	}
	e.prefetchLB(reqs)
	e.prefetchNames(reqs)
	if m := e.ManagerNode(); m != nil && e.Opts.Apply {
		reqs[m.Host].Stats = append(reqs[m.Host].Stats, runlock.SharedDir) // where the run lock goes
		reqs[m.Host].Probes[runlock.ProbeName] = runlock.Probe(runlock.SharedPath(e.Inv.Cluster.Name), e.lockInfo)
	}
	out := map[*Host]remote.GatherRequest{}
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
func (e *Engine) prefetchStep(s playbook.Step, n *Node, req *remote.GatherRequest) {
	if k, ok := s.Kind.(Prefetcher); ok {
		k.Prefetch(e, s, n, req)
	}
}

// RunStep runs one playbook step on its targets: as a whole when its kind
// runs so, else on each target node in parallel.
func (e *Engine) RunStep(ctx context.Context, s playbook.Step) []*Result {
	if k, ok := s.Kind.(StepRunner); ok {
		return k.Run(ctx, e, s)
	}
	results := make([]*Result, len(e.Targets))
	e.Parallel(len(e.Targets), func(i int) {
		n := e.Targets[i]
		results[i] = e.RunNodeStep(ctx, s, n)
	})
	return results
}

// RunNodeStep runs a per-node step, honouring failures and `when`.
func (e *Engine) RunNodeStep(ctx context.Context, s playbook.Step, n *Node) *Result {
	res := &Result{Step: s.Name, Target: n.Name()}
	if n.IsFailed() {
		res.Status, res.Note = Skipped, "(an earlier step failed on this node)"
		return res
	}
	ok, err := n.Vars.When(s.Name+".when", s.When)
	if err != nil {
		return Fail(res, err)
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
		n.MarkFailed()
		return Fail(res, err)
	}
	return res
}

// Fail marks res failed with err.
func Fail(res *Result, err error) *Result {
	res.Status, res.Err = Failed, err
	return res
}

// AddChange appends an action and marks the result changed.
func (r *Result) AddChange(desc, diff string) {
	r.Status = Changed
	r.Actions = append(r.Actions, Action{Desc: desc, Diff: diff})
}

// Parallel runs fn(0..n-1) with at most Forks at once.
func (e *Engine) Parallel(n int, fn func(i int)) {
	sem := make(chan struct{}, e.Opts.Forks)
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

// ManagerNode is the inventory's manager node, nil when it has none.
func (e *Engine) ManagerNode() *Node {
	for _, n := range e.Nodes {
		if n.Vars.Node.IsManager {
			return n
		}
	}
	return nil
}

// Addresses maps each target of the recap (nodes, the database, the load
// balancer) to the address it is shown with.
func (e *Engine) Addresses() map[string]string {
	m := map[string]string{DBTarget: fmt.Sprintf("%s:%d", e.Inv.Database.Host, e.Inv.Database.Port)}
	if lb := e.Inv.LoadBalancer; lb != nil {
		m[LBTarget] = lb.Host
	}
	for _, n := range e.Nodes {
		m[n.Name()] = n.Vars.Node.Host
	}
	return m
}

// Order is the recap's order of targets: database, load balancer, then the
// nodes in inventory order.
func (e *Engine) Order() []string {
	names := []string{DBTarget, LBTarget}
	for _, n := range e.Nodes {
		names = append(names, n.Name())
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

// AddFileChange records a file change with its line counts and unified diff
// (headed a/PATH, b/PATH like git's, for absolute paths too).
func (r *Result) AddFileChange(verb, p string, old, updated []byte) {
	r.AddChange(FileChange(verb, p, old, updated))
}

// FileChange describes a file change with its line counts, and its diff.
func FileChange(verb, p string, old, updated []byte) (desc, diff string) {
	added, removed := textdiff.Stat(old, updated)
	return fmt.Sprintf("%s %s (+%d -%d)", verb, p, added, removed), textdiff.Unified(strings.TrimPrefix(p, "/"), old, updated)
}

// DBViaHost is the host whose SSH connection carries the database's admin
// connection ([database] via), nil when it connects directly.
func (e *Engine) DBViaHost() *Host {
	via := e.Inv.Database.Via
	if via == "" {
		return nil
	}
	addr := ""
	for _, n := range e.Inv.AllNodes() { // the tunnel may go through another product's node
		if n.Name == via {
			addr = n.Host
		}
	}
	if via == "lb" && e.Inv.LoadBalancer != nil {
		addr = e.Inv.LoadBalancer.Host
	}
	if addr == "" {
		return nil
	}
	h := e.Hosts[addr]
	if h == nil {
		h = NewHost(addr)
		e.Hosts[addr] = h
	}
	return h
}
