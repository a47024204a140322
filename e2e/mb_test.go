package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The MB clustering guide's two brokers on one machine: both on lab host n1.
const (
	mbHome1 = "/opt/mb1/wso2mb-3.2.0"
	mbHome2 = "/opt/mb2/wso2mb-3.2.0"
)

func TestMBTwoNodesOnOneHost(t *testing.T) {
	e := newMySQL8Env(t) // the kernel's mysql.sql has TIMESTAMP NOT NULL DEFAULT 0
	inv := e.sampleInventory("mb.toml", "mb-lab.toml", nil)
	ip := e.lab.Hosts["n1"]

	r := e.carbonctl("up", inv)
	if r.code != 0 {
		t.Fatalf("up exit %d:\n%s", r.code, r.out)
	}
	for _, want := range []string{
		"source wso2mb-3.2.0.zip:dbscripts/mb-store/mysql-mb.sql into MB_DB",
		"CREATE DATABASE IF NOT EXISTS `REGISTRY_DB`",
		"start " + mbHome1 + "/bin/wso2server.sh (not running",
		"start " + mbHome2 + "/bin/wso2server.sh (not running",
		"patch " + mbHome2 + "/repository/conf/hazelcast.properties (+1 -1)",
		"patch " + mbHome2 + "/repository/conf/broker.xml",
		"cluster formed",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("up output lacks %q:\n%s", want, r.out)
		}
	}

	log1 := e.exec("n1", "cat", mbHome1+"/repository/logs/wso2carbon.log")
	log2 := e.exec("n1", "cat", mbHome2+"/repository/logs/wso2carbon.log")
	t.Run("each node sees the other", func(t *testing.T) {
		for _, c := range []struct{ log, peer string }{{log1, ip + ":4003"}, {log2, ip + ":4100"}} {
			if !regexp.MustCompile(`Member joined \[[^\]]*\]: /` + regexp.QuoteMeta(c.peer)).MatchString(c.log) {
				t.Errorf("no \"Member joined\" for %s in:\n%s", c.peer, c.log)
			}
		}
	})

	t.Run("both brokers mount the shared registry from REGISTRY_DB", func(t *testing.T) {
		for _, log := range []string{log1, log2} {
			for _, mount := range []string{"/_system/config", "/_system/governance"} {
				want := "Mounted " + mount + " -> instance instanceid (dbConfig sharedregistry, jdbc/WSO2RegistryDB) read-write from database REGISTRY_DB on "
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
		}
		var n int
		if err := e.admin().QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'REGISTRY_DB' AND table_name = 'REG_RESOURCE'").Scan(&n); err != nil || n != 1 {
			t.Errorf("REGISTRY_DB lacks REG_RESOURCE (%d, %v)", n, err)
		}
	})

	t.Run("node 2 started after node 1 served its console", func(t *testing.T) {
		console1 := logTime(t, log1, "Mgt Console URL  : https://"+ip+":9443/carbon/")
		start2 := logTime(t, log2, "Starting WSO2 Carbon")
		if start2.Before(console1) {
			t.Errorf("mb2 started at %s, before mb1 logged its console URL at %s", start2, console1)
		}
		logTime(t, log2, "Mgt Console URL  : https://"+ip+":9446/carbon/") // fails unless mb2's console is on 9446
	})

	t.Run("both brokers listen on their offset ports", func(t *testing.T) {
		listening := e.exec("n1", "ss", "-ltnH")
		for _, port := range []int{9443, 9446, 5672, 5675, 1883, 1886, 4100, 4003, 7611, 7614} {
			if !regexp.MustCompile(fmt.Sprintf(`:%d\s`, port)).MatchString(listening) {
				t.Errorf("nothing listens on %d on n1:\n%s", port, listening)
			}
		}
	})

	t.Run("the shared message store", func(t *testing.T) {
		db := e.admin()
		var tables int
		if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'MB_DB'").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 26 {
			t.Errorf("MB_DB has %d tables, want the 26 of mysql-mb.sql", tables)
		}
		rows, err := db.Query("SELECT CLUSTER_AGENT_HOST, CLUSTER_AGENT_PORT FROM MB_DB.MB_NODE_HEARTBEAT ORDER BY CLUSTER_AGENT_PORT")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var members []string
		for rows.Next() {
			var h string
			var p int
			if err := rows.Scan(&h, &p); err != nil {
				t.Fatal(err)
			}
			members = append(members, fmt.Sprintf("%s:%d", h, p))
		}
		if want := ip + ":4003 " + ip + ":4100"; strings.Join(members, " ") != want {
			t.Errorf("brokers registered in MB_DB: %v, want %s", members, want)
		}
	})

	t.Run("second up changes nothing", func(t *testing.T) {
		r := e.carbonctl("up", inv)
		if r.code != 0 || !strings.Contains(r.out, "\n0 changed, ok") {
			t.Fatalf("second up: exit %d:\n%s", r.code, r.out)
		}
	})
}

// logTime returns the time of the first line of a wso2carbon.log holding
// text ("TID: [-1234] [] [2006-01-02 15:04:05,000] ..."), or fails.
func logTime(t *testing.T, log, text string) time.Time {
	t.Helper()
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, text) {
			continue
		}
		m := regexp.MustCompile(`\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]`).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("no time stamp in %q", l)
		}
		ts, err := time.ParseInLocation("2006-01-02 15:04:05,000", m[1], time.Local)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	t.Fatalf("no line with %q in:\n%s", text, log)
	return time.Time{}
}
