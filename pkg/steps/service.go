package steps

import (
	"context"
	"fmt"
	"path"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/pkg/systemd"
)

// unitSpecOf describes node n's unit.
func unitSpecOf(e *Engine, n *node) systemd.Unit {
	return systemd.Unit{
		Name: systemd.UnitName(e.inv.Cluster.Name, n.name()),
		Description: fmt.Sprintf("WSO2 %s node %s of cluster %s (carbonctl)",
			e.pb.Name, n.name(), e.inv.Cluster.Name),
		User:     n.vars.Product.User,
		Group:    n.vars.Product.Group,
		Home:     n.vars.Node.Home,
		Script:   n.home(e.pb.Start.Script),
		Args:     baseArgs(e, n),
		JavaHome: n.javaHome(),
	}
}

// unitPath is where node n's unit file lives.
func unitPath(e *Engine, n *node) string {
	return path.Join(systemd.UnitDir, systemd.UnitName(e.inv.Cluster.Name, n.name()))
}

// runsSystemd reports whether the batch read found systemd running on h.
func runsSystemd(h *host) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.files[systemd.RunDir]
	return f != nil && f.Exists && f.IsDir
}

// serviceUnit returns the unit name of node n when it runs as a systemd
// service: the playbook has a service step and its host runs systemd.
func serviceUnit(e *Engine, n *node) (string, bool) {
	if !hasServiceStep(e) || !runsSystemd(n.host) {
		return "", false
	}
	return systemd.UnitName(e.inv.Cluster.Name, n.name()), true
}

func hasServiceStep(e *Engine) bool { return hasStep[*Service](e.pb) }

// Service is the "service" step kind: one systemd unit per node, on the
// hosts that run systemd. It has no fields.
type Service struct{}

// Check has nothing to check.
func (*Service) Check() error { return nil }

// Prefetch reads the node's unit and whether systemd runs.
func (*Service) Prefetch(e *Engine, _ playbook.Step, n *node, req *remote.GatherRequest) {
	prefetchService(e, n, req)
}

// Run installs the units, one result per host.
func (*Service) Run(ctx context.Context, e *Engine, s playbook.Step) []*Result {
	return runService(ctx, e, s)
}

// prefetchService adds to the batch read: whether systemd runs, the node's
// unit file and whether it is enabled (the wants link, followed).
func prefetchService(e *Engine, n *node, req *remote.GatherRequest) {
	req.Contents = append(req.Contents, unitPath(e, n))
	req.Stats = append(req.Stats, systemd.RunDir, path.Join(systemd.WantsDir, systemd.UnitName(e.inv.Cluster.Name, n.name())))
}

// runService installs and enables one unit per node on the hosts that run
// systemd (a per-host step: one daemon-reload per host whose units
// changed). Hosts without systemd keep starting nodes with nohup.
func runService(ctx context.Context, e *Engine, s playbook.Step) []*Result {
	byHost, order := targetsByHost(e)
	results := make([]*Result, len(order))
	e.parallel(len(order), func(i int) {
		nodes := byHost[order[i]]
		res := &Result{Step: s.Name, Target: nodes[0].name()}
		results[i] = res
		for _, n := range nodes {
			if n.isFailed() {
				res.Status, res.Note = Skipped, "(an earlier step failed on this node)"
				return
			}
		}
		if !runsSystemd(order[i]) {
			res.Note = "no systemd on this host: nodes are started with nohup"
			return
		}
		if err := installUnits(ctx, e, order[i], nodes, res); err != nil {
			for _, n := range nodes {
				n.markFailed()
			}
			fail(res, err)
		}
	})
	return results
}

// targetsByHost groups the targets by host, hosts in target order.
func targetsByHost(e *Engine) (map[*host][]*node, []*host) {
	byHost := map[*host][]*node{}
	var order []*host
	for _, n := range e.targets {
		if byHost[n.host] == nil {
			order = append(order, n.host)
		}
		byHost[n.host] = append(byHost[n.host], n)
	}
	return byHost, order
}

// installUnits writes the changed units of h's nodes (root-owned, in
// /etc/systemd/system, which the product user cannot write), enables them
// and reloads systemd once. Each unit counts in its node's fingerprint, so a
// changed unit restarts that node only.
func installUnits(ctx context.Context, e *Engine, h *host, nodes []*node, res *Result) error {
	var units []systemd.State
	for _, n := range nodes {
		n.manage(unitPath(e, n))
		cur, err := h.read(ctx, unitPath(e, n))
		if err != nil {
			return err
		}
		wants, err := h.read(ctx, path.Join(systemd.WantsDir, systemd.UnitName(e.inv.Cluster.Name, n.name())))
		if err != nil {
			return err
		}
		units = append(units, systemd.State{Name: systemd.UnitName(e.inv.Cluster.Name, n.name()), Current: cur.Content,
			Exists: cur.Exists, Enabled: wants.Exists, Want: systemd.Render(unitSpecOf(e, n))})
	}
	a := systemd.Decide(units)
	for _, u := range a.Write {
		p := path.Join(systemd.UnitDir, u.Name)
		opts := remote.WriteOptions{Mode: 0o644, Owner: "root", Group: "root"}
		if err := e.writeFile(ctx, h, p, []byte(u.Want), opts); err != nil {
			return fmt.Errorf("write unit %s on %s: %w", p, h.addr, err)
		}
		verb := "update"
		if !u.Exists {
			verb = "install"
		}
		res.fileChanged(verb, p, u.Current, []byte(u.Want))
	}
	script := systemd.ReloadScript(a)
	if script == "" {
		res.Note = fmt.Sprintf("%d unit(s) installed and enabled", len(units))
		return nil
	}
	if err := e.change(res, script, "", func() error { return run(ctx, h, "root", script, nil, "enable and load the units") }); err != nil {
		return err
	}
	for _, u := range a.Enable {
		h.remember(path.Join(systemd.WantsDir, u), nil)
	}
	return nil
}
