package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlace(t *testing.T) {
	node := func(name, host string, offset, port int) Node {
		return Node{Name: name, Host: host, PortOffset: offset, LocalMemberPort: port}
	}
	cases := []struct {
		name      string
		nodes     []Node
		offset    int
		offsetSet bool
		want      NodeEntry
		note      string
	}{
		{"a host of its own keeps the defaults", []Node{node("wrk1", "10.0.0.2", 0, 4100)}, 0, false,
			NodeEntry{Name: "new", Host: "10.0.0.9"}, ""},
		{"a host of its own with an offset", []Node{node("wrk1", "10.0.0.2", 0, 4100)}, 4, true,
			NodeEntry{Name: "new", Host: "10.0.0.9", PortOffset: 4}, ""},
		{"shared host: next offset and member port, own home", []Node{node("wrk1", "10.0.0.9", 0, 4100)}, 0, false,
			NodeEntry{Name: "new", Host: "10.0.0.9", PortOffset: 1, LocalMemberPort: 4101, Home: "/opt/esb-new"},
			"new shares 10.0.0.9 with wrk1: picked port_offset 1 (ports 9444, 9764, 8281, 8244), local_member_port 4101, home /opt/esb-new"},
		{"offsets 0 and 1 taken", []Node{node("a", "10.0.0.9", 0, 4100), node("b", "::ffff:10.0.0.9", 1, 4101)}, 0, false,
			NodeEntry{Name: "new", Host: "10.0.0.9", PortOffset: 2, LocalMemberPort: 4102, Home: "/opt/esb-new"},
			"new shares 10.0.0.9 with a, b: picked port_offset 2"},
		{"member port 4101 taken", []Node{node("a", "10.0.0.9", 0, 4101)}, 0, false,
			NodeEntry{Name: "new", Host: "10.0.0.9", PortOffset: 1, LocalMemberPort: 4102, Home: "/opt/esb-new"}, "local_member_port 4102"},
		{"given offset on a shared host", []Node{node("a", "10.0.0.9", 0, 4100)}, 3, true,
			NodeEntry{Name: "new", Host: "10.0.0.9", PortOffset: 3, LocalMemberPort: 4103, Home: "/opt/esb-new"}, "picked port_offset 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv := &Inventory{Product: Product{Home: "/opt/esb"}, Nodes: c.nodes}
			e := NodeEntry{Name: "new", Host: "10.0.0.9"}
			var offset *int
			if c.offsetSet {
				offset = &c.offset
			}
			note := inv.Place(&e, offset)
			if e != c.want || !strings.Contains(note, c.note) || (c.note == "") != (note == "") {
				t.Errorf("got %+v, %q; want %+v, %q", e, note, c.want, c.note)
			}
		})
	}
}

// A node of another product gets a home next to that product's.
func TestPlaceProduct(t *testing.T) {
	inv := &Inventory{
		Product:  Product{Home: "/opt/esb"},
		Products: map[string]Product{"greg": {Key: "greg", Home: "/opt/greg"}},
		Nodes:    []Node{{Name: "esb1", Host: "10.0.0.9", LocalMemberPort: 4100}},
	}
	e := NodeEntry{Name: "reg1", Host: "10.0.0.9", Product: "greg"}
	inv.Place(&e, nil)
	if e.Home != "/opt/greg-reg1" || e.PortOffset != 1 {
		t.Errorf("got %+v, want home /opt/greg-reg1 and offset 1", e)
	}
}

func TestReplace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "inv.toml")
	if err := os.WriteFile(p, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Replace(p, []byte("old\n"), []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{p: "new\n", p + ".bak": "old\n"} {
		got, err := os.ReadFile(file)
		info, _ := os.Stat(file)
		if err != nil || string(got) != want || info.Mode().Perm() != 0o640 {
			t.Errorf("%s: %q (%v, mode %v), want %q, 0640", file, got, err, info.Mode(), want)
		}
	}
	if err := Replace(p, []byte("old\n"), []byte("newer\n")); err == nil || !strings.Contains(err.Error(), "changed while carbonctl was working") {
		t.Errorf("writing over a file changed meanwhile: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestWithoutNodePins(t *testing.T) {
	p := defaultParts()
	p.nodes += node("wrk2", "198.18.0.23", "worker")
	raw := []byte(p.doc())
	inv := mustParse(t, fixtureDir(t), p.doc())
	data, pins, err := inv.WithoutNode(raw, "wkr1")
	if err != nil {
		t.Fatal(err)
	}
	if len(pins) != 1 || !strings.Contains(pins[0], `local_registry_db = "REGISTRY_LOCAL3" on wrk2`) {
		t.Errorf("pins %v", pins)
	}
	if !strings.Contains(string(data), "name = \"wrk2\"\nhost = \"198.18.0.23\"\nrole = \"worker\"\nlocal_registry_db = \"REGISTRY_LOCAL3\"\n") ||
		strings.Contains(string(data), "wkr1") {
		t.Errorf("got:\n%s", data)
	}
	if _, pins, err = inv.WithoutNode(raw, "wrk2"); err != nil || len(pins) != 0 {
		t.Errorf("removing the last node: pins %v, %v", pins, err)
	}
}
