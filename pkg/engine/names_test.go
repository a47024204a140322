package engine

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/inventory"
)

// TestNamesScript runs the probe with sh and a getent that answers like
// glibc's (three lines per address, exit 2 for an unknown name), and
// parses what it printed.
func TestNamesScript(t *testing.T) {
	dir := t.TempDir()
	getent := `#!/bin/sh
case "$2" in
n1.lab) printf '198.18.0.21     STREAM n1.lab\n198.18.0.21     DGRAM  \n198.18.0.21     RAW    \n' ;;
two.lab) printf '198.18.0.22     STREAM two.lab\n198.18.0.22     DGRAM  \n2001:db8::22    STREAM \n' ;;
*) exit 2 ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "getent"), []byte(getent), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", namesScript([]string{"n1.lab", "two.lab", "gone.lab"}))
	cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	a := func(s ...string) []netip.Addr {
		var l []netip.Addr
		for _, x := range s {
			l = append(l, netip.MustParseAddr(x))
		}
		return l
	}
	want := map[string]nodeAnswer{
		"n1.lab":   {addrs: a("198.18.0.21", "198.18.0.21", "198.18.0.21")},
		"two.lab":  {addrs: a("198.18.0.22", "198.18.0.22", "2001:db8::22")},
		"gone.lab": {status: 2},
	}
	if got := parseNames(string(out)); !reflect.DeepEqual(got, want) {
		t.Errorf("parseNames(%q) =\n%v\nwant\n%v", out, got, want)
	}
}

func TestNameProblems(t *testing.T) {
	names := []resolvedName{
		{name: "n1.lab", addr: netip.MustParseAddr("198.18.0.21"), owner: "n1"},
		{name: "lb.lab", addr: netip.MustParseAddr("198.18.0.11"), owner: "lb"},
	}
	ok := "@n1.lab\n198.18.0.21 STREAM n1.lab\n=0\n@lb.lab\n198.18.0.11 STREAM lb.lab\n=0\n"
	for _, tc := range []struct {
		name, out string
		want      []string
	}{
		{"same everywhere", ok, nil},
		{"IPv6 too, IPv4 agrees", strings.Replace(ok, "=0\n@lb", "2001:db8::21 STREAM\n=0\n@lb", 1), nil},
		{"other address", strings.Replace(ok, "198.18.0.21 STREAM", "10.9.9.21 STREAM", 1),
			[]string{"n1.lab (host of n1): on node n1 (n1.lab) it resolves to 10.9.9.21; on the control machine to 198.18.0.21"}},
		{"own name on loopback (Debian's 127.0.1.1)", strings.Replace(ok, "198.18.0.21 STREAM", "127.0.1.1 STREAM", 1),
			[]string{"n1.lab (host of n1): on node n1 (n1.lab), it resolves to 127.0.1.1, which no other machine can reach; on the control machine it resolves to 198.18.0.21"}},
		{"unknown on the node", "@n1.lab\n=2\n@lb.lab\n198.18.0.11 STREAM\n=0\n",
			[]string{"n1.lab (host of n1): on node n1 (n1.lab), it does not resolve; on the control machine it resolves to 198.18.0.21"}},
		{"several on the node", strings.Replace(ok, "=0\n@lb", "198.18.0.99 STREAM\n=0\n@lb", 1),
			[]string{"n1.lab (host of n1): on node n1 (n1.lab), it has 2 addresses (198.18.0.21, 198.18.0.99)"}},
		{"resolver failure", strings.Replace(ok, "198.18.0.11 STREAM lb.lab\n=0", "=1", 1),
			[]string{"lb.lab (host of lb): on node n1 (n1.lab), its lookup failed (getent exit status 1)"}},
		{"no probe output", "", []string{"n1.lab (host of n1): on node n1 (n1.lab), it was not looked up", "lb.lab (host of lb): on node n1 (n1.lab), it was not looked up"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := nameProblems("node n1 (n1.lab)", names, parseNames(tc.out))
			if len(got) != len(tc.want) {
				t.Fatalf("problems %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %q lacks %q", got[i], w)
				}
			}
		})
	}
}

// TestNamesOfEngine: the names the engine lists and what it connects to.
func TestNamesOfEngine(t *testing.T) {
	inv := &inventory.Inventory{
		Nodes: []inventory.Node{
			{Name: "n1", Host: "198.18.0.21", HostName: "n1.lab"},
			{Name: "n2", Host: "198.18.0.21", HostName: "n1.lab"}, // same machine
			{Name: "n3", Host: "198.18.0.23"},
		},
		LoadBalancer: &inventory.LoadBalancer{Host: "198.18.0.11", HostName: "lb.lab"},
	}
	e := &Engine{Inv: inv}
	want := []resolvedName{
		{name: "lb.lab", addr: netip.MustParseAddr("198.18.0.11"), owner: "lb"},
		{name: "n1.lab", addr: netip.MustParseAddr("198.18.0.21"), owner: "n1"},
	}
	if got := e.hostNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("hostNames = %v, want %v", got, want)
	}
	for addr, want := range map[string]string{"198.18.0.21": "n1.lab", "198.18.0.23": "198.18.0.23", "198.18.0.11": "lb.lab", "198.18.0.99": "198.18.0.99"} {
		if got := e.sshHost(addr); got != want {
			t.Errorf("sshHost(%s) = %s, want %s", addr, got, want)
		}
	}
}
