package xmlpatch

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/textdiff"
)

// corpusDir is the folder of stock WSO2 configuration files: the shared
// folder next to the repository, or $CARBONCTL_WSO2_CONF.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CARBONCTL_WSO2_CONF")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "wso2-conf")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		abs, _ := filepath.Abs(dir)
		t.Skipf("SKIPPED: WSO2 stock corpus not found at %s; the real-file proof did not run (set CARBONCTL_WSO2_CONF)", abs)
	}
	return dir
}

// TestStockCorpus applies realistic clustering edits to every stock WSO2
// XML file and checks that only the edited lines change.
func TestStockCorpus(t *testing.T) {
	dir := corpusDir(t)
	var files []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".xml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.xml files under %s", dir)
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			checkCorpusFile(t, rel, src)
		})
	}
	t.Logf("patched %d stock files from %s", len(files), dir)
}

func checkCorpusFile(t *testing.T, rel string, src []byte) {
	if err := stdParse(src); err != nil {
		t.Fatalf("encoding/xml rejects the stock file: %v", err)
	}
	ops := corpusOps(t, filepath.Base(rel), src)
	out, changed, err := Patch(src, ops)
	if err != nil {
		t.Fatalf("Patch: %v", err)
	}
	if !changed {
		t.Fatalf("no op changed anything")
	}
	if err := stdParse(out); err != nil {
		t.Fatalf("encoding/xml rejects the result: %v", err)
	}
	checkEOL(t, src, out)
	checkReadBack(t, out, ops)
	again, changed2, err := Patch(out, ops)
	if err != nil || changed2 || !bytes.Equal(again, out) {
		t.Fatalf("second Patch is not a no-op: changed=%v err=%v", changed2, err)
	}
	added, removed := checkChangedLines(t, src, out, ops)
	t.Logf("%d ops: +%d -%d lines", len(ops), added, removed)
}

// corpusOps returns the edits for a stock file, chosen by its name.
func corpusOps(t *testing.T, base string, src []byte) []Op {
	switch {
	case base == "axis2.xml":
		return axis2Ops()
	case base == "carbon.xml":
		return []Op{
			{Kind: SetText, Path: "/Server/HostName", Value: "node1.example.org"},
			{Kind: SetText, Path: "/Server/MgtHostName", Value: "mgt.example.org"},
			{Kind: SetText, Path: "/Server/Ports/Offset", Value: "1"},
		}
	case base == "master-datasources.xml":
		return []Op{
			{Kind: SetText, Path: "/datasources-configuration/datasources/datasource[name='WSO2_CARBON_DB']/definition/configuration/url", Value: "jdbc:mysql://198.18.0.10:3306/carbon_db?autoReconnect=true&useSSL=false"},
			{Kind: Ensure, Path: "/datasources-configuration/datasources/datasource[name='WSO2_UM_DB']", Value: `
				<datasource>
					<name>WSO2_UM_DB</name>
					<description>user manager</description>
					<jndiConfig><name>jdbc/WSO2UMDB</name></jndiConfig>
					<definition type="RDBMS">
						<configuration>
							<url>jdbc:mysql://198.18.0.10:3306/um_db?autoReconnect=true&amp;useSSL=false</url>
							<username>um</username>
							<password>secret</password>
							<driverClassName>com.mysql.jdbc.Driver</driverClassName>
							<validationQuery>SELECT 1</validationQuery>
						</configuration>
					</definition>
				</datasource>`},
		}
	case strings.HasSuffix(base, "-datasources.xml"):
		name, ok, err := Get(src, "/datasources-configuration/datasources/datasource[1]/name")
		if err != nil || !ok {
			t.Fatalf("first datasource name: %q %v %v", name, ok, err)
		}
		return []Op{{Kind: SetText, Path: "/datasources-configuration/datasources/datasource[name='" + name + "']/definition/configuration/url", Value: "jdbc:mysql://198.18.0.10:3306/" + strings.ToLower(name)}}
	case base == "registry.xml":
		return []Op{
			{Kind: Ensure, Path: "/wso2registry/dbConfig[@name='sharedregistry']", Value: `<dbConfig name="sharedregistry"><dataSource>jdbc/WSO2RegistryDB</dataSource></dbConfig>`},
			{Kind: Ensure, Path: "/wso2registry/remoteInstance[@url='https://localhost:9443/registry']", Value: `<remoteInstance url="https://localhost:9443/registry">
				<id>instanceid</id><dbConfig>sharedregistry</dbConfig><readOnly>false</readOnly>
				<enableCache>true</enableCache><registryRoot>/</registryRoot></remoteInstance>`},
			{Kind: Ensure, Path: "/wso2registry/mount[@path='/_system/config']", Value: `<mount path="/_system/config" overwrite="true"><instanceId>instanceid</instanceId><targetPath>/_system/config</targetPath></mount>`},
			{Kind: Ensure, Path: "/wso2registry/mount[@path='/_system/governance']", Value: `<mount path="/_system/governance" overwrite="true"><instanceId>instanceid</instanceId><targetPath>/_system/governance</targetPath></mount>`},
		}
	case base == "user-mgt.xml":
		return []Op{{Kind: SetText, Path: "/UserManager/Realm/Configuration/Property[@name='dataSource']", Value: "jdbc/WSO2UMDB"}}
	case base == "catalina-server.xml":
		return []Op{
			{Kind: SetAttr, Path: "/Server/Service/Connector[@port='9763']", Attr: "proxyPort", Value: "80"},
			{Kind: SetAttr, Path: "/Server/Service/Connector[@port='9443']", Attr: "proxyPort", Value: "443"},
		}
	case base == "tasks-config.xml":
		return []Op{{Kind: SetText, Path: "/tasks-configuration/taskServerMode", Value: "CLUSTERED"}}
	case base == "bps.xml":
		return []Op{{Kind: SetText, Path: "/tns:WSO2BPS/tns:NodeId", Value: "node-1"}}
	case base == "broker.xml":
		return []Op{
			{Kind: SetText, Path: "/broker/coordination/nodeID", Value: "node-1"},
			{Kind: SetText, Path: "/broker/coordination/thriftServerHost", Value: "198.18.0.21"},
		}
	case base == "humantask.xml":
		return []Op{
			{Kind: SetText, Path: "/HumanTaskServerConfig/HumanTaskCoordination/TaskCoordinationEnabled", Value: "true"},
			{Kind: Ensure, Path: "/HumanTaskServerConfig/HumanTaskCoordination/ClusteredTaskEngines", Value: "<ClusteredTaskEngines><LoadBalancerURL>https://lb.example.org</LoadBalancerURL></ClusteredTaskEngines>"},
		}
	}
	t.Fatalf("no edits defined for %s: add them to corpusOps", base)
	return nil
}

