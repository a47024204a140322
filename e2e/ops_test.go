package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// The lab's hosts have a world-writable sticky /run/lock, like Debian:
	// the lock lives there and the login user takes it without sudo.
	lockFile = "/run/lock/carbonctl-esb-e2e.lock"
	logFile  = home + "/repository/logs/wso2carbon.log"
	pidFile  = home + "/wso2carbon.pid"
)

// statusJSON mirrors the fields of `carbonctl status --output json` the test reads.
type statusJSON struct {
	Healthy bool `json:"healthy"`
	Nodes   []struct {
		Name    string   `json:"name"`
		Running bool     `json:"running"`
		PID     int      `json:"pid"`
		Members []string `json:"members"`
		Drift   []string `json:"drift"`
		Healthy bool     `json:"healthy"`
		Ports   []struct {
			Port      int  `json:"port"`
			Listening bool `json:"listening"`
		} `json:"ports"`
	} `json:"nodes"`
}

func (e *env) status(t *testing.T, inv string) (statusJSON, result) {
	t.Helper()
	r := e.carbonctl("status", inv, "--output", "json")
	var st statusJSON
	if err := json.Unmarshal([]byte(r.out), &st); err != nil {
		t.Fatalf("status --output json: %v\n%s", err, r.out)
	}
	return st, r
}

func TestOps(t *testing.T) {
	e := newEnv(t)
	inv := e.writeInventory("ops.toml", e.withLB(`cert_subject = "/C=LK/O=WSO2/OU=carbonctl e2e"`))
	if r := e.carbonctl("up", inv); r.code != 0 {
		t.Fatalf("up exit %d:\n%s", r.code, r.out)
	}
	if out := e.exec("n1", "sh", "-c", "ls "+lockFile+" 2>&1 || true"); !strings.Contains(out, "No such file") {
		t.Fatalf("up left its lock behind: %s", out)
	}
	t.Run("status of a healthy cluster", func(t *testing.T) { testStatusHealthy(t, e, inv) })
	t.Run("a second run is refused while the lock is held", func(t *testing.T) { testLock(t, e, inv) })
	t.Run("logs", func(t *testing.T) { testLogs(t, e, inv) })
	t.Run("status reports drift and a killed node", func(t *testing.T) { testStatusProblems(t, e, inv) })
	t.Run("rolling restart keeps the service up", func(t *testing.T) { testRollingRestart(t, e, inv) })
	t.Run("stop then start", func(t *testing.T) { testStopStart(t, e, inv) })
}

func testStatusHealthy(t *testing.T, e *env, inv string) {
	st, r := e.status(t, inv)
	if r.code != 0 || !st.Healthy || len(st.Nodes) != 3 {
		t.Fatalf("status exit %d, want a healthy cluster:\n%s", r.code, r.out)
	}
	for i, n := range st.Nodes {
		pid := strings.TrimSpace(e.exec(labNodes[i].host, "cat", pidFile))
		if n.Name != labNodes[i].name || !n.Running || fmt.Sprint(n.PID) != pid || len(n.Members) != 2 || len(n.Drift) != 0 || len(n.Ports) != 4 {
			t.Errorf("node %d: %+v (pid file %s)", i, n, pid)
		}
		for _, p := range n.Ports {
			if !p.Listening {
				t.Errorf("%s: port %d not listening", n.Name, p.Port)
			}
		}
	}
	table := e.carbonctl("status", inv)
	if table.code != 0 || !strings.Contains(table.out, "cluster esb-e2e is healthy") || !strings.Contains(table.out, "4/4") {
		t.Errorf("status table, exit %d:\n%s", table.code, table.out)
	}
}

// writeLock writes a lock file on the manager host by hand.
func (e *env) writeLock(host string, started time.Time) {
	text := fmt.Sprintf("host=%s\nuser=alice\npid=1\nstarted=%s\ncommand=up\ntoken=hand\n", host, started.UTC().Format(time.RFC3339))
	e.exec("n1", "sh", "-c", "printf '%s' '"+text+"' > "+lockFile)
}

