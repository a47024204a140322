package inventory

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/carbonctl/carbonctl/pkg/certs"
)

// decode builds the Inventory from the generic TOML tree.
func (d *decoder) decode(raw map[string]any) *Inventory {
	root := &table{d: d, header: "the top level", m: raw, exists: true}
	cl, pr, ss, db := root.sub("cluster"), root.sub("product"), root.sub("ssh"), root.sub("database")
	inv := &Inventory{
		Cluster:  d.cluster(cl),
		Products: d.products(root.sub("products")),
		SSH:      d.ssh(ss),
		Database: d.database(db),
		Vars:     root.vars("vars"),
	}
	if pr.exists || len(inv.Products) == 0 {
		inv.Product = d.productTable(pr, false)
	}
	if lb := root.sub("loadbalancer"); lb.exists {
		inv.LoadBalancer = d.loadBalancer(lb)
	}
	inv.DepSync = d.depSync(root.sub("depsync"))
	inv.Java = d.java(root.sub("java"))
	tabs := root.array("node")
	valid := make([]bool, len(tabs))
	for i, t := range tabs {
		before := len(d.errs)
		inv.Nodes = append(inv.Nodes, d.node(t, i, inv, pr.exists))
		valid[i] = len(d.errs) == before
	}
	root.finish()
	d.checkNodes(inv, tabs, valid, root)
	d.checkVia(inv, db)
	d.checkSSH(inv, tabs, valid, root.sub("loadbalancer"))
	return inv
}

// cluster decodes [cluster].
func (d *decoder) cluster(t *table) Cluster {
	c := Cluster{
		Name:     t.required("name", `"esb-lab"`),
		Playbook: t.str("playbook", ""),
		Domain:   t.str("domain", ""),
	}
	if c.Name != "" {
		t.match("name", c.Name, clusterName, "use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 64 characters)")
	}
	if c.Playbook != "" {
		c.Playbook = d.playbook(t, c.Playbook)
	}
	if _, set := t.m["domain"]; set && isString(t.m["domain"]) {
		t.match("domain", c.Domain, clusterDom, "use letters, digits, '.', '_' and '-', e.g. domain = \"wso2.esb.domain\", or remove the key to use the playbook's default")
	}
	t.finish()
	return c
}

// playbook resolves cluster.playbook: a built-in name or a file path.
func (d *decoder) playbook(t *table, p string) string {
	if strings.Contains(p, "/") || strings.HasSuffix(p, ".toml") {
		return d.localFile(t, "playbook", p, "playbook file")
	}
	t.match("playbook", p, playbookName, "write a built-in playbook name such as \"esb-worker-manager\", or a path to a playbook file (containing / or ending in .toml)")
	return p
}

// secretKey is the key a secret was read from: KEY_env, KEY_file or KEY.
func secretKey(key string, s Secret) string {
	switch {
	case strings.HasPrefix(s.Source, "env:"):
		return key + "_env"
	case strings.HasPrefix(s.Source, "file:"):
		return key + "_file"
	}
	return key
}

// carbonPassword is Carbon's default password policy (user-mgt.xml
// PasswordJavaRegEx).
var carbonPassword = regexp.MustCompile(`^\S{5,30}$`)

// productTable decodes [product] or, withPlaybook, a [products.KEY] table.
func (d *decoder) productTable(t *table, withPlaybook bool) Product {
	p := Product{
		Archive: t.required("archive", `"wso2esb-4.9.0.zip"`),
		Home:    t.required("home", `"/opt/wso2esb-4.9.0"`),
		User:    t.str("user", "wso2"),
	}
	p.Group = t.str("group", p.User)
	if p.Archive != "" {
		p.Archive = d.localFile(t, "archive", p.Archive, "product archive")
	}
	p.Home = t.remoteHome("home", p.Home)
	const rule = "write a Linux user or group name: lower-case letters, digits, '_' and '-', starting with a letter or '_' (at most 32 characters)"
	t.match("user", p.User, osUser, rule)
	t.match("group", p.Group, osUser, rule)
	p.AdminPassword = t.optionalSecret("admin_password", "")
	if v := p.AdminPassword.Value; v != "" && !carbonPassword.MatchString(v) {
		// Carbon refuses, at its first start, an admin password outside
		// its default policy (user-mgt.xml PasswordJavaRegEx).
		t.errorf(secretKey("admin_password", p.AdminPassword), "the admin console password must be 5 to 30 characters without spaces (Carbon's default password policy, user-mgt.xml PasswordJavaRegEx ^[\\S]{5,30}$)")
		p.AdminPassword = Secret{}
	}
	if withPlaybook {
		if pb := t.str("playbook", ""); pb != "" {
			p.Playbook = d.playbook(t, pb)
		}
	}
	t.finish()
	return p
}

