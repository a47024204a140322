package steps

import (
	"context"
	"io"
	"os/exec"
	"path"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/archive"
	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/pkg/systemd"
	"github.com/carbonctl/carbonctl/playbooks"
)

func TestUnitStartScript(t *testing.T) {
	cases := []struct {
		name, setup string
		want        []string
	}{
		{"no setup: the file goes", "", []string{"rm -f '/run/carbonctl/wso2-c-mgr1.env' || exit 1", "systemctl restart 'wso2-c-mgr1.service' || exit 1"}},
		{"setup: the file holds the argument", "-Dsetup", []string{
			`install -d -m 0755 '/run/carbonctl' && (umask 022 && printf '%s\n' 'CARBONCTL_SETUP_ARG=-Dsetup' > '/run/carbonctl/wso2-c-mgr1.env') || exit 1`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := unitStartScript("wso2-c-mgr1.service", c.setup)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("script lacks %q:\n%s", w, got)
				}
			}
			if err := exec.Command("sh", "-n", "-c", got).Run(); err != nil {
				t.Errorf("sh -n: %v\n%s", err, got)
			}
		})
	}
}

// serviceInventory is lbInventory without a load balancer and with wrk1 on
// mgr1's host (.21); wrk2 is on .23.
var serviceInventory = strings.NewReplacer("LB\n", "",
	"name = \"wrk1\"\nhost = \"198.18.0.22\"\nrole = \"worker\"\n",
	"name = \"wrk1\"\nhost = \"198.18.0.21\"\nrole = \"worker\"\nhome = \"/opt/esb-2\"\nport_offset = 2\nlocal_member_port = 4101\n",
).Replace(lbInventory)

// serviceEngine is a planning engine for the ESB playbook with mgr1 and
// wrk1 on a systemd host (.21) and wrk2 on a host without systemd (.23).
func serviceEngine(t *testing.T) *engine.Engine {
	t.Helper()
	env := func(k string) (string, bool) { return "pw", k == "PW" }
	inv, err := inventory.Parse("inv.toml", t.TempDir(), []byte(serviceInventory), env, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := playbook.Load(playbooks.FS, "esb-worker-manager", Kinds())
	if err != nil {
		t.Fatal(err)
	}
	e := &engine.Engine{Inv: inv, PB: pb, Opts: engine.Options{Forks: 2, Out: io.Discard}, Hosts: map[string]*engine.Host{}, Arch: &archive.Product{SHA256: "archive"}}
	e.Out = &engine.Printer{W: io.Discard, Mask: engine.NewMasker(nil)}
	e.Vars = engine.NewVars(inv, pb)
	if err := e.Build(); err != nil {
		t.Fatal(err)
	}
	e.Hosts["198.18.0.21"].Files[systemd.RunDir] = &remote.File{Path: systemd.RunDir, Exists: true, IsDir: true}
	setFile(e.Hosts["198.18.0.23"], systemd.RunDir, nil)
	return e
}

// installed puts node name's unit on its host as carbonctl writes it
// (content = "" for the wanted one), enabled or not.
func installed(e *engine.Engine, name, content string, enabled bool) {
	var n *engine.Node
	for _, m := range e.Nodes {
		if m.Name() == name {
			n = m
		}
	}
	if content == "" {
		content = systemd.Render(unitSpecOf(e, n))
	}
	setFile(n.Host, unitPath(e, n), []byte(content))
	wants := path.Join(systemd.WantsDir, systemd.UnitName(e.Inv.Cluster.Name, name))
	if enabled {
		setFile(n.Host, wants, []byte{})
	} else {
		setFile(n.Host, wants, nil)
	}
}

func TestServiceStep(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(e *engine.Engine)
		actions string // of the systemd host's result
		status  engine.Status
	}{
		{"fresh systemd host: two units, enabled, one reload", func(e *engine.Engine) {
			installed(e, "mgr1", "", false)
			installed(e, "wrk1", "", false)
			setFile(e.Hosts["198.18.0.21"], unitPath(e, e.Nodes[0]), nil)
			setFile(e.Hosts["198.18.0.21"], unitPath(e, e.Nodes[1]), nil)
		}, "install /etc/systemd/system/wso2-esb-unit-mgr1.service (+22 -0)|install /etc/systemd/system/wso2-esb-unit-wrk1.service (+22 -0)|" +
			"systemctl --no-reload enable --quiet 'wso2-esb-unit-mgr1.service' 'wso2-esb-unit-wrk1.service' && systemctl daemon-reload", engine.Changed},
		{"converged: nothing", func(e *engine.Engine) {
			installed(e, "mgr1", "", true)
			installed(e, "wrk1", "", true)
		}, "", engine.OK},
		{"wrk1's unit edited by hand: rewritten, one reload", func(e *engine.Engine) {
			installed(e, "mgr1", "", true)
			installed(e, "wrk1", "[Service]\nExecStart=/bin/false\n", true)
		}, "update /etc/systemd/system/wso2-esb-unit-wrk1.service (+21 -1)|systemctl daemon-reload", engine.Changed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := serviceEngine(t)
			c.setup(e)
			results := runService(context.Background(), e, stepOf(t, e, "service"))
			if len(results) != 2 {
				t.Fatalf("%d results, want one per host", len(results))
			}
			var got []string
			for _, a := range results[0].Actions {
				got = append(got, a.Desc)
			}
			if strings.Join(got, "|") != c.actions || results[0].Status != c.status {
				t.Errorf("systemd host: %s %q\nwant %s %q", results[0].Status, strings.Join(got, "|"), c.status, c.actions)
			}
			if r := results[1]; r.Status != engine.OK || len(r.Actions) != 0 || !strings.Contains(r.Note, "nohup") {
				t.Errorf("host without systemd: %+v", r)
			}
		})
	}
}

