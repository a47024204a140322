// Package e2e runs the real carbonctl binary against the local lab: real
// sshd, MariaDB and the simulated Carbon product in network-namespace hosts.
// It runs only as root with CARBONCTL_LAB=1 (see README.md).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/carbonctl/carbonctl/fixtures/lab"
	"github.com/carbonctl/carbonctl/fixtures/product"
)

// env is one lab with a built binary, a product archive and an inventory.
type env struct {
	t         testing.TB
	lab       *lab.Lab
	bin       string // the carbonctl binary
	dist      string // product archive and JDBC driver
	dir       string // scratch dir with inventories
	inventory string
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// requireLab skips unless the lab may run here.
func requireLab(t testing.TB) {
	if os.Getenv("CARBONCTL_LAB") != "1" || os.Geteuid() != 0 {
		t.Skip("SKIPPED: end-to-end lab tests need root and CARBONCTL_LAB=1 (see README.md); nothing was proven against real servers")
	}
}

// newEnv builds the binary and the simulated product and starts a fresh lab.
func newEnv(t testing.TB) *env {
	return newEnvHosts(t)
}

// newEnvHosts is newEnv with a lab of the given hosts (lab.Up's "NAME=IP"
// or "NAME=IP:systemd"; none = the default lab).
func newEnvHosts(t testing.TB, hosts ...string) *env {
	requireLab(t)
	waitForFreeLab(t)
	e := &env{t: t, dir: t.TempDir()}
	e.bin = filepath.Join(e.dir, "carbonctl")
	e.dist = filepath.Join(e.dir, "dist")
	root := repoRoot()
	e.mustRun(root, "go", "build", "-o", e.bin, "./cmd/carbonctl")
	e.mustRun(root, "go", "run", "./fixtures/mkdist", "-out", e.dist)
	// 15 minutes: a lab with systemd hosts builds its cached Debian root once (debootstrap).
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	began := time.Now()
	l, err := lab.Up(ctx, filepath.Join(e.dir, "lab"), hosts...)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Logf("lab up (%d hosts) in %s", len(l.Hosts), time.Since(began).Round(time.Millisecond))
	e.lab = l
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := l.Down(ctx); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	e.inventory = e.writeInventory("esb.toml", nil)
	return e
}

// newMySQL8Env is newEnv with the lab's MariaDB in MySQL-8 mode (MySQL 8's
// default global sql_mode, CARBONCTL_LAB_DB_MODE=mysql8): the products'
// scripts must import under it as they do on MySQL 5.7 and 8.
func newMySQL8Env(t *testing.T) *env {
	t.Setenv("CARBONCTL_LAB_DB_MODE", "mysql8")
	e := newEnv(t)
	var mode string
	if err := e.admin().QueryRow("SELECT @@GLOBAL.sql_mode").Scan(&mode); err != nil || e.lab.DBMode != "mysql8" ||
		!strings.Contains(mode, "NO_ZERO_DATE") || !strings.Contains(mode, "STRICT_TRANS_TABLES") {
		t.Fatalf("the lab's database is not in MySQL-8 mode (lab mode %q, global sql_mode %q, %v)", e.lab.DBMode, mode, err)
	}
	return e
}

// waitForFreeLab takes the machine's lab lock, waiting up to 25 minutes
// for another test process to finish with the lab (one lab runs on a
// machine at a time: the bridge name and addresses are fixed). The lock is
// released when the test ends.
func waitForFreeLab(t testing.TB) {
	f, err := os.OpenFile("/run/lock/carbonctl-e2e-lab.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("lab lock: %v", err)
	}
	deadline := time.Now().Add(25 * time.Minute)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("another test process has held the lab for 25 minutes")
		}
		time.Sleep(2 * time.Second)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
	for i := 0; exec.Command("ip", "link", "show", "cclab0").Run() == nil; i++ {
		if i == 30 {
			t.Fatalf("a lab not started by a test (bridge cclab0) is up: stop it with fixtures/lab/lab.sh down")
		}
		time.Sleep(time.Second)
	}
}

