package inventory

import (
	"fmt"
	"os"
	"strings"
)

// defaultMemberPort is the default local_member_port.
const defaultMemberPort = 4100

// Place fits a new node into the inventory: on a host that already runs
// other nodes it gets the next free port offset (unless offset is non-nil,
// the operator's choice), the local member port 4100 plus that offset (or
// the next free one) and a CARBON_HOME of its own. It returns what it
// picked, or "" for a node on a host of its own, which keeps the defaults.
func (inv *Inventory) Place(e *NodeEntry, offset *int) string {
	if offset != nil {
		e.PortOffset = *offset
	}
	used := map[int]bool{}
	var names []string
	for _, n := range inv.Nodes {
		if sameHost(n.Host) == sameHost(e.Host) {
			names = append(names, n.Name)
			for _, p := range ports(n, nil) {
				used[p.port] = true
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	for k := 1; offset == nil && k <= 1000; k++ {
		if free(used, serverPorts(k)) {
			e.PortOffset = k
			break
		}
	}
	own := serverPorts(e.PortOffset)
	for p := defaultMemberPort + e.PortOffset; p < 65536; p++ {
		if !used[p] && !own[p] {
			e.LocalMemberPort = p
			break
		}
	}
	e.Home = inv.ProductOf(Node{Product: e.Product}).Home + "-" + e.Name
	return fmt.Sprintf("%s shares %s with %s: picked port_offset %d (ports %d, %d, %d, %d), local_member_port %d, home %s",
		e.Name, e.Host, strings.Join(names, ", "), e.PortOffset, productPorts[0].Base+e.PortOffset, productPorts[1].Base+e.PortOffset,
		productPorts[2].Base+e.PortOffset, productPorts[3].Base+e.PortOffset, e.LocalMemberPort, e.Home)
}

// serverPorts are the product ports of a node with port offset k.
func serverPorts(k int) map[int]bool {
	out := map[int]bool{}
	for _, p := range productPorts {
		out[p.Base+k] = true
	}
	return out
}

// free reports whether no port of want is used.
func free(used, want map[int]bool) bool {
	for p := range want {
		if used[p] {
			return false
		}
	}
	return true
}

// IsLastManager reports whether n is the only manager of its product.
func (inv *Inventory) IsLastManager(n Node) bool {
	if n.Role != RoleManager {
		return false
	}
	for _, m := range inv.Nodes {
		if m.Name != n.Name && m.Product == n.Product && m.Role == RoleManager {
			return false
		}
	}
	return true
}

// WithoutNode returns data (this inventory's bytes) without node name's
// [[node]] table. Nodes after it whose local registry database is the
// default (the prefix plus the node's position) would move to the next
// node's database: they get their current database written into their
// table, and pins says so.
func (inv *Inventory) WithoutNode(data []byte, name string) (out []byte, pins []string, err error) {
	out, err = RemoveNode(data, name)
	if err != nil {
		return nil, nil, err
	}
	anySecret := func(k string) (string, bool) { // only the databases matter here
		if v, ok := os.LookupEnv(k); ok {
			return v, true
		}
		return "unset", true
	}
	after, err := Parse(inv.Path, inv.Dir, out, anySecret, Options{})
	if err != nil {
		return out, nil, nil // the caller reports it with the full checks
	}
	for _, n := range after.Nodes {
		old := inv.Node(n.Name)
		if old == nil || old.LocalRegistryDB == n.LocalRegistryDB {
			continue
		}
		if out, err = SetNodeKey(out, n.Name, "local_registry_db", old.LocalRegistryDB); err != nil {
			return nil, nil, err
		}
		pins = append(pins, fmt.Sprintf("local_registry_db = %q on %s (its default would become %s, the database of another node)", old.LocalRegistryDB, n.Name, n.LocalRegistryDB))
	}
	return out, pins, nil
}
