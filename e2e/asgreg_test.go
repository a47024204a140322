package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// asGregNode is one node of the AS + Governance Registry lab.
type asGregNode struct{ name, host, home string }

var (
	gregNode = asGregNode{"greg1", "n1", "/opt/wso2greg-5.4.0"}
	asNodes  = []asGregNode{{"as-master", "n2", "/opt/wso2as-5.3.0"}, {"as-slave1", "n3", "/opt/wso2as-5.3.0"}}
)

// withoutGREG drops the Governance Registry node from the inventory.
func withoutGREG(s string) string {
	i := strings.Index(s, "[[node]]\nname = \"greg1\"")
	j := strings.Index(s, "[[node]]\nname = \"as-master\"")
	return s[:i] + s[j:]
}

func TestASWithGovernanceRegistry(t *testing.T) {
	e := newEnv(t)

	t.Run("slave without a registry node is rejected before anything runs", func(t *testing.T) {
		r := e.carbonctl("up", e.sampleInventory("no-greg.toml", "as-greg-lab.toml", withoutGREG))
		if r.code != 2 || !strings.Contains(r.out, "node as-slave1: breaks a rule of playbook as-master-slave") ||
			!strings.Contains(r.out, "needs a Governance Registry node") {
			t.Fatalf("want exit 2 and the rule explained, got exit %d:\n%s", r.code, r.out)
		}
		if strings.Contains(r.out, "STEP [") {
			t.Errorf("steps ran:\n%s", r.out)
		}
		for _, n := range asNodes {
			if out := e.exec(n.host, "sh", "-c", "test -e "+n.home+" && echo present || echo absent"); !strings.Contains(out, "absent") {
				t.Errorf("%s: %s exists after a rejected run", n.name, n.home)
			}
		}
	})

	inv := e.sampleInventory("as-greg.toml", "as-greg-lab.toml", nil)
	t.Run("plan on a fresh lab lists the mount collections and changes nothing", func(t *testing.T) {
		r := e.carbonctl("plan", inv)
		if r.code != 0 || !strings.Contains(r.out, "create registry collection /_system/asConfig in WSO2_GREG_DB") ||
			!strings.Contains(r.out, "CREATE DATABASE IF NOT EXISTS `REGISTRY_LOCAL_SLAVE1`") {
			t.Fatalf("plan: exit %d\n%s", r.code, r.out)
		}
		var n int
		if err := e.admin().QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'WSO2_GREG_DB'").Scan(&n); err != nil || n != 0 {
			t.Errorf("plan created WSO2_GREG_DB (%d, %v)", n, err)
		}
	})

	t.Run("up converges", func(t *testing.T) {
		r := e.carbonctl("up", inv)
		if r.code != 0 {
			t.Fatalf("up: exit %d\n%s", r.code, r.out)
		}
		t.Log(r.out)
		for _, want := range []string{
			"create registry collection /_system/asConfig in WSO2_GREG_DB",
			"source wso2greg-5.4.0.zip:dbscripts/mysql.sql into WSO2_GREG_DB",
			"source wso2as-5.3.0.zip:dbscripts/mysql.sql into REGISTRY_LOCAL_SLAVE1",
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("up output lacks %q:\n%s", want, r.out)
			}
		}
		e.assertASGreg(t)
	})

	t.Run("second up changes nothing", func(t *testing.T) {
		r := e.carbonctl("up", inv)
		if r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
			t.Fatalf("second up: exit %d\n%s", r.code, r.out)
		}
		if !strings.Contains(r.out, "ok: [database]") {
			t.Errorf("the registry collections were not found in place:\n%s", r.out)
		}
	})

	t.Run("status and restart span both products", func(t *testing.T) {
		var st struct {
			Healthy bool
			Nodes   []struct {
				Name    string
				Running bool
			}
		}
		r := e.carbonctl("status", inv, "--output", "json")
		if err := json.Unmarshal([]byte(r.out), &st); err != nil || r.code != 0 || !st.Healthy || len(st.Nodes) != 3 {
			t.Fatalf("status: exit %d, %v: want 3 healthy nodes:\n%s", r.code, err, r.out)
		}
		before := map[string]string{}
		for _, n := range append([]asGregNode{gregNode}, asNodes...) {
			before[n.name] = e.exec(n.host, "cat", n.home+"/wso2carbon.pid")
		}
		r = e.carbonctl("restart", inv)
		if r.code != 0 || strings.Index(r.out, "greg1") > strings.Index(r.out, "as-master") {
			t.Fatalf("restart: exit %d, want the registry node first:\n%s", r.code, r.out)
		}
		for _, n := range append([]asGregNode{gregNode}, asNodes...) {
			if pid := e.exec(n.host, "cat", n.home+"/wso2carbon.pid"); pid == before[n.name] {
				t.Errorf("%s was not restarted (pid %s)", n.name, pid)
			}
		}
	})

	t.Run("add-node and remove-node of an AS slave", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.lab.Add(ctx, newHost+"="+newIP); err != nil {
			t.Fatal(err)
		}
		original := readFile(t, inv)
		r := e.carbonctl("add-node", inv, "--name", "as-slave2", "--host", newIP, "--role", "worker", "--product", "as")
		if r.code != 0 || !strings.Contains(r.out, "product = \"as\"") {
			t.Fatalf("add-node --product as: exit %d\n%s", r.code, r.out)
		}
		slave2 := asGregNode{"as-slave2", newHost, asNodes[0].home}
		last := e.lastStart(t, slave2)
		for _, peer := range asNodes {
			if !regexp.MustCompile(`Member joined \[[^\]]*\]: /` + regexp.QuoteMeta(e.lab.Hosts[peer.host]+":4100")).MatchString(last) {
				t.Errorf("as-slave2 did not log Member joined for %s", peer.name)
			}
		}
		if !regexp.MustCompile(`Mounted /_system/config -> instance gov .*read-only`).MatchString(last) || strings.Contains(last, "-Dsetup given") {
			t.Errorf("as-slave2 is not a read-only slave started without -Dsetup:\n%s", last)
		}
		if r := e.carbonctl("remove-node", inv, "--name", "as-slave2"); r.code != 0 || readFile(t, inv) != original {
			t.Fatalf("remove-node as-slave2: exit %d, inventory restored %v\n%s", r.code, readFile(t, inv) == original, r.out)
		}
	})
}