// ssh decodes [ssh].
func (d *decoder) ssh(t *table) SSH {
	s := SSH{
		User:           t.str("user", "root"),
		Port:           t.int("port", 22, 1, 65535),
		IdentityFile:   t.str("identity_file", ""),
		KnownHosts:     t.str("known_hosts", ""),
		UseAgent:       t.bool("use_agent", true),
		ConnectTimeout: t.duration("connect_timeout", 10*time.Second),
		AliveInterval:  t.duration("server_alive_interval", 10*time.Second),
		AliveCountMax:  t.int("server_alive_count_max", 3, 1, 100),
		CommandTimeout: t.duration("command_timeout", 30*time.Minute),
	}
	t.match("user", s.User, sshUser, "write the login name used on the nodes, e.g. user = \"root\"")
	if s.IdentityFile != "" {
		s.IdentityFile = d.localFile(t, "identity_file", s.IdentityFile, "SSH identity file")
	}
	s.config = d.sshConfigKey(t)
	if s.config != nil {
		s.Config = s.config.path
	}
	s.ProxyJump = t.str("proxy_jump", "")
	checkJumpKey(t, "proxy_jump", s.ProxyJump)
	s.BecomePassword = d.becomePassword(t)
	s.Set = HostSSH{IdentityFile: s.IdentityFile, ProxyJump: s.ProxyJump}
	if _, set := t.m["user"]; set {
		s.Set.User = s.User
	}
	if _, set := t.m["port"]; set {
		s.Set.Port = s.Port
	}
	s.KnownHosts = d.knownHosts(t, s.KnownHosts, s)
	t.finish()
	return s
}

// knownHosts resolves ssh.known_hosts, defaulting to the ssh_config's
// UserKnownHostsFile for every host (Host *), else ~/.ssh/known_hosts.
func (d *decoder) knownHosts(t *table, p string, s SSH) string {
	if p != "" {
		abs, _ := d.resolvePath(t, "known_hosts", p)
		return abs
	}
	if _, set := t.m["known_hosts"]; set {
		return "" // present but empty or mistyped: already reported
	}
	if f := s.config.knownHosts("*"); f != "" {
		return f
	}
	home, ok := d.lookupEnv("HOME")
	if !ok || home == "" {
		t.errorf("known_hosts", "HOME is not set, so the default ~/.ssh/known_hosts cannot be found: set known_hosts to an absolute path or set HOME")
		return ""
	}
	return strings.TrimSuffix(home, "/") + "/.ssh/known_hosts"
}

// database decodes [database].
func (d *decoder) database(t *table) Database {
	db := Database{
		Host:          t.required("host", `"198.18.0.10"`),
		Port:          t.int("port", 3306, 1, 65535),
		AdminUser:     t.str("admin_user", "root"),
		AdminPassword: t.secret("admin_password"),
		User:          t.required("user", `"regadmin"`),
		Password:      t.secret("password"),
		UserHost:      t.str("user_host", "%"),
		Alias:         t.str("alias", ""),
		JDBCDriver:    t.required("jdbc_driver", `"mysql-connector-java-5.1.49-bin.jar"`),
		Via:           t.str("via", ""),
		UserDB:        t.str("user_db", "WSO2_USER_DB"),
		RegistryDB:    t.str("registry_db", "REGISTRY_DB"),
		LocalDBPrefix: t.str("local_db_prefix", "REGISTRY_LOCAL"),
		CharacterSet:  t.str("character_set", ""),
	}
	t.checkIP("host", db.Host, "the guides map the database's name to its IP in /etc/hosts: write the IP here and put the name in alias")
	d.databaseNames(t, &db)
	if db.Alias != "" {
		t.checkDNSName("alias", db.Alias, "carbondb.mysql-wso2.com")
	}
	d.databaseTLS(t, &db)
	if db.JDBCDriver != "" {
		db.JDBCDriver = d.localFile(t, "jdbc_driver", db.JDBCDriver, "JDBC driver")
		if !strings.HasSuffix(db.JDBCDriver, ".jar") {
			t.errorf("jdbc_driver", "%s is not a .jar file: point jdbc_driver at the MySQL Connector/J jar", db.JDBCDriver)
		}
	}
	t.finish()
	return db
}

