package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/playbooks"
)

// builtinSamples names each built-in playbook's sample inventory (and its
// product key there).
var builtinSamples = []struct{ playbook, sample, product string }{
	{"esb-worker-manager", "esb-lab.toml", ""},
	{"bps-master-slave", "bps-lab.toml", ""},
	{"ei-business-process", "ei-bp-lab.toml", ""},
	{"as-master-slave", "as-greg-lab.toml", "as"},
	{"greg", "as-greg-lab.toml", "greg"},
	{"mb-cluster", "mb-lab.toml", ""},
}

// TestFragmentPasswordsMaskedByPlace: the password places the fragments
// write (datasource and new-datasource, the user store's admin password,
// the deployment synchroniser's SVN password) are among the places that
// masking derives from the expanded edits, on every node of every
// built-in playbook.
func TestFragmentPasswordsMaskedByPlace(t *testing.T) {
	checked := map[string]int{}
	for _, tt := range builtinSamples {
		pb := loadBuiltin(t, tt.playbook)
		v := sampleVars(t, tt.sample, tt.product, nil)
		v.DepSync.Method = "svn"
		for _, nv := range v.Nodes {
			vn := v.ForNode(nv)
			for _, s := range pb.Steps {
				if s.Type != "xml" {
					continue
				}
				f := &s.Kind.(*XML).FileEdits
				places, err := secretPlaces(s, f, vn)
				if err != nil {
					t.Fatalf("%s %s: %v", tt.playbook, s.Name, err)
				}
				for _, want := range passwordPaths(f) {
					checked[tt.playbook]++
					if !hasPlace(places, want) {
						t.Errorf("%s %s (node %s): %s is not a secret place (places: %v)", tt.playbook, s.Name, nv.Name, want, places)
					}
				}
			}
		}
		if checked[tt.playbook] == 0 {
			t.Errorf("%s: no password place found to check", tt.playbook)
		}
	}
}

// passwordPaths lists where the step's edits write a password: set edits
// on a password element, and the password of an ensured datasource.
func passwordPaths(f *engine.FileEdits) []string {
	var out []string
	for _, e := range f.Edits {
		switch {
		case e.Op == "set" && strings.HasSuffix(strings.ToLower(e.Path), "password"):
			out = append(out, e.Path)
		case e.Op == "ensure" && strings.Contains(e.Value, "<password>"):
			out = append(out, e.Path+"/definition/configuration/password")
		}
	}
	return out
}

func hasPlace(places []secretPlace, path string) bool {
	for _, p := range places {
		if p.path == path && p.attr == "" {
			return true
		}
	}
	return false
}

// TestFragmentVarsKeepTheirPatterns: [vars] that a playbook takes from a
// fragment (bpel-engine, jvm-heap) refuse an inventory value their pattern
// does not match, naming the inventory's key.
func TestFragmentVarsKeepTheirPatterns(t *testing.T) {
	for _, tt := range []struct{ sample, key, value string }{
		{"bps-lab.toml", "jvm_xms", `"256m -Dx=1"`},
		{"bps-lab.toml", "task_server_mode", `"MANUAL"`},
		{"ei-bp-lab.toml", "bps_max_active", `100000`},
	} {
		t.Run(tt.sample+"/"+tt.key, func(t *testing.T) {
			dir := filepath.Join("..", "..", "fixtures", "inventories")
			data, err := os.ReadFile(filepath.Join(dir, tt.sample))
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Replace(string(data), "[vars]\n", "[vars]\n"+tt.key+" = "+tt.value+"\n", 1)
			text = removeKeyLine(text, tt.key) // the sample's own setting, if any
			secret := func(string) (string, bool) { return samplePassword, true }
			inv, err := inventory.Parse(tt.sample, dir, []byte(text), secret, inventory.Options{})
			if err != nil {
				t.Fatal(err)
			}
			groups, err := engine.Groups(inv, func(name string) (*playbook.Playbook, error) { return playbook.Load(playbooks.FS, name, Kinds()) })
			if err != nil {
				t.Fatal(err)
			}
			err = engine.Check(groups)
			if err == nil || !strings.Contains(err.Error(), "vars."+tt.key) || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("Check = %v, want vars.%s refused by its pattern", err, tt.key)
			}
		})
	}
}

// removeKeyLine removes the second line that sets key at the start of a
// line (the sample's own, after the one the test put first).
func removeKeyLine(text, key string) string {
	lines := strings.Split(text, "\n")
	seen := false
	for i, l := range lines {
		if strings.HasPrefix(l, key+" =") {
			if seen {
				return strings.Join(append(lines[:i:i], lines[i+1:]...), "\n")
			}
			seen = true
		}
	}
	return text
}