// lastStart is a node's log since its last start.
func (e *env) lastStart(t *testing.T, n asGregNode) string {
	t.Helper()
	log := e.exec(n.host, "cat", n.home+"/repository/logs/wso2carbon.log")
	i := strings.LastIndex(log, "Starting WSO2 Carbon")
	if i < 0 {
		t.Fatalf("%s never started:\n%s", n.name, log)
	}
	last := log[i:]
	if !strings.Contains(last, "WSO2 Carbon started in") || strings.Contains(last, " ERROR ") {
		t.Errorf("%s did not start cleanly:\n%s", n.name, last)
	}
	return last
}

// assertASGreg checks the converged cluster on the hosts and in the database.
func (e *env) assertASGreg(t *testing.T) {
	t.Helper()
	greg := e.lastStart(t, gregNode)
	for _, want := range []string{"-Dsetup given", "Added the registry collection /_system/governance in jdbc/WSO2CarbonDB (WSO2_CARBON_DB, database WSO2_GREG_DB"} {
		if !strings.Contains(greg, want) {
			t.Errorf("greg1 log lacks %q", want)
		}
	}
	for i, n := range asNodes {
		last := e.lastStart(t, n)
		peer := asNodes[1-i]
		if !regexp.MustCompile(`Member joined \[[^\]]*\]: /` + regexp.QuoteMeta(e.lab.Hosts[peer.host]+":4100")).MatchString(last) {
			t.Errorf("%s did not log Member joined for %s", n.name, peer.name)
		}
		mode, setup := "read-only", false
		if i == 0 {
			mode, setup = "read-write", true
		}
		for _, mount := range []string{"/_system/config", "/_system/governance"} {
			if !regexp.MustCompile(`Mounted ` + mount + ` -> instance gov .*` + mode).MatchString(last) {
				t.Errorf("%s: mount %s is not %s", n.name, mount, mode)
			}
		}
		if got := strings.Contains(last, "-Dsetup given"); got != setup {
			t.Errorf("%s: started with -Dsetup = %v, want %v", n.name, got, setup)
		}
	}
	slave := e.lastStart(t, asNodes[1])
	for _, want := range []string{"checked out the deployment repository from the registry", "Loading the configuration from the registry"} {
		if !strings.Contains(slave, want) {
			t.Errorf("as-slave1 log lacks %q", want)
		}
	}

	db := e.admin()
	for _, name := range []string{"WSO2_GREG_DB", "WSO2_USER_DB", "REGISTRY_LOCAL_MASTER", "REGISTRY_LOCAL_SLAVE1"} {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN ('REG_RESOURCE','REG_PATH','UM_USER')", name).Scan(&n); err != nil || n != 3 {
			t.Errorf("database %s lacks the product's tables (%d, %v)", name, n, err)
		}
	}
	for _, p := range []string{"/_system/asConfig", "/_system/governance", "/_system/asConfig/repository/deployment/server"} {
		var n int
		err := db.QueryRow(`SELECT COUNT(*) FROM WSO2_GREG_DB.REG_PATH p JOIN WSO2_GREG_DB.REG_RESOURCE r
			ON r.REG_PATH_ID = p.REG_PATH_ID AND r.REG_NAME IS NULL AND r.REG_TENANT_ID = -1234
			WHERE p.REG_PATH_VALUE = ? AND p.REG_TENANT_ID = -1234`, p).Scan(&n)
		if err != nil || n != 1 {
			t.Errorf("collection %s in WSO2_GREG_DB: %d rows, %v", p, n, err)
		}
	}
}
