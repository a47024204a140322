package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"
)

func TestMBPlaybookOnStockAndFixtureFiles(t *testing.T) {
	pb := loadBuiltin(t, "mb-cluster")
	homes := stockHomes(t, "mb-3.2.0", "mb-3.2.0", "mb-3.1.0")
	for name, home := range homes {
		v := sampleVars(t, "mb-lab.toml", "", nil) // hazelcast_max_no_heartbeat_seconds = 60, not the stock 600
		for _, nv := range v.Nodes {
			t.Run(name+"/"+nv.Name, func(t *testing.T) {
				files := applyPlaybookFiles(t, pb, home, v.ForNode(nv), nil)
				for _, c := range mbExpectations(nv) {
					got, ok := readBack(t, files[c.file], c)
					if !ok || got != c.want {
						t.Errorf("%s %s@%s = %q (found %v), want %q", c.file, c.path, c.attr, got, ok, c.want)
					}
				}
				checkHazelcast(t, files["hazelcast.properties"])
			})
		}
	}
}

// checkHazelcast checks the edited hazelcast.properties: the new value, the
// other line untouched, and still no final newline, as shipped.
func checkHazelcast(t *testing.T, got []byte) {
	t.Helper()
	want := "hazelcast.max.no.heartbeat.seconds=60\nhazelcast.shutdownhook.enabled=false"
	if string(got) != want {
		t.Errorf("hazelcast.properties = %q, want %q", got, want)
	}
}

func mbExpectations(nv engine.NodeVars) []check {
	ds := "/datasources-configuration/datasources/datasource"
	url := func(db string) string {
		return "jdbc:mysql://carbondb.mysql-wso2.com:3306/" + db + "?autoReconnect=true"
	}
	ri := "/wso2registry/remoteInstance[@url='https://localhost:9443/registry']"
	offset := map[bool]string{true: "0", false: "3"}[nv.IsManager]
	return []check{
		{"axis2.xml", "/axisconfig/clustering", "enable", "true"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='membershipScheme']", "", "wka"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='domain']", "", "wso2.mb.domain"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='localMemberHost']", "", "198.18.0.21"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='localMemberPort']", "", map[bool]string{true: "4100", false: "4003"}[nv.IsManager]},
		{"axis2.xml", "/axisconfig/clustering/members/member[1]/hostName", "", "198.18.0.21"},
		{"axis2.xml", "/axisconfig/clustering/members/member[1]/port", "", "4100"},
		{"axis2.xml", "/axisconfig/clustering/members/member[2]/hostName", "", "198.18.0.21"},
		{"axis2.xml", "/axisconfig/clustering/members/member[2]/port", "", "4003"},
		{"carbon.xml", "/Server/HostName", "", "198.18.0.21"},
		{"carbon.xml", "/Server/MgtHostName", "", "198.18.0.21"},
		{"carbon.xml", "/Server/Ports/Offset", "", offset},
		{"master-datasources.xml", ds + "[name='WSO2_CARBON_DB']/jndiConfig/name", "", "jdbc/WSO2CarbonDB"},
		{"master-datasources.xml", ds + "[name='WSO2_CARBON_DB']/definition/configuration/url", "", url(nv.LocalRegistryDB)},
		{"master-datasources.xml", ds + "[name='WSO2_CARBON_DB']/definition/configuration/driverClassName", "", "com.mysql.jdbc.Driver"},
		{"master-datasources.xml", ds + "[name='WSO2_MB_STORE_DB']/jndiConfig/name", "", "WSO2MBStoreDB"},
		{"master-datasources.xml", ds + "[name='WSO2_MB_STORE_DB']/definition/configuration/url", "", url("MB_DB")},
		{"master-datasources.xml", ds + "[name='WSO2_MB_STORE_DB']/definition/configuration/username", "", "mbadmin"},
		{"master-datasources.xml", ds + "[name='WSO2_MB_STORE_DB']/definition/configuration/password", "", "p&ss<w>rd"},
		{"master-datasources.xml", ds + "[name='WSO2_MB_STORE_DB']/definition/configuration/driverClassName", "", "com.mysql.jdbc.Driver"},
		{"master-datasources.xml", ds + "[name='WSO2_MB_STORE_DB']/definition/configuration/defaultAutoCommit", "", "false"},
		{"master-datasources.xml", ds + "[name='WSO2_USER_DB']/jndiConfig/name", "", "jdbc/WSO2UMDB"},
		{"master-datasources.xml", ds + "[name='WSO2_USER_DB']/definition/configuration/url", "", url("WSO2_USER_DB")},
		{"master-datasources.xml", ds + "[name='WSO2_USER_DB']/definition/configuration/password", "", "p&ss<w>rd"},
		{"master-datasources.xml", ds + "[name='WSO2_REGISTRY_DB']/jndiConfig/name", "", "jdbc/WSO2RegistryDB"},
		{"master-datasources.xml", ds + "[name='WSO2_REGISTRY_DB']/definition/configuration/url", "", url("REGISTRY_DB")},
		{"master-datasources.xml", ds + "[name='WSO2_REGISTRY_DB']/definition/configuration/password", "", "p&ss<w>rd"},
		{"registry.xml", "/wso2registry/dbConfig[@name='wso2registry']/dataSource", "", "jdbc/WSO2CarbonDB"},
		{"registry.xml", "/wso2registry/dbConfig[@name='sharedregistry']/dataSource", "", "jdbc/WSO2RegistryDB"},
		{"registry.xml", ri + "/dbConfig", "", "sharedregistry"},
		{"registry.xml", ri + "/readOnly", "", "false"},
		{"registry.xml", ri + "/cacheId", "", "mbadmin@" + url("REGISTRY_DB")},
		{"registry.xml", "/wso2registry/mount[@path='/_system/config']/targetPath", "", "/_system/config"},
		{"registry.xml", "/wso2registry/mount[@path='/_system/governance']/instanceId", "", "instanceid"},
		{"registry.xml", "/wso2registry/mount[@path='/_system/governance']/targetPath", "", "/_system/governance"},
		{"user-mgt.xml", "/UserManager/Realm/Configuration/Property[@name='dataSource']", "", "jdbc/WSO2UMDB"},
		{"broker.xml", "/broker/coordination/thriftServerHost", "", "198.18.0.21"},
		{"broker.xml", "/broker/coordination/nodeID", "", "default"},
		{"broker.xml", "/broker/persistence/messageStore/property[@name='dataSource']", "", "WSO2MBStoreDB"},
		{"broker.xml", "/broker/persistence/contextStore/property[@name='dataSource']", "", "WSO2MBStoreDB"},
		{"broker.xml", "/broker/transports/mqtt/bindAddress", "", "0.0.0.0"},
	}
}