func axis2Ops() []Op {
	const c = "/axisconfig/clustering"
	const sub = c + "/parameter[@name='properties']/property[@name='subDomain']"
	return []Op{
		{Kind: SetAttr, Path: c, Attr: "enable", Value: "true"},
		{Kind: SetText, Path: c + "/parameter[@name='membershipScheme']", Value: "wka"},
		{Kind: SetText, Path: c + "/parameter[@name='domain']", Value: "wso2.carbonctl.domain"},
		{Kind: SetText, Path: c + "/parameter[@name='localMemberHost']", Value: "198.18.0.21"},
		{Kind: SetText, Path: c + "/parameter[@name='localMemberPort']", Value: "4100"},
		{Kind: SetInner, Path: c + "/members", Value: `
			<member><hostName>198.18.0.21</hostName><port>4100</port></member>
			<member><hostName>198.18.0.22</hostName><port>4100</port></member>`},
		{Kind: Ensure, Path: sub, Value: `<property name="subDomain" value="worker"/>`},
		{Kind: SetAttr, Path: sub, Attr: "value", Value: "mgt"},
	}
}

// checkEOL fails if the result mixes line endings the source did not mix.
func checkEOL(t *testing.T, src, out []byte) {
	t.Helper()
	c0, l0 := eolMix(src)
	c1, l1 := eolMix(out)
	if (c0 == 0 && c1 > 0) || (l0 == 0 && l1 > 0) {
		t.Fatalf("line endings: source %d CRLF/%d LF, result %d CRLF/%d LF", c0, l0, c1, l1)
	}
}

// checkReadBack reads every edited value back, with Get/GetAttr/Count and
// independently with encoding/xml.
func checkReadBack(t *testing.T, out []byte, ops []Op) {
	t.Helper()
	std, err := stdTree(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		p, err := parsePath(op.Path)
		if err != nil {
			t.Fatal(err)
		}
		stdMatches := std.eval(p)
		switch op.Kind {
		case SetText:
			got, ok, err := Get(out, op.Path)
			if err != nil || !ok || got != op.Value {
				t.Errorf("%s: Get = %q, %v, %v", op, got, ok, err)
			}
			if len(stdMatches) != 1 || strings.TrimSpace(stdMatches[0].text) != op.Value {
				t.Errorf("%s: encoding/xml sees %d matches %v", op, len(stdMatches), stdMatches)
			}
		case SetAttr:
			got, ok, err := GetAttr(out, op.Path, op.Attr)
			if err != nil || !ok || got != op.Value {
				t.Errorf("%s: GetAttr = %q, %v, %v", op, got, ok, err)
			}
			if len(stdMatches) != 1 || stdMatches[0].attrs[op.Attr] != op.Value {
				t.Errorf("%s: encoding/xml sees %d matches %v", op, len(stdMatches), stdMatches)
			}
		case Ensure, SetInner:
			n, err := Count(out, op.Path)
			if err != nil || n != 1 || len(stdMatches) != 1 {
				t.Errorf("%s: Count = %d, %v; encoding/xml sees %d", op, n, err, len(stdMatches))
			}
		}
	}
}

