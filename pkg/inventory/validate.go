package inventory

import (
	"fmt"
	"strings"
)

// checkNodes runs the checks that involve several nodes. valid[i] is false
// when node i already has a problem of its own; such nodes are left out of
// the shared-host checks.
func (d *decoder) checkNodes(inv *Inventory, tabs []*table, valid []bool, root *table) {
	if len(tabs) == 0 {
		if v, set := root.m["node"]; !set || isEmptyArray(v) {
			root.errorf("node", "no [[node]] tables: add one [[node]] table per server, with name, host and role (role = \"manager\" on one of them)")
		}
		return
	}
	checkNames(inv.Nodes, tabs)
	checkManager(inv.Nodes, tabs)
	checkLocalDBs(inv, tabs)
	for i := range inv.Nodes {
		if valid[i] {
			checkOwnPorts(inv.Nodes[i], tabs[i])
		}
		for j := 0; j < i; j++ {
			if valid[i] && valid[j] && sameHost(inv.Nodes[i].Host) == sameHost(inv.Nodes[j].Host) {
				checkSharedHost(inv.Nodes[j], inv.Nodes[i], tabs[i])
			}
		}
	}
	if len(inv.Nodes) > 1 && len(inv.WKAMembers()) == 0 {
		d.warn(tabs[0].line, "node", "no node has wka = true, so the members cannot find each other: set wka = true on the manager (and usually on one worker)")
	}
}

func isEmptyArray(v any) bool {
	switch v := v.(type) {
	case []any:
		return len(v) == 0
	case []map[string]any:
		return len(v) == 0
	}
	return false
}

// checkNames reports duplicate node names.
func checkNames(nodes []Node, tabs []*table) {
	first := map[string]int{}
	for i, n := range nodes {
		if n.Name == "" {
			continue
		}
		if j, dup := first[n.Name]; dup {
			tabs[i].errorf("name", "duplicate node name %q (%s at line %d has it too): give every node its own name", n.Name, tabs[j].path, tabs[j].lineOf("name"))
			continue
		}
		first[n.Name] = i
	}
}

// checkManager reports a product whose nodes have no manager, unless a
// role is already reported as wrong.
func checkManager(nodes []Node, tabs []*table) {
	hasManager, first := map[string]bool{}, map[string]int{}
	for i, n := range nodes {
		if _, seen := first[n.Product]; !seen {
			first[n.Product] = i
		}
		if n.Role == RoleManager || n.Role != RoleWorker {
			hasManager[n.Product] = true
		}
	}
	for product, i := range first {
		if hasManager[product] {
			continue
		}
		t, what := tabs[i], "no node"
		if product != "" {
			what = fmt.Sprintf("no node of product %q", product)
		}
		t.d.add(t.line, "node", "%s has role = \"manager\": set role = \"manager\" on the node that runs the management console", what)
	}
}

// checkLocalDBs reports local registry databases shared between nodes or
// with the user or registry database.
func checkLocalDBs(inv *Inventory, tabs []*table) {
	db := inv.Database
	owner := map[string]int{}
	for i, n := range inv.Nodes {
		name := strings.ToUpper(n.LocalRegistryDB)
		switch j, dup := owner[name]; {
		case name == "":
		case strings.EqualFold(name, db.UserDB) || strings.EqualFold(name, db.RegistryDB):
			tabs[i].errorf("local_registry_db", "local registry database %q is also the user or registry database: give the node a database of its own, e.g. local_registry_db = \"%s%d\"", n.LocalRegistryDB, db.LocalDBPrefix, i+1)
		case dup:
			tabs[i].errorf("local_registry_db", "local registry database %q is also used by node %s (line %d): every node needs its own local registry database: set local_registry_db on one of them", n.LocalRegistryDB, inv.Nodes[j].Name, tabs[j].line)
		default:
			owner[name] = i
		}
	}
}

// checkSharedHost reports what two nodes on one host would both use: port
// offset, local member port, other ports, or CARBON_HOME. tb is b's table.
func checkSharedHost(a, b Node, tb *table) {
	host := b.Host
	switch {
	case a.PortOffset == b.PortOffset:
		tb.errorf("port_offset", "nodes %s and %s on %s both use port offset %d: set port_offset on one of them (the ports 9443+offset, 9763+offset, 8280+offset, 8243+offset would clash)", a.Name, b.Name, host, a.PortOffset)
	case a.LocalMemberPort == b.LocalMemberPort:
		tb.errorf("local_member_port", "nodes %s and %s on %s both use local_member_port %d: set local_member_port on one of them (e.g. %d), each server listens on it for clustering", a.Name, b.Name, host, a.LocalMemberPort, a.LocalMemberPort+1)
	default:
		if p, la, lb, clash := portClash(a, b, nil); clash {
			tb.errorf(clashKey(la, lb), portClashMsg, a.Name, b.Name, host, p, a.Name, la, b.Name, lb)
		}
	}
	switch outer, inner := nestedHomes(a.Home, b.Home); {
	case a.Home != "" && a.Home == b.Home:
		tb.errorf("home", "nodes %s and %s on %s both use home %s: two servers cannot share a CARBON_HOME: set home on one of them, e.g. home = \"%s-2\"", a.Name, b.Name, host, a.Home, a.Home)
	case outer != "":
		tb.errorf("home", "nodes %s and %s on %s have nested homes (%s is inside %s): unpacking, patching or emptying one server's directories would touch the other's: give them side-by-side homes, e.g. %s and %s-2", a.Name, b.Name, host, inner, outer, outer, outer)
	}
}

