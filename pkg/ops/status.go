package ops

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/carbonctl/carbonctl/pkg/engine"
	"github.com/carbonctl/carbonctl/pkg/steps"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Carbon's default ports; a node listens on each plus its port offset.
var carbonPorts = [...]struct {
	name string
	port int
}{{"https", 9443}, {"http", 9763}, {"passthrough-http", 8280}, {"passthrough-https", 8243}}

// ClusterStatus is what `carbonctl status` reports. Its JSON field names are
// a stable interface for scripts.
type ClusterStatus struct {
	Cluster string       `json:"cluster"`
	Healthy bool         `json:"healthy"`
	Nodes   []NodeStatus `json:"nodes"`
	// Other lists drift and errors of the targets that are not nodes
	// (database, lb), by target name.
	Other map[string]TargetDrift `json:"other"`
}

// TargetDrift is what `up` would change on a target, and what failed.
type TargetDrift struct {
	Drift  []string `json:"drift"`
	Errors []string `json:"errors"`
}

// NodeStatus is the state of one node.
type NodeStatus struct {
	Name    string       `json:"name"`
	Host    string       `json:"host"`
	Role    string       `json:"role"`
	Running bool         `json:"running"`
	PID     int          `json:"pid"` // 0 when not running
	Ports   []PortStatus `json:"ports"`
	Members []string     `json:"members"` // peers it logged as joined since it last started
	Missing []string     `json:"missing"` // peers it does not see
	Drift   []string     `json:"drift"`   // steps `up` would change on it
	Errors  []string     `json:"errors"`
	// Service is the node's systemd unit, on hosts that run systemd.
	Service *ServiceStatus `json:"service,omitempty"`
	Healthy bool           `json:"healthy"`
}

// ServiceStatus is the state of a node's systemd unit as systemctl reports it.
type ServiceStatus struct {
	Unit    string `json:"unit"`
	Active  string `json:"active"`   // ActiveState/SubState, e.g. "active/running"
	Enabled string `json:"enabled"`  // UnitFileState, e.g. "enabled"
	MainPID int    `json:"main_pid"` // 0 when the unit runs nothing
}

// healthy: the unit runs the node's server and starts it at boot.
func (s *ServiceStatus) healthy(pid int) bool {
	return s == nil || s.Active == "active/running" && s.Enabled == "enabled" && s.MainPID == pid
}

// PortStatus says whether one of a node's ports is listening.
type PortStatus struct {
	Name      string `json:"name"`
	Port      int    `json:"port"`
	Listening bool   `json:"listening"`
}

