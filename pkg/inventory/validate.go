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
		if p, la, lb, clash := portClash(a, b); clash {
			key := "port_offset"
			if strings.HasPrefix(la, "local") || strings.HasPrefix(lb, "local") {
				key = "local_member_port"
			}
			tb.errorf(key, "nodes %s and %s on %s would both use port %d (%s: %s, %s: %s): change port_offset or local_member_port on one of them", a.Name, b.Name, host, p, a.Name, la, b.Name, lb)
		}
	}
	if a.Home != "" && a.Home == b.Home {
		tb.errorf("home", "nodes %s and %s on %s both use home %s: two servers cannot share a CARBON_HOME: set home on one of them, e.g. home = \"%s-2\"", a.Name, b.Name, host, a.Home, a.Home)
	}
}

// productPorts are a node's HTTPS and HTTP management and pass-through
// HTTP and HTTPS ports before its port offset.
var productPorts = [...]int{9443, 9763, 8280, 8243}

// portUse is a port a node listens on and where it comes from.
type portUse struct {
	port  int
	label string
}

// ports lists the ports a node listens on: the product's HTTPS/HTTP
// management and pass-through ports shifted by its offset, and its local
// member port.
func ports(n Node) []portUse {
	var out []portUse
	for _, p := range productPorts {
		out = append(out, portUse{p + n.PortOffset, fmt.Sprintf("%d+%d", p, n.PortOffset)})
	}
	return append(out, portUse{n.LocalMemberPort, "local_member_port"})
}

// portClash returns the first port both nodes would listen on.
func portClash(a, b Node) (port int, labelA, labelB string, clash bool) {
	for _, pa := range ports(a) {
		for _, pb := range ports(b) {
			if pa.port == pb.port {
				return pa.port, pa.label, pb.label, true
			}
		}
	}
	return 0, "", "", false
}

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
