package steps

import (
	"archive/zip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// TestConnectUsesEachHostsSSHConfig: the engine dials every host with the
// settings Inventory.SSHConfig resolves for it (per-node keys, [ssh],
// proxy_jump), and a refused connection is reported per node.
func TestConnectUsesEachHostsSSHConfig(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "product.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	if _, err := zw.Create("wso2esb-4.9.0/bin/wso2server.sh"); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	f.Close()
	doc := `[cluster]
name = "esb"
[product]
archive = "product.zip"
home = "/opt/esb"
[ssh]
config = "none"
user = "deploy"
known_hosts = "known_hosts"
proxy_jump = "ops@198.18.0.2:2200"
become_password_env = "SUDO_PW"
[database]
host = "198.18.0.10"
admin_password_env = "SUDO_PW"
user = "regadmin"
password_env = "SUDO_PW"
jdbc_driver = "product.zip.jar"
[java]
home = "/usr/lib/jvm/java"
[[node]]
name = "mgr1"
host = "198.18.0.21"
role = "manager"
wka = true
[[node]]
name = "wkr1"
host = "198.18.0.22"
role = "worker"
ssh_user = "admin"
ssh_port = 2222
ssh_proxy_jump = "none"
`
	env := func(k string) (string, bool) {
		if k == "SUDO_PW" {
			return "pw-1", true
		}
		return os.LookupEnv(k)
	}
	inv, err := inventory.Parse("inventory.toml", dir, []byte(doc), env, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]remote.Config{}
	dial := func(_ context.Context, addr string, cfg remote.Config, _ *remote.HostKeys) (remote.Host, error) {
		mu.Lock()
		seen[addr] = cfg
		mu.Unlock()
		return nil, errors.New("refused by the test")
	}
	report, err := engine.RunGroup(context.Background(), inv, builtin(t), engine.Options{Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"198.18.0.21": "deploy@198.18.0.21:22 via ops@198.18.0.2:2200",
		"198.18.0.22": "admin@198.18.0.22:2222",
	}
	for addr, w := range want {
		if got := seen[addr].Describe(addr); got != w {
			t.Errorf("dialled %s as %q, want %q", addr, got, w)
		}
		if seen[addr].BecomePassword != "pw-1" || seen[addr].KnownHostsFile != filepath.Join(dir, "known_hosts") {
			t.Errorf("%s: become password or known_hosts not passed on", addr)
		}
	}
	failed := 0
	for _, r := range report.Results {
		if r.Step == "connect" && r.Status == engine.Failed && strings.Contains(r.Err.Error(), "refused by the test") {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("%d connect failures reported, want 2", failed)
	}
}