// readGroupStatus reads the state of every node: the engine runs the playbook as a
// silent plan (for drift), then each host's listening ports are read.
func readGroupStatus(ctx context.Context, inv *inventory.Inventory, pb *playbook.Playbook, opts engine.Options) (*ClusterStatus, error) {
	opts.Apply, opts.Out, opts.ShowDiff = false, io.Discard, false
	e, done, err := engine.Prepare(inv, pb, opts)
	if err != nil {
		return nil, err
	}
	defer done()
	results, err := e.Dial(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range pb.Steps {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		results = append(results, e.RunStep(ctx, s)...)
	}
	return collectStatus(ctx, e, results), ctx.Err()
}

// collectStatus assembles the status of the targets from the plan's results,
// the probes read at connect time and each host's listening ports.
func collectStatus(ctx context.Context, e *engine.Engine, results []*engine.Result) *ClusterStatus {
	byTarget := map[string]*TargetDrift{}
	for _, r := range results {
		d := byTarget[r.Target]
		if d == nil {
			d = &TargetDrift{Drift: []string{}, Errors: []string{}}
			byTarget[r.Target] = d
		}
		switch r.Status {
		case engine.Changed:
			d.Drift = append(d.Drift, r.Step)
		case engine.Failed:
			d.Errors = append(d.Errors, engine.NewMasker(r.Hidden).String(e.Out.Mask.String(fmt.Sprintf("%s: %v", r.Step, r.Err))))
		}
	}
	listening := listeningPorts(ctx, e)
	cs := &ClusterStatus{Cluster: e.Inv.Cluster.Name, Healthy: true, Other: map[string]TargetDrift{}}
	for _, n := range e.Targets {
		ns := nodeStatus(e, n, byTarget[n.Name()], listening[n.Host])
		cs.Healthy = cs.Healthy && ns.Healthy
		cs.Nodes = append(cs.Nodes, ns)
		delete(byTarget, n.Name())
	}
	for target, d := range byTarget {
		cs.Other[target] = *d
		cs.Healthy = cs.Healthy && len(d.Drift) == 0 && len(d.Errors) == 0
	}
	return cs
}

// hostPorts are the TCP ports listening on a host and the state of its
// nodes' units, or why they are unknown.
type hostPorts struct {
	ports map[int]bool
	units map[string]ServiceStatus
	err   error
}

// listeningPorts reads, in one command per connected host, its listening
// TCP ports from /proc/net/tcp{,6} (no ss or netstat needed) and, on
// systemd hosts, what systemctl says of the nodes' units.
func listeningPorts(ctx context.Context, e *engine.Engine) map[*engine.Host]hostPorts {
	var list []*engine.Host
	units := map[*engine.Host][]string{}
	for _, n := range e.Targets {
		if n.Host.Client != nil && n.Host.Err == nil && !containsHost(list, n.Host) {
			list = append(list, n.Host)
		}
		if unit, ok := steps.ServiceUnit(e, n); ok {
			units[n.Host] = append(units[n.Host], unit)
		}
	}
	found := make([]hostPorts, len(list))
	e.Parallel(len(list), func(i int) {
		out, err := engine.RunScriptOut(ctx, list[i], "", statusScript(units[list[i]]), nil, "read the listening ports and units")
		ports, unitText, _ := strings.Cut(out, unitsMarker+"\n")
		found[i] = hostPorts{ports: parseListening(ports), units: parseUnitStates(unitText), err: err}
	})
	m := map[*engine.Host]hostPorts{}
	for i, h := range list {
		m[h] = found[i]
	}
	return m
}

func containsHost(list []*engine.Host, h *engine.Host) bool {
	for _, x := range list {
		if x == h {
			return true
		}
	}
	return false
}

// listenScript prints the local address of every listening socket (state
// 0A) in /proc/net/tcp and tcp6, using shell built-ins only.
const listenScript = `for f in /proc/net/tcp /proc/net/tcp6; do
  [ -r "$f" ] || continue
  while read -r sl local remote st rest; do
    [ "$st" = 0A ] && echo "$local"
  done < "$f"
done; exit 0`

// unitsMarker separates the ports from the units in statusScript's output.
const unitsMarker = "carbonctl-units"

// statusScript is listenScript followed, when units are given, by
// systemctl's view of them: blocks of Key=Value lines.
func statusScript(units []string) string {
	if len(units) == 0 {
		return listenScript
	}
	quoted := make([]string, len(units))
	for i, u := range units {
		quoted[i] = remote.Quote(u)
	}
	return strings.TrimSuffix(listenScript, "exit 0") + "echo " + unitsMarker +
		"\nsystemctl show -p Id -p ActiveState -p SubState -p UnitFileState -p MainPID " + strings.Join(quoted, " ") + "\nexit 0"
}

// parseUnitStates reads `systemctl show` blocks into states by unit name.
func parseUnitStates(out string) map[string]ServiceStatus {
	states := map[string]ServiceStatus{}
	for _, block := range strings.Split(out, "\n\n") {
		kv := map[string]string{}
		for _, line := range strings.Split(block, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				kv[k] = v
			}
		}
		if kv["Id"] == "" {
			continue
		}
		pid, _ := strconv.Atoi(kv["MainPID"])
		states[kv["Id"]] = ServiceStatus{Unit: kv["Id"], Active: kv["ActiveState"] + "/" + kv["SubState"],
			Enabled: kv["UnitFileState"], MainPID: pid}
	}
	return states
}

// parseListening turns "ADDR:PORT" lines (hexadecimal) into port numbers.
func parseListening(out string) map[int]bool {
	ports := map[int]bool{}
	for _, line := range strings.Fields(out) {
		i := strings.LastIndexByte(line, ':')
		if i < 0 {
			continue
		}
		if p, err := strconv.ParseInt(line[i+1:], 16, 32); err == nil {
			ports[int(p)] = true
		}
	}
	return ports
}

// nodeStatus assembles one node's status.
func nodeStatus(e *engine.Engine, n *engine.Node, d *TargetDrift, hp hostPorts) NodeStatus {
	ns := NodeStatus{Name: n.Name(), Host: n.Vars.Node.Host, Role: n.Vars.Node.Role,
		Members: []string{}, Missing: []string{}, Drift: []string{}, Errors: []string{}}
	if d != nil {
		ns.Drift, ns.Errors = d.Drift, d.Errors
	}
	if n.Host.Err != nil {
		return ns // the connect result is among the errors
	}
	alive, _ := n.Host.Probe("alive:" + n.Name())
	ns.PID, _ = strconv.Atoi(strings.TrimSpace(alive.Stdout))
	ns.Running = alive.ExitCode == 0 && ns.PID > 0
	if hp.err != nil {
		ns.Errors = append(ns.Errors, e.Out.Mask.String(hp.err.Error()))
	}
	for _, p := range carbonPorts {
		port := p.port + n.Vars.Node.PortOffset
		ns.Ports = append(ns.Ports, PortStatus{Name: p.name, Port: port, Listening: hp.ports[port]})
	}
	if ns.Running {
		fillMembers(e, n, &ns)
	} else {
		for _, p := range e.Vars.Nodes {
			if p.Name != n.Name() {
				ns.Missing = append(ns.Missing, p.Name)
			}
		}
	}
	if unit, ok := steps.ServiceUnit(e, n); ok && hp.err == nil {
		st := hp.units[unit]
		st.Unit = unit
		ns.Service = &st
	}
	ns.Healthy = ns.Service.healthy(ns.PID) && ns.Running && len(ns.Missing) == 0 && len(ns.Drift) == 0 && len(ns.Errors) == 0 && allListening(ns.Ports)
	return ns
}

