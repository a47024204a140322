package depsync

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shells are the POSIX shells the scripts are run with: dash is Debian's
// /bin/sh, bash the usual login shell.
func shells(t *testing.T) []string {
	var out []string
	for _, sh := range []string{"dash", "bash"} {
		if p, err := exec.LookPath(sh); err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Skip("SKIPPED: neither dash nor bash is installed")
	}
	return out
}

// withPath rewrites a script's PATH line so that stubs in dir come first.
func withPath(t *testing.T, script, dir string) string {
	t.Helper()
	i := strings.Index(script, "\nPATH=")
	if i < 0 {
		t.Fatal("script sets no PATH")
	}
	return script[:i+1] + "PATH=" + dir + ":" + os.Getenv("PATH") + "\n#" + script[i+1:]
}

func writeExec(t *testing.T, p, text string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestReceiverScript(t *testing.T) {
	stubs := t.TempDir()
	writeExec(t, filepath.Join(stubs, "rsync"), "#!/bin/sh\necho \"RSYNC $*\"\n")
	writeExec(t, filepath.Join(stubs, "id"), "#!/bin/sh\necho \"${FAKE_UID-1001}\"\n")
	script := filepath.Join(t.TempDir(), "receive")
	writeExec(t, script, withPath(t, ReceiverScript(), stubs))
	const dir = "/opt/esb/repository/deployment/server"
	const up = "rsync --server -ltre.iLsfxCIvu --log-format=%i --timeout=120 --delete . "
	tests := []struct{ name, cmd, uid, want string }{
		{"upload", up + dir + "/", "", "RSYNC --server --munge-links -ltre.iLsfxCIvu --log-format=%i --timeout=120 --delete . " + dir + "/"},
		{"upload without slash", up + dir, "", "RSYNC --server --munge-links"},
		{"other allowed dir", up + "/opt/esb/repository/tenants/", "", "RSYNC --server --munge-links"},
		{"older client flags", "rsync --server -ltre.iLsfxC --delete . " + dir + "/", "", "RSYNC --server --munge-links"},
		{"as root", up + dir + "/", "0", "refused: runs as root"},
		{"archive mode (-a)", "rsync --server -logDtpre.iLsfxCIvu . " + dir + "/", "", "refused: option -logDtpre"},
		{"owner", "rsync --server -lotre.iLsfxCIvu . " + dir + "/", "", "refused: option"},
		{"group", "rsync --server -lgtre.iLsfxCIvu . " + dir + "/", "", "refused: option"},
		{"permissions", "rsync --server -ltpre.iLsfxCIvu . " + dir + "/", "", "refused: option"},
		{"devices", "rsync --server -lDtre.iLsfxCIvu . " + dir + "/", "", "refused: option"},
		{"xattrs", "rsync --server -lXtre.iLsfxCIvu . " + dir + "/", "", "refused: option"},
		{"long owner option", "rsync --server --owner -ltre.iLsfxCIvu . " + dir + "/", "", "refused: option --owner"},
		{"links not munged", "rsync --server --no-munge-links -ltre.iLsfxCIvu . " + dir + "/", "", "refused: option --no-munge-links"},
		{"no command (a shell)", "", "", "refused: this key only receives rsync uploads"},
		{"id", "id", "", "refused: not an rsync upload"},
		{"shell command", "/bin/sh -c id", "", "refused: not an rsync upload"},
		{"scp", "scp -t " + dir, "", "refused: not an rsync upload"},
		{"sftp", "internal-sftp", "", "refused: not an rsync upload"},
		{"sender (download)", "rsync --server --sender -logDtpre.iLsfxCIvu . " + dir + "/", "", "refused: option --sender"},
		{"other directory", up + "/home/wso2/.ssh/", "", "refused: destination /home/wso2/.ssh/"},
		{"parent escape", up + dir + "/../../../../home/wso2/.ssh", "", "refused: destination"},
		{"prefix of an allowed dir", up + "/opt/esb/repository/deployment/", "", "refused: destination"},
		{"two destinations", up + dir + "/ /etc/", "", "refused: more than one destination"},
		{"command chaining", up + dir + "/;id", "", "refused: unexpected characters"},
		{"substitution", up + "$(id)", "", "refused: unexpected characters"},
		{"newline", up + dir + "/\nid", "", "refused: unexpected characters"},
		{"protect-args hides the real ones", "rsync --server -s . " + dir + "/", "", "refused: option -s"},
		{"keep-dirlinks", "rsync --server -logDtprKe.iLsfxCIvu . " + dir + "/", "", "refused: option"},
		{"log file elsewhere", "rsync --server --log-file=/tmp/x . " + dir + "/", "", "refused: option --log-file"},
		{"temp dir elsewhere", "rsync --server -T/tmp . " + dir + "/", "", "refused: option -T/tmp"},
		{"no destination", "rsync --server -ltre.iLsfxCIvu --delete .", "", "refused"},
	}
	for _, sh := range shells(t) {
		for _, tt := range tests {
			t.Run(filepath.Base(sh)+"/"+tt.name, func(t *testing.T) {
				cmd := exec.Command(sh, script, dir, "/opt/esb/repository/tenants/")
				cmd.Env = append(os.Environ(), "SSH_ORIGINAL_COMMAND="+tt.cmd)
				if tt.uid != "" {
					cmd.Env = append(cmd.Env, "FAKE_UID="+tt.uid)
				}
				out, err := cmd.CombinedOutput()
				if !strings.Contains(string(out), tt.want) {
					t.Fatalf("output %q, want %q", out, tt.want)
				}
				ran := strings.HasPrefix(string(out), "RSYNC ")
				if ran != (err == nil) || ran != strings.HasPrefix(tt.want, "RSYNC") {
					t.Fatalf("ran rsync: %v, err %v, output %q", ran, err, out)
				}
			})
		}
	}
}

// syncFixture is a source CARBON_HOME with a sync script whose rsync is a
// stub that copies locally: a target ADDR:PATH lands in root/ADDR/PATH.
type syncFixture struct {
	t          *testing.T
	src, root  string
	script     string
	rsyncCalls string // file the stub appends its -e value to
}

func newSyncFixture(t *testing.T, maxLog int64) *syncFixture {
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skip("SKIPPED: rsync is not installed")
	}
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("SKIPPED: flock is not installed")
	}
	base := t.TempDir()
	f := &syncFixture{t: t, src: filepath.Join(base, "src"), root: filepath.Join(base, "hosts"), rsyncCalls: filepath.Join(base, "calls")}
	stubs := filepath.Join(base, "stubs")
	for _, d := range []string{stubs, f.root, filepath.Join(f.src, Dir), filepath.Join(f.src, "repository/deployment/server/carbonapps")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	real, _ := exec.LookPath("rsync")
	writeExec(t, filepath.Join(stubs, "rsync"), `#!/bin/sh
# Local stand-in for a remote rsync: drops -e CMD, maps USER@ADDR:PATH to
# $ROOT/ADDR/PATH and creates its parent, like a node's CARBON_HOME.
n=$#
for a; do
	shift
	case $a in
	-e) skip=1; continue ;;
	*@*:*) h=${a#*@}; h=${h%%:/*}; h=${h#[}; h=${h%]}
		[ "$h" != 198.18.0.99 ] || { echo "Host key verification failed." >&2; exit 255; }
		a="$ROOT/$h/${a#*:/}"; d=${a%/}; mkdir -p "${d%/*}" ;;
	esac
	if [ -n "${skip-}" ]; then echo "$a" >>"$CALLS"; skip=; continue; fi
	set -- "$@" "$a"
done
exec `+real+` "$@"
`)
	cfg := ScriptConfig{Cluster: "c1", Source: f.src, User: "wso2", Directories: []string{"repository/deployment/server", "repository/tenants"}, MaxLog: maxLog}
	if err := cfg.Check(); err != nil {
		t.Skipf("SKIPPED: temporary directory %s cannot be used: %v", base, err)
	}
	f.script = filepath.Join(f.src, Dir, ScriptName)
	writeExec(t, f.script, withPath(t, SyncScript(cfg), stubs))
	f.write(filepath.Join(Dir, NodesName), NodesFile("c1", []Target{{"wrk1", "198.18.0.22", 22, "/opt/esb"}, {"wrk2", "2001:db8::23", 2222, "/srv/esb"}}))
	return f
}

