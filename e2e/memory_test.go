package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// scaleNodes is the size of the cluster BenchmarkNoopUp30 converges: one
// lab host per node (n1..n30), the manager on n1.
const scaleNodes = 30

// BenchmarkNoopUp30 converges a 30-node ESB cluster (one lab host per
// node) and measures a no-op `carbonctl up` of it: its time and the
// binary's maximum resident set size (maxrss-MiB, from the child's
// rusage), which issue 13 wants at or below 40 MiB.
// CARBONCTL_HEAP_PROFILE=FILE makes the no-op runs write a heap profile.
func BenchmarkNoopUp30(b *testing.B) {
	hosts := []string{"db=198.18.0.10"}
	for i := 1; i <= scaleNodes; i++ {
		hosts = append(hosts, fmt.Sprintf("n%d=198.18.0.%d", i, 20+i))
	}
	e := newEnvHosts(b, hosts...)
	inv := e.writeInventory("esb30.toml", func(s string) string {
		for i := 4; i <= scaleNodes; i++ {
			s += fmt.Sprintf("\n[[node]]\nname = \"wrk%d\"\nhost = %q\nrole = \"worker\"\n", i-1, e.lab.Hosts[fmt.Sprintf("n%d", i)])
		}
		return s
	})
	began := time.Now()
	r, rss := e.carbonctlRSS("up", inv)
	if r.code != 0 {
		b.Fatalf("converge: %d\n%s", r.code, r.out)
	}
	b.Logf("first converge of %d nodes: %s, max RSS %.1f MiB", scaleNodes, time.Since(began).Round(time.Millisecond), rss)
	b.Run("up", func(b *testing.B) {
		var most float64
		for i := 0; i < b.N; i++ {
			r, rss := e.carbonctlRSS("up", inv)
			if r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
				b.Fatalf("no-op up: %d\n%s", r.code, r.out)
			}
			most = max(most, rss)
		}
		b.ReportMetric(most, "maxrss-MiB")
	})
}

// carbonctlRSS runs the binary to completion (see carbonctl) and also
// returns its maximum resident set size in MiB.
func (e *env) carbonctlRSS(args ...string) (result, float64) {
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
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		e.t.Fatalf("carbonctl %v: no rusage", args)
	}
	return result{out: string(out), code: code}, float64(ru.Maxrss) / 1024 // Linux: KiB
}

// TestNoopRecord: after a converge, the hosts keep the no-op record (the
// login user's, 0600, in a directory only root writes) and a no-op `up`
// changes nothing with it; a file the product user edits by hand is still
// seen (plan shows the diff); and a product-user symbolic link below
// CARBON_HOME is never read through, neither by a root login nor by the
// sudo user (its target's content never appears: wrk2 fails instead).
func TestNoopRecord(t *testing.T) {
	e := newEnv(t)
	rootInv := e.writeInventory("root-login.toml", func(s string) string {
		return strings.Replace(s, "[ssh]\nuser = \"ops\"", "[ssh]\nuser = \"root\"", 1)
	})
	if r := e.carbonctl("up", e.inventory); r.code != 0 {
		t.Fatalf("converge: %d\n%s", r.code, r.out)
	}
	const record = "/var/lib/carbonctl/esb-e2e.record"
	t.Run("the record is the login user's and a no-op uses it", func(t *testing.T) {
		if r := e.carbonctl("up", e.inventory); r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
			t.Fatalf("no-op up: %d\n%s", r.code, r.out)
		}
		for _, n := range labNodes {
			out := e.exec(n.host, "sh", "-c", "stat -c '%a %U' /var/lib/carbonctl "+record+"; cat "+record)
			if !strings.HasPrefix(out, "755 root\n600 ops\ncarbonctl-record 1\n") || !strings.Contains(out, home+"/repository/conf/axis2/axis2.xml\t") {
				t.Errorf("%s: record:\n%s", n.name, out)
			}
		}
	})
	asProduct := func(host, script string) { e.exec(host, "runuser", "-u", "wso2", "--", "sh", "-c", script) }
	axis2 := home + "/repository/conf/axis2/axis2.xml"
	t.Run("a file the product user edits by hand shows in plan", func(t *testing.T) {
		asProduct("n2", `sed -i 's|<parameter name="membershipScheme">wka</parameter>|<parameter name="membershipScheme">multicast</parameter>|' `+axis2)
		for _, inv := range []string{e.inventory, rootInv} {
			r := e.carbonctl("plan", inv)
			if !strings.Contains(r.out, `-        <parameter name="membershipScheme">multicast</parameter>`) {
				t.Errorf("plan (%s) does not show the hand edit:\n%s", inv, r.out)
			}
		}
	})
	t.Run("no read through a product-user symbolic link", func(t *testing.T) {
		e.exec("n3", "sh", "-c", "umask 077; echo ROOT-ONLY-7f3a > /root/cc-victim; echo OPS-ONLY-91c2 > /home/ops/cc-victim; chown ops /home/ops/cc-victim")
		for _, target := range []string{"/root/cc-victim", "/home/ops/cc-victim"} {
			asProduct("n3", "rm -f "+axis2+" && ln -s "+target+" "+axis2)
			for _, inv := range []string{e.inventory, rootInv} {
				// The product user cannot reach /root/cc-victim: to it the
				// file is missing; the operator's file it can't read.
				r := e.carbonctl("plan", inv)
				if strings.Contains(r.out, "ONLY-") || !strings.Contains(lineWith(r.out, "failed: [wrk2]"), axis2) {
					t.Errorf("plan (%s) with %s -> %s:\n%s", inv, axis2, target, r.out)
				}
			}
		}
	})
}
