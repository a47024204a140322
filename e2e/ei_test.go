package e2e

import (
	"crypto/x509"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// eiHome is where the EI inventory installs the product; the
// business-process profile runs out of eiHome/wso2/business-process.
const (
	eiHome    = "/opt/wso2ei-6.3.0"
	eiRuntime = eiHome + "/wso2/business-process"
)

// eiNodes are the two business-process nodes: bp1 the manager.
var eiNodes = []struct{ name, host string }{{"bp1", "n1"}, {"bp2", "n2"}}

func TestEIBusinessProcess(t *testing.T) {
	e := newEnv(t)

	t.Run("thread pool rule refuses the inventory before anything runs", func(t *testing.T) {
		inv := e.sampleInventory("ei-bad.toml", "ei-bp-lab.toml", setKeys("bps_max_active = 40\node_scheduler_thread_pool_size = 40"))
		r := e.carbonctl("up", inv)
		if r.code != 2 || !regexp.MustCompile(`ei-bad\.toml:\d+: node bp1: .*ode_scheduler_thread_pool_size .* must be strictly below bps_max_active`).MatchString(r.out) {
			t.Fatalf("want exit 2 naming the node and the rule, got %d:\n%s", r.code, r.out)
		}
		if strings.Contains(r.out, "STEP [") {
			t.Errorf("steps ran:\n%s", r.out)
		}
		if out := e.exec("n1", "sh", "-c", "test -e "+eiHome+" && echo present || echo absent"); !strings.Contains(out, "absent") {
			t.Errorf("the product was unpacked")
		}
		var n int
		e.admin().QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'BPEL_DB'").Scan(&n)
		if n != 0 {
			t.Errorf("a database was created")
		}
	})

	inv := e.sampleInventory("ei.toml", "ei-bp-lab.toml", setKeys("bps_max_active = 60\node_scheduler_thread_pool_size = 30"))
	t.Run("up converges the cluster", func(t *testing.T) {
		r := e.carbonctl("up", inv)
		if r.code != 0 {
			t.Fatalf("up exit %d:\n%s", r.code, r.out)
		}
		for _, want := range []string{
			"install " + eiHome + "/lib/mysql-connector-java-5.1.49.jar",
			"CREATE DATABASE IF NOT EXISTS `BPEL_DB` CHARACTER SET latin1",
			"source wso2ei-6.3.0.zip:wso2/business-process/dbscripts/bps/bpel/create/mysql.sql into BPEL_DB",
			"create " + eiRuntime + "/conf/hazelcast.properties",
			"start " + eiHome + "/bin/business-process.sh (not running)",
			"patch " + eiHome + "/bin/business-process.sh (+1 -1)",
			"create /etc/nginx/conf.d/ei.https.conf",
			" into " + eiHome + `/repository/resources/security/client-truststore.jks as "carbonctl-lb" with keytool`,
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("up output lacks %q", want)
			}
		}
		if strings.Contains(r.out, "-DworkerNode") || strings.Contains(r.out, "-Dsetup") {
			t.Errorf("a node was started with -DworkerNode or -Dsetup:\n%s", r.out)
		}
		e.assertEICluster(t)
		if t.Failed() {
			t.Logf("up output:\n%s", r.out)
		}
	})

	t.Run("nginx serves the cluster over HTTPS with the generated certificate", func(t *testing.T) {
		e.assertEILoadBalancer(t)
	})

	t.Run("status and logs find the profile's pid file, ports and log", func(t *testing.T) {
		st, r := e.status(t, inv)
		if r.code != 0 || !st.Healthy || len(st.Nodes) != 2 {
			t.Fatalf("status exit %d, healthy %v:\n%s", r.code, st.Healthy, r.out)
		}
		for _, n := range st.Nodes {
			if !n.Running || len(n.Members) != 1 || len(n.Drift) != 0 || len(n.Ports) == 0 || n.Ports[0].Port != 9445 || !n.Ports[0].Listening {
				t.Errorf("status of %s: %+v", n.Name, n)
			}
		}
		if r := e.carbonctl("logs", inv, "bp2", "-n", "200"); r.code != 0 || !strings.Contains(r.out, "BPEL engine initialized") {
			t.Errorf("logs exit %d:\n%s", r.code, r.out)
		}
	})

	t.Run("second up changes nothing", func(t *testing.T) {
		before := e.eiPids()
		r := e.carbonctl("up", inv)
		if r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
			t.Fatalf("want 0 changed, got exit %d:\n%s", r.code, r.out)
		}
		if after := e.eiPids(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("pids changed: %v -> %v", before, after)
		}
	})
}

