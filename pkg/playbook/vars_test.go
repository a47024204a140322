package playbook_test

import (
	"fmt"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/steps"
	"github.com/carbonctl/carbonctl/playbooks"
)

func TestVarDeclarations(t *testing.T) {
	tests := []struct{ name, vars, want string }{
		{"ok", "[vars.xms]\ndefault = \"256m\"\npattern = '[0-9]+m'\n", ""},
		{"no pattern", "[vars.xms]\ndefault = \"256m\"\n", "[vars.xms]: pattern is missing"},
		{"no default", "[vars.xms]\npattern = '[0-9]+m'\n", "[vars.xms]: default is missing"},
		{"bad pattern", "[vars.xms]\ndefault = \"256m\"\npattern = '[0-9'\n", "[vars.xms]: pattern: error parsing regexp"},
		{"default outside its pattern", "[vars.xms]\ndefault = \"256m $(id)\"\npattern = '[0-9]+m'\n", `[vars.xms]: default "256m $(id)" does not match the pattern [0-9]+m`},
		{"pattern matches the whole value", "[vars.xms]\ndefault = \"x256m\"\npattern = '[0-9]+m'\n", "does not match"},
		{"array default", "[vars.xms]\ndefault = [1]\npattern = '.*'\n", "want a string, number or boolean default"},
		{"plain value is no declaration", "[vars]\nxms = \"256m\"\n", "expected table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := playbook.Parse("t.toml", []byte("name = \"p\"\n"+tt.vars+start), steps.Kinds())
			checkParseErr(t, err, tt.want)
		})
	}
}

func TestVarCheck(t *testing.T) {
	pb, err := playbook.Parse("t.toml", []byte("name = \"p\"\n[vars.xms]\ndefault = \"256m\"\npattern = '[1-9][0-9]*[mg]'\n[vars.n]\ndefault = 5\npattern = '[0-9]{1,2}'\n[vars.on]\ndefault = true\npattern = 'true|false'\n"+start), steps.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key string
		val any
		ok  bool
	}{
		{"xms", "512m", true},
		{"xms", "2g", true},
		{"xms", "256m $(id >/tmp/pwned)", false},
		{"xms", "256m\n-Dx=1", false},
		{"xms", "256m;id", false},
		{"xms", "", false},
		{"n", int64(42), true},
		{"n", int64(420), false},
		{"on", false, true},
	}
	for _, tt := range tests {
		err := pb.Vars[tt.key].Check(tt.val)
		if (err == nil) != tt.ok {
			t.Errorf("%s = %#v: err = %v, want ok %v", tt.key, tt.val, err, tt.ok)
		}
	}
}

// TestBuiltinVarsRefuseShell checks that every built-in playbook loads
// (so declares a pattern for each variable) and that none of its
// variables accepts shell syntax.
func TestBuiltinVarsRefuseShell(t *testing.T) {
	for _, name := range playbook.Names(playbooks.FS) {
		pb, err := playbook.Load(playbooks.FS, name, steps.Kinds())
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range pb.Vars {
			for _, bad := range []string{fmt.Sprint(v.Default) + " $(id >/tmp/pwned)", fmt.Sprint(v.Default) + "`id`", fmt.Sprint(v.Default) + "\n", "'" + fmt.Sprint(v.Default)} {
				if v.Check(bad) == nil {
					t.Errorf("%s: [vars.%s] accepts %q", name, k, bad)
				}
			}
		}
	}
}
