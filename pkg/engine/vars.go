package engine

import (
	"fmt"
	"net"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
)

// Vars is the data every playbook template sees.
type Vars struct {
	Cluster  ClusterVars
	Product  ProductVars
	Node     NodeVars   // the node being configured (zero for cluster-wide templates)
	Nodes    []NodeVars // every node of this product, in inventory order
	WKA      []NodeVars // its well-known members
	Manager  NodeVars   // its first manager
	Managers []NodeVars // its managers
	Workers  []NodeVars // its workers
	AllNodes []NodeVars // every node of every product of the inventory
	// Vars are the product settings: the playbook's [vars] defaults,
	// overridden by the inventory's [vars], then by the node's vars.
	Vars    map[string]any
	DB      DBVars
	LB      *LBVars // nil without a [loadbalancer]
	DepSync DepSyncVars
	// JavaHome is JAVA_HOME on the nodes: [java] home, or where the java
	// step unpacks [java] archive.
	JavaHome string
}

// ClusterVars describes the cluster.
type ClusterVars struct{ Name, Domain string }

// ProductVars describes the product install. AdminPassword is the admin
// console's password ([product] admin_password_env), "" when unset.
type ProductVars struct{ Archive, User, Group, AdminPassword string }

// NodeVars describes one node.
type NodeVars struct {
	Index                  int // 1-based, inventory order
	Name, Host, Role, Home string
	IsManager, WKA         bool
	PortOffset             int
	LocalMemberPort        int
	LocalRegistryDB        string
	Product                string         // the node's product key; "" for [product]
	Playbook               string         // the name (or path) of the playbook that configures it
	vars                   map[string]any // the node's own vars overrides
}

// MemberAddr is the node's Hazelcast address as peers log it (IP:port).
func (n NodeVars) MemberAddr() string {
	return net.JoinHostPort(n.Host, strconv.Itoa(n.LocalMemberPort))
}

// DBVars describes the database server and the application account.
type DBVars struct {
	Host               string
	Port               int
	Address            string // what the nodes use in JDBC URLs: the alias, else Host
	Alias              string
	User, Password     string
	UserDB, RegistryDB string
	JDBCDriver         string
}

// LBVars describes the load balancer.
type LBVars struct {
	Host                         string
	ServiceHostName, MgtHostName string
	HTTPPort, HTTPSPort          int
}

// NewVars builds the cluster-wide template data of inv's nodes, configured
// by pb.
func NewVars(inv *inventory.Inventory, pb *playbook.Playbook) Vars {
	domain := pb.Domain
	v := Vars{
		Cluster: ClusterVars{Name: inv.Cluster.Name, Domain: inv.Cluster.Domain},
		Product: ProductVars{Archive: inv.Product.Archive, User: inv.Product.User, Group: inv.Product.Group, AdminPassword: inv.Product.AdminPassword.Value},
		DB: DBVars{
			Host: inv.Database.Host, Port: inv.Database.Port, Alias: inv.Database.Alias,
			Address: inv.Database.Host, User: inv.Database.User, Password: inv.Database.Password.Value,
			UserDB: inv.Database.UserDB, RegistryDB: inv.Database.RegistryDB, JDBCDriver: inv.Database.JDBCDriver,
		},
	}
	if v.Cluster.Domain == "" {
		v.Cluster.Domain = domain
	}
	v.DepSync = depSyncVars(inv.DepSync)
	if inv.Database.Alias != "" {
		v.DB.Address = inv.Database.Alias
	}
	if lb := inv.LoadBalancer; lb != nil {
		v.LB = &LBVars{Host: lb.Host, ServiceHostName: lb.ServiceHostName, MgtHostName: lb.MgtHostName, HTTPPort: lb.HTTPPort, HTTPSPort: lb.HTTPSPort}
	}
	v.Vars = mergeVars(pb.Defaults(), inv.Vars)
	for _, n := range inv.Nodes {
		nv := nodeVars(inv, nodePosition(inv, n)-1, n)
		v.Nodes = append(v.Nodes, nv)
		if n.WKA {
			v.WKA = append(v.WKA, nv)
		}
		if nv.IsManager {
			if v.Manager.Name == "" {
				v.Manager = nv
			}
			v.Managers = append(v.Managers, nv)
		} else {
			v.Workers = append(v.Workers, nv)
		}
	}
	for i, n := range inv.AllNodes() {
		v.AllNodes = append(v.AllNodes, nodeVars(inv, i, n))
	}
	return v
}