// assertEICluster checks membership, the engines' start-up and the
// databases of the converged business-process cluster.
func (e *env) assertEICluster(t *testing.T) {
	t.Helper()
	for _, n := range eiNodes {
		log := e.exec(n.host, "cat", eiRuntime+"/logs/wso2carbon.log")
		last := log[strings.LastIndex(log, "Starting WSO2 Carbon"):]
		if strings.Contains(last, " ERROR ") || !strings.Contains(last, "WSO2 Carbon started in") {
			t.Errorf("%s did not start cleanly:\n%s", n.name, last)
		}
		for _, peer := range eiNodes {
			addr := e.lab.Hosts[peer.host] + ":4100"
			if peer.name != n.name && !regexp.MustCompile(`Member joined \[[^\]]*\]: /`+regexp.QuoteMeta(addr)).MatchString(last) {
				t.Errorf("%s did not log Member joined for %s (%s)", n.name, peer.name, addr)
			}
		}
		mode := map[bool]string{true: "read-write", false: "read-only"}[n.name == "bp1"]
		for _, want := range []string{
			`Cluster domain: wso2\.ei\.domain`,
			`Mounted /_system/config -> instance instanceid \(dbConfig wso2bpsregistry, jdbc/WSO2RegistryDB\) ` + mode,
			`BPEL engine initialized: data source bpsds \(BPS_DS, database BPEL_DB on .*\), scheduler threads 30 of 60 connections, node id "ei-bp-lab-` + n.name + `", distributed lock true`,
			`BPMN engine initialized: data source jdbc/ActivitiDB \(ACTIVITI_DB, database BPMN_DB`,
			`Task server mode: STANDALONE`,
			`shutdown hook enabled false, logging type log4j`,
			`Hazelcast logs through log4j at level INFO`,
			// Behind the load balancer: its names and HTTPS port.
			`Mgt Console URL  : https://` + map[bool]string{true: "mgt.ei.wso2.com", false: "ei.wso2.com"}[n.name == "bp1"] + `:443/carbon/`,
		} {
			if !regexp.MustCompile(want).MatchString(last) {
				t.Errorf("%s: log lacks %s", n.name, want)
			}
		}
		pid := strings.TrimSpace(e.exec(n.host, "cat", eiRuntime+"/wso2carbon.pid"))
		if cmd := e.exec(n.host, "cat", "/proc/"+pid+"/cmdline"); strings.Contains(cmd, "workerNode") || !strings.Contains(cmd, "-Dcarbon.config.dir.path="+eiRuntime+"/conf") ||
			!strings.Contains(cmd, "-Xms512m\x00-Xmx2g\x00") {
			t.Errorf("%s runs with %q", n.name, strings.ReplaceAll(cmd, "\x00", " "))
		}
	}
	db := e.admin()
	for name, tables := range map[string][]string{
		"WSO2_USER_DB": {"UM_USER"}, "REGISTRY_DB": {"REG_RESOURCE"}, "REGISTRY_LOCAL1": {"REG_RESOURCE"}, "REGISTRY_LOCAL2": {"REG_RESOURCE"},
		"BPEL_DB": {"ODE_JOB", "ODE_SCHEMA_VERSION", "HT_TASK", "ATTACHMENT"},
		"BPMN_DB": {"ACT_GE_PROPERTY", "ACT_HI_PROCINST", "ACT_ID_USER"},
	} {
		for _, table := range tables {
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", name, table).Scan(&n); err != nil || n != 1 {
				t.Errorf("database %s lacks table %s (%v)", name, table, err)
			}
		}
		var cs string
		if err := db.QueryRow("SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&cs); err != nil || cs != "latin1" {
			t.Errorf("database %s has character set %q (%v), want latin1", name, cs, err)
		}
	}
}

