package steps

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

func TestSecretPlaces(t *testing.T) {
	v := testVars(false).forNode(testVars(false).Nodes[0])
	v.DB.Password = "today"
	tests := []struct {
		name string
		edit playbook.Edit
		want []secretPlace
	}{
		{"set from the DB password", playbook.Edit{Op: "set", Path: "/a/password", Value: "{{.DB.Password}}"}, []secretPlace{{path: "/a/password"}}},
		{"plain value", playbook.Edit{Op: "set", Path: "/a/user", Value: "{{.DB.User}}"}, nil},
		{"attr marked secret", playbook.Edit{Op: "attr", Path: "/a/b", Attr: "key", Value: "literal", Secret: true}, []secretPlace{{path: "/a/b", attr: "key"}}},
		{"skipped edit still marks its place", playbook.Edit{Op: "set", Path: "/s/SvnPassword", Value: "{{.DepSync.SvnPassword}}", When: "false"}, []secretPlace{{path: "/s/SvnPassword"}}},
		{"admin password", playbook.Edit{Op: "set", Path: "/u/Password", Value: "{{.Product.AdminPassword}}"}, []secretPlace{{path: "/u/Password"}}},
		{"inside an ensured fragment", playbook.Edit{Op: "ensure", Path: "/ds/datasource[name='X']",
			Value: `<datasource><name>X</name><definition><configuration><username>u</username><password>{{xml .DB.Password}}</password></configuration></definition></datasource>`},
			[]secretPlace{{path: "/ds/datasource[name='X']/definition/configuration/password"}}},
		{"attribute inside an inner fragment", playbook.Edit{Op: "inner", Path: "/a", Value: `<k id="1" pw="{{.DB.Password}}"/>`},
			[]secretPlace{{path: "/a/k", attr: "pw"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secretPlaces(playbook.Step{Name: "s", Type: "xml", Edits: []playbook.Edit{tt.edit}}, v)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("places = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestRotatedPasswordMasked converges master-datasources.xml with an old
// password, rotates it and prints the plan's diff as the engine does,
// knowing only today's secret: neither password may show.
func TestRotatedPasswordMasked(t *testing.T) {
	const old, rotated = "OldSecret-2023", "NewSecret-2024"
	pb := loadBuiltin(t, "esb-worker-manager")
	var step playbook.Step
	for _, s := range pb.Steps {
		if s.Name == "master-datasources.xml" {
			step = s
		}
	}
	stock, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "product", "carbon-4.4", "repository", "conf", "datasources", "master-datasources.xml"))
	if err != nil {
		t.Fatal(err)
	}
	patch := func(doc []byte, password string) ([]byte, *Result) {
		all := testVars(false)
		all.DB.Password = password
		n := &node{vars: all.forNode(all.Nodes[0])}
		ops, err := (&Engine{}).renderEdits(step, n)
		if err != nil {
			t.Fatal(err)
		}
		places, err := secretPlaces(step, n.vars)
		if err != nil {
			t.Fatal(err)
		}
		res := &Result{Step: step.Name, Target: "mgr1"}
		res.hide(placeValues(doc, places)...)
		out, _, err := xmlpatch.Patch(doc, ops)
		if err != nil {
			t.Fatal(err)
		}
		res.hide(placeValues(out, places)...)
		res.fileChanged("patch", "/opt/wso2/master-datasources.xml", doc, out)
		return out, res
	}
	converged, _ := patch(stock, old)
	_, res := patch(converged, rotated)
	var buf bytes.Buffer
	p := &printer{w: &buf, mask: NewMasker([]string{rotated})}
	p.result(res, true)
	out := buf.String()
	if strings.Contains(out, old) || strings.Contains(out, rotated) {
		t.Fatalf("a password shows in the plan:\n%s", out)
	}
	if !strings.Contains(out, "-                    <password>"+Mask+"</password>") {
		t.Fatalf("the diff lacks the masked old password line:\n%s", out)
	}
}
