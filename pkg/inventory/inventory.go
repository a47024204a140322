// Package inventory reads the TOML inventory that describes a WSO2 Carbon
// cluster: the product, the SSH access, the MySQL database, the optional
// load balancer and the nodes.
//
// Decoding is strict: unknown or misspelt keys, wrong types, missing
// required keys and inconsistent values (duplicate names, clashing ports on
// a shared host, host names where IP addresses are required...) are all
// reported at once, each as "file:line: key: what is wrong: what to do".
package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/carbonctl/carbonctl/pkg/certs"
)

// Inventory is a decoded and validated inventory file.
type Inventory struct {
	Path         string // absolute path of the file (Load), or the name given to Parse
	Dir          string // absolute directory relative paths were resolved against
	Cluster      Cluster
	Product      Product            // [product]; zero when absent (every node names a product)
	Products     map[string]Product // [products.KEY], for clusters of several products
	SSH          SSH
	Database     Database
	LoadBalancer *LoadBalancer // nil when the [loadbalancer] table is absent
	DepSync      DepSync       // [depsync]; Method "none" when absent
	Java         Java          // [java]: the JDK the nodes run the product with
	Nodes        []Node        // in file order
	// Vars are the [vars] table: product settings the playbooks declare
	// (string, int64, float64 or bool values).
	Vars     map[string]any
	Warnings []string // "file:line: key: message", e.g. plain-text secrets
	// Full is the whole inventory when this one was narrowed to one
	// product's nodes (ForProduct); nil otherwise.
	Full  *Inventory
	lines lineIndex
}

// Cluster is the [cluster] table.
type Cluster struct {
	Name string // required
	// Playbook is a built-in playbook name (e.g. "esb-worker-manager") or,
	// when the value contains "/" or ends in ".toml", an absolute path
	// (resolved against the inventory's directory). Empty when unset.
	Playbook string
	// Domain is the clustering domain, as written; empty when unset (the
	// playbook supplies the product's default).
	Domain string
}

// Product is the [product] table, or one [products.KEY] table.
type Product struct {
	Key      string // KEY of [products.KEY]; "" for [product]
	Playbook string // [products.KEY] playbook: built-in name or absolute path; "" = [cluster] playbook
	Archive  string // absolute path of the product zip on the control machine
	Home     string // CARBON_HOME on the nodes, absolute and clean
	User     string // OS user owning and running the product; default "wso2"
	Group    string // its group; default User
	// AdminPassword (admin_password_env | admin_password_file |
	// admin_password) is the admin console's password, written to
	// user-mgt.xml; Source "default" and no Value when unset (the
	// product keeps its own, admin/admin in the stock archives).
	AdminPassword Secret
}

// SSH is the [ssh] table.
type SSH struct {
	User           string        // default "root"
	Port           int           // default 22
	IdentityFile   string        // key identity_file: absolute; empty = agent only
	KnownHosts     string        // key known_hosts: absolute; default ~/.ssh/known_hosts
	UseAgent       bool          // key use_agent: default true
	ConnectTimeout time.Duration // key connect_timeout = "10s"; default 10s
	// AliveInterval and AliveCountMax (keys server_alive_interval = "10s",
	// server_alive_count_max = 3, as OpenSSH's ServerAliveInterval and
	// ServerAliveCountMax): a host that answers no keepalive for their
	// product fails the run instead of hanging it.
	AliveInterval  time.Duration
	AliveCountMax  int
	CommandTimeout time.Duration // key command_timeout = "30m": bounds every remote command
	// Config (key config) is the ssh_config file read for Host blocks;
	// default ~/.ssh/config when it exists; "" = none (config = "none").
	Config string
	// ProxyJump (key proxy_jump) are the jump hosts of every host, as
	// OpenSSH writes them ("user@bastion:22", "a,b"); "" = none set.
	ProxyJump string
	// BecomePassword (become_password_env | become_password_file) is the
	// login user's sudo password; no Value when unset (NOPASSWD sudo).
	BecomePassword Secret
	// Set are the user, port, identity_file and proxy_jump keys as
	// written (zero when absent), which override ssh_config: User and Port
	// above carry the defaults too.
	Set HostSSH

	config *sshConfigFile
}

