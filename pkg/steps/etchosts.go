package steps

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

const etcHosts = "/etc/hosts"

// hostsEntry maps one name to an address.
type hostsEntry struct{ addr, name string }

// hostsEntries lists the names carbonctl maps on every node: the database
// alias and, with a load balancer, its service and management names.
func hostsEntries(e *engine.Engine) []hostsEntry {
	var list []hostsEntry
	if e.Inv.Database.Alias != "" {
		list = append(list, hostsEntry{e.Inv.Database.Host, e.Inv.Database.Alias})
	}
	if lb := e.Inv.LoadBalancer; lb != nil {
		for _, name := range []string{lb.ServiceHostName, lb.MgtHostName} {
			if name != "" {
				list = append(list, hostsEntry{lb.Host, name})
			}
		}
	}
	return list
}

// Hosts is the "hosts" step kind: the carbonctl block of /etc/hosts (the
// database alias, the load balancer's names) on every node's host. It has
// no fields.
type Hosts struct{}

// Check has nothing to check.
func (*Hosts) Check() error { return nil }

// Prefetch reads /etc/hosts.
func (*Hosts) Prefetch(_ *engine.Engine, _ playbook.Step, _ *engine.Node, req *remote.GatherRequest) {
	req.Contents = append(req.Contents, etcHosts)
}

// Run writes the block once per host.
func (*Hosts) Run(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	return runHosts(ctx, e, s)
}

// runHosts writes the carbonctl block of /etc/hosts once per host.
func runHosts(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	byHost, order := targetsByHost(e)
	results := make([]*engine.Result, len(order))
	e.Parallel(len(order), func(i int) {
		h := order[i]
		nodes := byHost[h]
		res := &engine.Result{Step: s.Name, Target: nodes[0].Name()}
		for _, n := range nodes {
			if n.IsFailed() {
				res.Status, res.Note = engine.Skipped, "(an earlier step failed on this node)"
				results[i] = res
				return
			}
		}
		if err := writeHosts(ctx, e, h, res); err != nil {
			for _, n := range nodes {
				n.MarkFailed()
			}
			engine.Fail(res, err)
		}
		results[i] = res
	})
	return results
}

func writeHosts(ctx context.Context, e *engine.Engine, h *engine.Host, res *engine.Result) error {
	cur, err := h.Read(ctx, etcHosts)
	if err != nil {
		return err
	}
	out, err := hostsFile(string(cur.Content), e.Inv.Cluster.Name, hostsEntries(e))
	if err != nil {
		return fmt.Errorf("%s on %s: %w", etcHosts, h.Addr, err)
	}
	if out == string(cur.Content) {
		return nil
	}
	opts := remote.WriteOptions{Backup: true}
	if !cur.Exists {
		opts.Mode, opts.Owner, opts.Group = 0o644, "root", "root"
	}
	if err := e.WriteFile(ctx, h, etcHosts, []byte(out), opts); err != nil {
		return fmt.Errorf("write %s on %s: %w", etcHosts, h.Addr, err)
	}
	res.AddFileChange("update", etcHosts, cur.Content, []byte(out))
	return nil
}

// hostsFile returns content with the cluster's managed block set to entries;
// every other line stays as it is. A line outside the block that maps one of
// the managed names elsewhere is an error: it would win over the block.
func hostsFile(content, cluster string, entries []hostsEntry) (string, error) {
	begin := "# BEGIN carbonctl managed block (cluster " + cluster + ")"
	end := "# END carbonctl managed block (cluster " + cluster + ")"
	eol := "\n"
	if strings.Contains(content, "\r\n") {
		eol = "\r\n"
	}
	lines := strings.SplitAfter(content, "\n")
	var kept []string
	inBlock := false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case t == begin:
			inBlock = true
		case t == end && inBlock:
			inBlock = false
		case !inBlock && l != "":
			if err := checkConflict(i+1, l, entries); err != nil {
				return "", err
			}
			kept = append(kept, l)
		}
	}
	out := strings.Join(kept, "")
	if len(entries) == 0 {
		return out, nil
	}
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += eol
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var b strings.Builder
	b.WriteString(out + begin + eol)
	for _, en := range entries {
		fmt.Fprintf(&b, "%s\t%s%s", en.addr, en.name, eol)
	}
	b.WriteString(end + eol)
	return b.String(), nil
}

// checkConflict fails when line (number n) maps a managed name elsewhere.
func checkConflict(n int, line string, entries []hostsEntry) error {
	fields := strings.Fields(strings.SplitN(line, "#", 2)[0])
	if len(fields) < 2 {
		return nil
	}
	for _, name := range fields[1:] {
		for _, en := range entries {
			if strings.EqualFold(name, en.name) && en.addr != fields[0] {
				return fmt.Errorf("line %d maps %s to %s, but the inventory says %s: remove or fix that line (carbonctl manages this name)",
					n, name, fields[0], en.addr)
			}
		}
	}
	return nil
}