// TestMBFixtureMirrorsStockStructure checks that the fixture product keeps
// the stock files' traps the playbook must get past: the message store's
// commented look-alikes, no-break-space indentation, hazelcast.properties
// without a final newline, and the same MB store table names.
func TestMBFixtureMirrorsStockStructure(t *testing.T) {
	fixture := fixtureHome(t, "mb-3.2.0")
	read := func(dir, rel string) string {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ds := read(fixture, "repository/conf/datasources/master-datasources.xml")
	if strings.Count(ds, "<name>WSO2_MB_STORE_DB</name>") < 2 || !strings.Contains(ds, "\u00a0") {
		t.Errorf("fixture master-datasources.xml lacks the commented WSO2_MB_STORE_DB look-alike or the U+00A0 indentation")
	}
	if hz := read(fixture, "repository/conf/hazelcast.properties"); strings.HasSuffix(hz, "\n") {
		t.Errorf("fixture hazelcast.properties ends with a newline; the stock one does not")
	}
	dir := corpusDir(t)
	want := tableNames(read(filepath.Join(dir, "mb-3.2.0"), "dbscripts/mb-store/mysql-mb.sql"))
	got := tableNames(read(fixture, "dbscripts/mb-store/mysql-mb.sql"))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("fixture mysql-mb.sql tables %v, stock MB 3.2.0 has %v", got, want)
	}
}

// tableNames lists the CREATE TABLE IF NOT EXISTS names of a script, in order.
func tableNames(script string) []string {
	var names []string
	const marker = "CREATE TABLE IF NOT EXISTS "
	for _, l := range strings.Split(script, "\n") {
		if i := strings.Index(strings.ToUpper(l), marker); i >= 0 {
			names = append(names, strings.Fields(l[i+len(marker):])[0])
		}
	}
	return names
}
