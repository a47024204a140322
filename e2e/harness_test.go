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
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/carbonctl/carbonctl/fixtures/lab"
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
	requireLab(t)
	waitForFreeLab(t)
	e := &env{t: t, dir: t.TempDir()}
	e.bin = filepath.Join(e.dir, "carbonctl")
	e.dist = filepath.Join(e.dir, "dist")
	root := repoRoot()
	e.mustRun(root, "go", "build", "-o", e.bin, "./cmd/carbonctl")
	e.mustRun(root, "go", "run", "./fixtures/mkdist", "-out", e.dist)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, filepath.Join(e.dir, "lab"))
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
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

// waitForFreeLab waits (polling every 20 s, up to 15 minutes) while another
// lab holds the fixed bridge name: one lab runs on a machine at a time.
func waitForFreeLab(t testing.TB) {
	deadline := time.Now().Add(15 * time.Minute)
	for exec.Command("ip", "link", "show", "cclab0").Run() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("another lab has held cclab0 for 15 minutes")
		}
		t.Logf("another lab is up (cclab0 exists); waiting")
		time.Sleep(20 * time.Second)
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
`, filepath.Join(e.dist, "wso2esb-4.9.0.zip"), e.lab.Key, e.lab.KnownHosts, e.lab.Hosts["db"],
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
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.environ()
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("carbonctl %v: %v", args, err)
	}
	e.checkNoSecrets(string(out))
	return result{out: string(out), code: code}
}

// carbonctlKilledAt runs the binary and SIGKILLs it once its output contains
// marker (plus delay), like an operator's lost session.
func (e *env) carbonctlKilledAt(marker string, delay time.Duration, args ...string) string {
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
	var buf bytes.Buffer
	var once sync.Once
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		buf.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), marker) {
			once.Do(func() { time.AfterFunc(delay, func() { cmd.Process.Kill() }) })
		}
	}
	cmd.Wait()
	if !strings.Contains(buf.String(), marker) {
		e.t.Fatalf("run ended before %q:\n%s", marker, buf.String())
	}
	return buf.String()
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