// nestedHomes returns the outer and inner home when one of a and b lies
// inside the other, else "".
func nestedHomes(a, b string) (outer, inner string) {
	switch {
	case a == "" || b == "" || a == b:
	case strings.HasPrefix(b, a+"/"):
		return a, b
	case strings.HasPrefix(a, b+"/"):
		return b, a
	}
	return "", ""
}

// checkOwnPorts reports a node whose local_member_port is one of its own
// Carbon ports (9443+offset, ...): the server could not open both.
func checkOwnPorts(n Node, t *table) {
	if label, clash := ownPortClash(n, nil); clash {
		t.errorf("local_member_port", ownPortMsg, n.LocalMemberPort, label)
	}
}

// productPorts are a node's HTTPS and HTTP management and pass-through
// HTTP and HTTPS ports before its port offset.
var productPorts = []Port{{"", 9443}, {"", 9763}, {"", 8280}, {"", 8243}}

// Port is a port a product listens on before the node's port offset, such
// as MB's AMQP port; Name says what it is in messages ("" for Carbon's own).
type Port struct {
	Name string
	Base int
}

// portUse is a port a node listens on and where it comes from.
type portUse struct {
	port  int
	label string
}

// ports lists the ports a node listens on: the product's HTTPS/HTTP
// management and pass-through ports and extra shifted by its offset, and
// its local member port.
func ports(n Node, extra []Port) []portUse {
	var out []portUse
	for _, p := range append(productPorts[:len(productPorts):len(productPorts)], extra...) {
		label := fmt.Sprintf("%d+%d", p.Base, n.PortOffset)
		if p.Name != "" {
			label += " " + p.Name
		}
		out = append(out, portUse{p.Base + n.PortOffset, label})
	}
	return append(out, portUse{n.LocalMemberPort, "local_member_port"})
}

// portClash returns the first port both nodes would listen on.
func portClash(a, b Node, extra []Port) (port int, labelA, labelB string, clash bool) {
	for _, pa := range ports(a, extra) {
		for _, pb := range ports(b, extra) {
			if pa.port == pb.port {
				return pa.port, pa.label, pb.label, true
			}
		}
	}
	return 0, "", "", false
}

// clashKey is the key to fix for a clash between ports labelled la and lb:
// local_member_port when one of them is, else port_offset.
func clashKey(la, lb string) string {
	if la == "local_member_port" || lb == "local_member_port" {
		return "local_member_port"
	}
	return "port_offset"
}

// ownPortClash returns the node's own port its local_member_port equals.
func ownPortClash(n Node, extra []Port) (string, bool) {
	for _, p := range ports(n, extra) {
		if p.label != "local_member_port" && p.port == n.LocalMemberPort {
			return p.label, true
		}
	}
	return "", false
}

// CheckPorts checks the nodes again with a product's own ports (extra,
// e.g. MB's AMQP, MQTT and Thrift ports, from its playbook): a
// local_member_port equal to one of them, and two nodes on one host that
// would both listen on one. Load has checked Carbon's ports already.
func (inv *Inventory) CheckPorts(extra []Port) Errors {
	var errs Errors
	add := func(i int, key, format string, args ...any) {
		kp := fmt.Sprintf("node[%d].%s", inv.position(i), key)
		errs = append(errs, &Error{File: inv.Path, Line: inv.LineOf(kp), Key: kp, Msg: fmt.Sprintf(format, args...)})
	}
	for i, n := range inv.Nodes {
		if label, clash := ownPortClash(n, extra); clash {
			add(i, "local_member_port", ownPortMsg, n.LocalMemberPort, label)
		}
		for j := 0; j < i; j++ {
			a := inv.Nodes[j]
			if sameHost(a.Host) != sameHost(n.Host) {
				continue
			}
			if p, la, lb, clash := portClash(a, n, extra); clash {
				add(i, clashKey(la, lb), portClashMsg, a.Name, n.Name, n.Host, p, a.Name, la, n.Name, lb)
			}
		}
	}
	return errs
}

// position is the 1-based position of the i-th node among all the
// inventory's nodes, as [[node]] tables are numbered in key paths.
func (inv *Inventory) position(i int) int {
	for k, m := range inv.AllNodes() {
		if m.Name == inv.Nodes[i].Name {
			return k + 1
		}
	}
	return i + 1
}

const (
	ownPortMsg   = "%d is also the node's own port %s: Hazelcast and the server cannot both listen on it: use a free port such as 4100"
	portClashMsg = "nodes %s and %s on %s would both use port %d (%s: %s, %s: %s): change port_offset or local_member_port on one of them"
)

// checkVia checks that database.via names a node or the load balancer.
func (d *decoder) checkVia(inv *Inventory, t *table) {
	via := inv.Database.Via
	var names []string
	for _, n := range inv.Nodes {
		if q := fmt.Sprintf("%q", n.Name); n.Name != "" && !contains(names, q) {
			names = append(names, q)
		}
	}
	if inv.LoadBalancer != nil {
		names = append(names, `"lb"`)
	}
	choices := strings.Join(names, ", ")
	switch {
	case via == "":
	case via == "lb" && inv.LoadBalancer == nil:
		t.errorf("via", "is \"lb\" but there is no [loadbalancer] table: set via to a node name (%s) or remove it to connect from this machine", choices)
	case via != "lb" && inv.Node(via) == nil:
		t.errorf("via", "%q is not a node: set via to one of %s, or remove it to connect from this machine", via, choices)
	}
}
