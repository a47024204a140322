package steps

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// TestRecordSpecs: a file's spec follows what its steps would write on the
// node: the same inventory gives the same spec, a changed value (domain,
// database password) another one, only for the files it lands in; a file
// that carries a secret brings its backup; a copy whose source cannot be
// read is left out.
func TestRecordSpecs(t *testing.T) {
	axis2, ds := "/opt/esb/repository/conf/axis2/axis2.xml", "/opt/esb/repository/conf/datasources/master-datasources.xml"
	base := splitEngine(t).RecordSpecs(splitEngine(t).Nodes[1])
	tests := []struct {
		name    string
		change  func(v *engine.Vars)
		changed []string // paths whose spec differs from base's
	}{
		{"same inventory", func(*engine.Vars) {}, nil},
		{"new domain", func(v *engine.Vars) { v.Cluster.Domain = "wso2.esb.green" }, []string{axis2}},
		{"new database password", func(v *engine.Vars) { v.DB.Password = "other" }, []string{ds, ds + ".carbonctl.orig"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := splitEngine(t)
			n := e.Nodes[1]
			tt.change(&n.Vars)
			got := e.RecordSpecs(n)
			if len(got) != len(base) {
				t.Fatalf("got %d specs, want %d: %v", len(got), len(base), got)
			}
			for p, spec := range got {
				if want := strings.Contains(strings.Join(tt.changed, "\n")+"\n", p+"\n"); (spec != base[p]) != want {
					t.Errorf("%s: spec changed = %v, want %v", p, spec != base[p], want)
				}
			}
		})
	}
	if _, ok := base[ds+".carbonctl.orig"]; !ok {
		t.Errorf("no spec for the backup of %s: %v", ds, base)
	}
	for p := range base {
		if strings.HasSuffix(p, ".jar") {
			t.Errorf("%s: a copy whose source cannot be read has a spec", p)
		}
	}
}

// TestRecordEntries: what a host's record is rewritten with after a run:
// the files of the nodes the run worked on as it left them, the known ones
// of nodes it did not (--limit), never those of a node that failed; and
// whether it needs rewriting at all.
func TestRecordEntries(t *testing.T) {
	written := []byte("<axisconfig/>\n")
	sum := sha256.Sum256(written)
	tests := []struct {
		name        string
		file        *remote.File
		target      bool
		failed      bool
		wantEntries int
		wantSum     string
		wantStale   bool
	}{
		{"known, nothing written", &remote.File{Exists: true, Known: true, Sum: "abc"}, true, false, 1, "abc", false},
		{"written by this run", &remote.File{Exists: true, Content: written}, true, false, 1, hex.EncodeToString(sum[:]), true},
		{"read, not a target (--limit)", &remote.File{Exists: true, Content: written}, false, false, 0, "", false},
		{"known, not a target", &remote.File{Exists: true, Known: true, Sum: "abc"}, false, false, 1, "abc", false},
		{"node failed", &remote.File{Exists: true, Content: written}, true, true, 0, "", false},
		{"missing", &remote.File{}, true, false, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := splitEngine(t)
			n := e.Nodes[1]
			n.Host.Files = map[string]*remote.File{}
			p := n.Home("repository/conf/axis2/axis2.xml")
			tt.file.Path = p
			n.Host.Files[p] = tt.file
			if !tt.target {
				e.Targets = []*engine.Node{e.Nodes[0]}
			}
			if tt.failed {
				n.MarkFailed()
			}
			entries, users, stale := e.RecordEntries(n.Host)
			if len(entries) != tt.wantEntries || stale != tt.wantStale {
				t.Fatalf("entries %v, stale %v; want %d entries, stale %v", entries, stale, tt.wantEntries, tt.wantStale)
			}
			if tt.wantEntries == 1 && (entries[0].Path != p || entries[0].Sum != tt.wantSum || len(users[n.Vars.Product.User]) != 1) {
				t.Errorf("entry %+v, users %v", entries[0], users)
			}
		})
	}
}
