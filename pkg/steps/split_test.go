package steps

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// axis2 is a clustering section as the stock axis2.xml has it.
func axis2(enable, scheme, domain, mcastPort, members string) []byte {
	return []byte(`<axisconfig name="AxisJava2.0">
    <clustering class="org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent" enable="` + enable + `">
        <parameter name="AvoidInitiation">true</parameter>
        <parameter name="membershipScheme">` + scheme + `</parameter>
        <!--<parameter name="mcastAddress">228.0.0.4</parameter>-->
        <parameter name="domain">` + domain + `</parameter>
        <parameter name="mcastPort">` + mcastPort + `</parameter>
        <parameter name="localMemberPort">4100</parameter>
        <members>` + members + `</members>
    </clustering>
</axisconfig>
`)
}

// TestIdentityDifferences: which changes of a file's content change the
// settings that members of one cluster must share.
func TestIdentityDifferences(t *testing.T) {
	base := axis2("true", "wka", "wso2.esb.domain", "45564", "<member><hostName>198.18.0.21</hostName><port>4100</port></member>")
	tests := []struct {
		name         string
		file         string
		old, planned []byte
		want         []string
	}{
		{"nothing changes", "axis2.xml", base, base, nil},
		{"new domain", "axis2.xml", base, axis2("true", "wka", "wso2.esb.green", "45564", "<member><hostName>198.18.0.21</hostName><port>4100</port></member>"),
			[]string{`clustering domain (Hazelcast group) "wso2.esb.domain" → "wso2.esb.green"`}},
		{"wka to multicast", "axis2.xml", base, axis2("true", "multicast", "wso2.esb.domain", "45564", ""),
			[]string{`membership scheme "wka" → "multicast"`}},
		{"clustering switched on", "axis2.xml", axis2("false", "wka", "wso2.esb.domain", "45564", ""), axis2("true", "wka", "wso2.esb.domain", "45564", ""),
			[]string{`clustering enabled "false" → "true"`}},
		{"another WKA member is bridged by a rolling restart", "axis2.xml", base,
			axis2("true", "wka", "wso2.esb.domain", "45564", "<member><hostName>198.18.0.21</hostName><port>4100</port></member><member><hostName>198.18.0.22</hostName><port>4100</port></member>"), nil},
		{"multicast port ignored under WKA", "axis2.xml", base, axis2("true", "wka", "wso2.esb.domain", "45999", "<member><hostName>198.18.0.21</hostName><port>4100</port></member>"), nil},
		{"multicast port matters under multicast", "axis2.xml", axis2("true", "multicast", "d", "45564", ""), axis2("true", "multicast", "d", "45999", ""),
			[]string{`multicast port "45564" → "45999"`}},
		{"unset domain is Carbon's default", "axis2.xml", axis2("true", "wka", "", "45564", ""), axis2("true", "wka", "wso2.carbon.domain", "45564", ""), nil},
		{"partition count", "hazelcast.properties", []byte("hazelcast.max.no.heartbeat.seconds=600\n"), []byte("hazelcast.max.no.heartbeat.seconds=600\nhazelcast.partition.count = 331\n"),
			[]string{`Hazelcast partition count "271" → "331"`}},
		{"heartbeat is bridged", "hazelcast.properties", []byte("hazelcast.max.no.heartbeat.seconds=600\n"), []byte("hazelcast.max.no.heartbeat.seconds=300\n"), nil},
		{"commented out", "hazelcast.properties", []byte("#hazelcast.partition.count=7\n"), []byte("! hazelcast.partition.count=9\n"), nil},
		{"other files hold none", "carbon.xml", base, axis2("false", "multicast", "x", "1", ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, after := engine.Identity{}, engine.Identity{}
			before.AddFile(tt.file, tt.old)
			after.AddFile(tt.file, tt.planned)
			if got := before.Differences(after); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// splitEngine is an engine for the ESB playbook whose three nodes' hosts
// hold axis2.xml as the playbook wrote it for testVars; running names the
// nodes whose product runs.
func splitEngine(t testing.TB, running ...string) *engine.Engine {
	t.Helper()
	pb := loadBuiltin(t, "esb-worker-manager")
	stock, err := os.ReadFile(filepath.Join(fixtureHome(t, "esb-4.9.0"), "repository", "conf", "axis2", "axis2.xml"))
	if err != nil {
		t.Fatal(err)
	}
	v := testVars(false)
	for i := range v.Nodes {
		v.Nodes[i].Home = "/opt/esb"
	}
	v.WKA, v.Manager, v.Managers, v.Workers = v.Nodes[:2], v.Nodes[0], v.Nodes[:1], v.Nodes[1:]
	e := &engine.Engine{PB: pb, Vars: v, Inv: &inventory.Inventory{Cluster: inventory.Cluster{Name: "t"}}}
	e.Out = &engine.Printer{W: &bytes.Buffer{}, Mask: engine.NewMasker(nil)}
	var step playbook.Step
	for _, s := range pb.Steps {
		if s.Name == "axis2.xml" {
			step = s
		}
	}
	for _, nv := range v.Nodes {
		n := &engine.Node{Vars: v.ForNode(nv), Host: engine.NewHost(nv.Host), Managed: map[string]bool{}}
		converged, _, err := xmlEditor(e, step, fileEditsOf(t, step), n)("axis2.xml", stock)
		if err != nil {
			t.Fatal(err)
		}
		n.Host.Files[n.Home("repository/conf/axis2/axis2.xml")] = &remote.File{Path: "axis2.xml", Exists: true, Content: converged}
		n.Host.Probes["alive:"+nv.Name] = remote.ProbeResult{ExitCode: 1}
		if slices.Contains(running, nv.Name) {
			n.Host.Probes["alive:"+nv.Name] = remote.ProbeResult{Stdout: "4242\n"}
		}
		e.Nodes = append(e.Nodes, n)
	}
	e.Targets = e.Nodes
	return e
}

// TestPlanSplitFromPlannedEdits: which inventory changes need a full
// restart is decided from what the playbook's edits would change in the
// running nodes' files.
func TestPlanSplitFromPlannedEdits(t *testing.T) {
	tests := []struct {
		name    string
		running []string
		change  func(v *engine.Vars)
		want    []string // the changes named; nil: a rolling restart will do
		// handEdited is a node whose axis2.xml has another domain than the
		// one it was started with (and still runs).
		handEdited string
	}{
		{"same inventory", []string{"mgr1", "wrk1", "wrk2"}, func(*engine.Vars) {}, nil, ""},
		{"new domain", []string{"mgr1", "wrk1", "wrk2"}, func(v *engine.Vars) { v.Cluster.Domain = "wso2.esb.green" },
			[]string{`clustering domain (Hazelcast group) "wso2.esb.domain" → "wso2.esb.green"`}, ""},
		{"new domain, one node running", []string{"wrk1"}, func(v *engine.Vars) { v.Cluster.Domain = "wso2.esb.green" }, nil, ""},
		{"new domain, nothing running", nil, func(v *engine.Vars) { v.Cluster.Domain = "wso2.esb.green" }, nil, ""},
		{"a third well-known member", []string{"mgr1", "wrk1", "wrk2"}, func(v *engine.Vars) { v.WKA = v.Nodes }, nil, ""},
		{"another local member port", []string{"mgr1", "wrk1", "wrk2"}, func(v *engine.Vars) { v.Node.LocalMemberPort = 4200 }, nil, ""},
		{"no workers left (clustering pattern)", []string{"mgr1", "wrk1"}, func(v *engine.Vars) { v.Workers = nil }, nil, ""},
		{"a hand edit on one node reverted", []string{"mgr1", "wrk1", "wrk2"}, func(*engine.Vars) {}, nil, "wrk2"},
		{"a hand edit on one node, and a new domain", []string{"mgr1", "wrk1", "wrk2"}, func(v *engine.Vars) { v.Cluster.Domain = "wso2.esb.green" },
			[]string{`clustering domain (Hazelcast group) "wso2.esb.domain" → "wso2.esb.green"`, `clustering domain (Hazelcast group) "wso2.other.domain" → "wso2.esb.green"`}, "wrk2"},
		{"new database password", []string{"mgr1", "wrk1", "wrk2"}, func(v *engine.Vars) { v.DB.Password = "other" }, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := splitEngine(t, tt.running...)
			for _, n := range e.Nodes {
				tt.change(&n.Vars)
				if n.Name() == tt.handEdited {
					f := n.Host.Files[n.Home("repository/conf/axis2/axis2.xml")]
					f.Content = bytes.Replace(f.Content, []byte(">wso2.esb.domain<"), []byte(">wso2.other.domain<"), 1)
				}
			}
			split := e.PlanSplit(context.Background())
			var got []string
			if split != nil {
				got = split.Changes
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCheckSplit: a full restart is refused without --allow-downtime and
// with --limit, allowed with the flag, and only described in a plan.
func TestCheckSplit(t *testing.T) {
	tests := []struct {
		name         string
		apply, allow bool
		limit        bool
		wantErr      []string
		wantPrinted  string
	}{
		{name: "plan says what up does", wantPrinted: "full restart: members of the old and new domain cannot join"},
		{name: "up without the flag", apply: true, wantErr: []string{"full restart: members of the old and new domain cannot join", `"wso2.esb.green"`, "--allow-downtime", "mgr1, wrk1, wrk2", "nothing was changed"}},
		{name: "up with --limit", apply: true, allow: true, limit: true, wantErr: []string{"without --limit"}},
		{name: "up with the flag", apply: true, allow: true, wantPrinted: "--allow-downtime: every node of this product stops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := splitEngine(t, "mgr1", "wrk1", "wrk2")
			for _, n := range e.Nodes {
				n.Vars.Cluster.Domain = "wso2.esb.green"
			}
			e.Opts.Apply, e.Opts.AllowDowntime = tt.apply, tt.allow
			if tt.limit {
				e.Targets = e.Nodes[1:2]
			}
			e.Split = e.PlanSplit(context.Background())
			res := e.CheckSplit()
			if len(tt.wantErr) == 0 {
				if res != nil {
					t.Fatalf("refused: %v", res.Err)
				}
			} else {
				if res == nil || res.Status != engine.Failed {
					t.Fatalf("not refused")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(res.Err.Error(), w) {
						t.Errorf("refusal %q lacks %q", res.Err, w)
					}
				}
			}
			if printed := e.Out.W.(*bytes.Buffer).String(); !strings.Contains(printed, tt.wantPrinted) {
				t.Errorf("output %q lacks %q", printed, tt.wantPrinted)
			}
		})
	}
}

// BenchmarkPlanSplitNoop is the split check's share of a no-op `up` of a
// converged 3-node cluster (it reads only the batch read's cache).
func BenchmarkPlanSplitNoop(b *testing.B) {
	e := splitEngine(b, "mgr1", "wrk1", "wrk2")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if e.PlanSplit(context.Background()) != nil {
			b.Fatal("a split on a converged cluster")
		}
	}
}
