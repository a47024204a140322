package inventory

import (
	"strconv"
	"strings"
	"testing"
)

// want is one expected problem: the line is the first line of the
// inventory containing marker ("" = no line), msg a substring of Error.Msg.
type want struct {
	marker, key, msg string
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(p *parts)
		raw   string // used instead of the edited default inventory when set
		wants []want
	}{
		// TOML itself.
		{
			name:  "syntax error",
			raw:   "[cluster]\nname = \"esb-lab\"\n\n[product]\nhome = /opt/wso2 # bad\n",
			wants: []want{{"# bad", "", "TOML syntax error"}},
		},
		{
			name:  "duplicate key is a syntax error",
			raw:   "[cluster]\nname = \"a\"\nname = \"b\" # dup\n",
			wants: []want{{"# dup", "", "TOML syntax error"}},
		},

		// Unknown keys, with the right line even when the key is repeated.
		{
			name: "misspelt key in the second and third node",
			edit: func(p *parts) {
				p.nodes = node("mgr1", "198.18.0.21", "manager", "wka = true", "port_offset = 0") +
					node("wkr1", "198.18.0.22", "worker", "portoffset = 1 # second") +
					node("wkr2", "198.18.0.23", "worker", "portoffset = 2 # third")
			},
			wants: []want{
				{"# second", "node[2].portoffset", `unknown key: did you mean "port_offset"?`},
				{"# third", "node[3].portoffset", `did you mean "port_offset"?`},
			},
		},
		{
			name:  "unknown key in a table",
			edit:  func(p *parts) { p.product += "usr = \"wso2\" # here\n" },
			wants: []want{{"# here", "product.usr", `did you mean "user"?`}},
		},
		{
			name:  "unknown key without a near match lists the valid keys",
			edit:  func(p *parts) { p.ssh = "[ssh]\nbanana = 1 # here\n" },
			wants: []want{{"# here", "ssh.banana", "unknown key: remove it or fix its name (valid keys of [ssh]: user, port, identity_file"}},
		},
		{
			name:  "unknown table",
			edit:  func(p *parts) { p.lb = "[loadbalancr] # here\nhost = \"198.18.0.5\"\n" },
			wants: []want{{"# here", "loadbalancr", `unknown table: did you mean "loadbalancer"?`}},
		},
		{
			name:  "unknown sub-table",
			edit:  func(p *parts) { p.database += "[database.pool] # here\nsize = 5\n" },
			wants: []want{{"# here", "database.pool", "unknown key"}},
		},
		{
			name:  "unknown top-level key",
			raw:   "clustr_name = \"esb-lab\" # here\n" + defaultParts().doc(),
			wants: []want{{"# here", "clustr_name", "unknown top-level key: remove it or fix its name (valid tables: cluster, product, ssh, database, products, vars, loadbalancer, depsync, java, node)"}},
		},
		{
			name:  "unknown dotted key",
			edit:  func(p *parts) { p.cluster += "extra.thing = 1 # here\n" },
			wants: []want{{"# here", "cluster.extra", "unknown key"}},
		},

		// Types.
		{
			name:  "string where an integer is expected",
			edit:  func(p *parts) { p.database += "port = \"3307\" # here\n" },
			wants: []want{{"# here", "database.port", `is a string ("3307"), want an integer: write port = 3307 without quotes`}},
		},
		{
			name:  "float where an integer is expected",
			edit:  func(p *parts) { p.ssh = "[ssh]\nport = 22.5 # here\n" },
			wants: []want{{"# here", "ssh.port", "is a float (22.5), want an integer"}},
		},
		{
			name:  "string where a boolean is expected",
			edit:  func(p *parts) { p.nodes = node("mgr1", "198.18.0.21", "manager", "wka = \"true\" # here") },
			wants: []want{{"# here", "node[1].wka", "want a boolean: write wka = true without quotes"}},
		},
		{
			name:  "integer where a string is expected",
			edit:  func(p *parts) { p.cluster = "[cluster]\nname = 42 # here\n" },
			wants: []want{{"# here", "cluster.name", `is an integer (42), want a string: put the value in double quotes, e.g. name = "42"`}},
		},
		{
			name:  "integer timeout",
			edit:  func(p *parts) { p.ssh = "[ssh]\nconnect_timeout = 10 # here\n" },
			wants: []want{{"# here", "ssh.connect_timeout", `connect_timeout = "10s"`}},
		},
		{
			name:  "bad timeout",
			edit:  func(p *parts) { p.ssh = "[ssh]\nconnect_timeout = \"ten seconds\" # here\n" },
			wants: []want{{"# here", "ssh.connect_timeout", "is not a positive duration"}},
		},
		{
			name:  "keepalive count out of range",
			edit:  func(p *parts) { p.ssh = "[ssh]\nserver_alive_count_max = 0 # here\n" },
			wants: []want{{"# here", "ssh.server_alive_count_max", "1"}},
		},
		{
			name:  "keepalive interval without a unit",
			edit:  func(p *parts) { p.ssh = "[ssh]\nserver_alive_interval = 10 # here\n" },
			wants: []want{{"# here", "ssh.server_alive_interval", `server_alive_interval = "10s"`}},
		},
		{
			name:  "table where a value is expected",
			edit:  func(p *parts) { p.cluster = "cluster = \"esb-lab\" # here\n" },
			wants: []want{{"# here", "cluster", "want a table: write [cluster]"}},
		},
		{
			name: "single [node] table",
			edit: func(p *parts) {
				p.nodes = "[node] # here\nname = \"mgr1\"\nhost = \"198.18.0.21\"\nrole = \"manager\"\n"
			},
			wants: []want{{"# here", "node", "write [[node]] with two brackets"}},
		},
		{
			name: "numeric secret is not echoed",
			edit: func(p *parts) {
				p.database = "[database]\nhost = \"198.18.0.10\"\nadmin_password = 123456 # here\nuser = \"regadmin\"\npassword_env = \"APP_PW\"\njdbc_driver = \"driver.jar\"\n"
			},
			wants: []want{{"# here", "database.admin_password", "is an integer, want a string"}},
		},
		{
			name:  "port out of range",
			edit:  func(p *parts) { p.nodes = node("mgr1", "198.18.0.21", "manager", "port_offset = 1001 # here") },
			wants: []want{{"# here", "node[1].port_offset", "1001 is out of range: use a value from 0 to 1000"}},
		},

		// Missing keys and values.
		{
			name: "missing required keys",
			edit: func(p *parts) {
				p.cluster = "[cluster] # cluster\n"
				p.product = "[product] # product\n"
				p.database = "[database] # database\n"
			},
			wants: []want{
				{"# cluster", "cluster.name", `missing: add name = "esb-lab" to [cluster]`},
				{"# product", "product.archive", "missing: add archive ="},
				{"# product", "product.home", "missing: add home ="},
				{"# database", "database.host", "missing: add host ="},
				{"# database", "database.admin_password", "missing: add admin_password_env"},
				{"# database", "database.user", "missing: add user ="},
				{"# database", "database.password", "missing: add password_env"},
				{"# database", "database.jdbc_driver", "missing: add jdbc_driver ="},
			},
		},
		{
			name: "missing tables",
			edit: func(p *parts) { p.cluster, p.database = "", "" },
			wants: []want{
				{"", "cluster.name", "missing: add a [cluster] table with name ="},
				{"", "database.host", "missing: add a [database] table"},
				{"", "database.admin_password", "missing: add a [database] table"},
				{"", "database.user", "missing: add a [database] table"},
				{"", "database.password", "missing: add a [database] table"},
				{"", "database.jdbc_driver", "missing: add a [database] table"},
			},
		},
		{
			name:  "no nodes",
			edit:  func(p *parts) { p.nodes = "" },
			wants: []want{{"", "node", "no [[node]] tables: add one [[node]] table per server"}},
		},
		{
			name:  "missing node keys",
			edit:  func(p *parts) { p.nodes = "[[node]] # here\nname = \"mgr1\"\n" },
			wants: []want{{"# here", "node[1].host", "missing: add host ="}, {"# here", "node[1].role", "missing: add role ="}},
		},
		{
			name:  "empty value",
			edit:  func(p *parts) { p.cluster = "[cluster]\nname = \"\" # here\n" },
			wants: []want{{"# here", "cluster.name", `is empty: set it, e.g. name = "esb-lab"`}},
		},

		// Nodes.
		{
			name: "duplicate node names",
			edit: func(p *parts) {
				p.nodes = node("mgr1", "198.18.0.21", "manager") + "[[node]]\nname = \"mgr1\" # here\nhost = \"198.18.0.22\"\nrole = \"worker\"\n"
			},
			wants: []want{{"# here", "node[2].name", `duplicate node name "mgr1" (node[1] at line`}},
		},
		{
			name: "unknown role",
			edit: func(p *parts) {
				p.nodes = node("mgr1", "198.18.0.21", "manager") + node("wkr1", "198.18.0.22", "wroker")
			},
			wants: []want{{`"wroker"`, "node[2].role", `unknown role "wroker" (want manager or worker)`}},
		},
		{
			name: "no manager",
			edit: func(p *parts) {
				p.nodes = "# nodes\n" + node("wkr1", "198.18.0.21", "worker") + node("wkr2", "198.18.0.22", "worker")
			},
			wants: []want{{"[[node]]", "node", `no node has role = "manager"`}},
		},
		{
			name:  "bad node name",
			edit:  func(p *parts) { p.nodes = node("Mgr_1", "198.18.0.21", "manager") },
			wants: []want{{`"Mgr_1"`, "node[1].name", "use lower-case letters, digits and '-'"}},
		},
		{
			name:  "reserved node name",
			edit:  func(p *parts) { p.nodes = node("lb", "198.18.0.21", "manager") },
			wants: []want{{`"lb"`, "node[1].name", "reserved"}},
		},
		{
			name:  "node host neither address nor name",
			edit:  func(p *parts) { p.nodes = node("mgr1", "esb_1.example.com", "manager") },
			wants: []want{{"esb_1", "node[1].host", `"esb_1.example.com" is neither an IP address nor a DNS name: write the machine's address or name`}},
		},
		{
			name:  "node host garbage",
			edit:  func(p *parts) { p.nodes = node("mgr1", "198.18.0.300", "manager") },
			wants: []want{{"300", "node[1].host", "is neither an IP address nor a DNS name"}},
		},
		{
			name:  "unspecified address",
			edit:  func(p *parts) { p.nodes = node("mgr1", "0.0.0.0", "manager") },
			wants: []want{{"0.0.0.0", "node[1].host", "cannot be a host's address"}},
		},
		{
			name:  "relative node home",
			edit:  func(p *parts) { p.nodes = node("mgr1", "198.18.0.21", "manager", "home = \"wso2\"") },
			wants: []want{{`"wso2"`, "node[1].home", "is a relative path"}},
		},

		// Two nodes on one host.
		{
			name: "shared host with the same port offset",
			edit: func(p *parts) {
				p.nodes = node("mq1", "198.18.0.31", "manager", "wka = true") +
					node("mq2", "198.18.0.31", "worker", "local_member_port = 4101", "home = \"/opt/b\"")
			},
			wants: []want{{"# mq2", "node[2].port_offset", "nodes mq1 and mq2 on 198.18.0.31 both use port offset 0: set port_offset on one of them (the ports 9443+offset, 9763+offset, 8280+offset, 8243+offset would clash)"}},
		},
		{
			name: "shared host with the same local member port",
			edit: func(p *parts) {
				p.nodes = node("mq1", "198.18.0.31", "manager", "wka = true") +
					node("mq2", "198.18.0.31", "worker", "port_offset = 1 # here", "home = \"/opt/b\"")
			},
			wants: []want{{"# mq2", "node[2].local_member_port", "nodes mq1 and mq2 on 198.18.0.31 both use local_member_port 4100: set local_member_port on one of them"}},
		},
		{
			name: "shared host with the same home",
			edit: func(p *parts) {
				p.nodes = node("mq1", "198.18.0.31", "manager", "wka = true") +
					node("mq2", "198.18.0.31", "worker", "port_offset = 1", "local_member_port = 4101")
			},
			wants: []want{{"# mq2", "node[2].home", "nodes mq1 and mq2 on 198.18.0.31 both use home /opt/wso2esb-4.9.0: two servers cannot share a CARBON_HOME"}},
		},
		{
			name: "shared host with nested homes",
			edit: func(p *parts) {
				p.nodes = node("mq1", "198.18.0.31", "manager", "wka = true", `home = "/opt/a"`) +
					node("mq2", "198.18.0.31", "worker", "port_offset = 1", "local_member_port = 4101", `home = "/opt/a/b" # here`)
			},
			wants: []want{{"# here", "node[2].home", "nodes mq1 and mq2 on 198.18.0.31 have nested homes (/opt/a/b is inside /opt/a)"}},
		},
		{
			name: "local member port is one of the node's own ports",
			edit: func(p *parts) {
				p.nodes = node("mgr1", "198.18.0.21", "manager", "wka = true", "port_offset = 1", "local_member_port = 9444 # here") +
					node("wkr1", "198.18.0.22", "worker", "local_member_port = 8280 # second")
			},
			wants: []want{
				{"# here", "node[1].local_member_port", "9444 is also the node's own port 9443+1"},
				{"# second", "node[2].local_member_port", "8280 is also the node's own port 8280+0"},
			},
		},
		{
			name: "shared host with offsets 320 apart",
			edit: func(p *parts) {
				p.nodes = node("mq1", "198.18.0.31", "manager", "wka = true") +
					node("mq2", "198.18.0.31", "worker", "port_offset = 320 # here", "local_member_port = 4101", "home = \"/opt/b\"")
			},
			wants: []want{{"# here", "node[2].port_offset", "nodes mq1 and mq2 on 198.18.0.31 would both use port 9763 (mq1: 9763+0, mq2: 9443+320)"}},
		},
		{
			name: "shared host written two ways (IPv6)",
			edit: func(p *parts) {
				p.nodes = node("mq1", "2001:db8::31", "manager", "wka = true") +
					node("mq2", "2001:DB8:0:0::31", "worker", "local_member_port = 4101", "home = \"/opt/b\"")
			},
			wants: []want{{"# mq2", "node[2].port_offset", "both use port offset 0"}},
		},

		// Database.
		{
			name: "database host name",
			edit: func(p *parts) {
				p.database = strings.Replace(p.database, `"198.18.0.10"`, `"carbondb.mysql-wso2.com"`, 1)
			},
			wants: []want{{"carbondb", "database.host", "is a host name, not an IP address: the guides map the database's name to its IP in /etc/hosts: write the IP here and put the name in alias"}},
		},
		{
			name: "bad database identifiers",
			edit: func(p *parts) {
				p.database += "user_db = \"WSO2-USER\" # u\nregistry_db = \"" + strings.Repeat("R", 65) + "\" # r\nlocal_db_prefix = \"LOCAL REG\" # l\n"
			},
			wants: []want{
				{"# u", "database.user_db", `"WSO2-USER" is not valid: use letters, digits and '_'`},
				{"# r", "database.registry_db", "is not valid"},
				{"# l", "database.local_db_prefix", "is not valid"},
			},
		},
		{
			name:  "bad app user",
			edit:  func(p *parts) { p.database = strings.Replace(p.database, `"regadmin"`, `"reg admin"`, 1) },
			wants: []want{{"reg admin", "database.user", `"reg admin" is not valid: use letters, digits, '_', '.' and '-' (at most 32 characters)`}},
		},
		{
			name: "app user too long",
			edit: func(p *parts) {
				p.database = strings.Replace(p.database, `"regadmin"`, `"`+strings.Repeat("u", 33)+`"`, 1)
			},
			wants: []want{{"uuuu", "database.user", "at most 32 characters"}},
		},
		{
			name:  "app user is the admin",
			edit:  func(p *parts) { p.database = strings.Replace(p.database, `"regadmin"`, `"root"`, 1) },
			wants: []want{{`"root"`, "database.user", "is the same account as admin_user"}},
		},
		{
			name:  "bad local registry database",
			edit:  func(p *parts) { p.nodes = node("mgr1", "198.18.0.21", "manager", "local_registry_db = \"LOCAL-1\"") },
			wants: []want{{"LOCAL-1", "node[1].local_registry_db", "is not valid"}},
		},
		{
			name: "local registry database shared",
			edit: func(p *parts) {
				p.nodes = node("mgr1", "198.18.0.21", "manager") + node("wkr1", "198.18.0.22", "worker", "local_registry_db = \"registry_local1\"")
			},
			wants: []want{{"registry_local1", "node[2].local_registry_db", `local registry database "registry_local1" is also used by node mgr1`}},
		},
		{
			name: "local registry database is the registry database",
			edit: func(p *parts) {
				p.nodes = node("mgr1", "198.18.0.21", "manager", "local_registry_db = \"REGISTRY_DB\"")
			},
			wants: []want{{"local_registry_db", "node[1].local_registry_db", "is also the user or registry database"}},
		},
		{
			name:  "bad alias",
			edit:  func(p *parts) { p.database += "alias = \"carbon_db.example\" # here\n" },
			wants: []want{{"# here", "database.alias", "is not a DNS name"}},
		},
		{
			name:  "via names no node",
			edit:  func(p *parts) { p.database += "via = \"wkr9\" # here\n" },
			wants: []want{{"# here", "database.via", `"wkr9" is not a node: set via to one of "mgr1", "wkr1", or remove it`}},
		},
		{
			name:  "via lb without a load balancer",
			edit:  func(p *parts) { p.database += "via = \"lb\" # here\n" },
			wants: []want{{"# here", "database.via", `is "lb" but there is no [loadbalancer] table`}},
		},

		// Files.
		{
			name:  "missing archive",
			edit:  func(p *parts) { p.product = strings.Replace(p.product, "archive.zip", "nope.zip", 1) },
			wants: []want{{"nope.zip", "product.archive", "nope.zip: no such file or directory: fix the path"}},
		},
		{
			name:  "archive is a directory",
			edit:  func(p *parts) { p.product = strings.Replace(p.product, "archive.zip", "sub", 1) },
			wants: []want{{`"sub"`, "product.archive", "is not a regular file"}},
		},
		{
			name:  "missing driver",
			edit:  func(p *parts) { p.database = strings.Replace(p.database, "driver.jar", "/no/such/driver.jar", 1) },
			wants: []want{{"driver.jar", "database.jdbc_driver", "/no/such/driver.jar: no such file or directory"}},
		},
		{
			name:  "driver is not a jar",
			edit:  func(p *parts) { p.database = strings.Replace(p.database, "driver.jar", "archive.zip", 1) },
			wants: []want{{"jdbc_driver", "database.jdbc_driver", "is not a .jar file"}},
		},
		{
			name:  "relative product home",
			edit:  func(p *parts) { p.product = strings.Replace(p.product, "/opt/wso2esb-4.9.0", "opt/wso2esb", 1) },
			wants: []want{{"opt/wso2esb", "product.home", `"opt/wso2esb" is a relative path: CARBON_HOME must be absolute`}},
		},
		{
			name:  "product home with a space",
			edit:  func(p *parts) { p.product = strings.Replace(p.product, "/opt/wso2esb-4.9.0", "/opt/wso2 esb", 1) },
			wants: []want{{"wso2 esb", "product.home", "no spaces"}},
		},
		{
			name:  "product home is the root",
			edit:  func(p *parts) { p.product = strings.Replace(p.product, "/opt/wso2esb-4.9.0", "/opt/..", 1) },
			wants: []want{{"/opt/..", "product.home", "is not a usable CARBON_HOME"}},
		},
		// [java].
		{
			name:  "no java table",
			edit:  func(p *parts) { p.java = "" },
			wants: []want{{"", "java", "missing: the products' start script refuses to start without JAVA_HOME: add a [java] table with archive ="}},
		},
		{
			name:  "java table without a JDK",
			edit:  func(p *parts) { p.java = "[java] # here\n" },
			wants: []want{{"# here", "java.archive", "[java] names no JDK: set archive = "}},
		},
		{
			name:  "java archive and home together",
			edit:  func(p *parts) { p.java = "[java]\narchive = \"jdk.tar.gz\"\nhome = \"/usr/lib/jvm/jdk\" # here\n" },
			wants: []want{{"# here", "java.home", "is set together with archive"}},
		},
		{
			name:  "java archive missing",
			edit:  func(p *parts) { p.java = "[java]\narchive = \"jdk-8.tar.gz\" # here\n" },
			wants: []want{{"# here", "java.archive", "JDK archive /"}},
		},
		{
			name:  "java archive is not a tarball",
			edit:  func(p *parts) { p.java = "[java]\narchive = \"archive.zip\" # here\n" },
			wants: []want{{"# here", "java.archive", "is not a .tar.gz file"}},
		},
		{
			name:  "java home relative",
			edit:  func(p *parts) { p.java = "[java]\nhome = \"usr/lib/jvm/jdk\" # here\n" },
			wants: []want{{"# here", "java.home", `"usr/lib/jvm/jdk" is a relative path: JAVA_HOME must be absolute on the nodes`}},
		},
		{
			name:  "java home with shell characters",
			edit:  func(p *parts) { p.java = "[java]\nhome = \"/usr/lib/jvm/$(id)\" # here\n" },
			wants: []want{{"# here", "java.home", "no spaces or shell characters"}},
		},
		{
			name:  "java home is the root",
			edit:  func(p *parts) { p.java = "[java]\nhome = \"/usr/..\" # here\n" },
			wants: []want{{"# here", "java.home", "is not a usable JAVA_HOME"}},
		},
		{
			name:  "java key misspelt",
			edit:  func(p *parts) { p.java = "[java]\nhome = \"/usr/lib/jvm/jdk\"\njava_home = \"/x\" # here\n" },
			wants: []want{{"# here", "java.java_home", "unknown key: remove it or fix its name (valid keys of [java]: archive, home)"}},
		},
		{
			name:  "java is not a table",
			raw:   "java = \"/usr/lib/jvm/jdk\" # here\n" + func() string { p := defaultParts(); p.java = ""; return p.doc() }(),
			wants: []want{{"# here", "java", "want a table"}},
		},
		{
			name:  "missing playbook file",
			edit:  func(p *parts) { p.cluster += "playbook = \"playbooks/custom.toml\" # here\n" },
			wants: []want{{"# here", "cluster.playbook", "playbooks/custom.toml: no such file or directory"}},
		},
		{
			name:  "bad playbook name",
			edit:  func(p *parts) { p.cluster += "playbook = \"ESB Worker\" # here\n" },
			wants: []want{{"# here", "cluster.playbook", "write a built-in playbook name"}},
		},
		{
			name:  "tilde of another user is not expanded",
			edit:  func(p *parts) { p.ssh = "[ssh]\nidentity_file = \"~bob/.ssh/id\" # here\n" },
			wants: []want{{"# here", "ssh.identity_file", "only ~/ (your own home) is expanded"}},
		},
		{
			name:  "no way to log in",
			edit:  func(p *parts) { p.ssh = "[ssh]\nuse_agent = false # here\n" },
			wants: []want{{"# here", "ssh.use_agent", "no identity_file"}},
		},

		// Secrets.
		{
			name:  "secret env var not set",
			edit:  func(p *parts) { p.database = strings.Replace(p.database, `"APP_PW"`, `"NO_SUCH_PW"`, 1) },
			wants: []want{{"NO_SUCH_PW", "database.password_env", "environment variable NO_SUCH_PW is not set: export NO_SUCH_PW"}},
		},
		{
			name:  "secret env var empty",
			edit:  func(p *parts) { p.database = strings.Replace(p.database, `"APP_PW"`, `"EMPTY_PW"`, 1) },
			wants: []want{{"EMPTY_PW", "database.password_env", "environment variable EMPTY_PW is empty"}},
		},
		{
			name:  "secret env var name invalid",
			edit:  func(p *parts) { p.database = strings.Replace(p.database, `"APP_PW"`, `"$APP_PW"`, 1) },
			wants: []want{{"$APP_PW", "database.password_env", "is not an environment variable name"}},
		},
		{
			name: "secret file unreadable",
			edit: func(p *parts) {
				p.database = strings.Replace(p.database, `password_env = "APP_PW"`, `password_file = "nope"`, 1)
			},
			wants: []want{{"nope", "database.password_file", "cannot read secret file"}},
		},
		{
			name: "secret file empty",
			edit: func(p *parts) {
				p.database = strings.Replace(p.database, `password_env = "APP_PW"`, `password_file = "newline-only"`, 1)
			},
			wants: []want{{"newline-only", "database.password_file", "is empty: write the password into it"}},
		},
		{
			name: "secret file with a second line",
			edit: func(p *parts) {
				p.database = strings.Replace(p.database, `password_env = "APP_PW"`, `password_file = "pw2"`, 1)
			},
			wants: []want{{"pw2", "database.password_file", "the secret holds a control character (U+000A at character 4)"}},
		},
		{
			name:  "secret env var with an escape",
			edit:  func(p *parts) { p.database = strings.Replace(p.database, `"APP_PW"`, `"ESC_PW"`, 1) },
			wants: []want{{"ESC_PW", "database.password_env", "control character (U+001B at character 3): secrets must be printable"}},
		},
		{
			name: "inline secret with a tab",
			edit: func(p *parts) {
				p.database = strings.Replace(p.database, `password_env = "APP_PW"`, `password = "a\tb"`, 1)
			},
			wants: []want{{`password = "a`, "database.password", "control character (U+0009 at character 2)"}},
		},
		{
			name:  "admin console password outside Carbon's policy",
			edit:  func(p *parts) { p.product += "admin_password_env = \"APP_PW_SHORT\" # here\n" },
			wants: []want{{"# here", "product.admin_password_env", "5 to 30 characters without spaces"}},
		},
		{
			name:  "password and password_env",
			edit:  func(p *parts) { p.database += "password = \"x\" # here\n" },
			wants: []want{{"# here", "database.password", "is set together with password_env: keep only one of password_env, password_file and password"}},
		},
		{
			name:  "password_file and password_env",
			edit:  func(p *parts) { p.database += "admin_password_file = \"pw\" # here\n" },
			wants: []want{{"# here", "database.admin_password_file", "is set together with admin_password_env"}},
		},
		{
			name: "empty inline secret",
			edit: func(p *parts) {
				p.database = strings.Replace(p.database, `password_env = "APP_PW"`, `password = ""`, 1)
			},
			wants: []want{{`password = ""`, "database.password", "is empty"}},
		},

		// Load balancer.
		{
			name: "load balancer problems",
			edit: func(p *parts) {
				p.lb = "[loadbalancer] # lb\nhost = \"lb_1.example.com\" # host\nmgt_host_name = \"esb.wso2.com\"\nhttp_port = 8080\nhttps_port = 8080 # https\n"
			},
			wants: []want{
				{"# lb", "loadbalancer.service_host_name", "missing: add service_host_name ="},
				{"# host", "loadbalancer.host", "is neither an IP address nor a DNS name"},
				{"# https", "loadbalancer.https_port", "is the same as http_port (8080)"},
			},
		},
		{
			name: "same service and management host names",
			edit: func(p *parts) {
				p.lb = "[loadbalancer]\nhost = \"198.18.0.5\"\nservice_host_name = \"esb.wso2.com\"\nmgt_host_name = \"ESB.wso2.com\" # here\n"
			},
			wants: []want{{"# here", "loadbalancer.mgt_host_name", "is the same as service_host_name"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.raw
			if doc == "" {
				p := defaultParts()
				tt.edit(&p)
				doc = p.doc()
			}
			_, errs := parse(t, fixtureDir(t), doc)
			checkProblems(t, doc, errs, tt.wants)
		})
	}
}

