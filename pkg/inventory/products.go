package inventory

import (
	"sort"
	"strings"
)

// ProductOf returns the product a node runs: [products.KEY] for a node
// with product = "KEY", else [product].
func (inv *Inventory) ProductOf(n Node) Product {
	if n.Product == "" {
		return inv.Product
	}
	return inv.Products[n.Product]
}

// PlaybookOf returns the playbook (built-in name or absolute path) that
// configures a node: its product's, else [cluster] playbook.
func (inv *Inventory) PlaybookOf(n Node) string {
	if p := inv.ProductOf(n); p.Playbook != "" {
		return p.Playbook
	}
	return inv.Cluster.Playbook
}

// ProductKeys lists the product keys of the nodes ("" for [product]) in the
// order they first appear in the [[node]] list: the order `up` works in.
func (inv *Inventory) ProductKeys() []string {
	var keys []string
	seen := map[string]bool{}
	for _, n := range inv.Nodes {
		if !seen[n.Product] {
			seen[n.Product] = true
			keys = append(keys, n.Product)
		}
	}
	return keys
}

// ForProduct returns a copy of inv narrowed to the nodes of product key,
// with that product as Product and its playbook as Cluster.Playbook. Full
// keeps pointing at the whole inventory.
func (inv *Inventory) ForProduct(key string) *Inventory {
	sub := *inv
	sub.Full = inv.full()
	sub.Product = inv.Product
	if key != "" {
		sub.Product = inv.Products[key]
		if sub.Product.Playbook != "" {
			sub.Cluster.Playbook = sub.Product.Playbook
		}
	}
	sub.Nodes = nil
	for _, n := range inv.Nodes {
		if n.Product == key {
			sub.Nodes = append(sub.Nodes, n)
		}
	}
	return &sub
}

// full returns the whole inventory inv was narrowed from, or inv.
func (inv *Inventory) full() *Inventory {
	if inv.Full != nil {
		return inv.Full
	}
	return inv
}

// AllNodes returns every node of the inventory, of every product.
func (inv *Inventory) AllNodes() []Node { return inv.full().Nodes }

// LineOf returns the line of a key path such as "vars.threads" or
// "node[2].vars", or 0 when unknown.
func (inv *Inventory) LineOf(keyPath string) int {
	for p := keyPath; p != ""; {
		if n := inv.full().lines[p]; n > 0 {
			return n
		}
		i := strings.LastIndex(p, ".")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// products decodes the [products.KEY] tables.
func (d *decoder) products(t *table) map[string]Product {
	if !t.exists {
		return nil
	}
	out := map[string]Product{}
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		st := t.sub(k)
		if !st.exists {
			continue
		}
		st.header = "[products." + k + "]"
		if !productKey.MatchString(k) {
			t.errorf(k, "product key %q: use lower-case letters, digits and '-' (it is what [[node]] product = \"…\" refers to)", k)
		}
		p := d.productTable(st, true)
		p.Key = k
		out[k] = p
	}
	t.finish()
	return out
}

// vars decodes a [vars] table or a node's vars = { … }: product settings
// for the playbooks, each a string, integer, float or boolean.
func (t *table) vars(key string) map[string]any {
	st := t.sub(key)
	if !st.exists {
		return nil
	}
	out := map[string]any{}
	for k, v := range st.m {
		st.known = append(st.known, k)
		switch v.(type) {
		case string, int64, float64, bool:
			out[k] = v
		default:
			st.errorf(k, "is %s: a playbook variable is a string, number or boolean", describe(v))
		}
	}
	return out
}

// nodeProduct checks a node's product key against the [products.KEY]
// tables, and that nodes without one have a [product].
func (t *table) nodeProduct(n *Node, inv *Inventory, hasDefault bool) {
	switch _, known := inv.Products[n.Product]; {
	case n.Product == "" && !hasDefault:
		t.errorf("product", "missing: this node names no product and there is no [product] table: add product = \"KEY\" naming one of the [products.KEY] tables (%s), or add a [product] table", strings.Join(productKeys(inv), ", "))
	case n.Product != "" && !known:
		t.errorf("product", "no [products.%s] table: add one, or use one of: %s", n.Product, strings.Join(productKeys(inv), ", "))
	}
}

func productKeys(inv *Inventory) []string {
	keys := make([]string, 0, len(inv.Products))
	for k := range inv.Products {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return []string{"(none)"}
	}
	return keys
}
