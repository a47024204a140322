package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestResilience works on one converged ESB cluster: a change of the
// clustering domain (refused without --allow-downtime, carried out as a
// full restart with it), Ctrl-C during a rolling restart, and a worker whose
// packets are dropped during one (a network partition), each followed by a
// re-run that converges.
func TestResilience(t *testing.T) {
	e := newEnv(t)
	t.Run("refused connections fail at once", func(t *testing.T) {
		inv := e.writeInventory("refused.toml", func(s string) string {
			return strings.Replace(s, "[ssh]\n", "[ssh]\nport = 2299\nconnect_timeout = \"60s\"\n", 1)
		})
		began := time.Now()
		r := e.carbonctl("plan", inv)
		took := time.Since(began)
		if r.code != 1 || !strings.Contains(r.out, e.lab.Hosts["n1"]+":2299: connection refused") {
			t.Fatalf("want exit 1 naming the refused host, got %d:\n%s", r.code, r.out)
		}
		if took > 30*time.Second {
			t.Errorf("a refused connection took %v (connect_timeout is 60s): it should fail at once", took)
		}
		nodb := e.writeInventory("nodb.toml", func(s string) string { return strings.Replace(s, "port = 3306", "port = 3399", 1) })
		r = e.carbonctl("plan", nodb)
		if r.code != 1 || !strings.Contains(r.out, e.lab.Hosts["db"]+":3399") || !strings.Contains(r.out, "failed: [database]") {
			t.Fatalf("want exit 1 naming %s:3399 and the step, got %d:\n%s", e.lab.Hosts["db"], r.code, r.out)
		}
	})
	if r := e.carbonctl("up", e.inventory); r.code != 0 {
		t.Fatalf("converge: exit %d\n%s", r.code, r.out)
	}
	green := e.writeInventory("green.toml", func(s string) string {
		return strings.Replace(s, `domain = "wso2.esb.domain"`, `domain = "wso2.esb.green"`, 1)
	})
	t.Run("domain change: refused without --allow-downtime, full restart with it", func(t *testing.T) {
		testDomainChange(t, e, green)
	})
	if t.Failed() {
		return
	}
	// As root from here on (the runs above log in as the sudo user ops),
	// with a keepalive window of 2s × 3.
	inv := e.writeInventory("root.toml", func(s string) string {
		s = strings.Replace(s, `domain = "wso2.esb.domain"`, `domain = "wso2.esb.green"`, 1)
		return strings.Replace(s, "[ssh]\nuser = \"ops\"\n", "[ssh]\nuser = \"root\"\nserver_alive_interval = \"2s\"\nserver_alive_count_max = 3\n", 1)
	})
	t.Run("Ctrl-C during a rolling restart stops at once, naming the step", func(t *testing.T) {
		testInterrupt(t, e, inv)
	})
	t.Run("partition during a rolling restart fails within the keepalive window", func(t *testing.T) {
		testPartition(t, e, inv, 2*time.Second, 3)
	})
}

// hostState is what a refused run must leave alone: the managed files'
// bytes, inodes, sizes and mtimes, and the running pids.
func (e *env) hostState() string {
	var b strings.Builder
	for _, n := range labNodes {
		fmt.Fprintf(&b, "%s:\n%s", n.name, e.exec(n.host, append([]string{"sha256sum"}, managedFiles...)...))
	}
	return b.String() + e.snapshot()
}

