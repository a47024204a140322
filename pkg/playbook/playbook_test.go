package playbook_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/steps"
)

const start = `
[java]
versions = ["1.8"]

[start]
script = "bin/wso2server.sh"
pid_file = "wso2carbon.pid"
log = "repository/logs/wso2carbon.log"
started_pattern = "WSO2 Carbon started in"
`

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"ok", "name = \"p\"\n" + start + "[[step]]\nname = \"s\"\ntype = \"product\"\n", ""},
		{"no name", start, "name is missing"},
		{"unknown key", "name = \"p\"\nnmae = 1\n" + start, "unknown key nmae"},
		{"unknown type", "name = \"p\"\n" + start + "[[step]]\nname = \"s\"\ntype = \"shell\"\n", `step 1 (s): unknown type "shell"`},
		{"duplicate step", "name = \"p\"\n" + start + "[[step]]\nname = \"s\"\ntype = \"product\"\n[[step]]\nname = \"s\"\ntype = \"start\"\n", "step 2 (s): duplicate step name"},
		{"step without name", "name = \"p\"\n" + start + "[[step]]\ntype = \"product\"\n", "step 1: name is missing"},
		{"xml without edits", "name = \"p\"\n" + start + "[[step]]\nname = \"x\"\ntype = \"xml\"\nfile = \"a.xml\"\n", "xml needs file and at least one edit"},
		{"bad op", "name = \"p\"\n" + start + "[[step]]\nname = \"x\"\ntype = \"xml\"\nfile = \"a.xml\"\n[[step.edit]]\nop = \"replace\"\npath = \"/a\"\n", "edit 1"},
		{"edit without path", "name = \"p\"\n" + start + "[[step]]\nname = \"x\"\ntype = \"xml\"\nfile = \"a.xml\"\n[[step.edit]]\nop = \"set\"\n", "edit 1: path is missing"},
		{"copy without dest", "name = \"p\"\n" + start + "[[step]]\nname = \"c\"\ntype = \"copy\"\nsrc = \"x\"\n", "copy needs src and dest"},
		{"databases without database", "name = \"p\"\n" + start + "[[step]]\nname = \"d\"\ntype = \"databases\"\n", "at least one [[step.database]]"},
		{"incomplete start", "name = \"p\"\n[start]\nscript = \"x\"\n", "[start] needs script, pid_file, log and started_pattern"},
		{"syntax", "name = \n", "playbook t.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := playbook.Parse("t.toml", []byte(tt.text), steps.Kinds())
			checkParseErr(t, err, tt.want)
		})
	}
}

func TestLoadBuiltinOrPath(t *testing.T) {
	builtin := fstest.MapFS{"one.toml": {Data: []byte("name = \"one\"\n" + start)}, "two.toml": {Data: []byte("name = \"two\"\n" + start)}}
	if names := playbook.Names(builtin); strings.Join(names, ",") != "one,two" {
		t.Fatalf("Names = %v", names)
	}
	if pb, err := playbook.Load(builtin, "two", steps.Kinds()); err != nil || pb.Name != "two" || pb.Source != "two" {
		t.Fatalf("Load(two) = %+v, %v", pb, err)
	}
	if _, err := playbook.Load(builtin, "three", steps.Kinds()); err == nil || !strings.Contains(err.Error(), "built-in: one, two") {
		t.Fatalf("unknown built-in: %v", err)
	}
	p := filepath.Join(t.TempDir(), "custom.toml")
	os.WriteFile(p, []byte("name = \"custom\"\n"+start), 0o644)
	if pb, err := playbook.Load(builtin, p, steps.Kinds()); err != nil || pb.Name != "custom" {
		t.Fatalf("Load(path) = %+v, %v", pb, err)
	}
	if _, err := playbook.Load(builtin, filepath.Join(t.TempDir(), "missing.toml"), steps.Kinds()); err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Fatalf("missing path: %v", err)
	}
}

// checkParseErr fails unless err contains want, or is nil when want is "".
func checkParseErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
