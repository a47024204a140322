package steps

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

func TestEIBusinessProcessPlaybookOnStockAndFixtureFiles(t *testing.T) {
	pb := loadBuiltin(t, "ei-business-process")
	homes := stockHomes(t, "ei-6.3.0", "ei-6.3.0")
	overrides := map[string]any{"bps_max_active": int64(60), "ode_scheduler_thread_pool_size": int64(30)}
	for name, home := range homes {
		// The corpus has no start scripts: the JVM heap edit is proven on the fixture.
		absent := map[string]bool{"bin/business-process.sh": name != "fixture"}
		v := sampleVars(t, "ei-bp-lab.toml", "", overrides)
		for _, nv := range v.Nodes {
			t.Run(name+"/"+nv.Name, func(t *testing.T) {
				files := applyPlaybookFiles(t, pb, home, v.ForNode(nv), absent)
				for _, c := range eiExpectations(v.ForNode(nv)) {
					checkBPValue(t, files, c)
				}
				if !absent["bin/business-process.sh"] && !strings.Contains(string(files["business-process.sh"]), `JVM_MEM_OPTS="-Xms512m -Xmx2g"`) {
					t.Errorf("business-process.sh lacks the sample's JVM heap:\n%s", files["business-process.sh"])
				}
			})
		}
	}
}