// checkProblems compares errs with wants, in order.
func checkProblems(t *testing.T, doc string, errs Errors, wants []want) {
	t.Helper()
	ok := len(errs) == len(wants)
	for i := 0; ok && i < len(wants); i++ {
		w, e := wants[i], errs[i]
		ok = e.File == "inventory.toml" && e.Line == lineOf(t, doc, w.marker) && e.Key == w.key && strings.Contains(e.Msg, w.msg)
	}
	if ok {
		return
	}
	var b strings.Builder
	for _, w := range wants {
		b.WriteString("\n  line " + strconv.Itoa(lineOf(t, doc, w.marker)) + ", " + w.key + ": ..." + w.msg + "...")
	}
	t.Errorf("got problems:\n%v\nwant:%s\ninventory:\n%s", errs, b.String(), numbered(doc))
}

// TestSyntaxErrorsHideValues checks that a TOML syntax error names the line
// but never echoes the text there, which may be an unquoted password.
func TestSyntaxErrorsHideValues(t *testing.T) {
	for _, raw := range []string{
		"[database]\npassword = truesecret\n",
		"[database]\npassword = 1_2_secret\n",
		"[database]\npassword = 2023-12-secret\n",
		"[database]\npassword = \"se\\qcret\"\n",
		"[database]\npassword = \"a\" \"secret\"\n",
	} {
		_, errs := parse(t, fixtureDir(t), raw)
		if len(errs) != 1 || errs[0].Line != 2 || !strings.Contains(errs[0].Msg, "TOML syntax error") || strings.Contains(errs[0].Error(), "secret") {
			t.Errorf("%q: %v", raw, errs)
		}
	}
}
