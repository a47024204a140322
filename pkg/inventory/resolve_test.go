package inventory

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeDNS answers lookups from a table; a missing name is "not found", a
// name mapped to nil times out. It counts the lookups.
type fakeDNS struct {
	table map[string][]string
	calls atomic.Int32
}

func (f *fakeDNS) lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	f.calls.Add(1)
	list, ok := f.table[name]
	switch {
	case !ok:
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	case list == nil:
		<-ctx.Done()
		return nil, &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true}
	}
	var out []netip.Addr
	for _, s := range list {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func TestPickAddr(t *testing.T) {
	for _, tc := range []struct {
		addrs   []string
		want    string
		wantErr string
	}{
		{[]string{"198.18.0.21"}, "198.18.0.21", ""},
		{[]string{"198.18.0.21", "198.18.0.21"}, "198.18.0.21", ""},
		{[]string{"::ffff:198.18.0.21", "198.18.0.21"}, "198.18.0.21", ""},
		{[]string{"2001:db8::21", "198.18.0.21"}, "198.18.0.21", ""}, // IPv4 first
		{[]string{"2001:db8::21"}, "2001:db8::21", ""},
		{[]string{"198.18.0.21", "198.18.0.22"}, "", "has 2 addresses (198.18.0.21, 198.18.0.22)"},
		{[]string{"2001:db8::21", "2001:db8::22"}, "", "has 2 addresses"},
		{[]string{"127.0.1.1"}, "", "resolves to 127.0.1.1, which no other machine can reach"},
		{[]string{"::1"}, "", "which no other machine can reach"},
		{nil, "", "has no address"},
	} {
		var addrs []netip.Addr
		for _, s := range tc.addrs {
			addrs = append(addrs, netip.MustParseAddr(s))
		}
		got, err := PickAddr(addrs)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("PickAddr(%v) error = %v, want it to mention %q", tc.addrs, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got.String() != tc.want):
			t.Errorf("PickAddr(%v) = %v, %v; want %s", tc.addrs, got, err, tc.want)
		}
	}
}

