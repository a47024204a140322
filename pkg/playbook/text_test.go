package playbook_test

import (
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/steps"
)

func TestTextStepChecks(t *testing.T) {
	const head = "name = \"p\"\n[java]\nversions = [\"1.8\"]\n[start]\nscript = \"s\"\npid_file = \"p\"\nlog = \"l\"\nstarted_pattern = \"x\"\n[[step]]\nname = \"t\"\ntype = \"text\"\n"
	cases := []struct {
		name, body, wantErr string
	}{
		{"property", "file = \"f\"\ncreate = true\n[[step.edit]]\nop = \"property\"\nkey = \"k\"\nvalue = \"v\"\n", ""},
		{"replace with template", "file = \"f\"\n[[step.edit]]\nop = \"replace\"\npattern = \"-Xmx{{.Vars.x}}\"\nvalue = \"v\"\n", ""},
		{"no file", "[[step.edit]]\nop = \"property\"\nkey = \"k\"\n", "text needs file"},
		{"no edits", "file = \"f\"\n", "text needs file and at least one edit"},
		{"xml op", "file = \"f\"\n[[step.edit]]\nop = \"set\"\npath = \"/a\"\n", `unknown text op "set"`},
		{"property without key", "file = \"f\"\n[[step.edit]]\nop = \"property\"\nvalue = \"v\"\n", "property needs key"},
		{"replace with key", "file = \"f\"\n[[step.edit]]\nop = \"replace\"\npattern = \"a\"\nkey = \"k\"\n", "replace needs pattern (and no key"},
		{"bad regexp", "file = \"f\"\n[[step.edit]]\nop = \"replace\"\npattern = \"(\"\n", "edit 1: pattern \"(\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := playbook.Parse("p.toml", []byte(head+c.body), steps.Kinds())
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
		})
	}
}
