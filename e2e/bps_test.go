package e2e

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const bpsHome = "/opt/wso2bps-3.6.0"

// bpsNodes are the nodes of the sample inventory bps-lab.toml.
var bpsNodes = []struct{ name, host string }{{"master", "n1"}, {"slave1", "n2"}, {"slave2", "n3"}}

func TestBPSMasterSlave(t *testing.T) {
	e := newEnv(t)

	t.Run("thread pool rule refuses the inventory before anything runs", func(t *testing.T) {
		inv := e.sampleInventory("bps-bad.toml", "bps-lab.toml", setKeys("ode_scheduler_thread_pool_size = 120"))
		r := e.carbonctl("plan", inv)
		if r.code != 2 || !regexp.MustCompile(`bps-bad\.toml:\d+: node master: .*must be strictly below bps_max_active`).MatchString(r.out) || strings.Contains(r.out, "STEP [") {
			t.Fatalf("want exit 2 naming the node and the rule before any step, got %d:\n%s", r.code, r.out)
		}
	})

	t.Run("validate refuses a variable that would reach a shell", func(t *testing.T) {
		inv := e.sampleInventory("bps-pwn.toml", "bps-lab.toml", setKeys(`jvm_xms = "256m $(id >/tmp/pwned)"`))
		r := e.carbonctl("validate", inv)
		if r.code != 2 || !regexp.MustCompile(`bps-pwn\.toml:`+lineOf(t, inv, `jvm_xms = "256m $(`)+`: vars\.jvm_xms: "256m \$\(id >/tmp/pwned\)" does not match the pattern \S+, which playbook bps-master-slave declares`).MatchString(r.out) {
			t.Fatalf("want exit 2 naming file:line, key and pattern, got %d:\n%s", r.code, r.out)
		}
		inv = e.sampleInventory("bps-pwn-node.toml", "bps-lab.toml", func(s string) string {
			return strings.Replace(s, `vars = { jvm_xmx = "1024m" }`, `vars = { jvm_xmx = "1024m -Dx=$(id)" }`, 1)
		})
		r = e.carbonctl("validate", inv)
		if r.code != 2 || !regexp.MustCompile(`bps-pwn-node\.toml:`+lineOf(t, inv, `jvm_xmx = "1024m -Dx=`)+`: node\[3\]\.vars\.jvm_xmx: .* \(node slave2\)`).MatchString(r.out) {
			t.Fatalf("want exit 2 naming the node's line, key and node, got %d:\n%s", r.code, r.out)
		}
	})

	inv := e.sampleInventory("bps.toml", "bps-lab.toml", nil)
	t.Run("up converges the cluster", func(t *testing.T) {
		r := e.carbonctl("up", inv)
		if r.code != 0 {
			t.Fatalf("up exit %d:\n%s", r.code, r.out)
		}
		for _, want := range []string{
			"source wso2bps-3.6.0.zip:dbscripts/bps/bpel/create/mysql.sql into BPS_DB",
			"patch " + bpsHome + "/bin/wso2server.sh (+1 -1)",
			"start " + bpsHome + "/bin/wso2server.sh -DworkerNode=true (not running)",
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("up output lacks %q", want)
			}
		}
		e.assertBPSCluster(t)
		if t.Failed() {
			t.Logf("up output:\n%s", r.out)
		}
	})

	t.Run("second up changes nothing", func(t *testing.T) {
		r := e.carbonctl("up", inv)
		if r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
			t.Fatalf("want 0 changed, got exit %d:\n%s", r.code, r.out)
		}
	})

	t.Run("a rotated database password shows neither old nor new in plan and up", func(t *testing.T) {
		const rotated = "Rotated-Pw-2026"
		old := e.lab.DBPassword
		e.lab.DBPassword = rotated
		defer func() { e.lab.DBPassword = old }()
		noSecret := func(what, out string) {
			t.Helper()
			if strings.Contains(out, old) || strings.Contains(out, rotated) {
				t.Fatalf("%s shows a password:\n%s", what, out)
			}
		}
		plan := e.carbonctl("plan", inv)
		noSecret("plan", plan.out)
		if plan.code != 0 || !regexp.MustCompile(`\n\s+-\s*<password>\*{8}</password>`).MatchString(plan.out) || !strings.Contains(plan.out, "ALTER USER") {
			t.Fatalf("plan does not show the masked password change (exit %d):\n%s", plan.code, plan.out)
		}
		up := e.carbonctl("up", "--diff", inv)
		noSecret("up", up.out)
		if up.code != 0 {
			t.Fatalf("up exit %d:\n%s", up.code, up.out)
		}
		if conf := e.exec("n1", "cat", bpsHome+"/repository/conf/datasources/master-datasources.xml"); !strings.Contains(conf, "<password>"+rotated+"</password>") {
			t.Fatalf("master-datasources.xml does not hold the rotated password")
		}
	})

	t.Run("an admin console password set after the first start is masked and noted", func(t *testing.T) {
		const console = "Console-Pw-2026"
		t.Setenv("CARBONCTL_ADMIN_PASSWORD", console)
		withAdmin := e.sampleInventory("bps-admin.toml", "bps-lab.toml", func(s string) string {
			return strings.Replace(s, "[product]\n", "[product]\nadmin_password_env = \"CARBONCTL_ADMIN_PASSWORD\"\n", 1)
		})
		plan := e.carbonctl("plan", withAdmin)
		if strings.Contains(plan.out, console) || strings.Contains(plan.out, "<Password>admin</Password>") {
			t.Fatalf("plan shows an admin password:\n%s", plan.out)
		}
		if plan.code != 0 || strings.Count(plan.out, "the admin console password changed") != len(bpsNodes) {
			t.Fatalf("want the first-start note on each of the %d started nodes (exit %d):\n%s", len(bpsNodes), plan.code, plan.out)
		}
	})
}

