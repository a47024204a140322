package steps

import (
	"context"
	"fmt"
	"path"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/pkg/systemd"
)

// unitSpecOf describes node n's unit.
func unitSpecOf(e *engine.Engine, n *engine.Node) systemd.Unit {
	return systemd.Unit{
		Name: systemd.UnitName(e.Inv.Cluster.Name, n.Name()),
		Description: fmt.Sprintf("WSO2 %s node %s of cluster %s (carbonctl)",
			e.PB.Name, n.Name(), e.Inv.Cluster.Name),
		User:     n.Vars.Product.User,
		Group:    n.Vars.Product.Group,
		Home:     n.Vars.Node.Home,
		Script:   n.Home(e.PB.Start.Script),
		Args:     baseArgs(e, n),
		JavaHome: n.JavaHome(),
	}
}

// unitPath is where node n's unit file lives.
func unitPath(e *engine.Engine, n *engine.Node) string {
	return path.Join(systemd.UnitDir, systemd.UnitName(e.Inv.Cluster.Name, n.Name()))
}

// runsSystemd reports whether the batch read found systemd running on h.
func runsSystemd(h *engine.Host) bool {
	h.Mu.Lock()
	defer h.Mu.Unlock()
	f := h.Files[systemd.RunDir]
	return f != nil && f.Exists && f.IsDir
}

// ServiceUnit returns the unit name of node n when it runs as a systemd
// service: the playbook has a service step and its host runs systemd.
func ServiceUnit(e *engine.Engine, n *engine.Node) (string, bool) {
	if !hasServiceStep(e) || !runsSystemd(n.Host) {
		return "", false
	}
	return systemd.UnitName(e.Inv.Cluster.Name, n.Name()), true
}

func hasServiceStep(e *engine.Engine) bool { return engine.HasStep[*Service](e.PB) }

// Service is the "service" step kind: one systemd unit per node, on the
// hosts that run systemd. It has no fields.
type Service struct{}

// Check has nothing to check.
func (*Service) Check() error { return nil }

// Prefetch reads the node's unit and whether systemd runs.
func (*Service) Prefetch(e *engine.Engine, _ playbook.Step, n *engine.Node, req *remote.GatherRequest) {
	prefetchService(e, n, req)
}

// Run installs the units, one result per host.
func (*Service) Run(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	return runService(ctx, e, s)
}

// prefetchService adds to the batch read: whether systemd runs, the node's
// unit file and whether it is enabled (the wants link, followed).
func prefetchService(e *engine.Engine, n *engine.Node, req *remote.GatherRequest) {
	req.Contents = append(req.Contents, unitPath(e, n))
	req.Stats = append(req.Stats, systemd.RunDir, path.Join(systemd.WantsDir, systemd.UnitName(e.Inv.Cluster.Name, n.Name())))
}

// runService installs and enables one unit per node on the hosts that run
// systemd (a per-host step: one daemon-reload per host whose units
// changed). Hosts without systemd keep starting nodes with nohup.
func runService(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	byHost, order := targetsByHost(e)
	results := make([]*engine.Result, len(order))
	e.Parallel(len(order), func(i int) {
		nodes := byHost[order[i]]
		res := &engine.Result{Step: s.Name, Target: nodes[0].Name()}
		results[i] = res
		for _, n := range nodes {
			if n.IsFailed() {
				res.Status, res.Note = engine.Skipped, "(an earlier step failed on this node)"
				return
			}
		}
		if !runsSystemd(order[i]) {
			res.Note = "no systemd on this host: nodes are started with nohup"
			return
		}
		if err := installUnits(ctx, e, order[i], nodes, res); err != nil {
			for _, n := range nodes {
				n.MarkFailed()
			}
			engine.Fail(res, err)
		}
	})
	return results
}

// targetsByHost groups the targets by host, hosts in target order.
func targetsByHost(e *engine.Engine) (map[*engine.Host][]*engine.Node, []*engine.Host) {
	byHost := map[*engine.Host][]*engine.Node{}
	var order []*engine.Host
	for _, n := range e.Targets {
		if byHost[n.Host] == nil {
			order = append(order, n.Host)
		}
		byHost[n.Host] = append(byHost[n.Host], n)
	}
	return byHost, order
}

// installUnits writes the changed units of h's nodes (root-owned, in
// /etc/systemd/system, which the product user cannot write), enables them
// and reloads systemd once. Each unit counts in its node's fingerprint, so a
// changed unit restarts that node only.
func installUnits(ctx context.Context, e *engine.Engine, h *engine.Host, nodes []*engine.Node, res *engine.Result) error {
	var units []systemd.State
	for _, n := range nodes {
		n.Manage(unitPath(e, n))
		cur, err := h.Read(ctx, unitPath(e, n))
		if err != nil {
			return err
		}
		wants, err := h.Read(ctx, path.Join(systemd.WantsDir, systemd.UnitName(e.Inv.Cluster.Name, n.Name())))
		if err != nil {
			return err
		}
		units = append(units, systemd.State{Name: systemd.UnitName(e.Inv.Cluster.Name, n.Name()), Current: cur.Content,
			Exists: cur.Exists, Enabled: wants.Exists, Want: systemd.Render(unitSpecOf(e, n))})
	}
	a := systemd.Decide(units)
	for _, u := range a.Write {
		p := path.Join(systemd.UnitDir, u.Name)
		opts := remote.WriteOptions{Mode: 0o644, Owner: "root", Group: "root"}
		if err := e.WriteFile(ctx, h, p, []byte(u.Want), opts); err != nil {
			return fmt.Errorf("write unit %s on %s: %w", p, h.Addr, err)
		}
		verb := "update"
		if !u.Exists {
			verb = "install"
		}
		res.AddFileChange(verb, p, u.Current, []byte(u.Want))
	}
	script := systemd.ReloadScript(a)
	if script == "" {
		res.Note = fmt.Sprintf("%d unit(s) installed and enabled", len(units))
		return nil
	}
	if err := e.Change(res, script, "", func() error { return engine.RunScript(ctx, h, "root", script, nil, "enable and load the units") }); err != nil {
		return err
	}
	for _, u := range a.Enable {
		h.Remember(path.Join(systemd.WantsDir, u), nil)
	}
	return nil
}
