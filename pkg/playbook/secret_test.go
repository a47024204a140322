package playbook

import (
	"strings"
	"testing"
)

func TestCarriesSecret(t *testing.T) {
	tests := []struct {
		name string
		step Step
		want bool
	}{
		{"declared", Step{Type: "xml", Secret: true, Edits: []Edit{{Path: "/Server/HostName"}}}, true},
		{"password element", Step{Type: "xml", Edits: []Edit{{Path: "/Server/HostName"}, {Path: "/datasources/datasource[name='X']/definition/configuration/password"}}}, true},
		{"password attribute", Step{Type: "xml", Edits: []Edit{{Path: "/a/b", Attr: "keyPassword"}}}, true},
		{"password property key", Step{Type: "text", Edits: []Edit{{Op: "property", Key: "db.Password"}}}, true},
		{"secret template in a value", Step{Type: "xml", Edits: []Edit{{Op: "ensure", Path: "/x", Value: "<pw>{{xml .DB.Password}}</pw>"}}}, true},
		{"svn password behind a when", Step{Type: "xml", Edits: []Edit{{When: `{{eq .DepSync.Method "svn"}}`, Path: "/Server/DeploymentSynchronizer/SvnPassword"}}}, true},
		{"plain", Step{Type: "xml", Edits: []Edit{{Path: "/Server/Ports/Offset", Value: "{{.Node.PortOffset}}"}}}, false},
	}
	for _, tt := range tests {
		if got := tt.step.CarriesSecret(); got != tt.want {
			t.Errorf("%s: CarriesSecret() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSecretOnlyOnFileSteps(t *testing.T) {
	for typ, ok := range map[string]bool{"xml": true, "text": true, "copy": false, "start": false} {
		s := Step{Name: "s", Type: typ, Secret: true, File: "f", Src: "a", Dest: "b", Edits: []Edit{{Op: "set", Path: "/a"}}}
		if typ == "text" {
			s.Edits = []Edit{{Op: "property", Key: "k", Value: "v"}}
		}
		err := s.checkFields()
		if ok != (err == nil) || err != nil && !strings.Contains(err.Error(), "secret applies to xml and text steps only") {
			t.Errorf("secret on %s: %v", typ, err)
		}
	}
}
