package steps

import (
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
)

func TestCarriesSecret(t *testing.T) {
	tests := []struct {
		name string
		step engine.FileEdits
		want bool
	}{
		{"declared", engine.FileEdits{Secret: true, Edits: []engine.Edit{{Path: "/Server/HostName"}}}, true},
		{"password element", engine.FileEdits{Edits: []engine.Edit{{Path: "/Server/HostName"}, {Path: "/datasources/datasource[name='X']/definition/configuration/password"}}}, true},
		{"password attribute", engine.FileEdits{Edits: []engine.Edit{{Path: "/a/b", Attr: "keyPassword"}}}, true},
		{"password property key", engine.FileEdits{Edits: []engine.Edit{{Op: "property", Key: "db.Password"}}}, true},
		{"secret template in a value", engine.FileEdits{Edits: []engine.Edit{{Op: "ensure", Path: "/x", Value: "<pw>{{xml .DB.Password}}</pw>"}}}, true},
		{"svn password behind a when", engine.FileEdits{Edits: []engine.Edit{{When: `{{eq .DepSync.Method "svn"}}`, Path: "/Server/DeploymentSynchronizer/SvnPassword"}}}, true},
		{"plain", engine.FileEdits{Edits: []engine.Edit{{Path: "/Server/Ports/Offset", Value: "{{.Node.PortOffset}}"}}}, false},
	}
	for _, tt := range tests {
		if got := tt.step.CarriesSecret(); got != tt.want {
			t.Errorf("%s: CarriesSecret() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSecretOnlyOnFileSteps checks that `secret` is a key of the kinds that
// edit a file only: the other kinds do not know it.
func TestSecretOnlyOnFileSteps(t *testing.T) {
	const head = "name = \"p\"\n[java]\nversions = [\"1.8\"]\n[start]\nscript = \"s\"\npid_file = \"p\"\nlog = \"l\"\nstarted_pattern = \"x\"\n[[step]]\nname = \"s\"\nsecret = true\n"
	for typ, body := range map[string]string{
		"xml":   "type = \"xml\"\nfile = \"f\"\n[[step.edit]]\nop = \"set\"\npath = \"/a\"\n",
		"text":  "type = \"text\"\nfile = \"f\"\n[[step.edit]]\nop = \"property\"\nkey = \"k\"\nvalue = \"v\"\n",
		"copy":  "type = \"copy\"\nsrc = \"a\"\ndest = \"b\"\n",
		"start": "type = \"start\"\n",
	} {
		_, err := playbook.Parse("p.toml", []byte(head+body), Kinds())
		ok := typ == "xml" || typ == "text"
		if ok != (err == nil) || err != nil && !strings.Contains(err.Error(), "unknown key step.secret") {
			t.Errorf("secret on %s: %v", typ, err)
		}
	}
}

// fileEditsOf returns the fields of an xml or text step.
func fileEditsOf(t testing.TB, s playbook.Step) *engine.FileEdits {
	t.Helper()
	switch k := s.Kind.(type) {
	case *XML:
		return &k.FileEdits
	case *Text:
		return &k.FileEdits
	}
	t.Fatalf("step %s edits no file", s.Name)
	return nil
}
