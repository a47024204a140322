package playbook_test

import (
	"bytes"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/BurntSushi/toml"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/steps"
	"github.com/carbonctl/carbonctl/playbooks"
)

// testFragments are the fragments the expansion tests use.
var testFragments = fstest.MapFS{
	"fragments/ds.toml": {Data: []byte(`description = "a datasource"
[params.name]
doc = "the datasource's name"
[params.driver]
doc = "the driver"
default = "com.mysql.jdbc.Driver"
[[edit]]
op = "set"
path = "/ds[name='${name}']/url"
value = "{{jdbcurl .DB.UserDB}}"
[[edit]]
op = "set"
path = "/ds[name='${name}']/driver"
value = "${driver}"
`)},
	"fragments/two-ds.toml": {Data: []byte(`[[edit]]
use = "ds"
name = "A"
[[edit]]
use = "ds"
name = "B"
driver = "org.h2.Driver"
`)},
	"fragments/install.toml": {Data: []byte(`[params.lib]
default = "repository/components/lib"
[[step]]
name = "product"
type = "product"
[[step]]
name = "jdbc-driver"
type = "copy"
src = "{{.DB.JDBCDriver}}"
dest = "${lib}/{{base .DB.JDBCDriver}}"
`)},
	"fragments/schema.toml": {Data: []byte(`[params.name]
doc = "the database"
[params.per_node]
default = false
[[database]]
name = "${name}"
per_node = "${per_node}"
scripts = ["dbscripts/mysql.sql"]
`)},
	"fragments/carbon-start.toml": {Data: []byte(`[start]
script = "bin/wso2server.sh"
pid_file = "wso2carbon.pid"
log = "repository/logs/wso2carbon.log"
started_pattern = "WSO2 Carbon started in"
`)},
	"fragments/heap.toml": {Data: []byte(`[vars.jvm_xmx]
default = "1024m"
pattern = '[1-9][0-9]*m'
`)},
	"fragments/nested-missing.toml": {Data: []byte("# uses ds without its name\n[[edit]]\nuse = \"ds\"\n")},
	"fragments/loop.toml":           {Data: []byte("[[edit]]\nuse = \"loop\"\n")},
	"fragments/undecl.toml":         {Data: []byte("[[edit]]\nop = \"set\"\npath = \"/${nope}\"\n")},
}

// fragHead is a playbook's beginning without steps.
const fragHead = "name = \"p\"\n[java]\nversions = [\"1.8\"]\n[start]\nuse = \"carbon-start\"\n"

