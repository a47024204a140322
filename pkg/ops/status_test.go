package ops

import (
	"bytes"
	"encoding/json"
	"net"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestParseListening(t *testing.T) {
	got := parseListening("0100007F:24D3\n00000000000000000000000000000000:1F90\nbogus\n0A:zz\n")
	want := map[int]bool{0x24D3: true, 8080: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseListening = %v, want %v", got, want)
	}
}

// TestListenScriptLocally runs the probe on this machine's /proc: a port
// listening here is found, one closed again is not.
func TestListenScriptLocally(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip("cannot listen:", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	probe := func() map[int]bool {
		out, err := exec.Command("sh", "-c", listenScript).Output()
		if err != nil {
			t.Fatalf("listenScript: %v", err)
		}
		return parseListening(string(out))
	}
	if !probe()[port] {
		t.Fatalf("listening port %d not found", port)
	}
	l.Close()
	if probe()[port] {
		t.Errorf("closed port %d still reported listening", port)
	}
}

func TestStatusJSONShape(t *testing.T) {
	cs := ClusterStatus{Cluster: "c", Nodes: []NodeStatus{{Name: "wrk1", Host: "10.0.0.2", Role: "worker", Running: true, PID: 42,
		Ports: []PortStatus{{Name: "https", Port: 9443, Listening: true}}, Members: []string{"mgr1"}, Missing: []string{},
		Drift: []string{"axis2.xml"}, Errors: []string{}}}, Other: map[string]TargetDrift{}}
	data, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"cluster":"c","healthy":false,"nodes":[{"name":"wrk1","host":"10.0.0.2","role":"worker","running":true,"pid":42,` +
		`"ports":[{"name":"https","port":9443,"listening":true}],"members":["mgr1"],"missing":[],"drift":["axis2.xml"],"errors":[],"healthy":false}],"other":{}}`
	if string(data) != want {
		t.Errorf("JSON\n got %s\nwant %s", data, want)
	}
}

func TestStatusTable(t *testing.T) {
	ports := func(up bool) []PortStatus {
		return []PortStatus{{Name: "https", Port: 9444, Listening: up}, {Name: "http", Port: 9764, Listening: true}}
	}
	cs := ClusterStatus{Cluster: "c", Nodes: []NodeStatus{
		{Name: "mgr1", Host: "h1", Role: "manager", Running: true, PID: 7, Ports: ports(true), Members: []string{"wrk1"}, Healthy: true},
		{Name: "wrk1", Host: "h2", Role: "worker", Running: true, PID: 8, Ports: ports(false), Members: []string{}, Missing: []string{"mgr1"}, Drift: []string{"axis2.xml", "start"}},
		{Name: "wrk2", Host: "h3", Role: "worker", Ports: ports(false), Missing: []string{"mgr1", "wrk1"}},
	}, Other: map[string]TargetDrift{"lb": {Errors: []string{"connect: refused"}}}}
	var b bytes.Buffer
	cs.WriteTable(&b)
	out := b.String()
	for _, want := range []string{
		"NODE  HOST  ROLE     STATE  PID  PORTS  PEERS  DRIFT",
		"mgr1  h1    manager  up     7    2/2    1/1    -",
		"wrk1  h2    worker   up     8    1/2    0/1    axis2.xml,start",
		"wrk2  h3    worker   down   -    1/2    0/2    -",
		"cluster c is NOT healthy:",
		"wrk1: port 9444 (https) is not listening", "wrk1: does not see mgr1", "wrk1: `up` would change step axis2.xml",
		"wrk2: not running", "lb: connect: refused",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	healthy := ClusterStatus{Cluster: "c", Nodes: cs.Nodes[:1]}
	b.Reset()
	healthy.WriteTable(&b)
	if !strings.Contains(b.String(), "cluster c is healthy") {
		t.Errorf("healthy table:\n%s", b.String())
	}
}

func TestParseUnitStates(t *testing.T) {
	out := "Id=wso2-c-wrk1.service\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=812\n\n" +
		"Id=wso2-c-wrk2.service\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\nMainPID=0\n"
	got := parseUnitStates(out)
	cases := []struct {
		unit    string
		want    ServiceStatus
		pid     int
		healthy bool
	}{
		{"wso2-c-wrk1.service", ServiceStatus{"wso2-c-wrk1.service", "active/running", "enabled", 812}, 812, true},
		{"wso2-c-wrk1.service", ServiceStatus{"wso2-c-wrk1.service", "active/running", "enabled", 812}, 900, false},
		{"wso2-c-wrk2.service", ServiceStatus{"wso2-c-wrk2.service", "inactive/dead", "disabled", 0}, 0, false},
	}
	for _, c := range cases {
		s := got[c.unit]
		if s != c.want {
			t.Errorf("%s: %+v, want %+v", c.unit, s, c.want)
		}
		if h := s.healthy(c.pid); h != c.healthy {
			t.Errorf("%s with pid %d: healthy = %v, want %v", c.unit, c.pid, h, c.healthy)
		}
	}
	var none *ServiceStatus
	if !none.healthy(5) {
		t.Error("a node without a unit must not be unhealthy for it")
	}
}

func TestStatusScriptWithUnits(t *testing.T) {
	if got := statusScript(nil); got != listenScript {
		t.Errorf("without units: %q", got)
	}
	got := statusScript([]string{"wso2-c-a.service"})
	if !strings.Contains(got, "echo "+unitsMarker+"\nsystemctl show -p Id -p ActiveState -p SubState -p UnitFileState -p MainPID 'wso2-c-a.service'\nexit 0") {
		t.Errorf("script:\n%s", got)
	}
	if err := exec.Command("sh", "-n", "-c", got).Run(); err != nil {
		t.Errorf("sh -n: %v", err)
	}
}
