package steps

import (
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"
)

// absentCheck is a path that must not match after patching.
type absentCheck struct{ file, path string }

func TestGregPlaybookOnStockAndFixtureFiles(t *testing.T) {
	homes := stockHomes(t, "greg-5.4.0", "carbon-kernel-4.4.40")
	pb := loadBuiltin(t, "greg")
	v := sampleVars(t, "as-greg-lab.toml", "greg", nil)
	ds := "/datasources-configuration/datasources/datasource[name='WSO2_CARBON_DB']/definition/configuration/"
	for name, home := range homes {
		t.Run(name, func(t *testing.T) {
			files := applyPlaybookFiles(t, pb, home, v.ForNode(v.Nodes[0]), nil)
			for _, c := range []check{
				{"carbon.xml", "/Server/HostName", "", "198.18.0.21"},
				{"carbon.xml", "/Server/MgtHostName", "", "198.18.0.21"},
				{"carbon.xml", "/Server/Ports/Offset", "", "0"},
				{"master-datasources.xml", ds + "url", "", bpJDBC(v.DB.RegistryDB)},
				{"master-datasources.xml", ds + "username", "", "regadmin"},
				{"master-datasources.xml", ds + "password", "", "p&ss<w>rd"},
				{"master-datasources.xml", ds + "driverClassName", "", "com.mysql.jdbc.Driver"},
				{"user-mgt.xml", "/UserManager/Realm/Configuration/AdminUser/Password", "", "p&ss<w>rd"},
			} {
				if got, ok := readBack(t, files[c.file], c); !ok || got != c.want {
					t.Errorf("%s %s = %q (found %v), want %q", c.file, c.path, got, ok, c.want)
				}
			}
		})
	}
}

func TestASPlaybookOnStockAndFixtureFiles(t *testing.T) {
	homes := stockHomes(t, "as-5.3.0", "as-5.3.0")
	pb := loadBuiltin(t, "as-master-slave")
	for name, home := range homes {
		for _, fromRegistry := range []bool{false, true} {
			v := sampleVars(t, "as-greg-lab.toml", "as", map[string]any{"load_config_from_registry": fromRegistry})
			for _, nv := range v.Nodes {
				label := name + "/" + nv.Name
				if fromRegistry {
					label += "+load_config_from_registry"
				}
				t.Run(label, func(t *testing.T) {
					files := applyPlaybookFiles(t, pb, home, v.ForNode(nv), nil)
					checks, absent := asExpectations(v.ForNode(nv), fromRegistry)
					for _, c := range checks {
						if got, ok := readBack(t, files[c.file], c); !ok || got != c.want {
							t.Errorf("%s %s@%s = %q (found %v), want %q", c.file, c.path, c.attr, got, ok, c.want)
						}
					}
					for _, a := range absent {
						if got, ok := readBack(t, files[a.file], check{file: a.file, path: a.path}); ok {
							t.Errorf("%s %s = %q, want no such element", a.file, a.path, got)
						}
					}
				})
			}
		}
	}
}

func asExpectations(v engine.Vars, fromRegistry bool) ([]check, []absentCheck) {
	nv, greg := v.Node, bpJDBC(v.DB.RegistryDB)
	role, readOnly, commit := "worker", "true", "false"
	if nv.IsManager {
		role, readOnly, commit = "mgt", "false", "true"
	}
	ds := "/datasources-configuration/datasources/datasource"
	ri := "/wso2registry/remoteInstance[id='gov']"
	cs := []check{
		{"axis2.xml", "/axisconfig/clustering", "enable", "true"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='membershipScheme']", "", "wka"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='domain']", "", "wso2.as.domain"},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='localMemberHost']", "", nv.Host},
		{"axis2.xml", "/axisconfig/clustering/parameter[@name='properties']/property[@name='subDomain']", "value", role},
		{"axis2.xml", "/axisconfig/clustering/members/member[1]/hostName", "", "198.18.0.22"},
		{"axis2.xml", "/axisconfig/clustering/members/member[2]/hostName", "", "198.18.0.23"},
		{"carbon.xml", "/Server/HostName", "", nv.Host},
		{"carbon.xml", "/Server/Ports/Offset", "", "0"},
		{"carbon.xml", "/Server/DeploymentSynchronizer/Enabled", "", "true"},
		{"carbon.xml", "/Server/DeploymentSynchronizer/AutoCommit", "", commit},
		{"carbon.xml", "/Server/DeploymentSynchronizer/AutoCheckout", "", "true"},
		{"carbon.xml", "/Server/DeploymentSynchronizer/RepositoryType", "", "registry"},
		{"master-datasources.xml", ds + "[name='WSO2_CARBON_DB']/definition/configuration/url", "", "jdbc:mysql://carbondb.mysql-wso2.com:3306/" + nv.LocalRegistryDB + "?autoReconnect=true"},
		{"master-datasources.xml", ds + "[name='WSO2_GREG_DB']/jndiConfig/name", "", "jdbc/WSO2GregDB"},
		{"master-datasources.xml", ds + "[name='WSO2_GREG_DB']/definition/configuration/url", "", greg},
		{"master-datasources.xml", ds + "[name='WSO2_GREG_DB']/definition/configuration/password", "", "p&ss<w>rd"},
		{"master-datasources.xml", ds + "[name='WSO2_USER_DB']/jndiConfig/name", "", "jdbc/WSO2UMDB"},
		{"master-datasources.xml", ds + "[name='WSO2_USER_DB']/definition/configuration/url", "", "jdbc:mysql://carbondb.mysql-wso2.com:3306/WSO2_USER_DB?autoReconnect=true"},
		{"registry.xml", "/wso2registry/dbConfig[@name='govregistry']/dataSource", "", "jdbc/WSO2GregDB"},
		{"registry.xml", "/wso2registry/dbConfig[@name='wso2registry']/dataSource", "", "jdbc/WSO2CarbonDB"},
		{"registry.xml", ri, "url", "https://198.18.0.21:9443/registry"},
		{"registry.xml", ri + "/readOnly", "", readOnly},
		{"registry.xml", ri + "/dbConfig", "", "govregistry"},
		{"registry.xml", ri + "/cacheId", "", "regadmin@" + greg},
		{"registry.xml", "/wso2registry/mount[@path='/_system/config']/instanceId", "", "gov"},
		{"registry.xml", "/wso2registry/mount[@path='/_system/config']/targetPath", "", "/_system/asConfig"},
		{"registry.xml", "/wso2registry/mount[@path='/_system/governance']/targetPath", "", "/_system/governance"},
		{"user-mgt.xml", "/UserManager/Realm/Configuration/Property[@name='dataSource']", "", "jdbc/WSO2UMDB"},
	}
	if nv.IsManager {
		cs = append(cs, check{"carbon.xml", "/Server/MgtHostName", "", nv.Host})
	}
	var absent []absentCheck
	if fromRegistry && !nv.IsManager {
		cs = append(cs, check{"carbon.xml", "/Server/MediationConfig/LoadFromRegistry", "", "true"})
	} else {
		absent = append(absent, absentCheck{"carbon.xml", "/Server/MediationConfig"})
	}
	return cs, absent
}