// databaseNames checks the accounts and database names of [database].
func (d *decoder) databaseNames(t *table, db *Database) {
	const userRule = "use letters, digits, '_', '.' and '-' (at most 32 characters)"
	t.match("admin_user", db.AdminUser, dbUser, userRule)
	if db.User != "" && t.match("user", db.User, dbUser, userRule) && db.User == db.AdminUser {
		t.errorf("user", "is the same account as admin_user: carbonctl creates user for the Carbon databases, so give it its own name, e.g. user = \"regadmin\"")
	}
	t.match("user_host", db.UserHost, dbHostPart, "write the host part of the account: \"%\" (any host), an IP, a pattern like \"198.18.0.%\" or a name")
	const identRule = "use letters, digits and '_' (at most 64 characters)"
	t.match("user_db", db.UserDB, dbIdent, identRule)
	t.match("registry_db", db.RegistryDB, dbIdent, identRule)
	t.match("local_db_prefix", db.LocalDBPrefix, dbPrefix, "use letters, digits and '_' (at most 56 characters; the node number is appended)")
	if db.CharacterSet != "" {
		t.match("character_set", db.CharacterSet, charset, "write a MySQL character set name such as \"latin1\" or \"utf8\", or remove the key for the server default")
	}
}

// loadBalancer decodes [loadbalancer].
func (d *decoder) loadBalancer(t *table) *LoadBalancer {
	lb := &LoadBalancer{
		Host:            t.required("host", `"198.18.0.5"`),
		ServiceHostName: t.required("service_host_name", `"esb.wso2.com"`),
		MgtHostName:     t.required("mgt_host_name", `"mgt.esb.wso2.com"`),
		HTTPPort:        t.int("http_port", 80, 1, 65535),
		HTTPSPort:       t.int("https_port", 443, 1, 65535),
	}
	t.checkHost("host", lb.Host, `"198.18.0.5" or "lb1.example.com"`)
	svc := lb.ServiceHostName != "" && t.checkDNSName("service_host_name", lb.ServiceHostName, "esb.wso2.com")
	mgt := lb.MgtHostName != "" && t.checkDNSName("mgt_host_name", lb.MgtHostName, "mgt.esb.wso2.com")
	if svc && mgt && strings.EqualFold(lb.ServiceHostName, lb.MgtHostName) {
		t.errorf("mgt_host_name", "is the same as service_host_name: the load balancer tells the manager from the workers by host name, so use two names, e.g. mgt.esb.wso2.com and esb.wso2.com")
	}
	if lb.HTTPPort == lb.HTTPSPort {
		t.errorf("https_port", "is the same as http_port (%d): use two different ports, e.g. 80 and 443", lb.HTTPPort)
	}
	lb.SessionAffinity = t.bool("session_affinity", true)
	d.lbCertificate(t, lb)
	lb.TruststorePassword = t.optionalSecret("truststore_password", DefaultTruststorePassword)
	lb.TruststoreAlias = t.str("truststore_alias", "carbonctl-lb")
	t.match("truststore_alias", lb.TruststoreAlias, keystoreAlias, "use lower-case letters, digits, '.', '_' and '-' (keytool stores aliases in lower case), at most 64 characters")
	lb.MgtAllow = t.networks("mgt_allow", `["198.18.0.0/24"]`)
	lb.SSH = d.hostSSH(t)
	t.finish()
	return lb
}

// networks returns the list of networks (CIDR, or a bare address for one
// host) under key; example is shown when it is not a list of strings.
func (t *table) networks(key, example string) []netip.Prefix {
	list, set, ok := t.strList(key, example)
	if !ok {
		return nil
	}
	var out []netip.Prefix
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				t.errorf(key, "%q is not a network: write CIDR notation, e.g. %s, or one IP address", s, example)
				return nil
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p != p.Masked() {
			t.errorf(key, "%q has host bits set: write the network, %s", s, p.Masked())
			return nil
		}
		out = append(out, p)
	}
	if set && len(out) == 0 {
		t.errorf(key, "is empty, which would lock everyone out of the management console: list the operators' networks, e.g. mgt_allow = %s, or remove the key", example)
	}
	return out
}

