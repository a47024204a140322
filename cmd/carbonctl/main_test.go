package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestFlagsFirst(t *testing.T) {
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	tests := []struct{ in, want []string }{
		{[]string{"carbonctl", "up", "inv.toml", "--diff"}, []string{"carbonctl", "up", "--diff", "inv.toml"}},
		{[]string{"carbonctl", "up", "inv.toml", "--limit", "wrk1,wrk2", "-v"}, []string{"carbonctl", "up", "--limit", "wrk1,wrk2", "-v", "inv.toml"}},
		{[]string{"carbonctl", "plan", "--forks=3", "inv.toml"}, []string{"carbonctl", "plan", "--forks=3", "inv.toml"}},
		{[]string{"carbonctl", "up", "--", "-odd-name.toml"}, []string{"carbonctl", "up", "-odd-name.toml"}},
		{[]string{"carbonctl", "nosuch", "x", "--y"}, []string{"carbonctl", "nosuch", "x", "--y"}},
	}
	for _, tt := range tests {
		if got := flagsFirst(app, tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("flagsFirst(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[cluster]\nname = \"x\"\nbogus = 1\n"), 0o600)
	tests := []cliRun{
		{[]string{"carbonctl", "version"}, 0, "carbonctl"},
		{[]string{"carbonctl", "playbooks"}, 0, "esb-worker-manager"},
		{[]string{"carbonctl", "up"}, 2, "usage: carbonctl up INVENTORY"},
		{[]string{"carbonctl", "nosuch", "inv.toml"}, 2, `unknown command "nosuch"`},
		{[]string{"carbonctl", "help", "validate"}, 2, `unknown command "help": run carbonctl --help`},
		{[]string{"carbonctl", "--help"}, 0, "validate"},
		{[]string{"carbonctl", "validate", filepath.Join(dir, "missing.toml")}, 2, "missing.toml"},
		{[]string{"carbonctl", "plan", bad}, 2, "bad.toml:3: cluster.bogus"},
		{[]string{"carbonctl", "up", "--no-such-flag", bad}, 2, "no-such-flag"},
	}
	checkRuns(t, tests)
}

// cliRun is one command line with the exit code and output it must give.
type cliRun struct {
	args []string
	code int
	out  string
}

// checkRuns runs each command line through the CLI and checks its exit code
// and that its output (stdout and stderr) contains the expected text.
func checkRuns(t *testing.T, tests []cliRun) {
	t.Helper()
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tt.args, &out, &errOut)
		all := out.String() + errOut.String()
		if code != tt.code || !strings.Contains(all, tt.out) {
			t.Errorf("%v: exit %d, output %q; want exit %d containing %q", tt.args, code, all, tt.code, tt.out)
		}
	}
}

// TestAllowDowntimeFlag: the commands whose runs may roll take
// --allow-downtime, and it reaches the engine only when applying.
func TestAllowDowntimeFlag(t *testing.T) {
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	for _, name := range []string{"up", "add-node", "remove-node"} {
		found := false
		for _, f := range app.Command(name).Flags {
			found = found || f.Names()[0] == "allow-downtime"
		}
		if !found {
			t.Errorf("%s has no --allow-downtime", name)
		}
	}
	for _, tt := range []struct {
		apply, want bool
	}{{true, true}, {false, false}} {
		set := flag.NewFlagSet("up", flag.ContinueOnError)
		set.Bool("allow-downtime", true, "")
		c := cli.NewContext(app, set, nil)
		c.Command = &cli.Command{Name: "up"}
		if got := options(c, tt.apply).AllowDowntime; got != tt.want {
			t.Errorf("apply %v: AllowDowntime = %v, want %v", tt.apply, got, tt.want)
		}
	}
}