func (f *syncFixture) write(rel, text string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.src, rel), []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// run runs the script with sh and args; it returns the output and exit code.
func (f *syncFixture) run(sh string, args ...string) (string, int) {
	f.t.Helper()
	cmd := exec.Command(sh, append([]string{f.script}, args...)...)
	cmd.Env = append(os.Environ(), "ROOT="+f.root, "CALLS="+f.rsyncCalls)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		f.t.Fatal(err)
	}
	return string(out), 0
}

func (f *syncFixture) exists(host, p string) bool {
	_, err := os.Stat(filepath.Join(f.root, host, p))
	return err == nil
}

func TestSyncScript(t *testing.T) {
	for _, sh := range shells(t) {
		t.Run(filepath.Base(sh), func(t *testing.T) {
			f := newSyncFixture(t, 1<<20)
			const app = "repository/deployment/server/carbonapps/a.car"
			f.write(app, "v1")
			out, code := f.run(sh)
			if code != 0 || !strings.Contains(out, "wrk1 repository/deployment/server: ok, 1 sent, 0 deleted") ||
				!strings.Contains(out, "wrk2 repository/deployment/server: ok, 1 sent, 0 deleted") || !strings.Contains(out, "carbonapps/a.car") {
				t.Fatalf("first run: exit %d\n%s", code, out)
			}
			if strings.Contains(out, "repository/tenants") {
				t.Errorf("synced repository/tenants, which the source does not have:\n%s", out)
			}
			if !f.exists("198.18.0.22", "opt/esb/"+app) || !f.exists("2001:db8::23", "srv/esb/"+app) {
				t.Fatalf("the artifact did not reach both nodes")
			}
			os.Remove(filepath.Join(f.src, app))
			out, code = f.run(sh)
			if code != 0 || !strings.Contains(out, "wrk1 repository/deployment/server: ok, 0 sent, 1 deleted") || f.exists("198.18.0.22", "opt/esb/"+app) {
				t.Fatalf("removal was not propagated: exit %d\n%s", code, out)
			}
			calls, _ := os.ReadFile(f.rsyncCalls)
			for _, want := range []string{"-i " + f.src + "/" + Dir + "/id_ed25519", "-p 2222", "StrictHostKeyChecking=yes", "UserKnownHostsFile=" + f.src + "/" + Dir + "/known_hosts", "BatchMode=yes"} {
				if !strings.Contains(string(calls), want) {
					t.Errorf("ssh command lacks %q:\n%s", want, calls)
				}
			}
			if strings.Contains(string(calls), "StrictHostKeyChecking=no") {
				t.Errorf("ssh command disables host key checking")
			}
			log, _ := os.ReadFile(filepath.Join(f.src, Dir, LogName))
			if !strings.Contains(string(log), "sync done: 2 node(s)") {
				t.Errorf("log:\n%s", log)
			}
		})
	}
}

