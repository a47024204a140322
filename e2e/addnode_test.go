package e2e

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The host and nodes add-node brings in.
const (
	newHost  = "n4"
	newIP    = "198.18.0.24"
	artifact = deployDir + "/carbonapps/addnode-e2e.car"
	wrk4Home = home + "-wrk4"
)

// TestAddRemoveNode grows a converged 3-node cluster behind the load
// balancer, with the rsync deployment sync, by a worker on a new host and a
// second (well-known) worker on that host, then shrinks it back.
func TestAddRemoveNode(t *testing.T) {
	e := newEnv(t)
	inv := e.writeInventory("nodes.toml", func(s string) string {
		return withDepSync("[depsync]\nmethod = \"rsync\"\n")(e.withLB("")(s))
	})
	if r := e.carbonctl("up", inv); r.code != 0 {
		t.Fatalf("up exit %d:\n%s", r.code, r.out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.lab.Add(ctx, newHost+"="+newIP); err != nil {
		t.Fatal(err)
	}
	e.asWso2("n1", "echo e2e > "+artifact)
	original := readFile(t, inv)
	add := []string{"add-node", inv, "--name", "wrk3", "--host", newIP, "--role", "worker"}

	t.Run("dry run plans the new node and changes nothing", func(t *testing.T) {
		r := e.carbonctl(append(add, "--dry-run")...)
		if r.code != 0 {
			t.Fatalf("add-node --dry-run exit %d:\n%s", r.code, r.out)
		}
		for _, want := range []string{"name = \"wrk3\"", "would change: [wrk3]", "+    server " + newIP + ":8280 max_fails=1 fail_timeout=5s;",
			"start " + home + "/bin/wso2server.sh -DworkerNode=true (not running)", "dry run: " + inv + " is not written"} {
			if !strings.Contains(r.out, want) {
				t.Errorf("dry run output lacks %q:\n%s", want, r.out)
			}
		}
		if readFile(t, inv) != original || fileExists(inv+".bak") {
			t.Errorf("the dry run wrote the inventory")
		}
		if out, _ := e.try(newHost, "test", "-e", home); !strings.Contains(out, "exit status 1") {
			t.Errorf("the dry run touched %s: %s", newHost, out)
		}
	})

	before := e.pids()
	t.Run("add a worker on a new host; a concurrent up is refused", func(t *testing.T) {
		bg := e.background("STEP [product]", add...)
		<-bg.seen
		r := e.carbonctl("up", inv)
		if r.code != 1 || !strings.Contains(r.out, "another run holds the lock") || !strings.Contains(r.out, "carbonctl add-node by ") {
			t.Errorf("up during add-node: exit %d, want 1 naming the holder:\n%s", r.code, r.out)
		}
		res := bg.wait()
		if res.code != 0 {
			t.Fatalf("add-node exit %d:\n%s", res.code, res.out)
		}
		t.Logf("add-node output:\n%s", res.out)
		block := "\n[[node]]\nname = \"wrk3\"\nhost = \"" + newIP + "\"\nrole = \"worker\"\n"
		if got := readFile(t, inv); got != original+block {
			t.Errorf("inventory after add-node:\n%s\nwant the original plus %q", got, block)
		}
		if readFile(t, inv+".bak") != original {
			t.Errorf("%s.bak is not the original inventory", inv)
		}
		if after := e.pids(); !equalMaps(before, after) || strings.Contains(res.out, "rolling restart") {
			t.Errorf("nodes whose configuration did not change were restarted: %v -> %v", before, after)
		}
		e.assertJoined(t, labNodes, newIP+":4100")
		if seen := e.workersBehindLB(t); seen["n4"] == 0 {
			t.Errorf("requests through the load balancer reached %v, never n4", seen)
		}
		if out, err := e.try(newHost, "cat", artifact); err != nil || out != "e2e\n" {
			t.Errorf("the deployment sync did not reach %s: %q %v", newHost, out, err)
		}
		if st, r := e.status(t, inv); r.code != 0 || !st.Healthy || len(st.Nodes) != 4 {
			t.Errorf("status after add-node: exit %d:\n%s", r.code, r.out)
		}
	})

	t.Run("a well-known second node on the same host: rolling restarts, no failed request", func(t *testing.T) {
		before := e.pids()
		before["wrk3"] = e.pidOf(newHost, home)
		var r result
		ok, failed := e.whileServing(t, func() {
			t.Logf("%s add-node wrk4", time.Now().Format("15:04:05.000"))
			defer func() { t.Logf("%s add-node wrk4 done", time.Now().Format("15:04:05.000")) }()
			r = e.carbonctl("add-node", inv, "--name", "wrk4", "--host", newIP, "--role", "worker", "--wka")
		})
		if r.code != 0 {
			t.Fatalf("add-node wrk4 exit %d:\n%s", r.code, r.out)
		}
		t.Logf("add-node wrk4 output:\n%s", r.out)
		t.Logf("%d requests through the load balancer during add-node, %d failed", ok, failed)
		want := "wrk4 shares " + newIP + " with wrk3: picked port_offset 1 (ports 9444, 9764, 8281, 8244), local_member_port 4101, home " + wrk4Home
		if !strings.Contains(r.out, want) {
			t.Errorf("add-node output lacks %q", want)
		}
		if failed != 0 || ok < 10 {
			t.Errorf("%d requests failed (%d ok) while the WKA change rolled through the cluster; nginx's error log:\n%s",
				failed, ok, e.exec("lb", "tail", "-n", "40", "/var/log/nginx/error.log"))
		}
		order := []string{"rolling restart 1/4: wrk1", "rolling restart 2/4: wrk2", "rolling restart 3/4: wrk3", "rolling restart 4/4: mgr1"}
		last := -1
		for _, o := range order {
			i := strings.Index(r.out, o)
			if i < 0 || i < last {
				t.Errorf("%q missing or out of order:\n%s", o, r.out)
			}
			last = i
		}
		after := e.pids()
		after["wrk3"] = e.pidOf(newHost, home)
		for name, pid := range before {
			if after[name] == pid {
				t.Errorf("%s was not restarted although its <members> changed", name)
			}
		}
		if strings.Contains(r.out, "not waited for: wrk4") {
			t.Errorf("the new node should start before the roll, so that every restart waits for it too:\n%s", r.out)
		}
		if e.pidOf(newHost, wrk4Home) == "" {
			t.Errorf("wrk4 does not run in %s", wrk4Home)
		}
		if st, r := e.status(t, inv); r.code != 0 || !st.Healthy || len(st.Nodes) != 5 {
			t.Errorf("status with two nodes on %s: exit %d:\n%s", newHost, r.code, r.out)
		}
	})

	t.Run("remove both again", func(t *testing.T) {
		if r := e.carbonctl("remove-node", inv, "--name", "wrk4"); r.code != 0 {
			t.Fatalf("remove-node wrk4 exit %d:\n%s", r.code, r.out)
		}
		// wrk3's host dies: its server is gone and SSH to it is refused.
		e.exec(newHost, "pkill", "-KILL", "-f", "carbonsim")
		e.exec(newHost, "nft", "add table inet carbonctl_e2e_down { chain in { type filter hook input priority 0; tcp dport 22 reject with tcp reset; }; }")
		before, withWrk3 := e.pids(), readFile(t, inv)
		if r := e.carbonctl("remove-node", inv, "--name", "wrk3"); r.code != 1 || !strings.Contains(r.out, "could not stop wrk3") ||
			!strings.Contains(r.out, "--force removes the node anyway") || readFile(t, inv) != withWrk3 {
			t.Fatalf("remove-node of a node on a dead host: want exit 1 and the inventory unchanged, got %d:\n%s", r.code, r.out)
		}
		r := e.carbonctl("remove-node", inv, "--name", "wrk3", "--force")
		if r.code != 0 || !strings.Contains(r.out, "removing it anyway (--force)") {
			t.Fatalf("remove-node wrk3 --force exit %d:\n%s", r.code, r.out)
		}
		t.Logf("remove-node wrk3 --force output:\n%s", r.out)
		if got := readFile(t, inv); got != original {
			t.Errorf("inventory after removing both:\n%s\nwant the original:\n%s", got, original)
		}
		if after := e.pids(); !equalMaps(before, after) {
			t.Errorf("removing a worker that is no well-known member restarted nodes: %v -> %v", before, after)
		}
		if pid := e.pidOf(newHost, home); pid != "" {
			t.Errorf("wrk3 still runs (pid %s)", pid)
		}
		if conf := e.exec("lb", "cat", "/etc/nginx/conf.d/esb.http.conf"); strings.Contains(conf, newIP) {
			t.Errorf("the upstream still lists %s:\n%s", newIP, conf)
		}
		if seen := e.workersBehindLB(t); seen["n4"] != 0 {
			t.Errorf("requests still reach n4: %v", seen)
		}
		left := regexp.MustCompile(`Member left \[[^\]]*\]: /` + regexp.QuoteMeta(newIP+":4100"))
		for _, n := range labNodes {
			if !left.MatchString(e.exec(n.host, "cat", logFile)) {
				t.Errorf("%s did not log Member left for wrk3", n.name)
			}
		}
		if st, r := e.status(t, inv); r.code != 0 || !st.Healthy || len(st.Nodes) != 3 {
			t.Errorf("status after remove-node: exit %d:\n%s", r.code, r.out)
		}
	})
}

// workersBehindLB sends requests for the service through the load balancer
// and counts the lab hosts that answered.
func (e *env) workersBehindLB(t *testing.T) map[string]int {
	t.Helper()
	client := e.lbClient(nil)
	hostRE := regexp.MustCompile(`^carbonsim (\S+) http port \d+ worker\n$`)
	seen := map[string]int{}
	for i := 0; i < 16; i++ {
		body := e.get(t, client, "http://"+serviceName+"/services/echo", http.StatusOK)
		m := hostRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("not a worker's pass-through HTTP port: %q", body)
		}
		seen[m[1]]++
	}
	return seen
}

// assertJoined checks that every node's log since its last start has a
// "Member joined" line for addr.
func (e *env) assertJoined(t *testing.T, nodes []struct{ name, host string }, addr string) {
	t.Helper()
	joined := regexp.MustCompile(`Member joined \[[^\]]*\]: /` + regexp.QuoteMeta(addr))
	for _, n := range nodes {
		log := e.exec(n.host, "cat", logFile)
		if !joined.MatchString(log[strings.LastIndex(log, "Starting WSO2 Carbon"):]) {
			t.Errorf("%s did not log Member joined for %s", n.name, addr)
		}
	}
}

// pidOf returns the pid of the node running in carbonHome on host, "" when
// none runs.
func (e *env) pidOf(host, carbonHome string) string {
	out, _ := e.try(host, "sh", "-c", "pid=$(cat "+carbonHome+"/wso2carbon.pid) && kill -0 $pid && echo $pid")
	if strings.Contains(out, "exit status") {
		return ""
	}
	return strings.TrimSpace(out)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
