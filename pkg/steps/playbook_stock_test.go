package steps

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/fixtures/product"
	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

// corpusDir is the stock WSO2 files beside the repository (see README).
func corpusDir(t *testing.T) string {
	dir := os.Getenv("CARBONCTL_WSO2_CONF")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "wso2-conf")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("SKIPPED: WSO2 stock corpus not found at %s; the playbook was not proven on real files", dir)
	}
	return dir
}

// fixtureHome returns a fresh copy of the simulated product source (its
// merged template tree, see fixtures/product).
func fixtureHome(t testing.TB, source string) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), source)
	if err := product.Copy(filepath.Join("..", "..", "fixtures", "product"), source, home); err != nil {
		t.Fatal(err)
	}
	return home
}

// testVars is a 3-node ESB cluster with a load balancer.
func testVars(withLB bool) engine.Vars {
	nodes := []engine.NodeVars{
		{Index: 1, Name: "mgr1", Host: "198.18.0.21", Role: "manager", IsManager: true, WKA: true, LocalMemberPort: 4100, LocalRegistryDB: "REGISTRY_LOCAL1"},
		{Index: 2, Name: "wrk1", Host: "198.18.0.22", Role: "worker", WKA: true, LocalMemberPort: 4100, LocalRegistryDB: "REGISTRY_LOCAL2"},
		{Index: 3, Name: "wrk2", Host: "198.18.0.23", Role: "worker", LocalMemberPort: 4100, PortOffset: 1, LocalRegistryDB: "REGISTRY_LOCAL3"},
	}
	v := engine.Vars{
		Cluster: engine.ClusterVars{Name: "t", Domain: "wso2.esb.domain"},
		Nodes:   nodes, WKA: nodes[:2], Manager: nodes[0], Managers: nodes[:1], Workers: nodes[1:],
		DB: engine.DBVars{Host: "198.18.0.10", Port: 3306, Address: "carbondb.mysql-wso2.com", User: "regadmin", Password: "p&ss<w>rd",
			UserDB: "WSO2_USER_DB", RegistryDB: "REGISTRY_DB"},
	}
	if withLB {
		v.LB = &engine.LBVars{Host: "198.18.0.11", ServiceHostName: "esb.wso2.com", MgtHostName: "mgt.esb.wso2.com", HTTPPort: 80, HTTPSPort: 443}
	}
	return v
}

// check is one value to read back after patching.
type check struct{ file, path, attr, want string }

func TestESBPlaybookOnStockAndFixtureFiles(t *testing.T) {
	homes := stockHomes(t, "esb-4.9.0", "esb-4.9.0", "esb-5.0.0")
	for name, home := range homes {
		for _, withLB := range []bool{false, true} {
			v := testVars(withLB)
			for _, nv := range v.Nodes {
				label := name + "/" + nv.Name
				if withLB {
					label += "+lb"
				}
				t.Run(label, func(t *testing.T) {
					files := applyPlaybookFiles(t, builtin(t), home, v.ForNode(nv), nil)
					for _, c := range expectations(nv, withLB) {
						got, ok := readBack(t, files[c.file], c)
						if !ok || got != c.want {
							t.Errorf("%s %s@%s = %q (found %v), want %q", c.file, c.path, c.attr, got, ok, c.want)
						}
					}
				})
			}
		}
	}
}

// TestESBPlaybookWithoutWorkers: a cluster with no worker/manager split runs
// the scheduled tasks on every node (clusteringPattern nonWorkerManager); with
// workers, ESB 5.0's stock WorkerManager stays.
func TestESBPlaybookWithoutWorkers(t *testing.T) {
	home := filepath.Join(corpusDir(t), "esb-5.0.0")
	c := check{file: "axis2.xml", path: "/axisconfig/clustering/parameter[@name='clusteringPattern']"}
	for _, tt := range []struct {
		name    string
		workers bool
		want    string
	}{{"with workers", true, "WorkerManager"}, {"managers only", false, "nonWorkerManager"}} {
		t.Run(tt.name, func(t *testing.T) {
			v := testVars(false)
			if !tt.workers {
				v.Workers = nil
			}
			files := applyPlaybookFiles(t, builtin(t), home, v.ForNode(v.Nodes[0]), nil)
			if got, _ := readBack(t, files[c.file], c); got != tt.want {
				t.Errorf("clusteringPattern = %q, want %q", got, tt.want)
			}
		})
	}
}