// TestEIBusinessProcessLoadBalancer checks the EI guide's nginx: the
// sample's names, ei.* vhost files, every node behind the service name on
// its servlet ports and the manager alone behind the console's name.
func TestEIBusinessProcessLoadBalancer(t *testing.T) {
	pb := loadBuiltin(t, "ei-business-process")
	v := sampleVars(t, "ei-bp-lab.toml", "", nil)
	var vh VHosts
	for _, s := range pb.Steps {
		if k, ok := s.Kind.(*LBVHosts); ok {
			vh = k.VHosts
		}
	}
	if !engine.HasStep[engine.LoadBalancerKind](pb) || vh.Prefix != "ei" || v.LB == nil || v.LB.ServiceHostName != "ei.wso2.com" {
		t.Fatalf("no EI load balancer: steps %v, vhosts %+v, LB %+v", engine.HasStep[engine.LoadBalancerKind](pb), vh, v.LB)
	}
	var svc, mgt []string
	for _, n := range serviceNodes(v.Nodes, vh.ServiceBackends) {
		svc = append(svc, fmt.Sprintf("%s:%d", n.Host, vh.HTTPSPort+n.PortOffset))
	}
	for _, n := range v.Managers {
		mgt = append(mgt, fmt.Sprintf("%s:%d", n.Host, vh.MgtPort+n.PortOffset))
	}
	if got := strings.Join(svc, " "); got != "198.18.0.21:9445 198.18.0.22:9445" {
		t.Errorf("service backends %s, want both nodes' servlet HTTPS port", got)
	}
	if got := strings.Join(mgt, " "); got != "198.18.0.21:9445" {
		t.Errorf("console backends %s, want the manager's", got)
	}
	// The profile's carbon.xml reads its trust store below carbon.home,
	// which bin/business-process.sh sets to EI_HOME: the file the truststore
	// step imports into.
	doc, err := os.ReadFile(filepath.Join(corpusDir(t), "ei-6.3.0", "wso2", "business-process", "conf", "carbon.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range pb.Steps {
		ts, ok := st.Kind.(*Truststore)
		if !ok {
			continue
		}
		if got, ok, err := xmlpatch.Get(doc, "/Server/Security/TrustStore/Location"); err != nil || !ok || got != "${carbon.home}/"+ts.File {
			t.Errorf("stock TrustStore Location %q (%v %v), the truststore step imports into %s", got, ok, err, ts.File)
		}
	}
}

// checkBPValue reads one value back from the patched files: an XML path
// (with attr) or, for a properties file, a key (path "key:NAME").
func checkBPValue(t *testing.T, files map[string][]byte, c check) {
	t.Helper()
	var got string
	var ok bool
	if key, isProp := strings.CutPrefix(c.path, "key:"); isProp {
		got, ok = engine.PropertyValue(files[c.file], key)
	} else {
		got, ok = readBack(t, files[c.file], c)
	}
	if !ok || got != c.want {
		t.Errorf("%s %s@%s = %q (found %v), want %q", c.file, c.path, c.attr, got, ok, c.want)
	}
}

// bpJDBC is the JDBC URL the playbooks write for a database.
func bpJDBC(db string) string {
	return "jdbc:mysql://carbondb.mysql-wso2.com:3306/" + db + "?autoReconnect=true"
}

// bpDS is the path of the datasources in a *-datasources.xml file.
const bpDS = "/datasources-configuration/datasources/datasource"

func eiExpectations(v engine.Vars) []check {
	cs := []check{
		{"catalina-server.xml", "/Server/Service/Connector[@port='9763']", "proxyPort", "80"},
		{"catalina-server.xml", "/Server/Service/Connector[@port='9443']", "proxyPort", "443"},
	}
	if v.Node.IsManager {
		cs = append(cs, check{"carbon.xml", "/Server/MgtHostName", "", "mgt.ei.wso2.com"})
	}
	return append(append(cs, bpCommonExpectations(v, "wso2.ei.domain", "BPEL_DB")...),
		check{"axis2.xml", "/axisconfig/clustering/members/member[2]/hostName", "", "198.18.0.22"},
		check{"axis2.xml", "/axisconfig/clustering/members/member[2]/port", "", "4100"},
		check{"activiti-datasources.xml", bpDS + "[name='ACTIVITI_DB']/jndiConfig/name", "", "jdbc/ActivitiDB"},
		check{"activiti-datasources.xml", bpDS + "[name='ACTIVITI_DB']/definition/configuration/url", "", bpJDBC("BPMN_DB")},
		check{"activiti-datasources.xml", bpDS + "[name='ACTIVITI_DB']/definition/configuration/username", "", "regadmin"},
		check{"hazelcast.properties", "key:hazelcast.shutdownhook.enabled", "", "false"},
		check{"hazelcast.properties", "key:hazelcast.logging.type", "", "log4j"},
		check{"log4j.properties", "key:log4j.logger.com.hazelcast", "", "INFO"},
	)
}

// hostName is carbon.xml's HostName: the load balancer's service name, else
// the node's address.
func hostName(v engine.Vars) string {
	if v.LB != nil {
		return v.LB.ServiceHostName
	}
	return v.Node.Host
}

// bpCommonExpectations are the values both business-process playbooks set.
func bpCommonExpectations(v engine.Vars, domain, bpelDB string) []check {
	nv := v.Node
	readOnly := map[bool]string{true: "false", false: "true"}[nv.IsManager]
	ds, jdbc := bpDS, bpJDBC
	ri := "/wso2registry/remoteInstance[@url='https://localhost:9443/registry']"
	return []check{
		{"axis2.xml", "/axisconfig/clustering", "enable", "true"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='membershipScheme']", "", "wka"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='domain']", "", domain},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='localMemberHost']", "", nv.Host},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='localMemberPort']", "", "4100"},
		{"axis2.xml", "/axisconfig/clustering/members/member[1]/hostName", "", "198.18.0.21"},
		{"carbon.xml", "/Server/HostName", "", hostName(v)},
		{"carbon.xml", "/Server/Ports/Offset", "", fmt.Sprint(nv.PortOffset)},
		{"master-datasources.xml", ds + "[name='WSO2_CARBON_DB']/definition/configuration/url", "", jdbc(nv.LocalRegistryDB)},
		{"master-datasources.xml", ds + "[name='WSO2_SHARED_REG']/jndiConfig/name", "", "jdbc/WSO2RegistryDB"},
		{"master-datasources.xml", ds + "[name='WSO2_USER_DB']/definition/configuration/password", "", "p&ss<w>rd"},
		{"bps-datasources.xml", ds + "[name='BPS_DS']/jndiConfig/name", "", "bpsds"},
		{"bps-datasources.xml", ds + "[name='BPS_DS']/definition/configuration/url", "", jdbc(bpelDB)},
		{"bps-datasources.xml", ds + "[name='BPS_DS']/definition/configuration/password", "", "p&ss<w>rd"},
		{"bps-datasources.xml", ds + "[name='BPS_DS']/definition/configuration/driverClassName", "", "com.mysql.jdbc.Driver"},
		{"bps-datasources.xml", ds + "[name='BPS_DS']/definition/configuration/defaultAutoCommit", "", "true"},
		{"bps-datasources.xml", ds + "[name='BPS_DS']/definition/configuration/maxActive", "", "60"},
		{"registry.xml", "/wso2registry/dbConfig[@name='wso2registry']/dataSource", "", "jdbc/WSO2CarbonDB"},
		{"registry.xml", "/wso2registry/dbConfig[@name='wso2bpsregistry']/dataSource", "", "jdbc/WSO2RegistryDB"},
		{"registry.xml", ri + "/dbConfig", "", "wso2bpsregistry"},
		{"registry.xml", ri + "/readOnly", "", readOnly},
		{"registry.xml", ri + "/cacheId", "", "regadmin@" + jdbc("REGISTRY_DB")},
		{"registry.xml", "/wso2registry/mount[@path='/_system/config']/targetPath", "", "/_system/bpsconfig"},
		{"registry.xml", "/wso2registry/mount[@path='/_system/governance']/instanceId", "", "instanceid"},
		{"user-mgt.xml", "/UserManager/Realm/Configuration/Property[@name='dataSource']", "", "jdbc/WSO2UMDB"},
		{"tasks-config.xml", "/tasks-configuration/taskServerMode", "", "STANDALONE"},
		{"tasks-config.xml", "/tasks-configuration/taskServerCount", "", "1"},
		{"bps.xml", "/WSO2BPS/UseDistributedLock", "", "true"},
		{"bps.xml", "/WSO2BPS/ODESchedulerThreadPoolSize", "", "30"},
		{"bps.xml", "/WSO2BPS/NodeId", "", v.Cluster.Name + "-" + nv.Name},
		{"bps.xml", "/WSO2BPS/DataBaseConfig/DataSource", "name", "bpsds"},
	}
}

