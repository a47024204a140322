package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carbonctl/carbonctl/fixtures/mariadbtest"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// nodes of the e2e inventory, with their lab host names.
var labNodes = []struct{ name, host string }{{"mgr1", "n1"}, {"wrk1", "n2"}, {"wrk2", "n3"}}

const home = "/opt/wso2esb-4.9.0"

// managedFiles are the files carbonctl writes on every node.
var managedFiles = []string{
	home + "/repository/conf/axis2/axis2.xml",
	home + "/repository/conf/carbon.xml",
	home + "/repository/conf/datasources/master-datasources.xml",
	home + "/repository/conf/registry.xml",
	home + "/repository/conf/user-mgt.xml",
	home + "/repository/components/lib/mysql-connector-java-5.1.49.jar",
	home + "/.carbonctl/started",
	"/etc/hosts",
}

func TestESBWorkerManager(t *testing.T) {
	e := newMySQL8Env(t) // ESB 4.9.0 ships only mysql.sql, with TIMESTAMP NOT NULL DEFAULT 0

	t.Run("bad input is refused before connecting", func(t *testing.T) {
		inv := e.writeInventory("typo.toml", func(s string) string {
			return strings.Replace(s, `role = "worker"`+"\nwka = true", `role = "worker"`+"\nwka = true\nhostt = \"x\"", 1)
		})
		r := e.carbonctl("plan", inv)
		if r.code != 2 || !regexp.MustCompile(`typo\.toml:\d+: .*hostt`).MatchString(r.out) {
			t.Fatalf("want exit 2 naming file:line and the key, got %d:\n%s", r.code, r.out)
		}
	})

	t.Run("changed host key is refused", func(t *testing.T) {
		kh := filepath.Join(e.dir, "bad_known_hosts")
		good, _ := os.ReadFile(e.lab.KnownHosts)
		// Give n1's address the keys of n2: a man in the middle, as far as ssh can tell.
		var lines []string
		for _, l := range strings.Split(string(good), "\n") {
			if strings.HasPrefix(l, e.lab.Hosts["n2"]+" ") {
				lines = append(lines, strings.Replace(l, e.lab.Hosts["n2"], e.lab.Hosts["n1"], 1))
			} else if !strings.HasPrefix(l, e.lab.Hosts["n1"]+" ") {
				lines = append(lines, l)
			}
		}
		os.WriteFile(kh, []byte(strings.Join(lines, "\n")), 0o600)
		inv := e.writeInventory("badkey.toml", func(s string) string { return strings.Replace(s, e.lab.KnownHosts, kh, 1) })
		r := e.carbonctl("plan", inv, "--accept-new-host-keys")
		if r.code != 1 || !strings.Contains(r.out, e.lab.Hosts["n1"]) || !strings.Contains(r.out, "SHA256:") || !strings.Contains(r.out, "mismatch") {
			t.Fatalf("want exit 1 naming host and fingerprint, got %d:\n%s", r.code, r.out)
		}
	})

	t.Run("plan on a fresh lab lists everything and changes nothing", func(t *testing.T) {
		r := e.carbonctl("plan", e.inventory)
		if r.code != 0 {
			t.Fatalf("plan exit %d:\n%s", r.code, r.out)
		}
		for _, want := range []string{
			"unpack wso2esb-4.9.0.zip", "install " + home + "/repository/components/lib/mysql-connector-java-5.1.49.jar",
			"CREATE DATABASE IF NOT EXISTS `REGISTRY_DB`", "CREATE DATABASE IF NOT EXISTS `REGISTRY_LOCAL3`",
			"IDENTIFIED BY '********'", "GRANT ALL PRIVILEGES ON `WSO2_USER_DB`.* TO 'regadmin'@'%'",
			"would change: [database] (MariaDB 10.",
			"source wso2esb-4.9.0.zip:dbscripts/mysql.sql into REGISTRY_DB",
			"+                    <password>********</password>",
			"carbondb.mysql-wso2.com", "-Dsetup", "-DworkerNode=true",
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("plan output lacks %q", want)
			}
		}
		if !regexp.MustCompile(`\n\s+\+\s+<parameter name="localMemberHost">` + regexp.QuoteMeta(e.lab.Hosts["n2"]) + `</parameter>`).MatchString(r.out) {
			t.Errorf("plan output lacks wrk1's localMemberHost diff line")
		}
		if t.Failed() {
			t.Logf("plan output:\n%s", r.out)
		}
		if out := e.exec("n1", "sh", "-c", "test -e "+home+" && echo present || echo absent"); !strings.Contains(out, "absent") {
			t.Errorf("plan unpacked the product")
		}
		var n int
		e.admin().QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'REGISTRY_DB'").Scan(&n)
		if n != 0 {
			t.Errorf("plan created a database")
		}
	})

	t.Run("unreachable database names host, port and step", func(t *testing.T) {
		inv := e.writeInventory("nodb.toml", func(s string) string { return strings.Replace(s, "port = 3306", "port = 3399", 1) })
		r := e.carbonctl("up", inv)
		if r.code != 1 || !strings.Contains(r.out, e.lab.Hosts["db"]+":3399") || !strings.Contains(r.out, "failed: [database]") {
			t.Fatalf("want exit 1 naming %s:3399 and the step, got %d:\n%s", e.lab.Hosts["db"], r.code, r.out)
		}
	})

	t.Run("half-imported database: refused with data, resumed when empty", func(t *testing.T) {
		// What a kill in the middle of sourcing dbscripts/mysql.sql leaves behind.
		db := e.admin()
		for _, q := range []string{
			"CREATE DATABASE REGISTRY_LOCAL3",
			"CREATE TABLE REGISTRY_LOCAL3.REG_CLUSTER_LOCK (REG_LOCK_NAME VARCHAR(20), PRIMARY KEY (REG_LOCK_NAME))",
			"INSERT INTO REGISTRY_LOCAL3.REG_CLUSTER_LOCK VALUES ('x')",
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		r := e.carbonctl("up", e.inventory)
		if r.code != 1 || !strings.Contains(r.out, "REGISTRY_LOCAL3 holds 1 of the") || !strings.Contains(r.out, "has rows: refusing") {
			t.Fatalf("want the half-filled database with data refused: exit %d\n%s", r.code, r.out)
		}
		if _, err := db.Exec("DELETE FROM REGISTRY_LOCAL3.REG_CLUSTER_LOCK"); err != nil {
			t.Fatal(err)
		}
		r = e.carbonctl("plan", e.inventory)
		if r.code != 0 || !strings.Contains(r.out, "source wso2esb-4.9.0.zip:dbscripts/mysql.sql into REGISTRY_LOCAL3") || !strings.Contains(r.out, "first drop the 1 empty tables an interrupted import left") {
			t.Fatalf("want the empty leftovers resumed: exit %d\n%s", r.code, r.out)
		}
	})

	t.Run("killed after the database step, then converges", func(t *testing.T) {
		out := e.carbonctlKilledAt("STEP [etc-hosts]", 0, "up", e.inventory)
		if !strings.Contains(out, "CREATE DATABASE") {
			t.Fatalf("the database step did not run before the kill:\n%s", out)
		}
	})

	t.Run("killed during start-up, then converges", func(t *testing.T) {
		e.carbonctlKilledAt("STEP [start]", 300*time.Millisecond, "up", e.inventory)
	})

	t.Run("up converges the cluster", func(t *testing.T) {
		r := e.carbonctl("up", e.inventory)
		if r.code != 0 {
			t.Fatalf("up exit %d:\n%s", r.code, r.out)
		}
		if !strings.Contains(r.out, "cluster formed") && !strings.Contains(r.out, "sees 2/2 peers") {
			t.Fatalf("no membership confirmation:\n%s", r.out)
		}
		e.assertCluster(t)
	})

	t.Run("second up changes nothing", func(t *testing.T) {
		before := e.snapshot()
		r := e.carbonctl("up", e.inventory)
		if r.code != 0 || !strings.Contains(r.out, "\n0 changed, ok") {
			t.Fatalf("second up: exit %d:\n%s", r.code, r.out)
		}
		if after := e.snapshot(); after != before {
			t.Fatalf("second up touched hosts:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		p := e.carbonctl("plan", e.inventory)
		if p.code != 0 || !strings.Contains(p.out, "\n0 to change, ok") {
			t.Fatalf("plan on a converged lab: exit %d:\n%s", p.code, p.out)
		}
	})

	t.Run("hand edit is reverted without a restart", func(t *testing.T) {
		before := e.pids()
		e.exec("n3", "sed", "-i", "s#<parameter name=\"domain\">wso2.esb.domain#<parameter name=\"domain\">wso2.other.domain#", home+"/repository/conf/axis2/axis2.xml")
		r := e.carbonctl("up", e.inventory, "--diff")
		if r.code != 0 || !regexp.MustCompile(`\n\s+-\s+<parameter name="domain">wso2.other.domain</parameter>`).MatchString(r.out) {
			t.Fatalf("up after a hand edit: exit %d:\n%s", r.code, r.out)
		}
		// The file is back to what wrk2 was started with: nothing to restart.
		if after := e.pids(); fmt.Sprint(before) != fmt.Sprint(after) {
			t.Fatalf("a node restarted: before %v after %v", before, after)
		}
	})

	t.Run("changed configuration restarts only that node", func(t *testing.T) {
		before := e.pids()
		inv := e.writeInventory("esb.toml", func(s string) string {
			return strings.Replace(s, "name = \"wrk2\"\nhost = "+fmt.Sprintf("%q", e.lab.Hosts["n3"]), "name = \"wrk2\"\nport_offset = 1\nhost = "+fmt.Sprintf("%q", e.lab.Hosts["n3"]), 1)
		})
		r := e.carbonctl("up", inv)
		if r.code != 0 || !strings.Contains(r.out, "restart "+home+"/bin/wso2server.sh -DworkerNode=true (configuration changed; rolling") {
			t.Fatalf("up with a new port offset: exit %d:\n%s", r.code, r.out)
		}
		after := e.pids()
		if before["mgr1"] != after["mgr1"] || before["wrk1"] != after["wrk1"] || before["wrk2"] == after["wrk2"] {
			t.Fatalf("want only wrk2 restarted: before %v after %v", before, after)
		}
		if log := e.exec("n3", "cat", home+"/repository/logs/wso2carbon.log"); !strings.Contains(log[strings.LastIndex(log, "Starting WSO2 Carbon"):], "started on 0.0.0.0:8281") {
			t.Errorf("wrk2 does not serve PassThrough HTTP on 8280+1")
		}
		e.assertCluster(t)
	})

	t.Run("database reached through an SSH tunnel when the control machine cannot", func(t *testing.T) {
		// Only the control machine (the bridge address) is cut off from MariaDB; the nodes still reach it.
		e.exec("db", "nft", "add table inet carbonctl_e2e { chain in { type filter hook input priority 0; ip saddr 198.18.0.1 tcp dport 3306 reject with tcp reset; }; }")
		defer e.exec("db", "nft", "delete table inet carbonctl_e2e")
		direct := e.carbonctl("plan", e.inventory, "--limit", "mgr1")
		if direct.code != 1 || !strings.Contains(direct.out, "database "+e.lab.Hosts["db"]+":3306") {
			t.Fatalf("direct access should fail now: exit %d\n%s", direct.code, direct.out)
		}
		inv := e.writeInventory("via.toml", func(s string) string {
			return strings.Replace(s, `alias = "carbondb.mysql-wso2.com"`, `alias = "carbondb.mysql-wso2.com"`+"\nvia = \"mgr1\"", 1)
		})
		r := e.carbonctl("plan", inv, "--limit", "mgr1")
		if r.code != 0 || !strings.Contains(r.out, "ok: [database]") {
			t.Fatalf("plan through the tunnel: exit %d\n%s", r.code, r.out)
		}
	})

	t.Run("database over TLS: verified against the lab's CA, refused with another", func(t *testing.T) {
		if e.lab.DBCA == "" {
			t.Fatal("the lab's db host serves no TLS (no db-tls/ca.pem in the state dir)")
		}
		withCA := func(name, ca string) string {
			return e.writeInventory(name, func(s string) string {
				return strings.Replace(s, `alias = "carbondb.mysql-wso2.com"`, `alias = "carbondb.mysql-wso2.com"`+"\ntls_ca = "+strconv.Quote(ca), 1)
			})
		}
		before := e.sslAccepts()
		r := e.carbonctl("plan", withCA("tls.toml", e.lab.DBCA), "--limit", "mgr1")
		if r.code != 0 || !strings.Contains(r.out, "ok: [database]") {
			t.Fatalf("plan over TLS: exit %d\n%s", r.code, r.out)
		}
		if after := e.sslAccepts(); after <= before {
			t.Errorf("the server accepted no TLS connection during the plan (Ssl_accepts %d, then %d)", before, after)
		}
		r = e.carbonctl("plan", withCA("other-ca.toml", mariadbtest.OtherCA(t)), "--limit", "mgr1")
		if r.code != 1 || !strings.Contains(r.out, "is not signed by database.tls_ca") {
			t.Fatalf("want exit 1 naming tls_ca with another CA, got %d:\n%s", r.code, r.out)
		}
	})

	t.Run("SQL the product user appends to the manager's dbscripts never runs", func(t *testing.T) {
		db := e.admin()
		grantsBefore := e.grantsOf(t, db, "regadmin")
		script := home + "/dbscripts/mysql.sql"
		e.exec("n1", "su", "-s", "/bin/sh", "wso2", "-c",
			`printf '%s\n' 'CREATE TABLE X (ID INT);' "GRANT ALL ON *.* TO 'regadmin'@'%' WITH GRANT OPTION;" >> `+script)
		if out := e.exec("n1", "tail", "-n", "1", script); !strings.Contains(out, "GRANT ALL ON *.*") {
			t.Fatalf("the attack was not mounted: %s ends with %q", script, out)
		}
		if _, err := db.Exec("DROP DATABASE REGISTRY_LOCAL3"); err != nil {
			t.Fatal(err)
		}
		r := e.carbonctl("up", e.inventory)
		if r.code != 0 || !strings.Contains(r.out, "source wso2esb-4.9.0.zip:dbscripts/mysql.sql into REGISTRY_LOCAL3 (29 statements, 16 tables)") {
			t.Fatalf("up after the attack: exit %d\n%s", r.code, r.out)
		}
		if after := e.grantsOf(t, db, "regadmin"); after != grantsBefore {
			t.Errorf("regadmin's grants changed:\nbefore:\n%s\nafter:\n%s", grantsBefore, after)
		}
		var tables, x int
		db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'REGISTRY_LOCAL3'").Scan(&tables)
		db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME = 'X'").Scan(&x)
		if tables != 16 || x != 0 {
			t.Errorf("REGISTRY_LOCAL3 holds %d tables (want the script's 16); %d tables named X (want 0)", tables, x)
		}
	})
}

// sslAccepts returns the server's count of accepted TLS connections.
func (e *env) sslAccepts() int {
	var name string
	var n int
	if err := e.admin().QueryRow("SHOW GLOBAL STATUS LIKE 'Ssl_accepts'").Scan(&name, &n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// grantsOf returns SHOW GRANTS of user@'%', one per line.
func (e *env) grantsOf(t *testing.T, db *sql.DB, user string) string {
	t.Helper()
	rows, err := db.Query("SHOW GRANTS FOR '" + user + "'@'%'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, g)
	}
	return strings.Join(lines, "\n")
}

// assertCluster checks the converged cluster on the hosts themselves.
func (e *env) assertCluster(t *testing.T) {
	t.Helper()
	addr := map[string]string{}
	for _, n := range labNodes {
		addr[n.name] = e.lab.Hosts[n.host] + ":4100"
	}
	for _, n := range labNodes {
		log := e.exec(n.host, "cat", home+"/repository/logs/wso2carbon.log")
		last := log[strings.LastIndex(log, "Starting WSO2 Carbon"):]
		if !strings.Contains(last, "WSO2 Carbon started in") {
			t.Errorf("%s: no start-up line since its last start", n.name)
		}
		if strings.Contains(last, " ERROR ") {
			t.Errorf("%s logged errors since its last start:\n%s", n.name, last)
		}
		for _, peer := range labNodes {
			if peer.name != n.name && !regexp.MustCompile(`Member joined \[[^\]]*\]: /`+regexp.QuoteMeta(addr[peer.name])).MatchString(last) {
				t.Errorf("%s did not log Member joined for %s (%s)", n.name, peer.name, addr[peer.name])
			}
		}
		mode := "read-only"
		if n.name == "mgr1" {
			mode = "read-write"
		}
		for _, mount := range []string{"/_system/config", "/_system/governance"} {
			if !regexp.MustCompile(`Mounted ` + mount + ` .*` + mode).MatchString(last) {
				t.Errorf("%s: mount %s is not %s", n.name, mount, mode)
			}
		}
	}
	db := e.admin()
	for _, name := range []string{"WSO2_USER_DB", "REGISTRY_DB", "REGISTRY_LOCAL1", "REGISTRY_LOCAL2", "REGISTRY_LOCAL3"} {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN ('REG_RESOURCE','UM_USER')", name).Scan(&n); err != nil || n != 2 {
			t.Errorf("database %s lacks the product's tables (%d, %v)", name, n, err)
		}
	}
	hosts := e.exec("n2", "cat", "/etc/hosts")
	if !strings.Contains(hosts, e.lab.Hosts["db"]+"\tcarbondb.mysql-wso2.com") {
		t.Errorf("/etc/hosts lacks the database alias:\n%s", hosts)
	}
}

// snapshot records mtimes, inodes and sizes of the managed files and the pids.
func (e *env) snapshot() string {
	var b strings.Builder
	for _, n := range labNodes {
		out := e.exec(n.host, append([]string{"stat", "-c", "%n %i %s %Y"}, managedFiles...)...)
		fmt.Fprintf(&b, "%s:\n%s", n.name, out)
	}
	fmt.Fprintf(&b, "pids %v\n", e.pids())
	return b.String()
}

// pids returns each node's running product pid.
func (e *env) pids() map[string]string {
	m := map[string]string{}
	for _, n := range labNodes {
		m[n.name] = strings.TrimSpace(e.exec(n.host, "cat", home+"/wso2carbon.pid"))
	}
	return m
}

// BenchmarkNoopUp times a no-op `carbonctl up` of the converged 3-node
// cluster (the whole binary, process start included) and, beside it, the
// floor it is measured against: one SSH connection per node host, opened in
// parallel, each running `true` once. On a small lab machine the hosts'
// sshd share the CPUs, so the floor is well above one handshake's latency.
func BenchmarkNoopUp(b *testing.B) {
	e := newEnv(b)
	if r := e.carbonctl("up", e.inventory); r.code != 0 {
		b.Fatalf("converge: %d\n%s", r.code, r.out)
	}
	b.Run("up", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if r := e.carbonctl("up", e.inventory); r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
				b.Fatalf("no-op up: %d\n%s", r.code, r.out)
			}
		}
	})
	b.Run("floor-one-session-per-host", func(b *testing.B) {
		keys, err := remote.NewHostKeys(e.lab.KnownHosts, false)
		if err != nil {
			b.Fatal(err)
		}
		cfg := remote.Config{User: "ops", IdentityFiles: []string{e.lab.Key}, KnownHostsFile: e.lab.KnownHosts, ConnectTimeout: 10 * time.Second}
		for i := 0; i < b.N; i++ {
			var wg sync.WaitGroup
			for _, n := range labNodes {
				wg.Add(1)
				go func(addr string) {
					defer wg.Done()
					c, err := remote.Dial(context.Background(), addr, cfg, keys)
					if err != nil {
						b.Error(err)
						return
					}
					defer c.Close()
					if _, err := c.Run(context.Background(), "", "true", nil); err != nil {
						b.Error(err)
					}
				}(e.lab.Hosts[n.host])
			}
			wg.Wait()
		}
	})
}
