package steps

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/carbonctl/carbonctl/pkg/depsync"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// seedReceivers empties each targeted receiver's directories once, as the
// clustering guides advise before the first sync, records that in a marker
// so it never happens again, and then runs that first sync from the source.
func seedReceivers(ctx context.Context, e *Engine, s *syncSetup, results map[*node]*Result) {
	ready, err := s.source.host.read(ctx, depsyncPath(s.source, depsync.ScriptName))
	if err != nil || !ready.Exists {
		return // the source is not set up (not in --limit): nothing may be emptied
	}
	srcDirs, err := existingDirs(ctx, e, s.source, s.dirs)
	if err != nil {
		return
	}
	var mu sync.Mutex
	var seeded []*node
	var candidates []*node
	for _, n := range s.receivers {
		if r := results[n]; r != nil && r.Status != Failed && r.Status != Skipped && !n.isFailed() {
			candidates = append(candidates, n)
		}
	}
	e.parallel(len(candidates), func(i int) {
		n := candidates[i]
		done, err := seed(ctx, e, s, n, srcDirs, results[n])
		if err != nil {
			n.markFailed()
			fail(results[n], err)
		}
		if done {
			mu.Lock()
			seeded = append(seeded, n)
			mu.Unlock()
		}
	})
	if len(seeded) > 0 && !e.planning() {
		firstSync(ctx, e, s, seeded, results)
	}
}

// existingDirs returns the directories of rel that exist below n's
// CARBON_HOME (or will, once the product archive is unpacked there).
func existingDirs(ctx context.Context, e *Engine, n *node, rel []string) ([]string, error) {
	var out []string
	for _, d := range rel {
		f, err := n.host.read(ctx, n.home(d))
		if err != nil {
			return nil, err
		}
		if f.IsDir || overlaid(n.host, n.vars.Node.Home) && e.arch.HasDir(d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// overlaid reports whether reads below home are served from the archive.
func overlaid(h *host, home string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range h.overlays {
		if o.home == home {
			return true
		}
	}
	return false
}

// seed empties n's directories that the source also has, once; it reports
// whether it did (or, in a plan, would).
func seed(ctx context.Context, e *Engine, s *syncSetup, n *node, srcDirs []string, res *Result) (bool, error) {
	what := fmt.Sprintf("the first sync from %s (%s)", s.source.name(), s.source.vars.Node.Host)
	return emptyOnce(ctx, e, n, srcDirs, n.home(depsync.SeededMarker), what, res)
}

// emptyOnce empties the directories of rel that n has, unless marker says
// it was done, and then writes marker; before says what fills them next.
// It reports whether it emptied (or, in a plan, would).
func emptyOnce(ctx context.Context, e *Engine, n *node, rel []string, marker, before string, res *Result) (bool, error) {
	m, err := n.host.read(ctx, marker)
	if err != nil || m.Exists {
		return false, err
	}
	dirs, err := existingDirs(ctx, e, n, rel)
	if err != nil {
		return false, err
	}
	abs := make([]string, len(dirs))
	for i, d := range dirs {
		abs[i] = n.home(d)
	}
	text := fmt.Sprintf("emptied %s before %s\n", strings.Join(dirs, " "), before)
	desc := fmt.Sprintf("empty %s once, before %s fills it (recorded in %s)", strings.Join(abs, " and "), before, marker)
	if len(abs) == 0 {
		desc = fmt.Sprintf("record in %s that there is nothing to empty before %s", marker, before)
	}
	if err := e.change(res, desc, "", func() error {
		return run(ctx, n.host, e.inv.Product.User, seedScript(abs, marker, text), nil, "empty the deployment directories of "+n.name())
	}); err != nil {
		return false, err
	}
	n.host.remember(marker, []byte(text))
	return true, nil
}

// seedScript empties dirs (keeping the directories themselves), then writes the marker.
func seedScript(dirs []string, marker, text string) string {
	var b strings.Builder
	b.WriteString("set -e\n")
	for _, d := range dirs {
		fmt.Fprintf(&b, "find %s -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +\n", remote.Quote(d))
	}
	fmt.Fprintf(&b, "mkdir -p \"$(dirname %[1]s)\"\nprintf '%%s' %[2]s > %[1]s\n", remote.Quote(marker), remote.Quote(text))
	return b.String()
}

// firstSync runs the sync script once on the source and reports, on each
// seeded node's result, what reached it.
func firstSync(ctx context.Context, e *Engine, s *syncSetup, seeded []*node, results map[*node]*Result) {
	out, err := depsync.RunScript(ctx, s.source.host.client, s.user, depsyncPath(s.source, depsync.ScriptName))
	for _, n := range seeded {
		res := results[n]
		lines := linesOf(out, n.name())
		switch {
		case err != nil && len(lines) == 0:
			fail(res, fmt.Errorf("first sync from %s: %w", s.source.name(), err))
		case strings.Contains(strings.Join(lines, "\n"), ": FAILED"):
			fail(res, fmt.Errorf("first sync from %s: %s", s.source.name(), strings.Join(lines, "; ")))
		default:
			res.changed(fmt.Sprintf("first sync from %s: %s", s.source.name(), strings.Join(lines, "; ")), "")
		}
	}
}

// linesOf returns the summary lines of the sync's output about node name.
func linesOf(out, name string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, name+" ") {
			lines = append(lines, strings.TrimPrefix(l, name+" "))
		}
	}
	return lines
}
