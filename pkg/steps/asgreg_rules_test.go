package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/playbooks"
)

// TestASGregRules checks the sample inventory against the greg and
// as-master-slave playbooks' [[rule]]s, and inventories that break them.
func TestASGregRules(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "inventories", "as-greg-lab.toml"))
	if err != nil {
		t.Fatal(err)
	}
	gregNode := "[[node]]\nname = \"greg1\"\nhost = \"198.18.0.21\"\nrole = \"manager\"\nproduct = \"greg\"\n\n"
	tests := []struct {
		name string
		edit func(string) string
		want []string // substrings of the error; none = valid
	}{
		{name: "sample", edit: func(s string) string { return s }},
		{name: "no registry node", edit: func(s string) string { return strings.Replace(s, gregNode, "", 1) },
			want: []string{"node as-master: breaks a rule of playbook as-master-slave: an AS node mounts", "node as-slave1: breaks a rule of playbook as-master-slave"}},
		{name: "registry node listed after the AS nodes", edit: func(s string) string { return strings.Replace(s, gregNode, "", 1) + "\n" + gregNode },
			want: []string{"node as-slave1: breaks a rule of playbook as-master-slave: an AS node mounts its config and governance registries"}},
		{name: "two masters", edit: func(s string) string {
			return strings.Replace(s, "name = \"as-slave1\"\nhost = \"198.18.0.23\"\nrole = \"worker\"", "name = \"as-slave1\"\nhost = \"198.18.0.23\"\nrole = \"manager\"", 1)
		}, want: []string{"breaks a rule of playbook as-master-slave: the AS guide has exactly one master"}},
		{name: "two registry nodes", edit: func(s string) string {
			return strings.Replace(s, gregNode, gregNode+strings.Replace(strings.Replace(gregNode, "greg1", "greg2", 1), ".21", ".24", 1), 1)
		}, want: []string{"node greg2: breaks a rule of playbook greg: the guide's Governance Registry is one node"}},
		{name: "LoadFromRegistry without the registry synchroniser", edit: func(s string) string {
			return strings.Replace(s, `method = "registry"`, `method = "none"`, 1)
		}, want: []string{"breaks a rule of playbook as-master-slave: load_config_from_registry = true makes the slaves load"}},
		{name: "undeclared variable", edit: func(s string) string {
			return strings.Replace(s, "load_config_from_registry = true", "load_config_from_registy = true", 1)
		}, want: []string{`declares no variable "load_config_from_registy"`}},
	}
	t.Setenv("CARBONCTL_DB_ADMIN_PASSWORD", "admin-secret")
	t.Setenv("CARBONCTL_DB_PASSWORD", "app-secret")
	load := func(name string) (*playbook.Playbook, error) { return playbook.Load(playbooks.FS, name, Kinds()) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCheck(t, checkText(t, tt.edit(string(sample)), load), tt.want)
		})
	}
}