// Database is the [database] table: the MySQL server holding the Carbon
// databases.
type Database struct {
	Host          string // IP address (the guides map Alias to it in /etc/hosts)
	Port          int    // default 3306
	AdminUser     string // key admin_user: default "root"
	AdminPassword Secret // admin_password_env | admin_password_file | admin_password
	User          string // application user, e.g. "regadmin"
	Password      Secret // password_env | password_file | password
	UserHost      string // key user_host: host part of the application account; default "%"
	Alias         string // DNS name written to /etc/hosts on the nodes; "" = JDBC URLs use Host
	JDBCDriver    string // key jdbc_driver: absolute path of the MySQL connector jar
	// Via is "" to connect from the control machine, else the name of a
	// node (or "lb") whose SSH connection tunnels to Host:Port.
	Via           string
	UserDB        string // key user_db: default "WSO2_USER_DB"
	RegistryDB    string // key registry_db: default "REGISTRY_DB"
	LocalDBPrefix string // key local_db_prefix: default "REGISTRY_LOCAL"
	CharacterSet  string // key character_set: optional, e.g. "latin1"
	// TLSCA (key tls_ca) is the CA certificate file (PEM) the server's
	// certificate must chain to; "" = no TLS (use via then).
	TLSCA string
	// TLSServerName (key tls_server_name) is the name the server's
	// certificate must carry; default Host.
	TLSServerName string
}

// LoadBalancer is the optional [loadbalancer] table: the nginx host in front
// of the cluster, its certificate and the nodes' trust in it.
type LoadBalancer struct {
	// Host is the IP address, or a DNS name until Resolve replaces it
	// with the address it resolves to (keeping the name in HostName).
	Host            string
	HostName        string // the DNS name written in host; "" when host is an address
	ServiceHostName string // key service_host_name, e.g. "esb.wso2.com"
	MgtHostName     string // key mgt_host_name, e.g. "mgt.esb.wso2.com"
	HTTPPort        int    // key http_port: default 80
	HTTPSPort       int    // key https_port: default 443
	// SessionAffinity (key session_affinity, default true) keeps an HTTPS
	// client on one backend: sticky learn on NGINX Plus, else ip_hash.
	SessionAffinity bool
	// CertSubject (key cert_subject) is the generated certificate's subject
	// without CN, e.g. "/C=LK/O=WSO2/OU=Integration"; the CN is always
	// ServiceHostName. CertDays (key cert_days, default 365) is its
	// validity, CertKeyType (key cert_key_type, default rsa2048) its key.
	CertSubject string
	CertDays    int
	CertKeyType certs.KeyType
	// CertFile and KeyFile (keys cert_file, key_file; both or neither) are
	// an operator's certificate and key on the control machine, installed
	// instead of generating one. Absolute.
	CertFile, KeyFile string
	// TruststorePassword opens the nodes' client-truststore.jks:
	// truststore_password_env | truststore_password_file |
	// truststore_password; default "wso2carbon" (Source "default").
	TruststorePassword Secret
	// TruststoreAlias (key truststore_alias, default "carbonctl-lb") is
	// the alias of the load balancer's certificate in the trust stores.
	TruststoreAlias string
	// MgtAllow (key mgt_allow) are the networks that may reach the
	// management console vhost (allow …; deny all;), e.g. 198.18.0.0/24;
	// a bare address counts as /32 (/128). Empty: every client.
	MgtAllow []netip.Prefix
	// SSH are its ssh_user, ssh_port, ssh_identity_file and ssh_proxy_jump
	// keys (see Inventory.SSHConfig).
	SSH HostSSH
}

// DefaultTruststorePassword is the trust store password of a stock Carbon
// product.
const DefaultTruststorePassword = "wso2carbon"

