package inventory

import (
	"strings"
	"testing"
)

// lf joins lines with "\n" and ends the text with one.
func lf(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

var wrk3 = NodeEntry{Name: "wrk3", Host: "198.18.0.24", Role: "worker"}

func TestAppendNode(t *testing.T) {
	block := lf("", "[[node]]", `name = "wrk3"`, `host = "198.18.0.24"`, `role = "worker"`)
	cases := []struct {
		name     string
		in, want string
		entry    NodeEntry
	}{
		{"nodes last: appended at the end", lf("[cluster]", `name = "c"`, "", "[[node]]", `name = "mgr1"`, "# a trailing comment"),
			lf("[cluster]", `name = "c"`, "", "[[node]]", `name = "mgr1"`, "# a trailing comment") + block, wrk3},
		{"trailing blank lines stay after the new block", lf("[[node]]", `name = "mgr1"`, "", ""),
			lf("[[node]]", `name = "mgr1"`) + block + lf("", ""), wrk3},
		{"CRLF file", "# inventory\r\n[[node]]\r\nname = \"mgr1\"\r\n",
			"# inventory\r\n[[node]]\r\nname = \"mgr1\"\r\n" + strings.ReplaceAll(block, "\n", "\r\n"), wrk3},
		{"no final newline", "[[node]]\nname = \"mgr1\"",
			"[[node]]\nname = \"mgr1\"\n" + strings.TrimSuffix(block, "\n"), wrk3},
		{"a node block followed by other tables", lf("[[node]]", `name = "mgr1"`, `role = "manager" # the only manager`, "", "# the load balancer", "[loadbalancer]", `host = "198.18.0.11"`),
			lf("[[node]]", `name = "mgr1"`, `role = "manager" # the only manager`) + block + lf("", "# the load balancer", "[loadbalancer]", `host = "198.18.0.11"`), wrk3},
		{"after the last node's sub-table", lf("[[node]]", `name = "mgr1"`, "[node.vars]", "x = 1", "", "[ssh]", `user = "ops"`),
			lf("[[node]]", `name = "mgr1"`, "[node.vars]", "x = 1") + block + lf("", "[ssh]", `user = "ops"`), wrk3},
		{"a multi-line string that looks like a table", lf("[[node]]", `name = "mgr1"`, `note = """`, "[fake]", `"""`),
			lf("[[node]]", `name = "mgr1"`, `note = """`, "[fake]", `"""`) + block, wrk3},
		{"optional keys", lf("[[node]]", `name = "mgr1"`),
			lf("[[node]]", `name = "mgr1"`, "", "[[node]]", `name = "wrk4"`, `host = "198.18.0.24"`, `role = "worker"`, `product = "esb"`, "wka = true",
				"port_offset = 1", "local_member_port = 4101", `home = "/opt/wso2esb-4.9.0-wrk4"`),
			NodeEntry{Name: "wrk4", Host: "198.18.0.24", Role: "worker", Product: "esb", WKA: true, PortOffset: 1, LocalMemberPort: 4101, Home: "/opt/wso2esb-4.9.0-wrk4"}},
		{"no node yet", lf("[cluster]", `name = "c"`), lf("[cluster]", `name = "c"`) + block, wrk3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := AppendNode([]byte(c.in), c.entry)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got:\n%q\nwant:\n%q", got, c.want)
			}
		})
	}
}