func readBack(t *testing.T, doc []byte, c check) (string, bool) {
	t.Helper()
	if doc == nil {
		return "", false
	}
	var got string
	var ok bool
	var err error
	if c.attr != "" {
		got, ok, err = xmlpatch.GetAttr(doc, c.path, c.attr)
	} else {
		got, ok, err = xmlpatch.Get(doc, c.path)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", c.file, c.path, err)
	}
	return got, ok
}

func expectations(nv engine.NodeVars, withLB bool) []check {
	role, readOnly := "worker", "true"
	if nv.IsManager {
		role, readOnly = "mgt", "false"
	}
	hostName := nv.Host
	if withLB {
		hostName = "esb.wso2.com"
	}
	ds := "/datasources-configuration/datasources/datasource"
	cs := []check{
		{"axis2.xml", "/axisconfig/clustering", "enable", "true"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='membershipScheme']", "", "wka"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='domain']", "", "wso2.esb.domain"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='localMemberHost']", "", nv.Host},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='localMemberPort']", "", "4100"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='properties']/property[@name='subDomain']", "value", role},
		{"axis2.xml", "/axisconfig/clustering/members/member[1]/hostName", "", "198.18.0.21"},
		{"axis2.xml", "/axisconfig/clustering/members/member[2]/hostName", "", "198.18.0.22"},
		{"carbon.xml", "/Server/HostName", "", hostName},
		{"carbon.xml", "/Server/Ports/Offset", "", map[bool]string{true: "1", false: "0"}[nv.PortOffset == 1]},
		{"master-datasources.xml", ds + "[name='WSO2_CARBON_DB']/definition/configuration/url", "", "jdbc:mysql://carbondb.mysql-wso2.com:3306/" + nv.LocalRegistryDB + "?autoReconnect=true"},
		{"master-datasources.xml", ds + "[name='WSO2_CARBON_DB']/definition/configuration/password", "", "p&ss<w>rd"},
		{"master-datasources.xml", ds + "[name='WSO2_SHARED_REG']/jndiConfig/name", "", "jdbc/WSO2RegistryDB"},
		{"master-datasources.xml", ds + "[name='WSO2_SHARED_REG']/definition/configuration/password", "", "p&ss<w>rd"},
		{"master-datasources.xml", ds + "[name='WSO2_USER_DB']/jndiConfig/name", "", "jdbc/WSO2UMDB"},
		{"registry.xml", "/wso2registry/dbConfig[@name='sharedregistry']/dataSource", "", "jdbc/WSO2RegistryDB"},
		{"registry.xml", "/wso2registry/remoteInstance[@url='https://localhost:9443/registry']/readOnly", "", readOnly},
		{"registry.xml", "/wso2registry/remoteInstance[@url='https://localhost:9443/registry']/cacheId", "", "regadmin@jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_DB?autoReconnect=true"},
		{"registry.xml", "/wso2registry/mount[@path='/_system/config']/instanceId", "", "instanceid"},
		{"registry.xml", "/wso2registry/mount[@path='/_system/governance']/targetPath", "", "/_system/governance"},
		{"registry.xml", "/wso2registry/dbConfig[@name='wso2registry']/dataSource", "", "jdbc/WSO2CarbonDB"},
		{"user-mgt.xml", "/UserManager/Realm/Configuration/Property[@name='dataSource']", "", "jdbc/WSO2UMDB"},
	}
	if nv.IsManager {
		cs = append(cs, check{"carbon.xml", "/Server/MgtHostName", "", map[bool]string{true: "mgt.esb.wso2.com", false: nv.Host}[withLB]})
	}
	if withLB && nv.IsManager {
		cs = append(cs,
			check{"catalina-server.xml", "/Server/Service/Connector[@port='9763']", "proxyPort", "80"},
			check{"catalina-server.xml", "/Server/Service/Connector[@port='9443']", "proxyPort", "443"})
	}
	if withLB && !nv.IsManager {
		cs = append(cs,
			check{"axis2.xml", "/axisconfig/transportReceiver[@name='http']/parameter[@name='WSDLEPRPrefix']", "", "http://esb.wso2.com:80"},
			check{"axis2.xml", "/axisconfig/transportReceiver[@name='https']/parameter[@name='WSDLEPRPrefix']", "", "https://esb.wso2.com:443"})
	}
	return cs
}
