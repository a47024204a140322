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
