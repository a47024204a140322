package steps

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
)

// TestLaunchScriptStartOutput runs the launcher locally against a start
// script that fails at once: its output (stdout and stderr) must land in
// the start output file, the previous start's must be kept as .1, and the
// script must have seen JAVA_HOME.
func TestLaunchScriptStartOutput(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "bin"), 0o755)
	os.MkdirAll(filepath.Join(home, "repository", "logs"), 0o755)
	script := "#!/bin/sh\necho \"JAVA_HOME=$JAVA_HOME args=$*\"\necho 'Error: JAVA_HOME is not defined correctly.' >&2\nexit 1\n"
	os.WriteFile(filepath.Join(home, "bin", "start.sh"), []byte(script), 0o755)
	out := filepath.Join(home, "repository", "logs", startOutput)
	os.WriteFile(out, []byte("previous start\n"), 0o644)
	e := &engine.Engine{PB: &playbook.Playbook{Start: playbook.Start{Script: "bin/start.sh", PidFile: "carbon.pid", Log: "repository/logs/wso2carbon.log"}}}
	n := &engine.Node{Vars: engine.Vars{Node: engine.NodeVars{Home: home}, JavaHome: "/opt/carbonctl/jdk/jdk8u392-b08"}}

	printed, code := runSh(t, launchScript(e, n, []string{"-DworkerNode=true", "it's"}))
	fields := strings.Fields(printed)
	if code != 0 || len(fields) != 3 || fields[0] != "0" {
		t.Fatalf("launcher printed %q (exit %d), want \"0 PID WRITER\"", printed, code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range fields[1:] {
		p, err := strconv.Atoi(pid)
		if err != nil {
			t.Fatal(err)
		}
		for syscall.Kill(p, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	got, _ := os.ReadFile(out)
	want := "JAVA_HOME=/opt/carbonctl/jdk/jdk8u392-b08 args=-DworkerNode=true it's\nError: JAVA_HOME is not defined correctly.\n"
	if string(got) != want {
		t.Errorf("start output %q, want %q", got, want)
	}
	if prev, _ := os.ReadFile(out + ".1"); string(prev) != "previous start\n" {
		t.Errorf("previous start output %q", prev)
	}
	if _, err := os.Stat(out + ".pid"); !os.IsNotExist(err) {
		t.Errorf("the launcher left its pid file: %v", err)
	}
}

func TestStartFailureMessage(t *testing.T) {
	e := &engine.Engine{PB: &playbook.Playbook{Start: playbook.Start{Script: "bin/wso2server.sh", Log: "repository/logs/wso2carbon.log"}}}
	n := &engine.Node{Vars: engine.Vars{Node: engine.NodeVars{Name: "wrk2", Home: "/opt/esb"}}}
	err := startFailure(context.Background(), e, n, "Error: JAVA_HOME is not defined correctly.\n CARBON cannot execute java\x1b[31m\r\n", "")
	want := "wrk2 stopped during start-up\n" +
		"bin/wso2server.sh printed (last lines of /opt/esb/repository/logs/carbonctl-start.out):\n" +
		"    Error: JAVA_HOME is not defined correctly.\n     CARBON cannot execute java[31m\n" +
		"/opt/esb/repository/logs/wso2carbon.log says:\n    (nothing)"
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain\ttext\nline": "plain\ttext\nline",
		"\x1b]0;title\x07x": "]0;titlex",
		"cr\r\nnul\x00":     "cr\nnul",
		"bad \xff utf8":     "bad ? utf8",
		"\u0085next line":   "next line",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