// assertBPSCluster checks membership, roles, heap and databases.
func (e *env) assertBPSCluster(t *testing.T) {
	t.Helper()
	heap := map[string]string{"master": "-Xms512m -Xmx2048m", "slave1": "-Xms512m -Xmx2048m", "slave2": "-Xms512m -Xmx1024m"}
	for _, n := range bpsNodes {
		log := e.exec(n.host, "cat", bpsHome+"/repository/logs/wso2carbon.log")
		last := log[strings.LastIndex(log, "Starting WSO2 Carbon"):]
		if strings.Contains(last, " ERROR ") || !strings.Contains(last, "WSO2 Carbon started in") {
			t.Errorf("%s did not start cleanly:\n%s", n.name, last)
		}
		for _, peer := range bpsNodes {
			addr := e.lab.Hosts[peer.host] + ":4100"
			if peer.name != n.name && !regexp.MustCompile(`Member joined \[[^\]]*\]: /`+regexp.QuoteMeta(addr)).MatchString(last) {
				t.Errorf("%s did not log Member joined for %s (%s)", n.name, peer.name, addr)
			}
		}
		master := n.name == "master"
		mode := map[bool]string{true: "read-write", false: "read-only"}[master]
		wants := []string{
			`JVM options      : ` + heap[n.name] + ` -XX:MaxPermSize=256m`,
			`Mounted /_system/config -> instance instanceid \(dbConfig wso2bpsregistry, jdbc/WSO2RegistryDB\) ` + mode,
			`BPEL engine initialized: data source bpsds \(BPS_DS, database BPS_DB on .*\), scheduler threads 50 of 100 connections, node id "bps-lab-` + n.name + `", distributed lock true`,
			`Sub-domain:` + map[bool]string{true: "mgt", false: "worker"}[master],
		}
		if !master {
			wants = append(wants, `Starting as a worker node \(-DworkerNode=true\)`)
		}
		for _, want := range wants {
			if !regexp.MustCompile(want).MatchString(last) {
				t.Errorf("%s: log lacks %s", n.name, want)
			}
		}
	}
	db := e.admin()
	for name, table := range map[string]string{"WSO2_USER_DB": "UM_USER", "REGISTRY_DB": "REG_RESOURCE", "REGISTRY_LOCAL2": "REG_RESOURCE", "REGISTRY_LOCAL3": "REG_RESOURCE", "BPS_DB": "ODE_JOB"} {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", name, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("database %s lacks table %s (%v)", name, table, err)
		}
	}
}

// lineOf is the 1-based number, as text, of the first line of file that
// contains sub: where an error about that setting must point.
func lineOf(t *testing.T, file, sub string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, sub) {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatalf("%s has no line with %q", file, sub)
	return ""
}
