package steps

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

func TestSecretPlaces(t *testing.T) {
	v := testVars(false).ForNode(testVars(false).Nodes[0])
	v.DB.Password = "today"
	tests := []struct {
		name string
		edit engine.Edit
		want []secretPlace
	}{
		{"set from the DB password", engine.Edit{Op: "set", Path: "/a/password", Value: "{{.DB.Password}}"}, []secretPlace{{path: "/a/password"}}},
		{"plain value", engine.Edit{Op: "set", Path: "/a/user", Value: "{{.DB.User}}"}, nil},
		{"attr marked secret", engine.Edit{Op: "attr", Path: "/a/b", Attr: "key", Value: "literal", Secret: true}, []secretPlace{{path: "/a/b", attr: "key"}}},
		{"skipped edit still marks its place", engine.Edit{Op: "set", Path: "/s/SvnPassword", Value: "{{.DepSync.SvnPassword}}", When: "false"}, []secretPlace{{path: "/s/SvnPassword"}}},
		{"admin password", engine.Edit{Op: "set", Path: "/u/Password", Value: "{{.Product.AdminPassword}}"}, []secretPlace{{path: "/u/Password"}}},
		{"inside an ensured fragment", engine.Edit{Op: "ensure", Path: "/ds/datasource[name='X']",
			Value: `<datasource><name>X</name><definition><configuration><username>u</username><password>{{xml .DB.Password}}</password></configuration></definition></datasource>`},
			[]secretPlace{{path: "/ds/datasource[name='X']/definition/configuration/password"}}},
		{"attribute inside an inner fragment", engine.Edit{Op: "inner", Path: "/a", Value: `<k id="1" pw="{{.DB.Password}}"/>`},
			[]secretPlace{{path: "/a/k", attr: "pw"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secretPlaces(playbook.Step{Name: "s", Type: "xml"}, &engine.FileEdits{Edits: []engine.Edit{tt.edit}}, v)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("places = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestRotatedSecretsMasked converges a file with an old secret, rotates
// it and prints the plan's diff as the engine does, knowing only today's
// secret: neither the old nor the new one may show.
func TestRotatedSecretsMasked(t *testing.T) {
	const old, rotated = "OldSecret-2023", "NewSecret-2024"
	tests := []struct {
		name, playbook, step, file string
		set                        func(v *engine.Vars, secret string)
		wantLine                   string // a masked removed line of the diff
	}{
		{"database password", "esb-worker-manager", "master-datasources.xml", "carbon-4.4/repository/conf/datasources/master-datasources.xml",
			func(v *engine.Vars, s string) { v.DB.Password = s }, "<password>" + engine.Mask + "</password>"},
		{"admin console password", "esb-worker-manager", "user-mgt.xml", "esb-4.9.0/repository/conf/user-mgt.xml",
			func(v *engine.Vars, s string) { v.Product.AdminPassword = s }, "<Password>" + engine.Mask + "</Password>"},
		{"admin console password (G-Reg)", "greg", "user-mgt.xml", "greg-5.4.0/repository/conf/user-mgt.xml",
			func(v *engine.Vars, s string) { v.Product.AdminPassword = s }, "<Password>" + engine.Mask + "</Password>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := findStep(t, loadBuiltin(t, tt.playbook), tt.step)
			stock, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "product", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			patch := func(doc []byte, secret string) ([]byte, *engine.Result) {
				all := testVars(false)
				tt.set(&all, secret)
				n := &engine.Node{Vars: all.ForNode(all.Nodes[0])}
				ops, err := renderEdits((&engine.Engine{}), step, fileEditsOf(t, step), n)
				if err != nil {
					t.Fatal(err)
				}
				places, err := secretPlaces(step, fileEditsOf(t, step), n.Vars)
				if err != nil {
					t.Fatal(err)
				}
				res := &engine.Result{Step: step.Name, Target: "mgr1"}
				res.Hide(placeValues(doc, places)...)
				out, _, err := xmlpatch.Patch(doc, ops)
				if err != nil {
					t.Fatal(err)
				}
				res.Hide(placeValues(out, places)...)
				res.AddFileChange("patch", "/opt/wso2/"+tt.step, doc, out)
				return out, res
			}
			converged, _ := patch(stock, old)
			if !bytes.Contains(converged, []byte(old)) {
				t.Fatalf("the playbook did not write the secret into %s", tt.step)
			}
			_, res := patch(converged, rotated)
			var buf bytes.Buffer
			p := &engine.Printer{W: &buf, Mask: engine.NewMasker([]string{rotated})}
			p.PrintResult(res, true)
			out := buf.String()
			if strings.Contains(out, old) || strings.Contains(out, rotated) {
				t.Fatalf("a secret shows in the plan:\n%s", out)
			}
			if !regexp.MustCompile(`\n\s+-\s*` + regexp.QuoteMeta(tt.wantLine)).MatchString(out) {
				t.Fatalf("the diff lacks the masked old secret line %q:\n%s", tt.wantLine, out)
			}
		})
	}
}

// findStep returns the step called name of pb.
func findStep(t *testing.T, pb *playbook.Playbook, name string) playbook.Step {
	t.Helper()
	for _, s := range pb.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("playbook %s has no step %s", pb.Name, name)
	return playbook.Step{}
}

// TestAdminPasswordChangeNote: a changed admin console password is noted
// only on a node carbonctl already started (Carbon reads it at the first
// start only), and never shows.
func TestAdminPasswordChangeNote(t *testing.T) {
	stock, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "product", "esb-4.9.0", "repository", "conf", "user-mgt.xml"))
	if err != nil {
		t.Fatal(err)
	}
	withOld := bytes.Replace(stock, []byte("<Password>admin</Password>"), []byte("<Password>Old-Console-1</Password>"), 1)
	tests := []struct {
		name     string
		file     []byte
		started  bool
		password string
		note     bool
	}{
		{"first start ahead", stock, false, "New-Console-1", false},
		{"changed after the first start", withOld, true, "New-Console-1", true},
		{"set for the first time on a started node", stock, true, "New-Console-1", true},
		{"unchanged", withOld, true, "Old-Console-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := lbEngine(t, lbTable)
			n := e.Targets[0]
			n.Vars.Product.AdminPassword = tt.password
			setFile(n.Host, n.Home("repository/conf/user-mgt.xml"), tt.file)
			setFile(n.Host, engine.BackupPath(n.Home("repository/conf/user-mgt.xml")), nil)
			marker := []byte(nil)
			if tt.started {
				marker = []byte("fingerprint\n")
			}
			setFile(n.Host, n.Home(startedMarker), marker)
			r := e.RunNodeStep(context.Background(), findStep(t, e.PB, "user-mgt.xml"), n)
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if got := strings.Contains(r.Note, "Carbon applies user-mgt.xml's only at its first start"); got != tt.note {
				t.Errorf("note %q, want one: %v", r.Note, tt.note)
			}
			var buf bytes.Buffer
			(&engine.Printer{W: &buf, Mask: engine.NewMasker([]string{tt.password})}).PrintResult(r, true)
			if strings.Contains(buf.String(), "Console-1") {
				t.Errorf("a password shows:\n%s", buf.String())
			}
			if tt.note && !strings.Contains(buf.String(), "the admin console password changed") {
				t.Errorf("the note is garbled by the masking of the stock password:\n%s", buf.String())
			}
		})
	}
}