func TestBPSMasterSlavePlaybookOnStockAndFixtureFiles(t *testing.T) {
	pb := loadBuiltin(t, "bps-master-slave")
	homes := stockHomes(t, "bps-3.6.0", "bps-3.6.0", "bps-3.5.1")
	// The corpus has no start scripts: the JVM heap edit is proven on the fixture.
	noScript := map[string]bool{"bin/wso2server.sh": true}
	overrides := map[string]any{"bps_max_active": int64(60), "ode_scheduler_thread_pool_size": int64(30), "jvm_xms": "512m", "jvm_xmx": "2g"}
	for name, home := range homes {
		absent := noScript
		if name == "fixture" {
			absent = nil
		}
		v := sampleVars(t, "bps-lab.toml", "", overrides)
		for _, nv := range v.Nodes {
			t.Run(name+"/"+nv.Name, func(t *testing.T) {
				files := applyPlaybookFiles(t, pb, home, v.ForNode(nv), absent)
				role := map[bool]string{true: "mgt", false: "worker"}[nv.IsManager]
				cs := append(bpCommonExpectations(v.ForNode(nv), "wso2.bps.domain", "BPS_DB"),
					check{"axis2.xml", "/axisconfig/clustering/parameter[@name='properties']/property[@name='subDomain']", "value", role})
				if nv.IsManager {
					cs = append(cs, check{"carbon.xml", "/Server/MgtHostName", "", nv.Host})
				}
				for _, c := range cs {
					checkBPValue(t, files, c)
				}
				// slave2's own vars = { jvm_xmx = "1024m" } wins over [vars].
				heap := fmt.Sprintf("\n    -Xms%v -Xmx%v -XX:MaxPermSize=256m \\\n", v.ForNode(nv).Vars["jvm_xms"], v.ForNode(nv).Vars["jvm_xmx"])
				if absent == nil && !strings.Contains(string(files["wso2server.sh"]), heap) {
					t.Errorf("wso2server.sh lacks the JVM heap:\n%s", files["wso2server.sh"])
				}
				// The well-known members are listed, and slave2, which is not one, is not.
				for i, w := range v.WKA {
					checkBPValue(t, files, check{"axis2.xml", fmt.Sprintf("/axisconfig/clustering/members/member[%d]/hostName", i+1), "", w.Host})
				}
				extra := fmt.Sprintf("/axisconfig/clustering/members/member[%d]/hostName", len(v.WKA)+1)
				if got, ok, err := xmlpatch.Get(files["axis2.xml"], extra); ok || err != nil {
					t.Errorf("axis2.xml lists a member that is not well-known: %q (%v)", got, err)
				}
			})
		}
	}
}

// TestBPSLoadBalancerOnStockFiles applies the BPS playbook with the optional
// load balancer to the stock BPS files: the LB's names in carbon.xml and
// its ports as proxyPort of the servlet connectors.
func TestBPSLoadBalancerOnStockFiles(t *testing.T) {
	pb := loadBuiltin(t, "bps-master-slave")
	homes := stockHomes(t, "bps-3.6.0", "bps-3.6.0", "bps-3.5.1")
	for name, home := range homes {
		v := sampleVars(t, "bps-lab.toml", "", nil)
		v.LB = &engine.LBVars{Host: "198.18.0.11", ServiceHostName: "bps.wso2.com", MgtHostName: "mgt.bps.wso2.com", HTTPPort: 80, HTTPSPort: 443}
		for _, nv := range v.Nodes {
			t.Run(name+"/"+nv.Name, func(t *testing.T) {
				files := applyPlaybookFiles(t, pb, home, v.ForNode(nv), map[string]bool{"bin/wso2server.sh": name != "fixture"})
				cs := []check{
					{"carbon.xml", "/Server/HostName", "", "bps.wso2.com"},
					{"catalina-server.xml", "/Server/Service/Connector[@port='9763']", "proxyPort", "80"},
					{"catalina-server.xml", "/Server/Service/Connector[@port='9443']", "proxyPort", "443"},
				}
				if nv.IsManager {
					cs = append(cs, check{"carbon.xml", "/Server/MgtHostName", "", "mgt.bps.wso2.com"})
				}
				for _, c := range cs {
					checkBPValue(t, files, c)
				}
			})
		}
	}
}