func TestResolveNames(t *testing.T) {
	dns := &fakeDNS{table: map[string][]string{
		"mgr1.lab": {"198.18.0.21"}, "wkr1.lab": {"198.18.0.22", "2001:db8::22"}, "lb.lab": {"198.18.0.11"},
	}}
	p := defaultParts()
	p.nodes = node("mgr1", "mgr1.lab", "manager", "wka = true") + node("wkr1", "wkr1.lab", "worker") + node("wkr2", "198.18.0.23", "worker")
	p.lb = "[loadbalancer]\nhost = \"lb.lab\"\nservice_host_name = \"esb.wso2.com\"\nmgt_host_name = \"mgt.esb.wso2.com\"\n"
	inv := mustParse(t, fixtureDir(t), p.doc())
	if inv.Nodes[0].Host != "mgr1.lab" || inv.Nodes[0].HostName != "" {
		t.Fatalf("before Resolve: Host %q, HostName %q: a name must stay as written (validation needs no DNS)", inv.Nodes[0].Host, inv.Nodes[0].HostName)
	}
	if err := inv.Resolve(context.Background(), dns.lookup); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ got, want string }{
		{inv.Nodes[0].Host, "198.18.0.21"}, {inv.Nodes[0].HostName, "mgr1.lab"}, {inv.Nodes[0].SSHHost(), "mgr1.lab"},
		{inv.Nodes[1].Host, "198.18.0.22"}, {inv.Nodes[1].HostName, "wkr1.lab"},
		{inv.Nodes[2].Host, "198.18.0.23"}, {inv.Nodes[2].HostName, ""}, {inv.Nodes[2].SSHHost(), "198.18.0.23"},
		{inv.LoadBalancer.Host, "198.18.0.11"}, {inv.LoadBalancer.SSHHost(), "lb.lab"},
		{inv.WKAMembers()[0].Host, "198.18.0.21"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	calls := dns.calls.Load()
	if err := inv.Resolve(context.Background(), dns.lookup); err != nil || dns.calls.Load() != calls {
		t.Errorf("second Resolve: err %v, %d more lookups; want none", err, dns.calls.Load()-calls)
	}
}

// TestResolveProductGroups: the groups of one inventory share one lookup
// per name, and each group's copy of the nodes gets the address.
func TestResolveProductGroups(t *testing.T) {
	dns := &fakeDNS{table: map[string][]string{"greg1.lab": {"198.18.0.21"}, "as1.lab": {"198.18.0.22"}}}
	p := asGreg()
	p.nodes = strings.Replace(strings.Replace(p.nodes, `"198.18.0.21"`, `"greg1.lab"`, 1), `"198.18.0.22"`, `"as1.lab"`, 1)
	inv := mustParse(t, fixtureDir(t), p.doc())
	greg, as := inv.ForProduct("greg"), inv.ForProduct("as")
	for _, sub := range []*Inventory{greg, as} {
		if err := sub.Resolve(context.Background(), dns.lookup); err != nil {
			t.Fatal(err)
		}
	}
	if dns.calls.Load() != 2 {
		t.Errorf("%d lookups for 2 names", dns.calls.Load())
	}
	if greg.Nodes[0].Host != "198.18.0.21" || as.Nodes[0].Host != "198.18.0.22" || as.AllNodes()[0].HostName != "greg1.lab" {
		t.Errorf("greg %+v, as %+v", greg.Nodes[0], as.Nodes[0])
	}
}

func TestResolveErrors(t *testing.T) {
	dns := &fakeDNS{table: map[string][]string{
		"two.lab": {"198.18.0.21", "198.18.0.31"}, "loop.lab": {"127.0.1.1"}, "slow.lab": nil,
		"a.lab": {"198.18.0.40"}, "b.lab": {"198.18.0.40"},
	}}
	for _, tc := range []struct {
		name  string
		nodes string
		wants []string // "line: text"
	}{
		{"not found", node("mgr1", "gone.lab", "manager"),
			[]string{`23: node[1].host: node mgr1: host name "gone.lab": does not resolve on the control machine`}},
		{"several", node("mgr1", "two.lab", "manager"),
			[]string{`node[1].host: node mgr1: host name "two.lab": on the control machine, it has 2 addresses (198.18.0.21, 198.18.0.31) and the cluster needs the one the peers reach: write in host the address`}},
		{"loopback", node("mgr1", "198.18.0.21", "manager") + node("wkr1", "loop.lab", "worker"),
			[]string{`27: node[2].host: node wkr1: host name "loop.lab": on the control machine, it resolves to 127.0.1.1, which no other machine can reach`}},
		{"timeout", node("mgr1", "slow.lab", "manager"),
			[]string{`node[1].host: node mgr1: host name "slow.lab": lookup timed out on the control machine`}},
		{"two names, one machine", node("mgr1", "a.lab", "manager") + node("wkr1", "b.lab", "worker", "port_offset = 1"),
			[]string{`node[2].host: node mgr1 (a.lab) and node wkr1 (b.lab) are the same machine, 198.18.0.40: write host the same way`}},
		{"name and address, one machine", node("mgr1", "198.18.0.40", "manager") + node("wkr1", "a.lab", "worker", "port_offset = 1"),
			[]string{`node[2].host: node mgr1 (198.18.0.40) and node wkr1 (a.lab) are the same machine`}},
		{"every problem at once", node("mgr1", "gone.lab", "manager") + node("wkr1", "two.lab", "worker"),
			[]string{`node[1].host: node mgr1: host name "gone.lab"`, `node[2].host: node wkr1: host name "two.lab"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := defaultParts()
			p.ssh = "[ssh]\nconnect_timeout = \"1s\"\n"
			p.nodes = tc.nodes
			inv := mustParse(t, fixtureDir(t), p.doc())
			err := inv.Resolve(context.Background(), dns.lookup)
			if err == nil {
				t.Fatalf("no error; want %q", tc.wants)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), "inventory.toml:"+w) && !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tc.wants) {
				t.Errorf("%d problems, want %d:\n%v", n, len(tc.wants), err)
			}
		})
	}
}