func TestExpandFragments(t *testing.T) {
	tests := []struct {
		name, steps string
		want        []testStep // the steps after expansion
	}{
		{"edit fragment with a default", `
[[step]]
name = "m"
type = "xml"
file = "m.xml"
  [[step.edit]]
  use = "ds"
  name = "WSO2_USER_DB"
`, []testStep{{Name: "m", Type: "xml", File: "m.xml", Edits: []testEdit{
			{Op: "set", Path: "/ds[name='WSO2_USER_DB']/url", Value: "{{jdbcurl .DB.UserDB}}"},
			{Op: "set", Path: "/ds[name='WSO2_USER_DB']/driver", Value: "com.mysql.jdbc.Driver"}}}}},
		{"fragments using fragments, plain edits around", `
[[step]]
name = "m"
type = "xml"
file = "m.xml"
  [[step.edit]]
  op = "set"
  path = "/first"
  value = "1"
  [[step.edit]]
  use = "two-ds"
  [[step.edit]]
  op = "set"
  path = "/last"
  value = "2"
`, []testStep{{Name: "m", Type: "xml", File: "m.xml", Edits: []testEdit{
			{Op: "set", Path: "/first", Value: "1"},
			{Op: "set", Path: "/ds[name='A']/url", Value: "{{jdbcurl .DB.UserDB}}"},
			{Op: "set", Path: "/ds[name='A']/driver", Value: "com.mysql.jdbc.Driver"},
			{Op: "set", Path: "/ds[name='B']/url", Value: "{{jdbcurl .DB.UserDB}}"},
			{Op: "set", Path: "/ds[name='B']/driver", Value: "org.h2.Driver"},
			{Op: "set", Path: "/last", Value: "2"}}}}},
		{"step fragment with a parameter", `
[[step]]
use = "install"
lib = "lib"
[[step]]
name = "start"
type = "start"
`, []testStep{{Name: "product", Type: "product"}, {Name: "jdbc-driver", Type: "copy", Src: "{{.DB.JDBCDriver}}", Dest: "lib/{{base .DB.JDBCDriver}}"}, {Name: "start", Type: "start"}}},
		{"database fragment with a typed parameter", `
[[step]]
name = "databases"
type = "databases"
  [[step.database]]
  use = "schema"
  name = "{{.DB.UserDB}}"
  [[step.database]]
  use = "schema"
  name = "{{.Node.LocalRegistryDB}}"
  per_node = true
`, []testStep{{Name: "databases", Type: "databases", Databases: []testDB{
			{Name: "{{.DB.UserDB}}", Scripts: []string{"dbscripts/mysql.sql"}},
			{Name: "{{.Node.LocalRegistryDB}}", PerNode: true, Scripts: []string{"dbscripts/mysql.sql"}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb := parseWith(t, fragHead+tt.steps)
			if !reflect.DeepEqual(pb.Steps, tt.want) {
				t.Errorf("steps =\n%+v\nwant\n%+v", pb.Steps, tt.want)
			}
			if pb.Start.Script != "bin/wso2server.sh" || pb.Start.StartedPattern == "" {
				t.Errorf("[start] from the fragment = %+v", pb.Start)
			}
		})
	}
}

// The expanded document as the step kinds decode it (the kinds live in
// package steps, which imports this one).
type (
	testEdit struct{ Op, Path, Value string }
	testDB   struct {
		Name    string
		PerNode bool `toml:"per_node"`
		Scripts []string
	}
	testStep struct {
		Name, Type, File, Src, Dest string
		Edits                       []testEdit `toml:"edit"`
		Databases                   []testDB   `toml:"database"`
	}
	testPlaybook struct {
		Start playbook.Start
		Vars  map[string]*playbook.Var
		Steps []testStep `toml:"step"`
	}
)

// parseWith expands a playbook with testFragments and decodes the result.
func parseWith(t *testing.T, text string) *testPlaybook {
	t.Helper()
	data, err := playbook.ExpandFragments("t.toml", []byte(text), testFragments)
	if err != nil {
		t.Fatal(err)
	}
	var pb testPlaybook
	if _, err := toml.Decode(string(data), &pb); err != nil {
		t.Fatal(err)
	}
	return &pb
}

func TestExpandFragmentTables(t *testing.T) {
	pb := parseWith(t, fragHead+"started_pattern = \"Mgt Console URL\"\n[vars]\nuse = [\"heap\"]\n[vars.n]\ndefault = 5\npattern = '[0-9]'\n")
	if pb.Start.StartedPattern != "Mgt Console URL" || pb.Start.PidFile != "wso2carbon.pid" {
		t.Errorf("[start]: the playbook's keys win, the fragment's fill in: %+v", pb.Start)
	}
	if pb.Vars["jvm_xmx"] == nil || pb.Vars["n"] == nil || len(pb.Vars) != 2 {
		t.Errorf("[vars] = %v, want jvm_xmx from the fragment and n", pb.Vars)
	}
}

func TestExpandFragmentErrors(t *testing.T) {
	xml := "[[step]]\nname = \"m\"\ntype = \"xml\"\nfile = \"m.xml\"\n"
	tests := []struct{ name, text, want string }{
		{"missing parameter", fragHead + xml + "  [[step.edit]]\n  use = \"ds\"\n",
			`playbook t.toml: t.toml line 11: use = "ds": fragments/ds.toml: parameter name is missing (the datasource's name)`},
		{"unknown parameter", fragHead + xml + "  [[step.edit]]\n  use = \"ds\"\n  name = \"A\"\n  nmae = \"B\"\n",
			`t.toml line 11: use = "ds": fragments/ds.toml: unknown parameter "nmae" (parameters: driver, name)`},
		{"unknown fragment", fragHead + xml + "  [[step.edit]]\n  op = \"set\"\n  path = \"/a\"\n  [[step.edit]]\n  use = \"dss\"\n",
			`t.toml line 14: use = "dss": unknown fragment "dss" (built-in: carbon-start, ds, heap, install, loop, nested-missing, schema, two-ds, undecl)`},
		{"second use names its own line", fragHead + xml + "  [[step.edit]]\n  use = \"ds\"\n  name = \"A\"\n  [[step.edit]]\n  use = \"ds\"\n",
			`t.toml line 14: use = "ds"`},
		{"error inside a fragment names both lines", fragHead + "[[step]]\nname = \"m\"\ntype = \"xml\"\nfile = \"m.xml\"\n  [[step.edit]]\n  use = \"nested-missing\"\n",
			`t.toml line 11: use = "nested-missing": fragments/nested-missing.toml line 3: use = "ds": fragments/ds.toml: parameter name is missing`},
		{"wrong kind", fragHead + "[[step]]\nuse = \"ds\"\nname = \"A\"\n",
			`t.toml line 7: use = "ds": fragments/ds.toml has no [[step]] entries to use here (it holds [[edit]])`},
		{"cycle", fragHead + xml + "  [[step.edit]]\n  use = \"loop\"\n", "more than 8 deep (a cycle?)"},
		{"undeclared reference", fragHead + xml + "  [[step.edit]]\n  use = \"undecl\"\n", "fragments/undecl.toml: ${nope} is not one of its [params]"},
		{"non-string inside a string", fragHead + xml + "  [[step.edit]]\n  use = \"ds\"\n  name = 5\n", "parameter name = 5: want a string"},
		{"bad name", fragHead + "[[step]]\nuse = \"../x\"\n", "want the name of a fragment"},
		{"table of the wrong fragment", fragHead + "[vars]\nuse = \"ds\"\n", `t.toml line 7: [vars] use = "ds": fragments/ds.toml has no [vars] table`},
		{"table use with a bad name", fragHead + "[vars]\nuse = [\"../x\"]\n", `[vars] use = "../x": want the name of a fragment`},
		{"table use not a name", fragHead + "[vars]\nuse = 5\n", "[vars] use: want a fragment name or a list of them"},
		{"expanded type error", fragHead + "[[step]]\nuse = \"install\"\n[[step]]\nname = \"d\"\ntype = \"databases\"\n  [[step.database]]\n  use = \"schema\"\n  name = \"x\"\n  per_node = \"yes\"\n",
			`playbook t.toml (with its fragments expanded): step 3 (d): toml: (last key "step.database.per_node"): incompatible types`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := playbook.ParseWith("t.toml", []byte(tt.text), steps.Kinds(), testFragments)
			checkParseErr(t, err, tt.want)
		})
	}
}

// TestBuiltinFragmentsLoad: every built-in fragment parses and declares
// every parameter it refers to, and every built-in playbook expands.
func TestBuiltinFragmentsLoad(t *testing.T) {
	names := playbook.FragmentNames(playbooks.FS)
	if len(names) == 0 {
		t.Fatal("no built-in fragments")
	}
	for _, n := range names {
		if _, err := playbook.LoadFragment(playbooks.FS, n); err != nil {
			t.Error(err)
		}
	}
	for _, n := range playbook.Names(playbooks.FS) {
		if _, err := playbook.Load(playbooks.FS, n, steps.Kinds()); err != nil {
			t.Error(err)
		}
	}
}

// TestExpandWithoutUseKeepsBytes: a playbook without `use` is decoded from
// its own bytes, so that its errors keep their line numbers.
func TestExpandWithoutUseKeepsBytes(t *testing.T) {
	text := []byte("name = \"p\"\n# use = \"x\" in a comment is no use\n" + start)
	got, err := playbook.ExpandFragments("t.toml", text, testFragments)
	if err != nil || !bytes.Equal(got, text) {
		t.Fatalf("expandFragments = %q, %v", got, err)
	}
}