func TestSyncScriptFailureLockAndLog(t *testing.T) {
	sh := shells(t)[0]
	f := newSyncFixture(t, 200)
	f.write(filepath.Join(Dir, NodesName), NodesFile("c1", []Target{{"wrk1", "198.18.0.22", 22, "/opt/esb"}, {"bad", "198.18.0.99", 22, "/opt/esb"}}))
	out, code := f.run(sh)
	if code != 1 || !strings.Contains(out, "bad repository/deployment/server: FAILED (rsync exit 255): Host key verification failed.") ||
		!strings.Contains(out, "wrk1 repository/deployment/server: ok") {
		t.Fatalf("want a failure for bad only: exit %d\n%s", code, out)
	}
	// The log went past 200 bytes: the next run rotates it, keeping one old log.
	f.run(sh)
	if _, err := os.Stat(filepath.Join(f.src, Dir, LogName+".1")); err != nil {
		t.Errorf("log not rotated: %v", err)
	}
	if st, err := os.Stat(filepath.Join(f.src, Dir, LogName)); err != nil || st.Size() > 1000 {
		t.Errorf("log not bounded: %v %v", st, err)
	}

	// While another run holds the lock, cron's run does nothing and --wait waits.
	lock := filepath.Join(f.src, Dir, LockName)
	holder := exec.Command("flock", lock, "sleep", "2")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Wait()
	time.Sleep(300 * time.Millisecond)
	before, _ := os.ReadFile(f.rsyncCalls)
	if out, code := f.run(sh); code != 0 || out != "" {
		t.Errorf("run during another one: exit %d, output %q", code, out)
	}
	if after, _ := os.ReadFile(f.rsyncCalls); len(after) != len(before) {
		t.Errorf("a run started rsync while another held the lock")
	}
	began := time.Now()
	if out, _ := f.run(sh, "--wait"); !strings.Contains(out, "wrk1 repository/deployment/server: ok") || time.Since(began) < time.Second {
		t.Errorf("--wait did not wait for the lock and then sync (%s):\n%s", time.Since(began), out)
	}
}
