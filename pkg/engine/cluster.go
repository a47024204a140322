package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Group is the nodes of one product with the playbook that configures them:
// Inv is the inventory narrowed to those nodes (inventory.ForProduct).
type Group struct {
	Inv *inventory.Inventory
	PB  *playbook.Playbook
}

// Groups splits inv into its product groups, in the order the products
// first appear in the [[node]] list, loading each group's playbook with
// load (a built-in name or a path).
func Groups(inv *inventory.Inventory, load func(nameOrPath string) (*playbook.Playbook, error)) ([]Group, error) {
	var groups []Group
	for _, key := range inv.ProductKeys() {
		sub := inv.ForProduct(key)
		where := "cluster.playbook"
		if key != "" {
			where = "products." + key + ".playbook"
		}
		if sub.Cluster.Playbook == "" {
			return nil, fmt.Errorf("%s: %s: missing: name the playbook of these nodes, e.g. playbook = \"esb-worker-manager\" (carbonctl playbooks lists them)", inv.Path, where)
		}
		pb, err := load(sub.Cluster.Playbook)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %v", inv.Path, inv.LineOf(where), where, err)
		}
		groups = append(groups, Group{Inv: sub, PB: pb})
	}
	return groups, nil
}

// Check validates the inventory against its playbooks before anything
// runs: every [vars] key is declared by one of the playbooks with a value
// of the declared type, every node's vars by its own playbook, and every
// node follows its playbook's [[rule]]s, and a [java] archive holds a Java
// version every playbook supports. The error is inventory.Errors.
func Check(groups []Group) error {
	if len(groups) == 0 {
		return nil
	}
	full := groups[0].Inv
	var errs inventory.Errors
	add := func(line int, key, format string, args ...any) {
		errs = append(errs, &inventory.Error{File: full.Path, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	declared := map[string][]*playbook.Playbook{}
	var names []string
	for _, g := range groups {
		names = append(names, g.PB.Name)
		for k := range g.PB.Vars {
			declared[k] = append(declared[k], g.PB)
		}
	}
	checkVars(full.Vars, declared, "vars", "", strings.Join(names, ", "), full, add)
	for _, g := range groups {
		own := map[string][]*playbook.Playbook{}
		for k := range g.PB.Vars {
			own[k] = []*playbook.Playbook{g.PB}
		}
		for _, n := range g.Inv.Nodes {
			checkVars(n.Vars, own, fmt.Sprintf("node[%d].vars", nodePosition(full, n)), n.Name, g.PB.Name, full, add)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if lb := checkLoadBalancer(groups, names); lb != nil {
		errs = append(errs, lb)
	}
	for _, g := range groups {
		errs = append(errs, checkRules(g)...)
		if extra := g.PB.ExtraPorts(); len(extra) > 0 {
			errs = append(errs, g.Inv.CheckPorts(extra)...)
		}
	}
	errs = append(errs, checkJava(groups)...)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// nodePosition is the 1-based position of n among all the inventory's nodes.
func nodePosition(inv *inventory.Inventory, n inventory.Node) int {
	for i, m := range inv.AllNodes() {
		if m.Name == n.Name {
			return i + 1
		}
	}
	return 0
}

// checkVars reports keys of vars that the playbooks do not declare, values
// whose type differs from the declared default's, and values that do not
// match the declaring playbooks' patterns. node names the node whose vars
// these are ("" for the inventory's [vars]).
func checkVars(vars map[string]any, declared map[string][]*playbook.Playbook, path, node, playbooks string, inv *inventory.Inventory, add func(int, string, string, ...any)) {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	where := ""
	if node != "" {
		where = " (node " + node + ")"
	}
	for _, k := range keys {
		key := path + "." + k
		pbs, ok := declared[k]
		if !ok {
			add(inv.LineOf(key), key, "playbook %s declares no variable %q (it has: %s): fix the name or remove it", playbooks, k, strings.Join(sortedKeys(declared), ", "))
			continue
		}
		for _, pb := range pbs {
			def := pb.Vars[k]
			if fmt.Sprintf("%T", def.Default) != fmt.Sprintf("%T", vars[k]) {
				add(inv.LineOf(key), key, "is %s%s, but playbook %s expects %s (default %v)", typeWord(vars[k]), where, pb.Name, typeWord(def.Default), def.Default)
				break
			}
			if err := def.Check(vars[k]); err != nil {
				add(inv.LineOf(key), key, "%v%s, which playbook %s declares for it: refused, since the value lands in the product's files and scripts", err, where, pb.Name)
				break
			}
		}
	}
}

func sortedKeys(m map[string][]*playbook.Playbook) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return []string{"none"}
	}
	return keys
}

// typeWord names a variable's type as an inventory author writes it.
func typeWord(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a number with a fraction"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// checkLoadBalancer refuses a [loadbalancer] that no playbook of the
// inventory would set up: `up` would leave it alone without a word.
func checkLoadBalancer(groups []Group, names []string) *inventory.Error {
	full := groups[0].Inv
	if full.LoadBalancer == nil {
		return nil
	}
	for _, g := range groups {
		if HasStep[LoadBalancerKind](g.PB) {
			return nil
		}
	}
	what := "playbook " + names[0] + " has"
	if len(names) > 1 {
		what = "playbooks " + strings.Join(names, ", ") + " have"
	}
	return &inventory.Error{File: full.Path, Line: full.LineOf("loadbalancer"), Key: "loadbalancer",
		Msg: what + " no load balancer steps (lb-certs, lb-vhosts, truststore), so carbonctl would not set it up: remove the [loadbalancer] table, or use a playbook that configures one"}
}

// checkRules evaluates the group's playbook rules for each of its nodes.
func checkRules(g Group) inventory.Errors {
	var errs inventory.Errors
	v := NewVars(g.Inv, g.PB)
	for _, nv := range v.Nodes {
		for i, r := range g.PB.Rules {
			ok, err := v.ForNode(nv).When(fmt.Sprintf("%s rule %d", g.PB.Name, i+1), r.Check)
			n := g.Inv.Node(nv.Name)
			switch {
			case err != nil:
				errs = append(errs, &inventory.Error{File: g.Inv.Path, Line: n.Line, Key: "node " + nv.Name, Msg: err.Error()})
			case !ok:
				errs = append(errs, &inventory.Error{File: g.Inv.Path, Line: n.Line, Key: "node " + nv.Name,
					Msg: fmt.Sprintf("breaks a rule of playbook %s: %s", g.PB.Name, r.Message)})
			}
		}
	}
	return errs
}

// Run runs each product group's playbook in turn (runGroup), sharing one
// SSH connection per host between the groups, and returns the combined
// report. It checks the groups first (Check); that error, like a bad
// --limit, comes before anything connects, with a nil report.
func Run(ctx context.Context, groups []Group, opts Options) (*Report, error) {
	if err := Check(groups); err != nil {
		return nil, err
	}
	combined := &Report{}
	addresses, order := map[string]string{}, []string{DBTarget, LBTarget}
	for _, n := range groups[0].Inv.AllNodes() {
		order = append(order, n.Name)
	}
	ran, err := EachGroup(ctx, groups, opts, false, func(g Group, o Options) error {
		if len(groups) > 1 && o.Out != nil {
			fmt.Fprintf(o.Out, "\n=== PRODUCT %s (playbook %s, %d nodes) ===\n", productName(g), g.PB.Name, len(g.Inv.Nodes))
		}
		r, err := RunGroup(ctx, g.Inv, g.PB, o)
		if r == nil {
			combined = nil
			return err
		}
		combined.Results = append(combined.Results, r.Results...)
		for _, t := range r.Tallies {
			addresses[t.Target] = t.Address
		}
		return err
	})
	if !ran || combined == nil {
		return nil, err // a bad --limit, or a group that could not start
	}
	combined.Tally(addresses, order)
	return combined, err
}

// EachGroup calls fn for each product group that --limit selects (every
// group without one), in inventory order or, with reverse, backwards; fn
// gets opts limited to the group's nodes, and one connection pool (and one
// connection per jump host) shared by all groups. Host names are resolved
// first (ResolveNames). It stops at fn's first error; ran is false when fn
// was never called (a bad --limit, a name that does not resolve).
func EachGroup(ctx context.Context, groups []Group, opts Options, reverse bool, fn func(g Group, o Options) error) (ran bool, err error) {
	limits, err := groupLimits(groups, opts.Limit)
	if err == nil {
		err = ResolveNames(ctx, groups)
	}
	if err != nil {
		return false, err
	}
	pool := &connPool{conns: map[string]*pooledConn{}}
	defer pool.close()
	if opts.Dial == nil {
		opts.Dial = remote.NewDialer() // the groups share the jump hosts too
	}
	for k := range groups {
		i := k
		if reverse {
			i = len(groups) - 1 - k
		}
		if limits[i] == nil && len(opts.Limit) > 0 {
			continue
		}
		o := opts
		o.Limit, o.pool = limits[i], pool
		ran = true
		if err := fn(groups[i], o); err != nil {
			return true, err
		}
	}
	return ran, nil
}

// productName is how a group is named in output: its product key, or the
// product's directory.
func productName(g Group) string {
	if g.Inv.Product.Key != "" {
		return g.Inv.Product.Key
	}
	return g.Inv.Product.Home
}

// groupLimits splits --limit by group: nil for a group none of whose nodes
// is named. An unknown name is an error.
func groupLimits(groups []Group, limit []string) ([][]string, error) {
	out := make([][]string, len(groups))
	for _, name := range limit {
		found := false
		for i, g := range groups {
			if g.Inv.Node(name) != nil {
				out[i] = append(out[i], name)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("--limit: no node named %q in %s", name, groups[0].Inv.Path)
		}
	}
	return out, nil
}

// connPool shares one SSH connection per host between the runs of a
// cluster's product groups.
type connPool struct {
	mu    sync.Mutex
	conns map[string]*pooledConn
}

// pooledConn is one host's connection, dialled once.
type pooledConn struct {
	once   sync.Once
	client remote.Host
	err    error
}

// dial returns the pooled connection to addr, dialling it the first time;
// different hosts are dialled in parallel.
func (p *connPool) dial(ctx context.Context, dial remote.Dialer, addr string, cfg remote.Config, keys *remote.HostKeys) (remote.Host, error) {
	p.mu.Lock()
	c := p.conns[addr]
	if c == nil {
		c = &pooledConn{}
		p.conns[addr] = c
	}
	p.mu.Unlock()
	c.once.Do(func() { c.client, c.err = dial(ctx, addr, cfg, keys) })
	return c.client, c.err
}

func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if c.client != nil {
			c.client.Close()
		}
	}
}
