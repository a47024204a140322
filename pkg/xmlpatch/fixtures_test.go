package xmlpatch

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/textdiff"
)

// fixtureCases patch the handwritten fixtures in testdata and compare the
// unified diff an operator would review.
// The expected diffs are in testdata/golden; after a deliberate change,
// regenerate them with go test -run TestFixtures -update and review them.
var fixtureCases = []struct {
	name, file string
	ops        []Op
}{
	{
		name: "kernel axis2.xml clustering (CRLF, enable on the next line, commented look-alikes)",
		file: "axis2.xml",
		ops: []Op{
			{Kind: SetAttr, Path: "/axisconfig/clustering", Attr: "enable", Value: "true"},
			{Kind: SetText, Path: "/axisconfig/clustering/parameter[@name='membershipScheme']", Value: "wka"},
			{Kind: SetText, Path: "/axisconfig/clustering/parameter[@name='domain']", Value: "wso2.as.domain"},
			{Kind: SetText, Path: "/axisconfig/clustering/parameter[@name='localMemberHost']", Value: "198.18.0.21"},
			{Kind: SetText, Path: "/axisconfig/clustering/parameter[@name='localMemberPort']", Value: "4100"},
			{Kind: SetInner, Path: "/axisconfig/clustering/members", Value: `
				<member><hostName>198.18.0.21</hostName><port>4100</port></member>
				<member><hostName>198.18.0.22</hostName><port>4100</port></member>`},
			{Kind: Ensure, Path: "/axisconfig/clustering/parameter[@name='properties']/property[@name='subDomain']", Value: `<property name="subDomain" value="worker"/>`},
			{Kind: SetAttr, Path: "/axisconfig/clustering/parameter[@name='properties']/property[@name='subDomain']", Attr: "value", Value: "mgt"},
			{Kind: SetText, Path: "/axisconfig/transportReceiver[@name='https']/parameter[@name='proxyPort']", Value: "443"},
		},
	},
	{
		name: "ESB axis2.xml (LF, fused subDomain comments, space+TAB lines)",
		file: "axis2-esb.xml",
		ops: []Op{
			{Kind: SetAttr, Path: "/axisconfig/clustering", Attr: "enable", Value: "true"},
			{Kind: Ensure, Path: "/axisconfig/clustering/parameter[@name='properties']/property[@name='subDomain']", Value: `<property name="subDomain" value="worker"/>`},
			{Kind: SetText, Path: "/axisconfig/transportReceiver[@name='http']/parameter[@name='WSDLEPRPrefix']", Value: "https://lb.example.org/esb"},
		},
	},
	{
		name: "carbon.xml (default namespace, fused HostName)",
		file: "carbon.xml",
		ops: []Op{
			{Kind: SetText, Path: "/Server/HostName", Value: "esb.example.org"},
			{Kind: SetText, Path: "/Server/MgtHostName", Value: "mgt.esb.example.org"},
			{Kind: SetText, Path: "/Server/Ports/Offset", Value: "1"},
			{Kind: SetText, Path: "/Server/DeploymentSynchronizer/Enabled", Value: "true"},
			{Kind: SetText, Path: "/Server/EnableEmailUserName", Value: "true"},
		},
	},
	{
		name: "registry.xml (CRLF, commented remoteInstance and mount templates)",
		file: "registry.xml",
		ops: []Op{
			{Kind: Ensure, Path: "/wso2registry/dbConfig[@name='sharedregistry']", Value: `<dbConfig name="sharedregistry"><dataSource>jdbc/WSO2RegistryDB</dataSource></dbConfig>`},
			{Kind: Ensure, Path: "/wso2registry/remoteInstance[@url='https://localhost:9443/registry']", Value: `
				<remoteInstance url="https://localhost:9443/registry">
					<id>instanceid</id><dbConfig>sharedregistry</dbConfig><readOnly>false</readOnly>
					<enableCache>true</enableCache><registryRoot>/</registryRoot>
				</remoteInstance>`},
			{Kind: Ensure, Path: "/wso2registry/mount[@path='/_system/config']", Value: `<mount path="/_system/config" overwrite="true"><instanceId>instanceid</instanceId><targetPath>/_system/config</targetPath></mount>`},
			{Kind: Ensure, Path: "/wso2registry/mount[@path='/_system/governance']", Value: `<mount path="/_system/governance" overwrite="true"><instanceId>instanceid</instanceId><targetPath>/_system/governance</targetPath></mount>`},
			{Kind: SetText, Path: "/wso2registry/readOnly", Value: "true"},
		},
	},
	{
		name: "master-datasources.xml (fused and U+00A0-indented commented datasources)",
		file: "master-datasources.xml",
		ops: []Op{
			{Kind: SetText, Path: "/datasources-configuration/datasources/datasource[name='WSO2_CARBON_DB']/definition/configuration/url", Value: "jdbc:mysql://db.example.org:3306/carbon?autoReconnect=true&useSSL=false"},
			{Kind: Ensure, Path: "/datasources-configuration/datasources/datasource[name='WSO2_UM_DB']", Value: `<datasource>
				<name>WSO2_UM_DB</name>
				<jndiConfig><name>jdbc/WSO2UMDB</name></jndiConfig>
				<definition type="RDBMS"><configuration>
					<url>jdbc:mysql://db.example.org:3306/um</url>
					<username>um</username>
				</configuration></definition></datasource>`},
		},
	},
	{
		name: "catalina-server.xml (single-quoted declaration, one attribute per line)",
		file: "catalina-server.xml",
		ops: []Op{
			{Kind: SetAttr, Path: "/Server/Service/Connector[@port='9763']", Attr: "proxyPort", Value: "80"},
			{Kind: SetAttr, Path: "/Server/Service/Connector[@port='9443']", Attr: "proxyPort", Value: "443"},
			{Kind: SetAttr, Path: "/Server/Service/Engine/Host/Valve", Attr: "pattern", Value: "%h %l"},
		},
	},
	{
		name: "bps.xml (tns prefix, commented NodeId, U+00A0 after a comment)",
		file: "bps.xml",
		ops: []Op{
			{Kind: SetText, Path: "/tns:WSO2BPS/tns:NodeId", Value: "node-1"},
			{Kind: SetText, Path: "/WSO2BPS/UseDistributedLock", Value: "true"},
			{Kind: SetText, Path: "/WSO2BPS/ODESchedulerThreadPoolSize", Value: "100"},
			{Kind: Ensure, Path: "/WSO2BPS/MexInterceptors/MexInterceptor[@class='org.example.I']", Value: `<MexInterceptor class="org.example.I"/>`},
		},
	},
	{
		name: "user-mgt.xml (TABs, broken comment text, no final newline)",
		file: "user-mgt.xml",
		ops: []Op{
			{Kind: SetText, Path: "/UserManager/Realm/Configuration/Property[@name='dataSource']", Value: "jdbc/WSO2UM_DB"},
			{Kind: SetText, Path: "/UserManager/Realm/Configuration/AddAdmin", Value: "false"},
			{Kind: SetText, Path: "/UserManager/Realm/UserStoreManager/Property[@name='ReadOnly']", Value: "true"},
		},
	},
	{
		name: "tasks-config.xml (leading blank before the first comment)",
		file: "tasks-config.xml",
		ops: []Op{
			{Kind: SetText, Path: "/tasks-configuration/taskServerMode", Value: "CLUSTERED"},
			{Kind: Remove, Path: "/tasks-configuration/taskClientDispatchAddress"},
		},
	},
}

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

func TestFixtures(t *testing.T) {
	for _, tc := range fixtureCases {
		t.Run(tc.file, func(t *testing.T) {
			src := readFixture(t, tc.file)
			out, _ := patchChecked(t, src, tc.ops)
			got := textdiff.Unified(tc.file, src, out)
			golden := filepath.Join("testdata", "golden", tc.file+".diff")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s: diff:\n%s\nwant:\n%s", tc.name, got, want)
			}
		})
	}
}