func testLock(t *testing.T, e *env, inv string) {
	began := time.Now().Add(-time.Minute)
	e.writeLock("ctl-elsewhere", began)
	holder := fmt.Sprintf("carbonctl up by alice@ctl-elsewhere (pid 1) since %s", began.UTC().Format(time.RFC3339))
	for _, args := range [][]string{{"up", inv}, {"up", inv, "--break-lock"}, {"restart", inv}} {
		r := e.carbonctl(args...)
		if r.code != 1 || !strings.Contains(r.out, "another run holds the lock "+e.lab.Hosts["n1"]+":"+lockFile) || !strings.Contains(r.out, holder) || !strings.Contains(r.out, "wait for it") {
			t.Errorf("%v: exit %d, want 1 naming the holder:\n%s", args, r.code, r.out)
		}
		if strings.Contains(r.out, "STEP [") || strings.Contains(r.out, "RESTART [") {
			t.Errorf("%v ran steps without the lock:\n%s", args, r.out)
		}
	}
	if r := e.carbonctl("plan", inv); r.code != 0 {
		t.Errorf("plan takes no lock, but exit %d:\n%s", r.code, r.out)
	}
	e.writeLock("ctl-elsewhere", time.Now().Add(-7*time.Hour))
	r := e.carbonctl("up", inv)
	if r.code != 1 || !strings.Contains(r.out, "the lock is stale") || !strings.Contains(r.out, "--break-lock") {
		t.Errorf("stale lock: exit %d:\n%s", r.code, r.out)
	}
	r = e.carbonctl("up", inv, "--break-lock")
	if r.code != 0 || !strings.Contains(r.out, "0 changed") {
		t.Errorf("up --break-lock on a stale lock: exit %d:\n%s", r.code, r.out)
	}
	if out := e.exec("n1", "sh", "-c", "cat "+lockFile+" 2>&1 || true"); !strings.Contains(out, "No such file") {
		t.Errorf("lock left after up --break-lock: %s", out)
	}
	// A run of this machine that died (a killed carbonctl) leaves a lock
	// that the next run breaks by itself.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	hostname, _ := os.Hostname()
	e.exec("n1", "sh", "-c", fmt.Sprintf("printf 'host=%s\\nuser=root\\npid=%d\\nstarted=%s\\ncommand=up\\ntoken=x\\n' > %s",
		hostname, dead.Process.Pid, time.Now().UTC().Format(time.RFC3339), lockFile))
	r = e.carbonctl("up", inv)
	if r.code != 0 || !strings.Contains(r.out, fmt.Sprintf("broke the stale run lock %s:%s", e.lab.Hosts["n1"], lockFile)) ||
		!strings.Contains(r.out, fmt.Sprintf("process %d is no longer running on %s", dead.Process.Pid, hostname)) {
		t.Errorf("up after a dead local run: exit %d:\n%s", r.code, r.out)
	}
}

