package steps

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Where systemd units live and how carbonctl detects systemd.
const (
	unitDir = "/etc/systemd/system"
	// wantsDir holds the symbolic links `systemctl enable` makes for
	// WantedBy=multi-user.target.
	wantsDir = unitDir + "/multi-user.target.wants"
	// setupEnvDir holds, only during a first start with the setup argument,
	// the environment file that hands it to the unit; /run is empty after a
	// reboot, so a boot never repeats the setup.
	setupEnvDir = "/run/carbonctl"
	// systemdDir exists when systemd runs as the host's init (what
	// sd_booted() checks); the batch read stats it with the other paths, so
	// detecting systemd costs no process and no round trip.
	systemdDir = "/run/systemd/system"
)

// unitSpec is what a node's service unit says.
type unitSpec struct {
	Name        string // unit name, e.g. wso2-esb-prod-wrk1.service
	Description string
	User, Group string
	Home        string   // CARBON_HOME, the working directory
	Script      string   // the start script, absolute
	Args        []string // start arguments (without the setup argument)
	// JavaHome, when set, becomes Environment=JAVA_HOME=… (the wso2server.sh
	// scripts refuse to start without it).
	JavaHome string
}

// unitName is the name of a node's unit: one per node, so that two nodes on
// one host are two services.
func unitName(cluster, node string) string {
	return "wso2-" + cluster + "-" + node + ".service"
}

// setupEnvFile is the environment file that passes the setup argument.
func setupEnvFile(unit string) string {
	return path.Join(setupEnvDir, strings.TrimSuffix(unit, ".service")+".env")
}

// renderUnit returns the unit file for spec. The start script runs in the
// foreground (without "start", wso2server.sh execs the server), so systemd
// watches the server itself and restarts it when it fails.
func renderUnit(s unitSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Managed by carbonctl: `carbonctl up` rewrites this file.\n")
	fmt.Fprintf(&b, "[Unit]\nDescription=%s\n", unitEscape(s.Description))
	b.WriteString("Wants=network-online.target\nAfter=network-online.target\n\n")
	b.WriteString("[Service]\nType=simple\n")
	fmt.Fprintf(&b, "User=%s\nGroup=%s\n", s.User, s.Group)
	fmt.Fprintf(&b, "WorkingDirectory=%s\n", unitEscape(s.Home))
	if s.JavaHome != "" {
		fmt.Fprintf(&b, "Environment=%s\n", unitQuote("JAVA_HOME="+s.JavaHome))
	}
	// The setup argument (manager, first start only) comes from a file that
	// carbonctl writes for that one start; an unset variable is no argument.
	fmt.Fprintf(&b, "EnvironmentFile=-%s\n", setupEnvFile(s.Name))
	args := []string{"/bin/sh", unitQuote(s.Script), "$CARBONCTL_SETUP_ARG"}
	for _, a := range s.Args {
		args = append(args, unitQuote(a))
	}
	fmt.Fprintf(&b, "ExecStart=%s\n", strings.Join(args, " "))
	b.WriteString("Restart=on-failure\nRestartSec=10\n")
	// A JVM ended by SIGTERM exits with 128+15: a clean stop, not a failure.
	b.WriteString("SuccessExitStatus=143\nTimeoutStopSec=90\n")
	// WSO2's production guidance ("Network and OS Level Performance Tuning",
	// https://docs.wso2.com/display/ESB490/Network+and+OS+Level+Performance+Tuning)
	// asks for "* soft nofile 4096" and "* hard nofile 65535" and
	// "nproc 20000" in /etc/security/limits.conf; pam_limits does not apply
	// to services, so the unit sets them.
	b.WriteString("LimitNOFILE=4096:65535\nLimitNPROC=20000\n\n")
	b.WriteString("[Install]\nWantedBy=multi-user.target\n")
	return b.String()
}

// unitEscape escapes systemd's specifier character in a unit setting.
func unitEscape(s string) string {
	return strings.ReplaceAll(s, "%", "%%")
}

// unitQuote quotes one word of ExecStart= or Environment=: C-style escapes
// in double quotes, with % and $ doubled so that systemd takes them as is.
func unitQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$", "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// unitSpecOf describes node n's unit.
func (e *Engine) unitSpecOf(n *node) unitSpec {
	return unitSpec{
		Name: unitName(e.inv.Cluster.Name, n.name()),
		Description: fmt.Sprintf("WSO2 %s node %s of cluster %s (carbonctl)",
			e.pb.Name, n.name(), e.inv.Cluster.Name),
		User:     n.vars.Product.User,
		Group:    n.vars.Product.Group,
		Home:     n.vars.Node.Home,
		Script:   n.home(e.pb.Start.Script),
		Args:     e.baseArgs(n),
		JavaHome: n.javaHome(),
	}
}

// unitPath is where node n's unit file lives.
func (e *Engine) unitPath(n *node) string {
	return path.Join(unitDir, unitName(e.inv.Cluster.Name, n.name()))
}

// runsSystemd reports whether the batch read found systemd running on h.
func (h *host) runsSystemd() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.files[systemdDir]
	return f != nil && f.Exists && f.IsDir
}

// serviceUnit returns the unit name of node n when it runs as a systemd
// service: the playbook has a service step and its host runs systemd.
func (e *Engine) serviceUnit(n *node) (string, bool) {
	if !e.hasServiceStep() || !n.host.runsSystemd() {
		return "", false
	}
	return unitName(e.inv.Cluster.Name, n.name()), true
}

func (e *Engine) hasServiceStep() bool { return hasStep[*Service](e.pb) }