// eiPids returns each node's running product pid.
func (e *env) eiPids() map[string]string {
	m := map[string]string{}
	for _, n := range eiNodes {
		m[n.name] = strings.TrimSpace(e.exec(n.host, "cat", eiRuntime+"/wso2carbon.pid"))
	}
	return m
}

// assertEILoadBalancer checks the EI guide's nginx: ei.wso2.com in front of
// both nodes' servlet ports, mgt.ei.wso2.com in front of the manager's
// console, HTTPS verified against the certificate generated on the lb
// host (and refused without it), and that certificate in every node's
// client trust store.
func (e *env) assertEILoadBalancer(t *testing.T) {
	t.Helper()
	const cert = "/etc/nginx/ssl/ei.wso2.com.crt"
	n1, n2 := e.lab.Hosts["n1"], e.lab.Hosts["n2"]
	https := e.exec("lb", "cat", "/etc/nginx/conf.d/ei.https.conf")
	mgt := e.exec("lb", "cat", "/etc/nginx/conf.d/mgt.ei.https.conf")
	for _, want := range []string{"server " + n1 + ":9445", "server " + n2 + ":9445", "server_name ei.wso2.com"} {
		if !strings.Contains(https, want) {
			t.Errorf("ei.https.conf lacks %q:\n%s", want, https)
		}
	}
	if !strings.Contains(mgt, "server "+n1+":9445") || strings.Contains(mgt, n2) {
		t.Errorf("mgt.ei.https.conf: want the manager bp1 (%s) only:\n%s", n1, mgt)
	}
	if http := e.exec("lb", "cat", "/etc/nginx/conf.d/ei.http.conf"); !strings.Contains(http, "server "+n1+":9765") || !strings.Contains(http, "server "+n2+":9765") {
		t.Errorf("ei.http.conf: want both nodes' servlet HTTP port 9765:\n%s", http)
	}
	pool, c := e.lbCertPoolAt(t, cert)
	if c.Subject.CommonName != "ei.wso2.com" || strings.Join(c.DNSNames, ",") != "ei.wso2.com,mgt.ei.wso2.com" {
		t.Errorf("certificate CN %q, SANs %v", c.Subject.CommonName, c.DNSNames)
	}
	client := e.lbClient(pool)
	for _, url := range []string{"https://mgt.ei.wso2.com/carbon/", "https://ei.wso2.com/carbon/", "http://ei.wso2.com/carbon/"} {
		if body := e.get(t, client, url, 200); !strings.Contains(body, "WSO2 Management Console") {
			t.Errorf("GET %s: %q", url, body)
		}
	}
	if _, err := e.lbClient(x509.NewCertPool()).Get("https://ei.wso2.com/carbon/"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an unknown certificate was accepted: %v", err)
	}
	want := normalizePEM(e.exec("lb", "cat", cert))
	for _, n := range eiNodes {
		got := e.exec(n.host, "sh", "-c", "keytool -exportcert -rfc -alias carbonctl-lb -keystore "+eiHome+"/repository/resources/security/client-truststore.jks -storepass wso2carbon 2>/dev/null")
		if normalizePEM(got) != want {
			t.Errorf("%s: the trust store's carbonctl-lb entry is not the load balancer's certificate:\n%s", n.name, got)
		}
	}
}