func (e *env) mustRun(dir string, name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// writeInventory writes the 3-node ESB inventory for this lab; edit may
// rewrite the text first (e.g. to break it on purpose).
func (e *env) writeInventory(name string, edit func(string) string) string {
	text := fmt.Sprintf(`[cluster]
name = "esb-e2e"
playbook = "esb-worker-manager"
domain = "wso2.esb.domain"

[product]
archive = %q
home = "/opt/wso2esb-4.9.0"
user = "wso2"

%s
[ssh]
user = "ops"
identity_file = %q
known_hosts = %q

[database]
host = %q
port = 3306
admin_user = "root"
admin_password_env = "CARBONCTL_DB_ADMIN_PASSWORD"
user = "regadmin"
password_env = "CARBONCTL_DB_PASSWORD"
alias = "carbondb.mysql-wso2.com"
jdbc_driver = %q

[[node]]
name = "mgr1"
host = %q
role = "manager"
wka = true

[[node]]
name = "wrk1"
host = %q
role = "worker"
wka = true

[[node]]
name = "wrk2"
host = %q
role = "worker"
`, filepath.Join(e.dist, "wso2esb-4.9.0.zip"), e.javaSection(), e.lab.Key, e.lab.KnownHosts, e.lab.Hosts["db"],
		filepath.Join(e.dist, "mysql-connector-java-5.1.49.jar"), e.lab.Hosts["n1"], e.lab.Hosts["n2"], e.lab.Hosts["n3"])
	if edit != nil {
		text = edit(text)
	}
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// javaSection is the [java] table every lab inventory needs (the simulated
// start scripts refuse to run without JAVA_HOME, like the real ones): the
// JDK stand-in archive that mkdist builds.
func (e *env) javaSection() string {
	return fmt.Sprintf("[java]\narchive = %q\n", filepath.Join(e.dist, product.JDKArchive))
}

// sampleInventory writes the sample inventory fixtures/inventories/SAMPLE
// with this lab's key, known_hosts and distribution paths (the samples use
// the lab's fixed addresses); edit may change it further.
func (e *env) sampleInventory(name, sample string, edit func(string) string) string {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "fixtures", "inventories", sample))
	if err != nil {
		e.t.Fatal(err)
	}
	text := strings.NewReplacer(
		`"../../dist/`, `"`+e.dist+`/`,
		`"/tmp/carbonctl-lab/id_ed25519"`, `"`+e.lab.Key+`"`,
		`"/tmp/carbonctl-lab/known_hosts"`, `"`+e.lab.KnownHosts+`"`,
	).Replace(string(data))
	if !regexp.MustCompile(`(?m)^\[java\]`).MatchString(text) {
		text = e.javaSection() + "\n" + text
	}
	if edit != nil {
		text = edit(text)
	}
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// setKeys returns an edit that gives each "key = value" line of lines its
// value: it replaces the first line setting key, or adds the line under
// [vars].
func setKeys(lines string) func(string) string {
	return func(text string) string {
		for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
			key := strings.TrimSpace(strings.SplitN(l, "=", 2)[0])
			re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `\s*=.*$`)
			if loc := re.FindStringIndex(text); loc != nil {
				text = text[:loc[0]] + l + text[loc[1]:]
			} else {
				text = strings.Replace(text, "[vars]\n", "[vars]\n"+l+"\n", 1)
			}
		}
		return text
	}
}

// result of one carbonctl run.
type result struct {
	out  string
	code int
}

func (e *env) environ() []string {
	return append(os.Environ(),
		"CARBONCTL_DB_ADMIN_PASSWORD="+e.lab.DBAdminPassword,
		"CARBONCTL_DB_PASSWORD="+e.lab.DBPassword)
}

// carbonctl runs the binary to completion.
func (e *env) carbonctl(args ...string) result {
	e.t.Helper()
	r, _ := e.carbonctlRSS(args...)
	return r
}

// carbonctlKilledAt runs the binary and SIGKILLs it once its output contains
// marker (plus delay), like an operator's lost session.
func (e *env) carbonctlKilledAt(marker string, delay time.Duration, args ...string) string {
	e.t.Helper()
	bg := e.background(marker, args...)
	<-bg.seen
	time.AfterFunc(delay, bg.kill)
	out := bg.wait().out
	if !strings.Contains(out, marker) {
		e.t.Fatalf("run ended before %q:\n%s", marker, out)
	}
	return out
}

// bgRun is a carbonctl run in the background.
type bgRun struct {
	seen      chan struct{} // closed when the output shows the marker (or the run ends)
	wait      func() result
	kill      func() // SIGKILL, like an operator's lost session
	interrupt func() // SIGINT, like an operator's Ctrl-C
}

// background starts carbonctl and reports when its output contains marker.
func (e *env) background(marker string, args ...string) bgRun {
	e.t.Helper()
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	seen := make(chan struct{})
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		var once sync.Once
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			buf.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), marker) {
				once.Do(func() { close(seen) })
			}
		}
		once.Do(func() { close(seen) })
	}()
	return bgRun{seen: seen, kill: func() { _ = cmd.Process.Kill() }, interrupt: func() { _ = cmd.Process.Signal(os.Interrupt) }, wait: func() result {
		<-done
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		e.checkNoSecrets(buf.String())
		return result{out: buf.String(), code: code}
	}}
}

// whileServing polls the service through the load balancer every 100 ms
// while fn runs and returns how many requests succeeded and failed.
func (e *env) whileServing(t *testing.T, fn func()) (ok, failed int64) {
	client := e.lbClient(nil)
	var okN, failedN atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if err := probeService(client); err != nil {
				failedN.Add(1)
				t.Logf("%s request failed: %v", time.Now().Format("15:04:05.000"), err)
			} else {
				okN.Add(1)
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return okN.Load(), failedN.Load()
}

func (e *env) checkNoSecrets(out string) {
	e.t.Helper()
	for _, s := range []string{e.lab.DBPassword, e.lab.DBAdminPassword} {
		if s != "" && strings.Contains(out, s) {
			e.t.Fatalf("a password appears in carbonctl's output")
		}
	}
}

// exec runs a command inside a lab host.
func (e *env) exec(host string, cmd ...string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := e.lab.Exec(ctx, host, nil, cmd...)
	if err != nil {
		e.t.Fatalf("%s: %v: %v", host, cmd, err)
	}
	return string(out)
}

// admin opens the lab database as the admin user.
func (e *env) admin() *sql.DB {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net = "root", e.lab.DBAdminPassword, "tcp"
	cfg.Addr = e.lab.Hosts["db"] + ":3306"
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	e.t.Cleanup(func() { db.Close() })
	return db
}