// Service is the "service" step kind: one systemd unit per node, on the
// hosts that run systemd. It has no fields.
type Service struct{}

// Check has nothing to check.
func (*Service) Check() error { return nil }

// Prefetch reads the node's unit and whether systemd runs.
func (*Service) Prefetch(e *Engine, _ playbook.Step, n *node, req *remote.GatherRequest) {
	e.prefetchService(n, req)
}

// Run installs the units, one result per host.
func (*Service) Run(ctx context.Context, e *Engine, s playbook.Step) []*Result {
	return e.runService(ctx, s)
}

// prefetchService adds to the batch read: whether systemd runs, the node's
// unit file and whether it is enabled (the wants link, followed).
func (e *Engine) prefetchService(n *node, req *remote.GatherRequest) {
	req.Contents = append(req.Contents, e.unitPath(n))
	req.Stats = append(req.Stats, systemdDir, path.Join(wantsDir, unitName(e.inv.Cluster.Name, n.name())))
}

// unitState is what the service step found for one node's unit.
type unitState struct {
	unit    string
	current []byte // the unit file on the host (nil: none)
	exists  bool
	enabled bool
	want    string // the unit file carbonctl wants
}

// unitActions are what the service step does on one host.
type unitActions struct {
	write  []unitState // units to install or update
	enable []string    // units to enable
	reload bool        // one daemon-reload for the host
}

// decideUnits compares the wanted units of a host's nodes with what is there.
func decideUnits(units []unitState) unitActions {
	var a unitActions
	for _, u := range units {
		if !u.exists || string(u.current) != u.want {
			a.write = append(a.write, u)
			a.reload = true
		}
		if !u.enabled {
			a.enable = append(a.enable, u.unit)
		}
	}
	return a
}

// reloadScript is the one systemctl command a host needs after its units
// changed: enable without a reload of its own, then one daemon-reload.
func reloadScript(a unitActions) string {
	var cmds []string
	if len(a.enable) > 0 {
		quoted := make([]string, len(a.enable))
		for i, u := range a.enable {
			quoted[i] = remote.Quote(u)
		}
		cmds = append(cmds, "systemctl --no-reload enable --quiet "+strings.Join(quoted, " "))
	}
	if a.reload || len(a.enable) > 0 {
		cmds = append(cmds, "systemctl daemon-reload")
	}
	return strings.Join(cmds, " && ")
}

// runService installs and enables one unit per node on the hosts that run
// systemd (a per-host step: one daemon-reload per host whose units
// changed). Hosts without systemd keep starting nodes with nohup.
func (e *Engine) runService(ctx context.Context, s playbook.Step) []*Result {
	byHost, order := e.targetsByHost()
	results := make([]*Result, len(order))
	e.parallel(len(order), func(i int) {
		nodes := byHost[order[i]]
		res := &Result{Step: s.Name, Target: nodes[0].name()}
		results[i] = res
		for _, n := range nodes {
			if n.isFailed() {
				res.Status, res.Note = Skipped, "(an earlier step failed on this node)"
				return
			}
		}
		if !order[i].runsSystemd() {
			res.Note = "no systemd on this host: nodes are started with nohup"
			return
		}
		if err := e.installUnits(ctx, order[i], nodes, res); err != nil {
			for _, n := range nodes {
				n.markFailed()
			}
			fail(res, err)
		}
	})
	return results
}

// targetsByHost groups the targets by host, hosts in target order.
func (e *Engine) targetsByHost() (map[*host][]*node, []*host) {
	byHost := map[*host][]*node{}
	var order []*host
	for _, n := range e.targets {
		if byHost[n.host] == nil {
			order = append(order, n.host)
		}
		byHost[n.host] = append(byHost[n.host], n)
	}
	return byHost, order
}

// installUnits writes the changed units of h's nodes (root-owned, in
// /etc/systemd/system, which the product user cannot write), enables them
// and reloads systemd once. Each unit counts in its node's fingerprint, so a
// changed unit restarts that node only.
func (e *Engine) installUnits(ctx context.Context, h *host, nodes []*node, res *Result) error {
	var units []unitState
	for _, n := range nodes {
		n.manage(e.unitPath(n))
		cur, err := h.read(ctx, e.unitPath(n))
		if err != nil {
			return err
		}
		wants, err := h.read(ctx, path.Join(wantsDir, unitName(e.inv.Cluster.Name, n.name())))
		if err != nil {
			return err
		}
		units = append(units, unitState{unit: unitName(e.inv.Cluster.Name, n.name()), current: cur.Content,
			exists: cur.Exists, enabled: wants.Exists, want: renderUnit(e.unitSpecOf(n))})
	}
	a := decideUnits(units)
	for _, u := range a.write {
		p := path.Join(unitDir, u.unit)
		opts := remote.WriteOptions{Mode: 0o644, Owner: "root", Group: "root"}
		if err := e.writeFile(ctx, h, p, []byte(u.want), opts); err != nil {
			return fmt.Errorf("write unit %s on %s: %w", p, h.addr, err)
		}
		verb := "update"
		if !u.exists {
			verb = "install"
		}
		res.fileChanged(verb, p, u.current, []byte(u.want))
	}
	script := reloadScript(a)
	if script == "" {
		res.Note = fmt.Sprintf("%d unit(s) installed and enabled", len(units))
		return nil
	}
	if err := e.change(res, script, "", func() error { return run(ctx, h, "root", script, nil, "enable and load the units") }); err != nil {
		return err
	}
	for _, u := range a.enable {
		h.remember(path.Join(wantsDir, u), nil)
	}
	return nil
}