// SubjectFields returns CertSubject as ordered (attribute, value) pairs.
func (lb *LoadBalancer) SubjectFields() [][2]string {
	var out [][2]string
	for _, part := range strings.Split(strings.TrimPrefix(lb.CertSubject, "/"), "/") {
		if k, v, ok := strings.Cut(part, "="); ok {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// Node is one [[node]] table.
type Node struct {
	Name string // [a-z0-9][a-z0-9-]{0,31}; "lb" is reserved
	// Host is the IP address (v4 or v6), or a DNS name until Resolve
	// replaces it with the address it resolves to (keeping the name in
	// HostName): the clustering configuration needs an address.
	Host            string
	HostName        string // the DNS name written in host; "" when host is an address
	Role            string // RoleManager or RoleWorker
	WKA             bool   // well-known member of the cluster
	PortOffset      int    // key port_offset: 0..1000, default 0
	LocalMemberPort int    // key local_member_port: default 4100
	// LocalRegistryDB is the node's local registry database (key
	// local_registry_db); default Database.LocalDBPrefix + the node's
	// 1-based position in the file.
	LocalRegistryDB string
	Home            string // CARBON_HOME of this node (key home); default its product's home
	Product         string // key product: KEY of the [products.KEY] it runs; "" = [product]
	// Vars (key vars, an inline table) override [vars] for this node.
	Vars map[string]any
	// SSH are the node's ssh_user, ssh_port, ssh_identity_file and
	// ssh_proxy_jump keys (see Inventory.SSHConfig).
	SSH  HostSSH
	Line int // line of the node's [[node]] header
}

// Node roles.
const (
	RoleManager = "manager"
	RoleWorker  = "worker"
)

// Options tunes Parse.
type Options struct {
	// CheckFiles makes Parse check that the files named by the inventory
	// (product archive, JDBC driver, JDK archive, identity file, playbook
	// file) exist.
	// Load always checks them.
	CheckFiles bool
}

// Load reads, decodes strictly and validates the inventory at path.
// lookupEnv resolves the *_env secret references and $HOME (pass
// os.LookupEnv). Relative file paths in the inventory resolve against the
// inventory's directory; "~/" expands to $HOME. The error, if any, is an
// Errors listing every problem found.
func Load(path string, lookupEnv func(string) (string, bool)) (*Inventory, error) {
	data, err := ReadRegular(path, MaxInventorySize)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read the inventory: %v: check the path passed to carbonctl", cause(err))}}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot make the path absolute: %v", err)}}
	}
	inv, err := Parse(path, filepath.Dir(abs), data, lookupEnv, Options{CheckFiles: true})
	if err != nil {
		return nil, err
	}
	inv.Path = abs
	return inv, nil
}

// Parse is Load on bytes already read: name is the file name used in
// messages (and stored as Inventory.Path), dir the directory relative paths
// resolve against. A nil lookupEnv means os.LookupEnv.
func Parse(name, dir string, data []byte, lookupEnv func(string) (string, bool), opts Options) (*Inventory, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, Errors{{File: name, Msg: fmt.Sprintf("cannot make directory %q absolute: %v", dir, err)}}
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, Errors{syntaxError(name, data, err)}
	}
	d := &decoder{file: name, dir: absDir, lines: indexLines(string(data)), lookupEnv: lookupEnv, opts: opts}
	inv := d.decode(raw)
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, d.errs
	}
	inv.Path, inv.Dir, inv.Warnings, inv.lines = name, absDir, d.warnings, d.lines
	return inv, nil
}

// syntaxError turns a TOML decoding error into an Error.
func syntaxError(name string, data []byte, err error) *Error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{File: name, Msg: "TOML error: " + err.Error()}
	}
	line := pe.Position.Line
	if start := pe.Position.Start; start >= 0 && start < len(data) {
		// An error found at a newline belongs to the line it ends, not to the next one.
		line = bytes.Count(data[:start], []byte("\n")) + 1
	}
	msg := quotedText.ReplaceAllString(strings.TrimSuffix(pe.Message, "."), "…")
	return &Error{File: name, Line: line, Msg: "TOML syntax error: " + msg + ": fix the syntax on this line (its text is not shown: it may be an unquoted password)"}
}

// quotedText is what a TOML parser's message quotes from the file, which
// may be a password written without quotes (password = s3cret).
var quotedText = regexp.MustCompile(`"[^"]*"|'[^']*'`)

// cause strips the path from file errors that already name it.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Manager returns the first node with role "manager", or nil.
func (inv *Inventory) Manager() *Node {
	for i := range inv.Nodes {
		if inv.Nodes[i].Role == RoleManager {
			return &inv.Nodes[i]
		}
	}
	return nil
}

// Node returns the node called name, or nil.
func (inv *Inventory) Node(name string) *Node {
	for i := range inv.Nodes {
		if inv.Nodes[i].Name == name {
			return &inv.Nodes[i]
		}
	}
	return nil
}

// WKAMembers returns the well-known members (wka = true), in file order.
func (inv *Inventory) WKAMembers() []Node {
	var wka []Node
	for _, n := range inv.Nodes {
		if n.WKA {
			wka = append(wka, n)
		}
	}
	return wka
}

// Secrets returns every non-empty secret value, for masking output.
func (inv *Inventory) Secrets() []string {
	var out []string
	list := []Secret{inv.Database.AdminPassword, inv.Database.Password, inv.DepSync.SvnPassword, inv.Product.AdminPassword, inv.SSH.BecomePassword}
	for _, p := range inv.Products {
		list = append(list, p.AdminPassword)
	}
	if lb := inv.LoadBalancer; lb != nil && lb.TruststorePassword.Source != "default" {
		// The stock password is public, and masking it would garble
		// file names such as wso2carbon.log.
		list = append(list, lb.TruststorePassword)
	}
	for _, s := range list {
		if s.Value != "" {
			out = append(out, s.Value)
		}
	}
	return out
}
