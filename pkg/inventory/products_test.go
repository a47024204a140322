package inventory

import (
	"reflect"
	"strings"
	"testing"
)

// asGreg is a two-product inventory: one GREG node, AS master and slave.
func asGreg() parts {
	p := defaultParts()
	p.product = `[products.greg]
archive = "archive.zip"
home = "/opt/wso2greg-5.4.0"
playbook = "greg-registry"

[products.as]
archive = "archive.zip"
home = "/opt/wso2as-5.3.0"
playbook = "as-master-slave"

[vars]
load_from_registry = true
threads = 30
`
	p.nodes = node("greg1", "198.18.0.21", "manager", "product = \"greg\"") +
		node("as1", "198.18.0.22", "manager", "product = \"as\"", "wka = true") +
		node("as2", "198.18.0.23", "worker", "product = \"as\"", "vars = { threads = 10 }")
	return p
}

func TestProductsAndVars(t *testing.T) {
	inv := mustParse(t, fixtureDir(t), asGreg().doc())
	if got := inv.ProductKeys(); !reflect.DeepEqual(got, []string{"greg", "as"}) {
		t.Errorf("ProductKeys = %v, want [greg as]", got)
	}
	as := inv.ForProduct("as")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"AS nodes", len(as.Nodes), 2},
		{"AS home", as.Nodes[0].Home, "/opt/wso2as-5.3.0"},
		{"GREG home", inv.Nodes[0].Home, "/opt/wso2greg-5.4.0"},
		{"AS playbook", as.Cluster.Playbook, "as-master-slave"},
		{"AS product", as.Product.Key, "as"},
		{"all nodes from the narrowed inventory", len(as.AllNodes()), 3},
		{"playbook of greg1", inv.PlaybookOf(inv.Nodes[0]), "greg-registry"},
		{"[vars] integer", inv.Vars["threads"], int64(30)},
		{"[vars] boolean", inv.Vars["load_from_registry"], true},
		{"node vars", inv.Nodes[2].Vars["threads"], int64(10)},
		{"line of a node's vars", inv.LineOf("node[3].vars.threads"), lineOf(t, asGreg().doc(), "vars = { threads")},
		{"local registry DB keeps the file position", as.Nodes[1].LocalRegistryDB, "REGISTRY_LOCAL3"},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestProductProblems(t *testing.T) {
	tests := []struct {
		name string
		edit func(*parts)
		want string
	}{
		{"unknown product", func(p *parts) { p.nodes = strings.Replace(p.nodes, `product = "as"`, `product = "ass"`, 1) },
			"node[2].product: no [products.ass] table: add one, or use one of: as, greg"},
		{"node without product and no [product]", func(p *parts) { p.nodes += node("x1", "198.18.0.24", "worker") },
			"node[4].product: missing: this node names no product and there is no [product] table"},
		{"product without manager", func(p *parts) {
			p.nodes = strings.Replace(p.nodes, `"manager"`+"\nproduct = \"as\"", `"worker"`+"\nproduct = \"as\"", 1)
		},
			`node: no node of product "as" has role = "manager"`},
		{"bad product key", func(p *parts) { p.product = strings.Replace(p.product, "[products.greg]", "[products.Greg]", 1) },
			`products.Greg: product key "Greg"`},
		{"vars must be scalars", func(p *parts) { p.product += "list = [1, 2]\n" },
			"vars.list: is an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := asGreg()
			tt.edit(&p)
			_, errs := parse(t, fixtureDir(t), p.doc())
			if !strings.Contains(errs.Error(), tt.want) {
				t.Errorf("errors:\n%v\nwant one containing %q\ninventory:\n%s", errs, tt.want, numbered(p.doc()))
			}
		})
	}
}