func testLogs(t *testing.T, e *env, inv string) {
	r := e.carbonctl("logs", inv, "wrk1", "-n", "5")
	want := e.exec("n2", "tail", "-n", "5", logFile)
	if r.code != 0 || r.out != want || strings.Count(r.out, "\n") != 5 {
		t.Fatalf("logs -n 5: exit %d\n got %q\nwant %q", r.code, r.out, want)
	}
	cmd := exec.Command(e.bin, "logs", inv, "mgr1", "-f", "-n", "1")
	cmd.Env = e.environ()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	<-lines // the last line
	marker := fmt.Sprintf("carbonctl-e2e-follow %d", time.Now().UnixNano())
	e.exec("n1", "sh", "-c", "echo '"+marker+"' >> "+logFile)
	if !waitLine(lines, marker, 10*time.Second) {
		t.Errorf("logs -f did not print a line appended to the log")
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("logs -f after Ctrl-C: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("logs -f did not end on Ctrl-C")
	}
	time.Sleep(1500 * time.Millisecond) // SIGKILL follows SIGTERM after a second
	if out := e.exec("n1", "sh", "-c", "ps -eo args | grep '[t]ail -n 1 -F' || true"); out != "" {
		t.Errorf("the remote tail still runs after Ctrl-C: %s", out)
	}
}

func waitLine(lines <-chan string, want string, d time.Duration) bool {
	timeout := time.After(d)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return false
			}
			if strings.Contains(l, want) {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

func testStatusProblems(t *testing.T, e *env, inv string) {
	axis2 := home + "/repository/conf/axis2/axis2.xml"
	e.exec("n3", "sed", "-i", `s/enable="true"/enable="false"/`, axis2)
	e.exec("n2", "sh", "-c", "kill -9 $(cat "+pidFile+")")
	st, r := e.status(t, inv)
	if r.code != 1 || st.Healthy {
		t.Fatalf("status exit %d, want 1 (unhealthy):\n%s", r.code, r.out)
	}
	byName := map[string]int{}
	for i, n := range st.Nodes {
		byName[n.Name] = i
	}
	if n := st.Nodes[byName["wrk1"]]; n.Running || n.PID != 0 || n.Healthy {
		t.Errorf("killed wrk1 not reported down: %+v", n)
	}
	if n := st.Nodes[byName["wrk2"]]; !n.Running || n.Healthy || !contains(n.Drift, "axis2.xml") {
		t.Errorf("hand-edited axis2.xml on wrk2 not reported as drift: %+v", n)
	}
	if n := st.Nodes[byName["mgr1"]]; !n.Running || contains(n.Drift, "axis2.xml") {
		t.Errorf("mgr1: %+v", n)
	}
	table := e.carbonctl("status", inv)
	for _, want := range []string{"wrk1: not running", "wrk2: `up` would change step axis2.xml", "cluster esb-e2e is NOT healthy"} {
		if table.code != 1 || !strings.Contains(table.out, want) {
			t.Errorf("status table (exit %d) lacks %q:\n%s", table.code, want, table.out)
		}
	}
	if r := e.carbonctl("restart", inv); r.code != 1 || !strings.Contains(r.out, "`up` would change axis2.xml") {
		t.Errorf("restart with drift: exit %d, want a refusal:\n%s", r.code, r.out)
	}
	if r := e.carbonctl("up", inv); r.code != 0 {
		t.Fatalf("up to repair: exit %d:\n%s", r.code, r.out)
	}
	if st, r := e.status(t, inv); r.code != 0 || !st.Healthy {
		t.Fatalf("status after up: exit %d:\n%s", r.code, r.out)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func testRollingRestart(t *testing.T, e *env, inv string) {
	before := e.pids()
	var r result
	ok, failed := e.whileServing(t, func() { r = e.carbonctl("restart", inv) })
	if r.code != 0 {
		t.Fatalf("restart exit %d:\n%s", r.code, r.out)
	}
	t.Logf("restart output:\n%s", r.out)
	t.Logf("%d requests through the load balancer during the restart, %d failed", ok, failed)
	if failed != 0 || ok < 10 {
		t.Errorf("%d requests failed (%d ok) during the rolling restart (the failures are logged above):\n%s", failed, ok, r.out)
	}
	after := e.pids()
	for name, pid := range before {
		if after[name] == pid {
			t.Errorf("%s was not restarted (pid %s)", name, pid)
		}
	}
	order := []string{"restart wrk1", "restart wrk2", "restart mgr1"}
	last := -1
	for _, o := range order {
		i := strings.Index(r.out, o)
		if i < 0 || i < last {
			t.Errorf("restart order: %q missing or out of order:\n%s", o, r.out)
		}
		last = i
	}
	if st, r := e.status(t, inv); r.code != 0 || !st.Healthy {
		t.Errorf("status after the restart: exit %d:\n%s", r.code, r.out)
	}
}

// probeService sends one request for the service through the load balancer.
func probeService(c *http.Client) error {
	resp, err := c.Get("http://" + serviceName + "/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 500 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

func testStopStart(t *testing.T, e *env, inv string) {
	// A restart does not wait for a peer that is down.
	if r := e.carbonctl("stop", inv, "--limit", "wrk2"); r.code != 0 || !strings.Contains(r.out, "stop pid") {
		t.Fatalf("stop --limit wrk2: exit %d:\n%s", r.code, r.out)
	}
	wrk1PID := func() string { return strings.TrimSpace(e.exec("n2", "cat", pidFile)) }
	before := wrk1PID()
	r := e.carbonctl("restart", inv, "--limit", "wrk1")
	if r.code != 0 || !strings.Contains(r.out, "not running, not waited for: wrk2") || wrk1PID() == before {
		t.Fatalf("restart --limit wrk1 with wrk2 down: exit %d:\n%s", r.code, r.out)
	}
	if strings.Contains(r.out, "[mgr1]") {
		t.Errorf("restart --limit wrk1 touched mgr1:\n%s", r.out)
	}
	r = e.carbonctl("stop", inv)
	if r.code != 0 {
		t.Fatalf("stop exit %d:\n%s", r.code, r.out)
	}
	if i, j := strings.Index(r.out, "[wrk1]"), strings.Index(r.out, "[mgr1]"); i < 0 || j < i {
		t.Errorf("stop: workers should come before the manager:\n%s", r.out)
	}
	for _, n := range labNodes {
		if out := e.exec(n.host, "sh", "-c", "kill -0 $(cat "+pidFile+") 2>/dev/null && echo alive || echo gone"); !strings.Contains(out, "gone") {
			t.Errorf("%s still runs after stop", n.name)
		}
	}
	if st, r := e.status(t, inv); r.code != 1 || st.Healthy {
		t.Errorf("status of a stopped cluster: exit %d", r.code)
	}
	r = e.carbonctl("start", inv)
	if r.code != 0 || !strings.Contains(r.out, "cluster formed") {
		t.Fatalf("start exit %d:\n%s", r.code, r.out)
	}
	if st, r := e.status(t, inv); r.code != 0 || !st.Healthy {
		t.Errorf("status after start: exit %d:\n%s", r.code, r.out)
	}
	if r := e.carbonctl("up", inv); r.code != 0 || !strings.Contains(r.out, "0 changed") {
		t.Errorf("up after stop/start changed something: exit %d:\n%s", r.code, r.out)
	}
}
