package inventory

import "testing"

// TestMBTwoNodesOnOneHost is the MB clustering guide's single-machine
// layout: the second broker on the same host with port offset 3, local
// member port 4003 and a CARBON_HOME of its own, and the ways it clashes.
func TestMBTwoNodesOnOneHost(t *testing.T) {
	const host = "198.18.0.21"
	mb1 := func(extra ...string) string {
		return node("mb1", host, "manager", append([]string{"wka = true", `home = "/opt/mb1/wso2mb-3.2.0"`}, extra...)...)
	}
	mb2 := func(extra ...string) string {
		return node("mb2", host, "worker", append([]string{"wka = true"}, extra...)...)
	}
	tests := []struct {
		name  string
		nodes string
		wants []want // none: the inventory is valid
	}{
		{
			name:  "guide layout",
			nodes: mb1() + mb2("port_offset = 3", "local_member_port = 4003", `home = "/opt/mb2/wso2mb-3.2.0"`),
		},
		{
			name:  "second node without an offset",
			nodes: mb1() + mb2("local_member_port = 4003", `home = "/opt/mb2/wso2mb-3.2.0"`),
			wants: []want{{"# mb2", "node[2].port_offset", "nodes mb1 and mb2 on 198.18.0.21 both use port offset 0"}},
		},
		{
			name:  "second node with the first one's member port",
			nodes: mb1() + mb2("port_offset = 3", `home = "/opt/mb2/wso2mb-3.2.0"`),
			wants: []want{{"# mb2", "node[2].local_member_port", "both use local_member_port 4100"}},
		},
		{
			name:  "member port on the other node's console port",
			nodes: mb1("local_member_port = 9446") + mb2("port_offset = 3", "local_member_port = 4003 # here", `home = "/opt/mb2/wso2mb-3.2.0"`),
			wants: []want{{"# here", "node[2].local_member_port", "would both use port 9446 (mb1: local_member_port, mb2: 9443+3)"}},
		},
		{
			name:  "second node in the first one's home",
			nodes: mb1() + mb2("port_offset = 3", "local_member_port = 4003", `home = "/opt/mb1/wso2mb-3.2.0" # here`),
			wants: []want{{"# here", "node[2].home", "both use home /opt/mb1/wso2mb-3.2.0: two servers cannot share a CARBON_HOME"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultParts()
			p.product = "[product]\narchive = \"archive.zip\"\nhome = \"/opt/wso2mb-3.2.0\"\n"
			p.nodes = tt.nodes
			doc := p.doc()
			inv, errs := parse(t, fixtureDir(t), doc)
			if len(tt.wants) > 0 {
				checkProblems(t, doc, errs, tt.wants)
				return
			}
			if errs != nil {
				t.Fatalf("Parse:\n%v\ninventory:\n%s", errs, numbered(doc))
			}
			n1, n2 := inv.Nodes[0], inv.Nodes[1]
			if n1.PortOffset != 0 || n1.LocalMemberPort != 4100 || n2.PortOffset != 3 || n2.LocalMemberPort != 4003 ||
				n1.Home == n2.Home || n1.Host != n2.Host {
				t.Errorf("nodes = %+v, %+v", n1, n2)
			}
		})
	}
}