// checkChangedLines diffs src and out by lines: every removed line must be
// one an op edits (it lies in the edited element or start tag, or names an
// element or attribute of the ops; at most one per SetText/SetAttr op) or
// lie inside a SetInner target; every added line must name an element or
// attribute the ops mention.
func checkChangedLines(t *testing.T, src, out []byte, ops []Op) (added, removed int) {
	t.Helper()
	tokens, inner, spans := opTokens(t, src, ops)
	edits := 0
	for _, op := range ops {
		if op.Kind == SetText || op.Kind == SetAttr {
			edits++
		}
	}
	outsideInner := 0
	forEachChangedLine(textdiff.Unified("x", src, out), func(mark byte, line int, text string) {
		if mark == '+' {
			added++
			if !containsAny(text, tokens) {
				t.Errorf("added line %q names nothing the ops edit", text)
			}
			return
		}
		removed++
		if inner[line] {
			return
		}
		outsideInner++
		if !spans[line] && !containsAny(text, tokens) {
			t.Errorf("removed line %d %q names nothing the ops edit", line, text)
		}
	})
	if outsideInner > edits {
		t.Errorf("%d lines removed outside SetInner targets, but only %d set/attr ops", outsideInner, edits)
	}
	return added, removed
}

// opTokens lists the element and attribute names the ops mention, the
// source lines inside the SetInner targets, and the source lines of the
// elements (start tags, for SetAttr) that the ops edit.
func opTokens(t *testing.T, src []byte, ops []Op) ([]string, map[int]bool, map[int]bool) {
	doc, err := parseDocument(src)
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	inner, spans := map[int]bool{}, map[int]bool{}
	nameRe := regexp.MustCompile(`<([A-Za-z_][\w.:-]*)`)
	for _, op := range ops {
		p, _ := parsePath(op.Path)
		for _, st := range p.steps {
			tokens = append(tokens, st.local)
		}
		last := p.steps[len(p.steps)-1]
		for _, pr := range last.preds {
			if pr.kind == predAttr {
				tokens = append(tokens, pr.name+"=")
			}
		}
		if op.Attr != "" {
			tokens = append(tokens, op.Attr+"=")
		}
		for _, m := range nameRe.FindAllStringSubmatch(op.Value, -1) {
			tokens = append(tokens, localOf(m[1]))
		}
		for _, e := range doc.resolve(p) {
			end := e.end
			if op.Kind == SetAttr {
				end = e.tagEnd
			}
			for l := doc.line(e.start); l <= doc.line(end-1); l++ {
				spans[l] = true
			}
			if op.Kind == SetInner {
				for l := doc.line(e.innerStart) + 1; l < doc.line(e.innerEnd); l++ {
					inner[l] = true
				}
			}
		}
	}
	return tokens, inner, spans
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

var hunkRe = regexp.MustCompile(`^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@`)

// forEachChangedLine walks a unified diff and reports removed lines with
// their line number in the old text and added lines with theirs in the new.
func forEachChangedLine(diff string, f func(mark byte, line int, text string)) {
	var a, b int
	for _, l := range strings.Split(diff, "\n") {
		if m := hunkRe.FindStringSubmatch(l); m != nil {
			a, _ = strconv.Atoi(m[1])
			b, _ = strconv.Atoi(m[2])
			continue
		}
		if l == "" || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "+++") || l[0] == '\\' {
			continue
		}
		switch l[0] {
		case ' ':
			a++
			b++
		case '-':
			f('-', a, l[1:])
			a++
		case '+':
			f('+', b, l[1:])
			b++
		}
	}
}