func TestRemoveNode(t *testing.T) {
	three := lf("[cluster]", `name = "c"`, "", "# the manager", "[[node]]", `name = "mgr1"`, `role = "manager" # inline`, "",
		"# first worker", "[[node]]", `name = "wrk1"`, "  [node.vars]", "  x = 1", "", "[[node]]", `name = "wrk2"`)
	cases := []struct {
		name, in, node, want string
	}{
		{"the middle node with its comment and sub-table", three, "wrk1",
			lf("[cluster]", `name = "c"`, "", "# the manager", "[[node]]", `name = "mgr1"`, `role = "manager" # inline`, "", "[[node]]", `name = "wrk2"`)},
		{"the first node", three, "mgr1",
			lf("[cluster]", `name = "c"`, "", "# first worker", "[[node]]", `name = "wrk1"`, "  [node.vars]", "  x = 1", "", "[[node]]", `name = "wrk2"`)},
		{"the last node: the blank line before it goes too", three, "wrk2",
			lf("[cluster]", `name = "c"`, "", "# the manager", "[[node]]", `name = "mgr1"`, `role = "manager" # inline`, "",
				"# first worker", "[[node]]", `name = "wrk1"`, "  [node.vars]", "  x = 1")},
		{"a node followed by another table keeps that table's comment", lf("[[node]]", `name = "mgr1"`, "", "[[node]]", `name = "wrk1"`, "", "# lb", "[loadbalancer]", "http_port = 80"), "wrk1",
			lf("[[node]]", `name = "mgr1"`, "", "# lb", "[loadbalancer]", "http_port = 80")},
		{"CRLF", "[[node]]\r\nname = \"mgr1\"\r\n\r\n[[node]]\r\nname = \"wrk1\"\r\n\r\n[ssh]\r\nport = 22\r\n", "wrk1",
			"[[node]]\r\nname = \"mgr1\"\r\n\r\n[ssh]\r\nport = 22\r\n"},
		{"no final newline", "[[node]]\r\nname = \"mgr1\"\r\n\r\n[[node]]\r\nname = \"wrk1\"", "wrk1", "[[node]]\r\nname = \"mgr1\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := RemoveNode([]byte(c.in), c.node)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got:\n%q\nwant:\n%q", got, c.want)
			}
		})
	}
}

// Appending a node and removing it again gives back the same bytes.
func TestAppendRemoveRoundTrip(t *testing.T) {
	for _, in := range []string{
		lf("[cluster]", `name = "c"`, "", "[[node]]", `name = "mgr1"`),
		"[[node]]\r\nname = \"mgr1\" # manager\r\n",
		"[[node]]\nname = \"mgr1\"",
		lf("[[node]]", `name = "mgr1"`, "", "# lb", "[loadbalancer]", `host = "198.18.0.11"`),
	} {
		added, err := AppendNode([]byte(in), wrk3)
		if err != nil {
			t.Fatal(err)
		}
		back, err := RemoveNode(added, "wrk3")
		if err != nil {
			t.Fatal(err)
		}
		if string(back) != in {
			t.Errorf("round trip of %q gave %q (via %q)", in, back, added)
		}
	}
}

func TestSetNodeKey(t *testing.T) {
	in := lf("[[node]]", `name = "mgr1"`, "", "[[node]]", `name = "wrk2"`, `role = "worker" # x`, "# port_offset = 1", "", "[node.vars]", "a = 1")
	got, err := SetNodeKey([]byte(in), "wrk2", "local_registry_db", "REGISTRY_LOCAL3")
	if err != nil {
		t.Fatal(err)
	}
	want := lf("[[node]]", `name = "mgr1"`, "", "[[node]]", `name = "wrk2"`, `role = "worker" # x`, `local_registry_db = "REGISTRY_LOCAL3"`, "# port_offset = 1", "", "[node.vars]", "a = 1")
	if string(got) != want {
		t.Fatalf("got:\n%q\nwant:\n%q", got, want)
	}
	if _, err := SetNodeKey(got, "wrk2", "local_registry_db", "X"); err == nil || !strings.Contains(err.Error(), "already sets local_registry_db (line 7)") {
		t.Errorf("setting a key twice: %v", err)
	}
}

func TestEditErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
		edit           func([]byte) ([]byte, error)
	}{
		{"unknown node", lf("[[node]]", `name = "mgr1"`), `no node named "wrk9"`,
			func(b []byte) ([]byte, error) { return RemoveNode(b, "wrk9") }},
		{"inline array of nodes", lf(`node = [{name = "mgr1"}]`), "not written as a [[node]] table",
			func(b []byte) ([]byte, error) { return RemoveNode(b, "mgr1") }},
		{"append after an inline array", lf(`node = [{name = "mgr1"}]`), "would break it",
			func(b []byte) ([]byte, error) { return AppendNode(b, wrk3) }},
		{"not TOML", "[[node]\n", "not valid TOML",
			func(b []byte) ([]byte, error) { return AppendNode(b, wrk3) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.edit([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestTOMLString(t *testing.T) {
	for in, want := range map[string]string{`a"b\c`: `"a\"b\\c"`, "tab\there": `"tab\u0009here"`, "é": `"é"`} {
		if got := tomlString(in); got != want {
			t.Errorf("tomlString(%q) = %s, want %s", in, got, want)
		}
	}
}
