package steps

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// awaitMembership waits until every running target node logs "joined" for
// every peer, printing progress, and fails the nodes that still miss peers
// when the join timeout passes. Nothing is awaited when nothing was started
// and the logs read at connect time already show a complete cluster.
func awaitMembership(ctx context.Context, e *Engine, results map[*node]*Result) {
	var watch []*node
	startedAny := false
	for _, n := range e.targets {
		r := results[n]
		if r == nil || r.Status == Failed || r.Status == Skipped {
			continue
		}
		watch = append(watch, n)
		startedAny = startedAny || r.Status == Changed
	}
	if len(watch) == 0 {
		return
	}
	if !startedAny {
		if missing := missingPeers(e, watch, func(n *node) (string, error) { return cachedMembers(e, n) }); len(missing) == 0 {
			noteMembers(e, watch, results)
			return
		}
	}
	e.out.printf("waiting up to %s for every node to see its %d peers ...\n", e.opts.JoinTimeout, len(e.nodes)-1)
	begin := time.Now()
	lastReport := begin
	for {
		missing := missingPeers(e, watch, func(n *node) (string, error) { return liveMembers(ctx, e, n) })
		watch = dropLost(e, watch, missing, results)
		if len(watch) == 0 {
			return
		}
		if len(missing) == 0 {
			e.out.printf("cluster formed: every node sees every peer (%.1fs)\n", time.Since(begin).Seconds())
			noteMembers(e, watch, results)
			return
		}
		if time.Since(begin) > e.opts.JoinTimeout || ctx.Err() != nil {
			for n, peers := range missing {
				n.markFailed()
				fail(results[n], fmt.Errorf("%s did not see %s within %s (no %q line for them in its log)",
					n.name(), strings.Join(peers, ", "), e.opts.JoinTimeout, "Member joined"))
			}
			return
		}
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			e.out.printf("  %s: %s\n", time.Since(begin).Round(time.Second), describeMissing(missing))
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
func dropLost(e *Engine, watch []*node, missing map[*node][]string, results map[*node]*Result) []*node {
	var keep []*node
	for _, n := range watch {
		if err := n.host.lost(); err != nil {
			n.markFailed()
			fail(results[n], fmt.Errorf("cannot watch %s join its peers: %w", n.name(), err))
			delete(missing, n)
			continue
		}
		keep = append(keep, n)
	}
	return keep
}

// missingPeers returns, per node, the peers it does not see yet.
func missingPeers(e *Engine, watch []*node, lines func(*node) (string, error)) map[*node][]string {
	joined, left, err := memberPatterns(e.pb.Start)
	missing := map[*node][]string{}
	var mu sync.Mutex
	e.parallel(len(watch), func(i int) {
		n := watch[i]
		var absent []string
		out, lerr := lines(n)
		if err != nil || lerr != nil {
			absent = []string{fmt.Sprintf("(cannot read membership: %v)", firstErr(err, lerr))}
		} else {
			seen := membersSeen(out, joined, left)
			for _, p := range e.vars.Nodes {
				if p.Name != n.name() && !seen[p.MemberAddr()] {
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

func cachedMembers(e *Engine, n *node) (string, error) {
	r, ok := n.host.probe("members:" + n.name())
	if !ok {
		return "", fmt.Errorf("membership of %s was not read", n.name())
	}
	return r.Stdout, nil
}

func liveMembers(ctx context.Context, e *Engine, n *node) (string, error) {
	script, err := membersScript(e, n)
	if err != nil {
		return "", err
	}
	return runOut(ctx, n.host, n.vars.Product.User, script, nil, "read the membership log of "+n.name())
}

func noteMembers(e *Engine, watch []*node, results map[*node]*Result) {
	for _, n := range watch {
		note := fmt.Sprintf("sees %d/%d peers", len(e.nodes)-1, len(e.nodes)-1)
		if r := results[n]; r.Note != "" {
			r.Note += ", " + note
		} else {
			r.Note = note
		}
	}
}

func describeMissing(missing map[*node][]string) string {
	var parts []string
	for n, peers := range missing {
		parts = append(parts, fmt.Sprintf("%s misses %s", n.name(), strings.Join(peers, ", ")))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}