// TestCorpusCommentsAreOpaque checks, on the real files, that elements the
// stock files hold only inside comments are not seen, and that the live
// copies are found where a commented look-alike also exists.
func TestCorpusCommentsAreOpaque(t *testing.T) {
	dir := corpusDir(t)
	tests := []struct {
		file, path string
		want       int
	}{
		{"carbon-kernel-4.4.40/repository/conf/carbon.xml", "/Server/HostName", 0},
		{"ei-6.3.0/wso2/business-process/conf/carbon.xml", "/Server/HostName", 1},
		{"carbon-kernel-4.4.40/repository/conf/carbon.xml", "/Server/ServerURL", 1},
		{"bps-3.6.0/repository/conf/carbon.xml", "/Server/DeploymentSynchronizer", 1},
		{"carbon-kernel-4.4.40/repository/conf/axis2/axis2.xml", "/axisconfig/clustering/parameter[@name='localMemberBindAddress']", 0},
		{"carbon-kernel-4.4.40/repository/conf/axis2/axis2.xml", "/axisconfig/transportReceiver[@name='https']", 1},
		{"esb-5.0.0/repository/conf/axis2/axis2.xml", "/axisconfig/clustering/parameter[@name='properties']/property[@name='subDomain']", 0},
		{"esb-4.9.0/repository/conf/axis2/axis2.xml", "/axisconfig/transportReceiver/parameter[@name='WSDLEPRPrefix']", 0},
		{"esb-5.0.0/repository/conf/registry.xml", "/wso2registry/handler", 0},
		{"esb-5.0.0/repository/conf/registry.xml", "/wso2registry/remoteInstance", 0},
		{"mb-3.2.0/repository/conf/datasources/master-datasources.xml", "/datasources-configuration/datasources/datasource[name='WSO2_MB_STORE_DB']", 1},
		{"esb-4.9.0/repository/conf/user-mgt.xml", "/UserManager/Realm/UserStoreManager", 1},
		{"bps-3.6.0/repository/conf/bps.xml", "/WSO2BPS/NodeId", 0},
		{"bps-3.6.0/repository/conf/bps.xml", "/WSO2BPS/ODESchedulerConfiguration", 0},
		{"carbon-kernel-4.4.40/repository/conf/tomcat/catalina-server.xml", "/Server/Service/Connector[@proxyPort='80']", 0},
	}
	for _, tt := range tests {
		src, err := os.ReadFile(filepath.Join(dir, tt.file))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		n, err := Count(src, tt.path)
		if err != nil || n != tt.want {
			t.Errorf("%s: Count(%s) = %d, %v; want %d", tt.file, tt.path, n, err, tt.want)
		}
		std, err := stdTree(src)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := parsePath(tt.path)
		if got := len(std.eval(p)); got != tt.want {
			t.Errorf("%s: encoding/xml finds %d for %s", tt.file, got, tt.path)
		}
	}
}

// stdNode is an element as encoding/xml sees it, for independent checks.
type stdNode struct {
	local string
	attrs map[string]string // by local name
	text  string
	kids  []*stdNode
}

func (n *stdNode) String() string { return fmt.Sprintf("<%s %v>%q", n.local, n.attrs, n.text) }

func stdTree(b []byte) (*stdNode, error) {
	doc := &stdNode{}
	stack := []*stdNode{doc}
	err := stdWalk(b, func(start *stdNode, text string, end bool) {
		top := stack[len(stack)-1]
		switch {
		case start != nil:
			top.kids = append(top.kids, start)
			stack = append(stack, start)
		case end:
			stack = stack[:len(stack)-1]
		default:
			top.text += text
		}
	})
	return doc, err
}

// eval evaluates a parsed path on the tree.
func (n *stdNode) eval(p *path) []*stdNode {
	cur := []*stdNode{n}
	for _, st := range p.steps {
		var next []*stdNode
		for _, c := range cur {
			next = append(next, c.filter(st)...)
		}
		cur = next
	}
	return cur
}

func (n *stdNode) filter(st step) []*stdNode {
	var out []*stdNode
	for _, k := range n.kids {
		if k.local == st.local {
			out = append(out, k)
		}
	}
	for _, pr := range st.preds {
		if pr.kind == predPos {
			if pr.pos > len(out) {
				return nil
			}
			out = out[pr.pos-1 : pr.pos]
			continue
		}
		var kept []*stdNode
		for _, e := range out {
			if e.holds(pr) {
				kept = append(kept, e)
			}
		}
		out = kept
	}
	return out
}

func (n *stdNode) holds(pr pred) bool {
	if pr.kind == predAttr {
		v, ok := n.attrs[localOf(pr.name)]
		return ok && v == pr.value
	}
	for _, k := range n.kids {
		if k.local == localOf(pr.name) && strings.TrimSpace(k.text) == pr.value {
			return true
		}
	}
	return false
}