func testDomainChange(t *testing.T, e *env, green string) {
	before, pids := e.hostState(), e.pids()
	p := e.carbonctl("plan", green)
	change := `clustering domain (Hazelcast group) "wso2.esb.domain" → "wso2.esb.green"`
	if p.code != 0 || !strings.Contains(p.out, "full restart: members of the old and new domain cannot join") || !strings.Contains(p.out, change) {
		t.Fatalf("plan does not announce the full restart: exit %d\n%s", p.code, p.out)
	}
	r := e.carbonctl("up", green)
	if r.code != 1 || !strings.Contains(r.out, change) || !strings.Contains(r.out, "--allow-downtime") || !strings.Contains(r.out, "nothing was changed") {
		t.Fatalf("up without --allow-downtime: want exit 1 naming the change and the flag, got %d:\n%s", r.code, r.out)
	}
	if after := e.hostState(); after != before {
		t.Fatalf("a refused up changed the hosts:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	t.Logf("refused:%s", r.out[strings.LastIndex(r.out, "\nCLUSTER CHANGE"):])
	r = e.carbonctl("up", green, "--allow-downtime")
	if r.code != 0 || !strings.Contains(r.out, "full restart: stopping 3 nodes") {
		t.Fatalf("up --allow-downtime: exit %d\n%s", r.code, r.out)
	}
	stopped := strings.Index(r.out, "full restart: stopping")
	if started := strings.Index(r.out, "rolling restart"); started >= 0 {
		t.Errorf("the full restart rolled (at %d, stop at %d):\n%s", started, stopped, r.out)
	}
	for name, pid := range e.pids() {
		if pid == pids[name] {
			t.Errorf("%s was not restarted (pid %s)", name, pid)
		}
	}
	for _, n := range labNodes {
		if axis2 := e.exec(n.host, "cat", home+"/repository/conf/axis2/axis2.xml"); !strings.Contains(axis2, `<parameter name="domain">wso2.esb.green</parameter>`) {
			t.Errorf("%s: axis2.xml is not in the new domain", n.name)
		}
	}
	e.assertCluster(t) // every node logged Member joined for every peer since its start
	if r := e.carbonctl("up", green); r.code != 0 || !strings.Contains(r.out, "\n0 changed, ok") {
		t.Fatalf("the up after the full restart: exit %d\n%s", r.code, r.out)
	}
}

// forgetStarts removes the record of the configuration each node was
// started with, so that the next up restarts every node, rolling.
func (e *env) forgetStarts() {
	for _, n := range labNodes {
		e.exec(n.host, "rm", "-f", home+"/.carbonctl/started")
	}
}

func testInterrupt(t *testing.T, e *env, inv string) {
	e.forgetStarts()
	bg := e.background("rolling restart 1/3: wrk1", "up", inv)
	<-bg.seen
	time.Sleep(time.Second)
	sent := time.Now()
	bg.interrupt()
	r := bg.wait()
	took := time.Since(sent)
	t.Logf("up ended %v after SIGINT:%s", took.Round(time.Millisecond), r.out[strings.LastIndex(r.out, "\n\n"):])
	if r.code == 0 || !strings.Contains(r.out, "step start was interrupted") || !strings.Contains(r.out, "re-run to converge") {
		t.Fatalf("want a non-zero exit naming the interrupted step, got %d:\n%s", r.code, r.out)
	}
	if took > 20*time.Second {
		t.Errorf("up took %v to end after SIGINT", took)
	}
	if r := e.carbonctl("up", inv); r.code != 0 {
		t.Fatalf("the re-run after Ctrl-C: exit %d\n%s", r.code, r.out)
	}
	e.assertCluster(t)
}

func testPartition(t *testing.T, e *env, inv string, interval time.Duration, count int) {
	e.forgetStarts()
	before := e.pids()
	// Cut wrk1's host off as the start step begins (its decisions come
	// from the batch read), so that its rolling restart, the first,
	// meets the partition (the simulated product restarts in well under a
	// second: cutting later would race with it).
	bg := e.background("STEP [start]", "up", inv)
	<-bg.seen
	// Drop (not reject) everything between the control machine and wrk1's host.
	e.exec("n2", "nft", "add table inet carbonctl_partition { chain in { type filter hook input priority -10; ip saddr 198.18.0.1 drop; }; chain out { type filter hook output priority -10; ip daddr 198.18.0.1 drop; }; }")
	cut := time.Now()
	healed := false
	heal := func() {
		if !healed {
			e.exec("n2", "nft", "delete table inet carbonctl_partition")
			healed = true
		}
	}
	defer heal()
	// Without keepalives the run would hang for TCP's retransmission timeout.
	watchdog := time.AfterFunc(2*time.Minute, bg.kill)
	r := bg.wait()
	watchdog.Stop()
	took := time.Since(cut)
	window := interval * time.Duration(count)
	// The first unanswered keepalive goes out up to one interval after
	// the cut; then the window passes; the margin covers the rest of the run.
	limit := window + interval + 10*time.Second
	t.Logf("up failed %v after the partition (keepalive window %v, limit %v)", took.Round(time.Millisecond), window, limit)
	if r.code != 1 {
		t.Fatalf("want exit 1, got %d:\n%s", r.code, r.out)
	}
	if took > limit {
		t.Errorf("the partition was noticed after %v, limit %v", took, limit)
	}
	failure := regexp.MustCompile(`failed: \[wrk1\] .*` + regexp.QuoteMeta(e.lab.Hosts["n2"]) + `.*(stopped answering|did not open an SSH session within)`)
	t.Logf("%s", failure.FindString(r.out))
	if !failure.MatchString(r.out) || !strings.Contains(r.out[strings.LastIndex(r.out, "STEP ["):], "STEP [start]") {
		t.Errorf("the failure does not name wrk1, its host and the start step:\n%s", r.out)
	}
	// wrk1 may be stopped (the partition came during its restart); its peers were not touched.
	if mgr1, wrk2 := e.pidOf("n1", home), e.pidOf("n3", home); mgr1 != before["mgr1"] || wrk2 != before["wrk2"] {
		t.Errorf("the other nodes were touched after the partition: before %v, after mgr1 %s wrk2 %s", before, mgr1, wrk2)
	}
	heal()
	if r := e.carbonctl("up", inv); r.code != 0 || strings.Contains(r.out, "failed: [") || !strings.Contains(r.out, " changed, ok in ") {
		t.Fatalf("the re-run after the network healed: exit %d\n%s", r.code, r.out)
	}
	e.assertCluster(t)
	if r := e.carbonctl("up", inv); r.code != 0 || !strings.Contains(r.out, "\n0 changed, ok") {
		t.Fatalf("the up after the re-run: exit %d\n%s", r.code, r.out)
	}
}
