package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// systemdHosts is the lab of TestSystemdReboot: the database in a namespace
// host, the three ESB nodes on hosts that boot real systemd.
var systemdHosts = []string{"db=198.18.0.10", "n1=198.18.0.21:systemd", "n2=198.18.0.22:systemd", "n3=198.18.0.23:systemd"}

// unitOf is the systemd unit of an ESB node of the e2e inventory.
func unitOf(node string) string { return "wso2-esb-e2e-" + node + ".service" }

// TestSystemdReboot: on systemd hosts every node runs as its own enabled
// unit; a worker whose host reboots (systemctl reboot inside, no carbonctl
// command) comes back on its own and its peers log that it joined; the next
// `up` changes nothing; stop/start/status go through systemctl.
func TestSystemdReboot(t *testing.T) {
	e := newEnvHosts(t, systemdHosts...)
	for _, h := range []string{"n1", "n2", "n3"} {
		if !e.lab.Systemd[h] {
			t.Fatalf("lab host %s is not a systemd host", h)
		}
	}
	began := time.Now()
	r := e.carbonctl("up", e.inventory)
	if r.code != 0 {
		t.Fatalf("up (as ops) exit %d:\n%s", r.code, r.out)
	}
	t.Logf("converged on systemd hosts in %s", time.Since(began).Round(time.Millisecond))
	for _, n := range labNodes {
		if !strings.Contains(r.out, "install /etc/systemd/system/"+unitOf(n.name)) {
			t.Errorf("up did not install %s:\n%s", unitOf(n.name), r.out)
		}
	}
	e.assertCluster(t)
	e.assertUnits(t)

	// A second up, logged in as root this time, changes nothing.
	asRoot := e.writeInventory("esb-root.toml", func(s string) string {
		return strings.Replace(s, `user = "ops"`, `user = "root"`, 1)
	})
	if r := e.carbonctl("up", asRoot); r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
		t.Fatalf("second up (as root) exit %d:\n%s", r.code, r.out)
	}

	t.Run("a rebooted worker rejoins by itself", func(t *testing.T) { testReboot(t, e) })
	t.Run("stop, start and status go through systemctl", func(t *testing.T) { testSystemctlOps(t, e) })
	t.Run("remove-node deletes the unit", func(t *testing.T) { testRemoveUnit(t, e) })
}

// testRemoveUnit: a removed node's unit is disabled and deleted, so a
// reboot of its host does not bring it back.
func testRemoveUnit(t *testing.T, e *env) {
	r := e.carbonctl("remove-node", e.inventory, "--name", "wrk2")
	if r.code != 0 || !strings.Contains(r.out, "disable and delete "+unitOf("wrk2")) {
		t.Fatalf("remove-node wrk2: exit %d:\n%s", r.code, r.out)
	}
	out := e.exec("n3", "sh", "-c", "ls /etc/systemd/system/"+unitOf("wrk2")+" 2>&1; systemctl is-enabled "+unitOf("wrk2")+" 2>&1; true")
	if !strings.Contains(out, "No such file") || strings.Contains(out, "\nenabled") {
		t.Errorf("after remove-node, wrk2's unit: %s", out)
	}
	if r := e.carbonctl("up", e.inventory); r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
		t.Errorf("up after remove-node: exit %d:\n%s", r.code, r.out)
	}
}

// assertUnits checks every node's unit: root-owned, enabled, active, its
// main process the node's server, with WSO2's open-files limits.
func (e *env) assertUnits(t *testing.T) {
	t.Helper()
	for _, n := range labNodes {
		unit := unitOf(n.name)
		path := "/etc/systemd/system/" + unit
		if got := strings.TrimSpace(e.exec(n.host, "stat", "-c", "%U:%G %a", path)); got != "root:root 644" {
			t.Errorf("%s: %s is %s, want root:root 644", n.name, path, got)
		}
		text := e.exec(n.host, "cat", path)
		for _, want := range []string{"User=wso2\n", "Restart=on-failure\n", "LimitNOFILE=4096:65535\n", "WantedBy=multi-user.target\n",
			`ExecStart=/bin/sh "` + home + `/bin/wso2server.sh" $CARBONCTL_SETUP_ARG`} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: unit lacks %q:\n%s", n.name, want, text)
			}
		}
		show := e.unitProps(n.host, unit, "ActiveState", "UnitFileState", "MainPID")
		pid := strings.TrimRight(e.exec(n.host, "cat", pidFile), "\x00\n")
		if show["ActiveState"] != "active" || show["UnitFileState"] != "enabled" || show["MainPID"] != pid {
			t.Errorf("%s: unit %v, pid file %q: want active, enabled, main pid = pid file", n.name, show, pid)
		}
		// The unit asks for WSO2's limits; what the server gets is capped by
		// the machine (this lab machine caps hard limits at 20000).
		if l := e.unitProps(n.host, unit, "LimitNOFILESoft", "LimitNOFILE"); l["LimitNOFILESoft"] != "4096" || l["LimitNOFILE"] != "65535" {
			t.Errorf("%s: unit's open-files limits %v, want 4096:65535", n.name, l)
		}
		if n.name == "wrk1" {
			limits := e.exec(n.host, "grep", "Max open files", "/proc/"+pid+"/limits")
			t.Logf("wrk1's server: %s", strings.Join(strings.Fields(limits), " "))
		}
	}
}

