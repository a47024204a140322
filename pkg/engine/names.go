package engine

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Host names: a node's or the load balancer's host may be a DNS name. The
// run resolves it on the control machine first (inventory.Resolve: the
// clustering configuration gets the address), connects over SSH by the
// name, and checks in the batch read that every connected host resolves
// every name of the cluster to the same address; a host that does not
// makes the run refuse before any change.

// namesProbe is the probe (in the batch read) that resolves the cluster's
// names on a host.
const namesProbe = "carbonctl-names"

// ResolveNames resolves the host names of every product group's inventory
// (one lookup per name for all of them); RunGroups, OperateGroups and
// ReadGroupsStatus do it first. The error is inventory.Errors.
func ResolveNames(ctx context.Context, groups []Group) error {
	for _, g := range groups {
		if err := g.Inv.Resolve(ctx, inventory.LookupHost); err != nil {
			return err
		}
	}
	return nil
}

// resolvedName is one name of the cluster and the address the control machine
// resolved it to.
type resolvedName struct {
	name  string
	addr  netip.Addr
	owner string // node name, or "lb"
}

// hostNames lists the names of every node of the cluster and of the load
// balancer, sorted by name (each once).
func (e *Engine) hostNames() []resolvedName {
	seen := map[string]bool{}
	var list []resolvedName
	add := func(name, addr, owner string) {
		a, err := netip.ParseAddr(addr)
		if name == "" || seen[name] || err != nil {
			return
		}
		seen[name] = true
		list = append(list, resolvedName{name: name, addr: a, owner: owner})
	}
	for _, n := range e.Inv.AllNodes() {
		add(n.HostName, n.Host, n.Name)
	}
	if lb := e.Inv.LoadBalancer; lb != nil {
		add(lb.HostName, lb.Host, LBTarget)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}

// sshHost is what to connect to for the host with address addr: the name
// the inventory gives it, else the address.
func (e *Engine) sshHost(addr string) string {
	for _, n := range e.Inv.AllNodes() {
		if n.Host == addr {
			return n.SSHHost()
		}
	}
	if lb := e.Inv.LoadBalancer; lb != nil && lb.Host == addr {
		return lb.SSHHost()
	}
	return addr
}

// prefetchNames asks every host to resolve the cluster's names.
func (e *Engine) prefetchNames(reqs map[*Host]*remote.GatherRequest) {
	names := e.hostNames()
	if len(names) == 0 {
		return
	}
	list := make([]string, len(names))
	for i, n := range names {
		list[i] = n.name
	}
	for _, req := range reqs {
		req.Probes[namesProbe] = namesScript(list)
	}
}

// namesScript prints, for each name, "@NAME", what `getent ahosts` answers
// on the host (its resolver: /etc/hosts, DNS, as nsswitch.conf says) and
// "=STATUS". Names are DNS names (letters, digits, '-', '.'): no quoting
// is needed, they are quoted anyway.
func namesScript(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "'" + n + "'"
	}
	return "for n in " + strings.Join(quoted, " ") + `; do echo "@$n"; getent ahosts "$n"; echo "=$?"; done`
}

// nodeAnswer is what a host's resolver said of one name.
type nodeAnswer struct {
	addrs  []netip.Addr
	status int // getent's exit status: 0 found, 2 not found
}

// parseNames reads the output of namesScript.
func parseNames(out string) map[string]nodeAnswer {
	answers := map[string]nodeAnswer{}
	name := ""
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "@"):
			name = line[1:]
			answers[name] = nodeAnswer{}
		case strings.HasPrefix(line, "=") && name != "":
			a := answers[name]
			a.status, _ = strconv.Atoi(line[1:])
			answers[name] = a
			name = ""
		case name != "":
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			if addr, err := netip.ParseAddr(f[0]); err == nil {
				a := answers[name]
				a.addrs = append(a.addrs, addr)
				answers[name] = a
			}
		}
	}
	return answers
}

// nameProblems compares what one host (where) resolved with the control
// machine's answers and returns one line per name it resolves differently.
func nameProblems(where string, names []resolvedName, answers map[string]nodeAnswer) []string {
	var problems []string
	for _, n := range names {
		a, ok := answers[n.name]
		var got netip.Addr
		var err error
		switch {
		case !ok:
			err = fmt.Errorf("it was not looked up (the probe printed nothing for it)")
		case a.status == 2 || (a.status == 0 && len(a.addrs) == 0):
			err = fmt.Errorf("it does not resolve")
		case a.status != 0:
			err = fmt.Errorf("its lookup failed (getent exit status %d)", a.status)
		default:
			got, err = inventory.PickAddr(a.addrs)
		}
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s (host of %s): on %s, %v; on the control machine it resolves to %s", n.name, n.owner, where, err, n.addr))
		case got != n.addr:
			problems = append(problems, fmt.Sprintf("%s (host of %s): on %s it resolves to %s; on the control machine to %s", n.name, n.owner, where, got, n.addr))
		}
	}
	return problems
}

// checkNames prints the cluster's names and the addresses they resolved
// to, and refuses the run (a failed result, before any change) when a
// connected host resolves one of them differently.
func (e *Engine) checkNames() *Result {
	names := e.hostNames()
	if len(names) == 0 {
		return nil
	}
	e.Out.Header("NAMES", e.Inv.Cluster.Name)
	for _, n := range names {
		e.Out.Printf("%s: %s = %s\n", n.owner, n.name, n.addr)
	}
	var problems []string
	for _, t := range e.namedTargets() {
		if t.host.Client == nil || t.host.Err != nil {
			continue
		}
		out := t.host.Probes[namesProbe]
		problems = append(problems, nameProblems(t.label, names, parseNames(out.Stdout))...)
	}
	if len(problems) == 0 {
		return nil
	}
	res := &Result{Step: "names", Target: e.Inv.Cluster.Name}
	return Fail(res, fmt.Errorf("the hosts must resolve the cluster's names as the control machine does, since the clustering configuration uses the addresses (nothing was changed): %s; fix DNS or /etc/hosts, or write the addresses in host",
		strings.Join(problems, "; ")))
}

// namedTarget is one connected host and how messages call it.
type namedTarget struct {
	host  *Host
	label string // "node n1 (n1.example.com)"
}

// namedTargets lists each host this run connected to once, named after
// its first node (or the load balancer).
func (e *Engine) namedTargets() []namedTarget {
	seen := map[*Host]bool{}
	var list []namedTarget
	add := func(h *Host, label string) {
		if h != nil && !seen[h] {
			seen[h] = true
			list = append(list, namedTarget{host: h, label: label})
		}
	}
	for _, n := range e.Nodes {
		add(n.Host, fmt.Sprintf("node %s (%s)", n.Name(), e.sshHost(n.Host.Addr)))
	}
	if e.LB != nil {
		add(e.LB.Host, fmt.Sprintf("the load balancer (%s)", e.sshHost(e.LB.Host.Addr)))
	}
	return list
}

// refusal is the reason this run must not act, or nil: a become password
// that sudo refused, names that resolve differently on a host, or a cluster
// change it may not make.
func (e *Engine) refusal() *Result {
	if r := e.checkBecome(); r != nil {
		return r
	}
	if r := e.checkNames(); r != nil {
		return r
	}
	return e.CheckSplit()
}
