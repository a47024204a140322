package steps

import (
	"fmt"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

func TestEIBusinessProcessPlaybookOnStockAndFixtureFiles(t *testing.T) {
	pb := loadBuiltin(t, "ei-business-process")
	homes := stockHomes(t, "ei-6.3.0", "ei-6.3.0")
	overrides := map[string]any{"bps_max_active": int64(60), "ode_scheduler_thread_pool_size": int64(30)}
	for name, home := range homes {
		v := sampleVars(t, "ei-bp-lab.toml", "", overrides)
		for _, nv := range v.Nodes {
			t.Run(name+"/"+nv.Name, func(t *testing.T) {
				files := applyPlaybookFiles(t, pb, home, v.forNode(nv), nil)
				for _, c := range eiExpectations(v.forNode(nv)) {
					checkBPValue(t, files, c)
				}
			})
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
		got, ok = propertyValue(files[c.file], key)
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

func eiExpectations(v Vars) []check {
	return append(bpCommonExpectations(v, "wso2.ei.domain", "BPEL_DB"),
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

// bpCommonExpectations are the values both business-process playbooks set.
func bpCommonExpectations(v Vars, domain, bpelDB string) []check {
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
		{"carbon.xml", "/Server/HostName", "", nv.Host},
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
				files := applyPlaybookFiles(t, pb, home, v.forNode(nv), absent)
				role := map[bool]string{true: "mgt", false: "worker"}[nv.IsManager]
				cs := append(bpCommonExpectations(v.forNode(nv), "wso2.bps.domain", "BPS_DB"),
					check{"axis2.xml", "/axisconfig/clustering/parameter[@name='properties']/property[@name='subDomain']", "value", role})
				if nv.IsManager {
					cs = append(cs, check{"carbon.xml", "/Server/MgtHostName", "", nv.Host})
				}
				for _, c := range cs {
					checkBPValue(t, files, c)
				}
				// slave2's own vars = { jvm_xmx = "1024m" } wins over [vars].
				heap := fmt.Sprintf("\n    -Xms%v -Xmx%v -XX:MaxPermSize=256m \\\n", v.forNode(nv).Vars["jvm_xms"], v.forNode(nv).Vars["jvm_xmx"])
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