// unitProps reads properties of a unit with systemctl show.
func (e *env) unitProps(host, unit string, names ...string) map[string]string {
	props := map[string]string{}
	out := e.exec(host, "systemctl", "show", "-p", strings.Join(names, ","), unit)
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			props[k] = v
		}
	}
	return props
}

// logSize is the size of a node's log.
func (e *env) logSize(t *testing.T, host string) int {
	n, err := strconv.Atoi(strings.TrimSpace(e.exec(host, "sh", "-c", "wc -c < "+logFile)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testReboot(t *testing.T, e *env) {
	peers := map[string]int{"n1": e.logSize(t, "n1"), "n3": e.logSize(t, "n3")}
	oldPID := strings.TrimRight(e.exec("n2", "cat", pidFile), "\x00\n")
	joined := regexp.MustCompile(`Member joined \[[^\]]*\]: /` + regexp.QuoteMeta(e.lab.Hosts["n2"]+":4100"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	if err := e.lab.Reboot(ctx, "n2"); err != nil {
		t.Fatalf("reboot n2: %v", err)
	}
	booted := time.Since(began)
	deadline := time.Now().Add(3 * time.Minute)
	for host, off := range peers {
		for !joined.MatchString(e.exec(host, "tail", "-c", "+"+strconv.Itoa(off+1), logFile)) {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not log Member joined for wrk1 within 3 minutes of its reboot", host)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	t.Logf("wrk1's host rebooted (systemd running, sshd up) in %s; both peers logged Member joined for it %s after `systemctl reboot`",
		booted.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if pid := strings.TrimRight(e.exec("n2", "cat", pidFile), "\x00\n"); pid == oldPID {
		t.Errorf("wrk1 has the pid it had before the reboot (%s)", pid)
	}
	e.assertUnits(t)
	if r := e.carbonctl("up", e.inventory); r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
		t.Fatalf("up after the reboot exit %d:\n%s", r.code, r.out)
	}
}

// serviceJSON is the service part of `status --output json`.
type serviceJSON struct {
	Nodes []struct {
		Name    string `json:"name"`
		PID     int    `json:"pid"`
		Healthy bool   `json:"healthy"`
		Service *struct {
			Unit    string `json:"unit"`
			Active  string `json:"active"`
			Enabled string `json:"enabled"`
			MainPID int    `json:"main_pid"`
		} `json:"service"`
	} `json:"nodes"`
}

func testSystemctlOps(t *testing.T, e *env) {
	inv := e.inventory
	r := e.carbonctl("stop", inv, "--limit", "wrk2")
	if r.code != 0 || !strings.Contains(r.out, "systemctl stop "+unitOf("wrk2")) {
		t.Fatalf("stop --limit wrk2: exit %d:\n%s", r.code, r.out)
	}
	if p := e.unitProps("n3", unitOf("wrk2"), "ActiveState", "Result"); p["ActiveState"] != "inactive" || p["Result"] != "success" {
		t.Errorf("after stop, wrk2's unit is %v, want inactive (a clean stop, not failed)", p)
	}
	var st serviceJSON
	r = e.carbonctl("status", inv, "--output", "json")
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || r.code != 1 {
		t.Fatalf("status with wrk2 stopped: exit %d, %v:\n%s", r.code, err, r.out)
	}
	for _, n := range st.Nodes {
		if n.Service == nil || n.Service.Unit != unitOf(n.Name) || n.Service.Enabled != "enabled" {
			t.Errorf("status of %s: service %+v", n.Name, n.Service)
			continue
		}
		want := "active/running"
		if n.Name == "wrk2" {
			want = "inactive/dead"
		}
		if n.Service.Active != want || n.Name != "wrk2" && n.Service.MainPID != n.PID {
			t.Errorf("status of %s: service %+v, pid %d; want %s", n.Name, *n.Service, n.PID, want)
		}
	}
	since := strings.TrimSpace(e.exec("n3", "date", "+%Y-%m-%d %H:%M:%S"))
	r = e.carbonctl("start", inv)
	if r.code != 0 || !strings.Contains(r.out, "by systemd ("+unitOf("wrk2")+")") {
		t.Fatalf("start: exit %d:\n%s", r.code, r.out)
	}
	journal := e.exec("n3", "journalctl", "-u", unitOf("wrk2"), "--since", since, "--no-pager", "-o", "cat")
	if !strings.Contains(journal, "Started") {
		t.Errorf("wrk2's journal since the start does not show systemd starting it:\n%s", journal)
	}
	e.assertUnits(t)
	if r := e.carbonctl("status", inv); r.code != 0 {
		t.Errorf("status after start: exit %d:\n%s", r.code, r.out)
	}
	if r := e.carbonctl("up", inv); r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
		t.Errorf("up after stop/start: exit %d:\n%s", r.code, r.out)
	}
}