// mergeVars returns base with every key of over replacing base's value.
func mergeVars(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, val := range base {
		out[k] = val
	}
	for k, val := range over {
		out[k] = val
	}
	return out
}

func nodeVars(inv *inventory.Inventory, i int, n inventory.Node) NodeVars {
	home := n.Home
	if home == "" {
		home = inv.Product.Home
	}
	return NodeVars{
		Index: i + 1, Name: n.Name, Host: n.Host, Role: n.Role, Home: home,
		IsManager: n.Role == "manager", WKA: n.WKA, PortOffset: n.PortOffset,
		LocalMemberPort: n.LocalMemberPort, LocalRegistryDB: n.LocalRegistryDB,
		Product: n.Product, Playbook: inv.PlaybookOf(n), vars: n.Vars,
	}
}

// ForNode returns a copy of v focused on node nv.
func (v Vars) ForNode(nv NodeVars) Vars {
	v.Node = nv
	if len(nv.vars) > 0 {
		v.Vars = mergeVars(v.Vars, nv.vars)
	}
	return v
}

// Render executes one playbook template against v.
func (v Vars) Render(name, text string) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"jdbcurl": func(db string) string {
			return fmt.Sprintf("jdbc:mysql://%s/%s?autoReconnect=true", net.JoinHostPort(v.DB.Address, strconv.Itoa(v.DB.Port)), db)
		},
		"base": func(p string) string { return filepath.Base(p) },
		"xml":  xmlEscape,
		"join": path.Join,
		"add":  func(a, b any) (int64, error) { return intOp(a, b, 1) },
		"sub":  func(a, b any) (int64, error) { return intOp(a, b, -1) },
	}).Parse(text)
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return b.String(), nil
}

// When evaluates a `when` template: empty means true.
func (v Vars) When(name, text string) (bool, error) {
	if strings.TrimSpace(text) == "" {
		return true, nil
	}
	out, err := v.Render(name, text)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(out) == "true", nil
}

// intOp returns a + sign*b for two integers of any Go integer type (node
// fields are int, inventory [vars] int64).
func intOp(a, b any, sign int64) (int64, error) {
	x, okA := toInt64(a)
	y, okB := toInt64(b)
	if !okA || !okB {
		return 0, fmt.Errorf("add/sub need integers, got %T and %T", a, b)
	}
	return x + sign*y, nil
}

func toInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int64:
		return v, true
	}
	return 0, false
}

// DepSyncVars is the inventory's [depsync] as playbook templates see it
// (.DepSync), for the svn method's carbon.xml edits and client bundles.
type DepSyncVars struct {
	Method            string // "none", "rsync" or "svn"
	SvnURL, SvnUser   string
	SvnPassword       string
	SvnAppendTenantID bool
	// The SVN client bundle and its trilead-ssh2 dependency on the
	// control machine, with their sha256 ("" when not set).
	ClientBundle, ClientBundleSHA256 string
	SSHBundle, SSHBundleSHA256       string
}

func depSyncVars(d inventory.DepSync) DepSyncVars {
	return DepSyncVars{Method: d.Method, SvnURL: d.SvnURL, SvnUser: d.SvnUser, SvnPassword: d.SvnPassword.Value, SvnAppendTenantID: d.SvnAppendTenantID,
		ClientBundle: d.ClientBundle.Path, ClientBundleSHA256: d.ClientBundle.SHA256, SSHBundle: d.SSHBundle.Path, SSHBundleSHA256: d.SSHBundle.SHA256}
}