// TestUnitInFingerprint: a changed unit restarts its node only; a host
// without systemd has no unit in its nodes' fingerprints.
func TestUnitInFingerprint(t *testing.T) {
	ctx := context.Background()
	fingerprints := func(wrk1Unit string) map[string]string {
		e := serviceEngine(t)
		installed(e, "mgr1", "", true)
		installed(e, "wrk1", wrk1Unit, true)
		runService(ctx, e, stepOf(t, e, "service"))
		fps := map[string]string{}
		for _, n := range e.Nodes {
			fp, err := fingerprint(ctx, e, n)
			if err != nil {
				t.Fatal(err)
			}
			fps[n.Name()] = fp
		}
		if e.Nodes[2].Managed[unitPath(e, e.Nodes[2])] {
			t.Error("wrk2 (no systemd) manages a unit")
		}
		return fps
	}
	converged := fingerprints("")
	// A stale unit on the host is rewritten by the plan: the fingerprint is
	// that of the new unit, the same as on a converged host.
	if again := fingerprints("stale\n"); again["wrk1"] != converged["wrk1"] {
		t.Errorf("fingerprint after rewriting the unit differs from the converged one")
	}
	e := serviceEngine(t)
	installed(e, "mgr1", "", true)
	installed(e, "wrk1", "", true)
	runService(ctx, e, stepOf(t, e, "service"))
	// The unit carbonctl wants for wrk1 changes (e.g. a new JAVA_HOME).
	n := e.Nodes[1]
	setFile(n.Host, unitPath(e, n), []byte(systemd.Render(systemd.Unit{Name: "x", JavaHome: "/usr/lib/jvm/new"})))
	for _, m := range e.Nodes {
		fp, err := fingerprint(ctx, e, m)
		if err != nil {
			t.Fatal(err)
		}
		if changed := fp != converged[m.Name()]; changed != (m.Name() == "wrk1") {
			t.Errorf("%s: fingerprint changed = %v", m.Name(), changed)
		}
	}
}
