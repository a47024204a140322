package steps

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/carbonctl/carbonctl/pkg/engine"
)

// awaitMembership waits until every running target node logs "joined" for
// every peer, printing progress, and fails the nodes that still miss peers
// when the join timeout passes. Nothing is awaited when nothing was started
// and the logs read at connect time already show a complete cluster.
func awaitMembership(ctx context.Context, e *engine.Engine, results map[*engine.Node]*engine.Result) {
	var watch []*engine.Node
	startedAny := false
	for _, n := range e.Targets {
		r := results[n]
		if r == nil || r.Status == engine.Failed || r.Status == engine.Skipped {
			continue
		}
		watch = append(watch, n)
		startedAny = startedAny || r.Status == engine.Changed
	}
	if len(watch) == 0 {
		return
	}
	if !startedAny {
		if missing := missingPeers(e, watch, func(n *engine.Node) (string, error) { return cachedMembers(e, n) }); len(missing) == 0 {
			noteMembers(e, watch, results)
			return
		}
	}
	e.Out.Printf("waiting up to %s for every node to see its %d peers ...\n", e.Opts.JoinTimeout, len(e.Nodes)-1)
	begin := time.Now()
	lastReport := begin
	for {
		missing := missingPeers(e, watch, func(n *engine.Node) (string, error) { return liveMembers(ctx, e, n) })
		watch = dropLost(e, watch, missing, results)
		if len(watch) == 0 {
			return
		}
		if len(missing) == 0 {
			e.Out.Printf("cluster formed: every node sees every peer (%.1fs)\n", time.Since(begin).Seconds())
			noteMembers(e, watch, results)
			return
		}
		if time.Since(begin) > e.Opts.JoinTimeout || ctx.Err() != nil {
			for n, peers := range missing {
				n.MarkFailed()
				engine.Fail(results[n], fmt.Errorf("%s did not see %s within %s (no %q line for them in its log)",
					n.Name(), strings.Join(peers, ", "), e.Opts.JoinTimeout, "Member joined"))
			}
			return
		}
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			e.Out.Printf("  %s: %s\n", time.Since(begin).Round(time.Second), describeMissing(missing))
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// dropLost fails the watched nodes whose host stopped answering (its
// connection is closed for the rest of the run, so waiting cannot help)
// and returns the others.
func dropLost(e *engine.Engine, watch []*engine.Node, missing map[*engine.Node][]string, results map[*engine.Node]*engine.Result) []*engine.Node {
	var keep []*engine.Node
	for _, n := range watch {
		if err := n.Host.Lost(); err != nil {
			n.MarkFailed()
			engine.Fail(results[n], fmt.Errorf("cannot watch %s join its peers: %w", n.Name(), err))
			delete(missing, n)
			continue
		}
		keep = append(keep, n)
	}
	return keep
}

// missingPeers returns, per node, the peers it does not see yet.
func missingPeers(e *engine.Engine, watch []*engine.Node, lines func(*engine.Node) (string, error)) map[*engine.Node][]string {
	joined, left, err := memberPatterns(e.PB.Start)
	missing := map[*engine.Node][]string{}
	var mu sync.Mutex
	e.Parallel(len(watch), func(i int) {
		n := watch[i]
		var absent []string
		out, lerr := lines(n)
		if err != nil || lerr != nil {
			absent = []string{fmt.Sprintf("(cannot read membership: %v)", firstErr(err, lerr))}
		} else {
			seen := membersSeen(out, joined, left)
			for _, p := range e.Vars.Nodes {
				if p.Name != n.Name() && !seen[p.MemberAddr()] {
					absent = append(absent, fmt.Sprintf("%s (%s)", p.Name, p.MemberAddr()))
				}
			}
		}
		if len(absent) > 0 {
			mu.Lock()
			missing[n] = absent
			mu.Unlock()
		}
	})
	return missing
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func cachedMembers(e *engine.Engine, n *engine.Node) (string, error) {
	r, ok := n.Host.Probe("members:" + n.Name())
	if !ok {
		return "", fmt.Errorf("membership of %s was not read", n.Name())
	}
	return r.Stdout, nil
}

func liveMembers(ctx context.Context, e *engine.Engine, n *engine.Node) (string, error) {
	script, err := membersScript(e, n)
	if err != nil {
		return "", err
	}
	return engine.RunScriptOut(ctx, n.Host, n.Vars.Product.User, script, nil, "read the membership log of "+n.Name())
}

func noteMembers(e *engine.Engine, watch []*engine.Node, results map[*engine.Node]*engine.Result) {
	for _, n := range watch {
		note := fmt.Sprintf("sees %d/%d peers", len(e.Nodes)-1, len(e.Nodes)-1)
		if r := results[n]; r.Note != "" {
			r.Note += ", " + note
		} else {
			r.Note = note
		}
	}
}

func describeMissing(missing map[*engine.Node][]string) string {
	var parts []string
	for n, peers := range missing {
		parts = append(parts, fmt.Sprintf("%s misses %s", n.Name(), strings.Join(peers, ", ")))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// PeersSeen is the set of peer member addresses (host:port) that running
// node n sees, replayed from the membership lines its log held at connect
// time.
func PeersSeen(e *engine.Engine, n *engine.Node) (map[string]bool, error) {
	lines, err := cachedMembers(e, n)
	joined, left, perr := memberPatterns(e.PB.Start)
	if err = firstErr(err, perr); err != nil {
		return nil, err
	}
	return membersSeen(lines, joined, left), nil
}
