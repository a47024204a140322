package steps

import (
	"errors"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
)

const clusterTestInventory = `[cluster]
name = "t"

[products.reg]
archive = "reg.zip"
home = "/opt/reg"
playbook = "reg"

[products.app]
archive = "app.zip"
home = "/opt/app"
playbook = "app"

[ssh]
identity_file = "id"
known_hosts = "/k"

[database]
host = "198.18.0.10"
user = "u"
password = "p"
admin_password = "a"
jdbc_driver = "d.jar"

[vars]
threads = 10
%s
[java]
home = "/usr/lib/jvm/java-8-openjdk-amd64"

[[node]]
name = "reg1"
host = "198.18.0.21"
role = "manager"
product = "reg"

[[node]]
name = "app1"
host = "198.18.0.22"
role = "manager"
product = "app"

[[node]]
name = "app2"
host = "198.18.0.23"
role = "worker"
product = "app"
%s`

// testPlaybooks are the two playbooks of clusterTestInventory.
var testPlaybooks = map[string]string{
	"reg": `name = "reg"
[java]
versions = ["1.8"]

[start]
script = "s"
pid_file = "p"
log = "l"
started_pattern = "x"
`,
	"app": `name = "app"
vars.threads = { default = 5, pattern = '[0-9]{1,3}' }
vars.max_active = { default = 50, pattern = '[0-9]{1,3}' }
[[rule]]
check = "{{lt .Vars.threads .Vars.max_active}}"
message = "threads must stay below max_active"
[[rule]]
check = '{{$ok := false}}{{range .AllNodes}}{{if eq .Playbook "reg"}}{{$ok = true}}{{end}}{{end}}{{$ok}}'
message = "needs a registry node"
[java]
versions = ["1.8"]

[start]
script = "s"
pid_file = "p"
log = "l"
started_pattern = "x"
`,
}

func loadTestPlaybook(name string) (*playbook.Playbook, error) {
	text, ok := testPlaybooks[name]
	if !ok {
		return nil, errors.New("unknown playbook " + name)
	}
	return playbook.Parse(name, []byte(text), Kinds())
}

func TestGroupsAndCheck(t *testing.T) {
	tests := []struct {
		name, vars, nodeExtra string
		want                  []string // substrings of the error; none = valid
	}{
		{name: "valid"},
		{name: "undeclared variable", vars: "thread = 3\n",
			want: []string{`inventory.toml:27: vars.thread: playbook reg, app declares no variable "thread"`}},
		{name: "wrong type", vars: "max_active = \"50\"\n",
			want: []string{"vars.max_active: is a string, but playbook app expects an integer"}},
		{name: "rule broken by [vars]", vars: "max_active = 10\n",
			want: []string{"node app1: breaks a rule of playbook app: threads must stay below max_active", "node app2: breaks"}},
		{name: "rule broken by one node's vars", nodeExtra: "vars = { threads = 60 }\n",
			want: []string{"node app2: breaks a rule of playbook app: threads must stay below max_active"}},
		{name: "value outside the pattern", vars: "max_active = 5000\n",
			want: []string{`inventory.toml:27: vars.max_active: "5000" does not match the pattern [0-9]{1,3}, which playbook app declares for it`}},
		{name: "node value outside the pattern", nodeExtra: "vars = { threads = 1000 }\n",
			want: []string{`node[3].vars.threads: "1000" does not match the pattern [0-9]{1,3} (node app2), which playbook app declares`}},
		{name: "node vars checked against its own playbook", nodeExtra: "vars = { bogus = 1 }\n",
			want: []string{`node[3].vars.bogus: playbook app declares no variable "bogus" (it has: max_active, threads)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(strings.Replace(clusterTestInventory, "%s", tt.vars, 1), "%s", tt.nodeExtra, 1)
			wantCheck(t, checkText(t, text, loadTestPlaybook), tt.want)
		})
	}
}

func TestGroupsSplitByProduct(t *testing.T) {
	text := strings.Replace(clusterTestInventory, "%s", "", 2)
	inv, err := inventory.Parse("inventory.toml", t.TempDir(), []byte(text), nil, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := engine.Groups(inv, loadTestPlaybook)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[0].PB.Name != "reg" || groups[1].PB.Name != "app" ||
		len(groups[0].Inv.Nodes) != 1 || len(groups[1].Inv.Nodes) != 2 || groups[1].Inv.Product.Home != "/opt/app" {
		t.Fatalf("groups: %+v", groups)
	}
	v := engine.NewVars(groups[1].Inv, groups[1].PB)
	if len(v.AllNodes) != 3 || v.AllNodes[0].Playbook != "reg" || len(v.Managers) != 1 || len(v.Workers) != 1 || v.Vars["threads"] != int64(10) ||
		v.Nodes[0].Index != 2 { // the position in the file, as the local registry database's default uses it
		t.Errorf("vars of the app group: %+v", v)
	}
	if _, err := engine.Groups(inv, func(string) (*playbook.Playbook, error) { return nil, errors.New("no such playbook") }); err == nil ||
		!strings.Contains(err.Error(), "inventory.toml:7: products.reg.playbook: no such playbook") {
		t.Errorf("Groups with an unknown playbook: %v", err)
	}
}

func TestRuleNeedsRegistryNode(t *testing.T) {
	text := strings.Replace(strings.Replace(clusterTestInventory, "%s", "", 2), `product = "reg"`, `product = "app"`, 1)
	text = strings.Replace(text, `role = "manager"
product = "app"

[[node]]
name = "app1"
host = "198.18.0.22"
role = "manager"`, `role = "manager"
product = "app"

[[node]]
name = "app1"
host = "198.18.0.22"
role = "worker"`, 1)
	wantCheck(t, checkText(t, text, loadTestPlaybook), []string{"needs a registry node"})
}

// checkText parses an inventory, splits it into product groups with load
// and returns Check's error.
func checkText(t *testing.T, text string, load func(string) (*playbook.Playbook, error)) error {
	t.Helper()
	inv, err := inventory.Parse("inventory.toml", t.TempDir(), []byte(text), nil, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := engine.Groups(inv, load)
	if err != nil {
		t.Fatal(err)
	}
	return engine.Check(groups)
}

// wantCheck fails unless err contains each of want; with no want, err must
// be nil.
func wantCheck(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Check passed, want %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error:\n%v\nwant it to contain %q", err, w)
		}
	}
}