// lbCertificate decodes the certificate keys of [loadbalancer]: either an
// operator's cert_file and key_file, or how to generate one.
func (d *decoder) lbCertificate(t *table, lb *LoadBalancer) {
	lb.CertSubject = t.str("cert_subject", "")
	lb.CertDays = t.int("cert_days", 365, 60, 3650)
	kt := t.str("cert_key_type", string(certs.RSA2048))
	if k, err := certs.ParseKeyType(kt); err != nil {
		if isString(t.m["cert_key_type"]) {
			t.errorf("cert_key_type", "%v: RSA keys under 2048 bits are refused", err)
		}
	} else {
		lb.CertKeyType = k
	}
	if lb.CertSubject != "" {
		checkSubject(t, lb.CertSubject)
	}
	certFile, keyFile := t.str("cert_file", ""), t.str("key_file", "")
	switch {
	case certFile != "" && keyFile != "":
		lb.CertFile = d.localFile(t, "cert_file", certFile, "certificate file")
		lb.KeyFile = d.localFile(t, "key_file", keyFile, "private key file")
		for _, k := range []string{"cert_subject", "cert_days", "cert_key_type"} {
			if _, set := t.m[k]; set {
				t.errorf(k, "is set together with cert_file: carbonctl installs the certificate you provide instead of generating one, so remove %s", k)
			}
		}
	case certFile != "":
		t.errorf("cert_file", "is set without key_file: set key_file = \"path\" to the certificate's private key, or remove cert_file to let carbonctl generate a certificate")
	case keyFile != "":
		t.errorf("key_file", "is set without cert_file: set cert_file = \"path\" to the certificate (PEM), or remove key_file to let carbonctl generate a certificate")
	}
}

// checkSubject validates cert_subject: /ATTR=value pairs, without CN.
func checkSubject(t *table, subject string) {
	if !subjectRE.MatchString(subject) {
		t.errorf("cert_subject", "%q is not valid: write /ATTR=value pairs with ATTR one of C, ST, L, O, OU, emailAddress, e.g. cert_subject = \"/C=LK/O=WSO2/OU=Integration\" (values without / = $ \" \\ #)", subject)
		return
	}
	for _, part := range strings.Split(subject[1:], "/") {
		k, v, _ := strings.Cut(part, "=")
		if k == "C" && !countryRE.MatchString(v) {
			t.errorf("cert_subject", "C=%s is not a two-letter country code, e.g. C=LK", v)
		}
	}
}

// node decodes the i-th (0-based) [[node]] table.
func (d *decoder) node(t *table, i int, inv *Inventory, hasDefault bool) Node {
	n := Node{
		Name:            t.required("name", `"mgr1"`),
		Host:            t.required("host", `"198.18.0.21"`),
		Role:            t.required("role", `"manager"`),
		WKA:             t.bool("wka", false),
		PortOffset:      t.int("port_offset", 0, 0, 1000),
		LocalMemberPort: t.int("local_member_port", 4100, 1, 65535),
		LocalRegistryDB: t.str("local_registry_db", ""),
		Home:            t.str("home", ""),
		Product:         t.str("product", ""),
		Vars:            t.vars("vars"),
		Line:            t.line,
		SSH:             d.hostSSH(t),
	}
	t.nodeProduct(&n, inv, hasDefault)
	if n.Name == "lb" {
		t.errorf("name", "\"lb\" is reserved for the [loadbalancer] (database.via = \"lb\"): rename the node")
	} else if n.Name != "" {
		t.match("name", n.Name, nodeName, "use lower-case letters, digits and '-', starting with a letter or digit (at most 32 characters)")
	}
	t.checkHost("host", n.Host, `"198.18.0.21" or "esb1.example.com"`)
	if n.Role != "" && n.Role != RoleManager && n.Role != RoleWorker {
		t.errorf("role", "unknown role %q (want manager or worker)", n.Role)
	}
	d.nodeDB(t, i, &n, inv.Database)
	if _, set := t.m["home"]; set {
		n.Home = t.remoteHome("home", n.Home)
	} else {
		n.Home = inv.ProductOf(n).Home
	}
	t.finish()
	return n
}

// nodeDB sets and checks the node's local registry database name.
func (d *decoder) nodeDB(t *table, i int, n *Node, db Database) {
	if _, set := t.m["local_registry_db"]; set {
		t.match("local_registry_db", n.LocalRegistryDB, dbIdent, "use letters, digits and '_' (at most 64 characters)")
		return
	}
	if dbPrefix.MatchString(db.LocalDBPrefix) {
		n.LocalRegistryDB = db.LocalDBPrefix + strconv.Itoa(i+1)
	}
}