// fillMembers sets the peers a running node sees and misses, from its log.
func fillMembers(e *engine.Engine, n *engine.Node, ns *NodeStatus) {
	seen, err := steps.PeersSeen(e, n)
	if err != nil {
		ns.Errors = append(ns.Errors, err.Error())
		return
	}
	for _, p := range e.Vars.Nodes {
		switch {
		case p.Name == n.Name():
		case seen[p.MemberAddr()]:
			ns.Members = append(ns.Members, p.Name)
		default:
			ns.Missing = append(ns.Missing, p.Name)
		}
	}
}

func allListening(ports []PortStatus) bool {
	for _, p := range ports {
		if !p.Listening {
			return false
		}
	}
	return true
}

// WriteTable prints the status for humans: one line a node, then what is
// wrong, node by node.
func (cs *ClusterStatus) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tHOST\tROLE\tSTATE\tPID\tPORTS\tPEERS\tDRIFT")
	for _, n := range cs.Nodes {
		state, pid := "down", "-"
		if n.Running {
			state, pid = "up", strconv.Itoa(n.PID)
		}
		listening := 0
		for _, p := range n.Ports {
			if p.Listening {
				listening++
			}
		}
		drift := "-"
		if len(n.Drift) > 0 {
			drift = strings.Join(n.Drift, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%d/%d\t%s\n", n.Name, n.Host, n.Role, state, pid,
			listening, len(n.Ports), len(n.Members), len(n.Members)+len(n.Missing), drift)
	}
	tw.Flush()
	cs.writeProblems(w)
}

// writeProblems lists what makes the cluster unhealthy.
func (cs *ClusterStatus) writeProblems(w io.Writer) {
	var lines []string
	for _, n := range cs.Nodes {
		for _, p := range n.Ports {
			if !p.Listening && n.Running {
				lines = append(lines, fmt.Sprintf("%s: port %d (%s) is not listening", n.Name, p.Port, p.Name))
			}
		}
		if n.Running && len(n.Missing) > 0 {
			lines = append(lines, fmt.Sprintf("%s: does not see %s", n.Name, strings.Join(n.Missing, ", ")))
		}
		if !n.Running && len(n.Errors) == 0 {
			lines = append(lines, fmt.Sprintf("%s: not running", n.Name))
		}
		if !n.Service.healthy(n.PID) {
			lines = append(lines, fmt.Sprintf("%s: service %s is %s, %s, main pid %d (want active/running, enabled, pid %d)",
				n.Name, n.Service.Unit, n.Service.Active, n.Service.Enabled, n.Service.MainPID, n.PID))
		}
		for _, d := range n.Drift {
			lines = append(lines, fmt.Sprintf("%s: `up` would change step %s", n.Name, d))
		}
		for _, err := range n.Errors {
			lines = append(lines, fmt.Sprintf("%s: %s", n.Name, err))
		}
	}
	var others []string
	for t := range cs.Other {
		others = append(others, t)
	}
	sort.Strings(others)
	for _, t := range others {
		for _, d := range cs.Other[t].Drift {
			lines = append(lines, fmt.Sprintf("%s: `up` would change step %s", t, d))
		}
		for _, err := range cs.Other[t].Errors {
			lines = append(lines, fmt.Sprintf("%s: %s", t, err))
		}
	}
	if len(lines) == 0 {
		fmt.Fprintf(w, "\ncluster %s is healthy\n", cs.Cluster)
		return
	}
	fmt.Fprintf(w, "\ncluster %s is NOT healthy:\n  %s\n", cs.Cluster, strings.Join(lines, "\n  "))
}

// ReadStatus reads the status of every product group (readGroupStatus)
// and merges them into one.
func ReadStatus(ctx context.Context, groups []engine.Group, opts engine.Options) (*ClusterStatus, error) {
	var all *ClusterStatus
	_, err := engine.EachGroup(ctx, groups, opts, false, func(g engine.Group, o engine.Options) error {
		st, err := readGroupStatus(ctx, g.Inv, g.PB, o)
		if err != nil {
			all = st // nil, or the part read before an interrupt
			return err
		}
		all = mergeStatus(all, st)
		return nil
	})
	return all, err
}

// mergeStatus adds st to all (nil at first).
func mergeStatus(all, st *ClusterStatus) *ClusterStatus {
	if all == nil {
		return st
	}
	all.Healthy = all.Healthy && st.Healthy
	if all.Other == nil {
		all.Other = map[string]TargetDrift{}
	}
	all.Nodes = append(all.Nodes, st.Nodes...)
	for k, v := range st.Other {
		prev := all.Other[k]
		all.Other[k] = TargetDrift{Drift: append(prev.Drift, v.Drift...), Errors: append(prev.Errors, v.Errors...)}
	}
	return all
}
