package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carbonctl/carbonctl/fixtures/lab"
)

// TestESBThroughBastion converges the ESB cluster as operators reach their
// VMs: by DNS name, through a jump host, with the settings in an ssh_config
// file, logging in as a sudo user whose sudo asks for a password on one
// node. The nodes refuse SSH from the control machine (the lab's firewall),
// so everything carbonctl does on them went through the bastion.
func TestESBThroughBastion(t *testing.T) {
	e := newEnvHosts(t, lab.OptBastion, lab.OptNames,
		"db=198.18.0.10", "n1=198.18.0.21", "n2=198.18.0.22:sudopw", "n3=198.18.0.23")
	l := e.lab
	if !l.SudoPW["n2"] || !l.Firewalled["n1"] || l.Bastion != lab.BastionName || l.SudoPassword == "" || l.FQDN("n1") != "n1.lab.carbonctl.test" {
		t.Fatalf("lab options not in effect: %+v", l)
	}
	inv := e.bastionInventory(t)

	t.Run("the control machine cannot reach the nodes' sshd", func(t *testing.T) {
		for _, h := range []string{"n1", "n2", "n3"} {
			c, err := net.DialTimeout("tcp", l.Addr(h), 3*time.Second)
			if err == nil {
				c.Close()
				t.Fatalf("%s: port 22 answers the control machine: the firewall is not in place", h)
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("%s: %v, want connection refused", h, err)
			}
		}
	})

	t.Run("a wrong sudo password is a clear error before any change", func(t *testing.T) {
		t.Setenv("CARBONCTL_LAB_SUDO_PASSWORD", "not-"+l.SudoPassword)
		began := time.Now()
		r := e.carbonctl("up", inv, "--limit", "wrk1")
		t.Logf("refused in %s:\n%s", time.Since(began).Round(time.Millisecond), r.out)
		if r.code == 0 || !strings.Contains(strings.ToLower(r.out), "password") || !regexp.MustCompile(`failed: \[wrk1\]`).MatchString(r.out) {
			t.Fatalf("want a failed run naming wrk1 and its sudo password, got exit %d:\n%s", r.code, r.out)
		}
		if regexp.MustCompile(`changed: \[wrk1\]`).MatchString(r.out) {
			t.Errorf("wrk1 was changed with a wrong sudo password:\n%s", r.out)
		}
		if strings.Contains(r.out, "STEP [") || !strings.Contains(r.out, "the run stops before any step, on every host") {
			t.Errorf("a step ran despite the refused sudo password (the databases step is cluster-wide):\n%s", r.out)
		}
		if out := e.exec("n2", "sh", "-c", "test -e "+home+" && echo present || echo absent; id wso2 2>&1; true"); !strings.Contains(out, "absent") || !strings.Contains(out, "no such user") {
			t.Errorf("n2 was changed with a wrong sudo password: %s", out)
		}
		if strings.Contains(r.out, "not-"+l.SudoPassword) {
			t.Errorf("the wrong password appears in the output")
		}
	})

	t.Setenv("CARBONCTL_LAB_SUDO_PASSWORD", l.SudoPassword)

	t.Run("plan shows the names and their addresses", func(t *testing.T) {
		r := e.carbonctl("plan", inv)
		if r.code != 0 {
			t.Fatalf("plan exit %d:\n%s", r.code, r.out)
		}
		for _, n := range labNodes {
			if want := fmt.Sprintf("%s: %s = %s", n.name, l.FQDN(n.host), l.Hosts[n.host]); !strings.Contains(r.out, want) {
				t.Errorf("plan output lacks %q", want)
			}
		}
	})

	var out string
	t.Run("up converges through the bastion without showing the password", func(t *testing.T) {
		began := time.Now()
		seen := watchCmdlines(t, l.SudoPassword)
		r := e.carbonctl("up", inv)
		found := seen()
		t.Logf("up in %s", time.Since(began).Round(time.Millisecond))
		out = r.out
		if r.code != 0 {
			t.Fatalf("up exit %d:\n%s", r.code, r.out)
		}
		if found != "" {
			t.Errorf("the sudo password appeared on a command line: %q", found)
		}
		e.assertNoSudoPassword(t, r.out)
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("the clustering configuration carries addresses", func(t *testing.T) {
		for _, n := range labNodes {
			axis2 := e.exec(n.host, "cat", home+"/repository/conf/axis2/axis2.xml")
			for _, peer := range labNodes[:2] { // mgr1 and wrk1 are the well-known members
				if want := "<hostName>" + l.Hosts[peer.host] + "</hostName>"; !strings.Contains(axis2, want) {
					t.Errorf("%s: axis2.xml lacks the well-known member %s", n.name, want)
				}
			}
			if !regexp.MustCompile(`<parameter name="localMemberHost">` + regexp.QuoteMeta(l.Hosts[n.host]) + `</parameter>`).MatchString(axis2) {
				t.Errorf("%s: localMemberHost is not %s", n.name, l.Hosts[n.host])
			}
			if strings.Contains(axis2, l.Domain) {
				t.Errorf("%s: axis2.xml holds a host name where Carbon needs an address", n.name)
			}
			hosts := e.exec(n.host, "cat", "/etc/hosts")
			for _, want := range []string{l.Hosts["db"] + "\tcarbondb.mysql-wso2.com", l.Hosts[n.host] + "\t" + l.FQDN(n.host)} {
				if !strings.Contains(hosts, want) {
					t.Errorf("%s: /etc/hosts lacks %q:\n%s", n.name, want, hosts)
				}
			}
		}
	})

	t.Run("the members joined", func(t *testing.T) {
		for _, n := range labNodes {
			e.assertJoined(t, otherNodes(n.name), l.Hosts[n.host]+":4100")
		}
	})

	t.Run("the nodes saw carbonctl come from the bastion only", func(t *testing.T) {
		bastion := l.Hosts[l.Bastion]
		for _, n := range labNodes {
			log := readFile(t, filepath.Join(l.Dir, "logs", n.host+".log"))
			if !strings.Contains(log, "Accepted publickey for ops from "+bastion+" ") {
				t.Errorf("%s: sshd logged no login from the bastion %s", n.name, bastion)
			}
			if strings.Contains(log, " from 198.18.0.1 ") {
				t.Errorf("%s: sshd logged a connection from the control machine", n.name)
			}
		}
		if !strings.Contains(out, "NAMES [esb-e2e]") {
			t.Errorf("up printed no NAMES section")
		}
	})

	t.Run("a second up changes nothing", func(t *testing.T) {
		r := e.carbonctl("up", inv)
		if r.code != 0 || !strings.Contains(r.out, "\n0 changed, ok") {
			t.Fatalf("second up: exit %d:\n%s", r.code, r.out)
		}
		e.assertNoSudoPassword(t, r.out)
	})

	t.Run("a name that resolves differently on a node is refused before any change", func(t *testing.T) {
		// wrk2's host maps mgr1's name elsewhere, as split-horizon DNS would.
		e.exec("n3", "sh", "-c", "cp /etc/hosts /etc/hosts.e2e && sed -i 's/^"+regexp.QuoteMeta(l.Hosts["n1"])+"\t/198.18.0.99\t/' /etc/hosts")
		defer e.exec("n3", "sh", "-c", "cat /etc/hosts.e2e > /etc/hosts && rm /etc/hosts.e2e")
		before := e.exec("n1", "md5sum", home+"/repository/conf/axis2/axis2.xml")
		r := e.carbonctl("up", inv)
		want := "n1.lab.carbonctl.test (host of mgr1): on node wrk2 (n3.lab.carbonctl.test) it resolves to 198.18.0.99; on the control machine to " + l.Hosts["n1"]
		if r.code != 1 || !strings.Contains(r.out, want) || !strings.Contains(r.out, "nothing was changed") || strings.Contains(r.out, "STEP [") {
			t.Fatalf("want the run refused naming node, name and both addresses (%q), got exit %d:\n%s", want, r.code, r.out)
		}
		if after := e.exec("n1", "md5sum", home+"/repository/conf/axis2/axis2.xml"); after != before {
			t.Errorf("the refused run changed axis2.xml")
		}
	})
}

// bastionInventory writes the ESB inventory with the nodes by name and an
// ssh_config file that sends them through the bastion as ops, with the
// lab's sudo password (only n2's sudo asks for it).
func (e *env) bastionInventory(t *testing.T) string {
	l := e.lab
	cfg := filepath.Join(e.dir, "ssh_config")
	text := fmt.Sprintf(`# written by TestESBThroughBastion
Host *.%[1]s
    User ops
    IdentityFile %[2]s

Host n*.%[1]s
    ProxyJump ops@%[3]s:22
`, l.Domain, l.Key, l.FQDN(l.Bastion))
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return e.writeInventory("bastion.toml", func(s string) string {
		if !strings.Contains(s, fmt.Sprintf("[ssh]\nuser = \"ops\"\nidentity_file = %q\nknown_hosts = %q\n", l.Key, l.KnownHosts)) {
			t.Fatalf("the harness's [ssh] table changed; adapt bastionInventory:\n%s", s)
		}
		s = strings.Replace(s, fmt.Sprintf("[ssh]\nuser = \"ops\"\nidentity_file = %q\nknown_hosts = %q\n", l.Key, l.KnownHosts),
			fmt.Sprintf("[ssh]\nconfig = %q\nknown_hosts = %q\nbecome_password_env = \"CARBONCTL_LAB_SUDO_PASSWORD\"\n", cfg, l.KnownHosts), 1)
		for _, n := range labNodes {
			s = strings.Replace(s, fmt.Sprintf("host = %q", l.Hosts[n.host]), fmt.Sprintf("host = %q", l.FQDN(n.host)), 1)
		}
		return s
	})
}

// otherNodes are labNodes but name.
func otherNodes(name string) []struct{ name, host string } {
	var out []struct{ name, host string }
	for _, n := range labNodes {
		if n.name != name {
			out = append(out, n)
		}
	}
	return out
}

// assertNoSudoPassword checks carbonctl's output and the lab's logs (sshd,
// the hosts' setup) for the sudo password.
func (e *env) assertNoSudoPassword(t *testing.T, out string) {
	t.Helper()
	pw := e.lab.SudoPassword
	if strings.Contains(out, pw) {
		t.Errorf("the sudo password appears in carbonctl's output")
	}
	logs, _ := filepath.Glob(filepath.Join(e.lab.Dir, "logs", "*.log"))
	for _, f := range logs {
		if data, _ := os.ReadFile(f); bytes.Contains(data, []byte(pw)) {
			t.Errorf("the sudo password appears in %s", f)
		}
	}
}

// watchCmdlines polls every process's command line on this machine (the
// lab hosts' processes included: their pid namespaces are children of
// this one) every 20 ms until the returned function is called, which
// returns the first command line that held secret, or "".
func watchCmdlines(t *testing.T, secret string) func() string {
	var mu sync.Mutex
	found := ""
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range paths {
				if data, err := os.ReadFile(p); err == nil && bytes.Contains(data, []byte(secret)) {
					mu.Lock()
					if found == "" {
						found = strings.ReplaceAll(string(data), "\x00", " ")
					}
					mu.Unlock()
				}
			}
		}
	}()
	return func() string {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return found
	}
}
