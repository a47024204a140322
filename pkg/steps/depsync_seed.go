package steps

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/depsync"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// seedReceivers empties each targeted receiver's directories once, as the
// clustering guides advise before the first sync, records that in a marker
// so it never happens again, and then runs that first sync from the source.
func seedReceivers(ctx context.Context, e *engine.Engine, s *syncSetup, results map[*engine.Node]*engine.Result) {
	ready, err := s.source.Host.Read(ctx, depsyncPath(s.source, depsync.ScriptName))
	if err != nil || !ready.Exists {
		return // the source is not set up (not in --limit): nothing may be emptied
	}
	srcDirs, err := existingDirs(ctx, e, s.source, s.dirs)
	if err != nil {
		return
	}
	var mu sync.Mutex
	var seeded []*engine.Node
	var candidates []*engine.Node
	for _, n := range s.receivers {
		if r := results[n]; r != nil && r.Status != engine.Failed && r.Status != engine.Skipped && !n.IsFailed() {
			candidates = append(candidates, n)
		}
	}
	e.Parallel(len(candidates), func(i int) {
		n := candidates[i]
		done, err := seed(ctx, e, s, n, srcDirs, results[n])
		if err != nil {
			n.MarkFailed()
			engine.Fail(results[n], err)
		}
		if done {
			mu.Lock()
			seeded = append(seeded, n)
			mu.Unlock()
		}
	})
	if len(seeded) > 0 && !e.Planning() {
		firstSync(ctx, e, s, seeded, results)
	}
}

// existingDirs returns the directories of rel that exist below n's
// CARBON_HOME (or will, once the product archive is unpacked there).
func existingDirs(ctx context.Context, e *engine.Engine, n *engine.Node, rel []string) ([]string, error) {
	var out []string
	for _, d := range rel {
		f, err := n.Host.Read(ctx, n.Home(d))
		if err != nil {
			return nil, err
		}
		if f.IsDir || overlaid(n.Host, n.Vars.Node.Home) && e.Arch.HasDir(d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// overlaid reports whether reads below home are served from the archive.
func overlaid(h *engine.Host, home string) bool {
	h.Mu.Lock()
	defer h.Mu.Unlock()
	for _, o := range h.Overlays {
		if o.Home == home {
			return true
		}
	}
	return false
}

// seed empties n's directories that the source also has, once; it reports
// whether it did (or, in a plan, would).
func seed(ctx context.Context, e *engine.Engine, s *syncSetup, n *engine.Node, srcDirs []string, res *engine.Result) (bool, error) {
	what := fmt.Sprintf("the first sync from %s (%s)", s.source.Name(), s.source.Vars.Node.Host)
	return emptyOnce(ctx, e, n, srcDirs, n.Home(depsync.SeededMarker), what, res)
}

// emptyOnce empties the directories of rel that n has, unless marker says
// it was done, and then writes marker; before says what fills them next.
// It reports whether it emptied (or, in a plan, would).
func emptyOnce(ctx context.Context, e *engine.Engine, n *engine.Node, rel []string, marker, before string, res *engine.Result) (bool, error) {
	m, err := n.Host.Read(ctx, marker)
	if err != nil || m.Exists {
		return false, err
	}
	dirs, err := existingDirs(ctx, e, n, rel)
	if err != nil {
		return false, err
	}
	abs := make([]string, len(dirs))
	for i, d := range dirs {
		abs[i] = n.Home(d)
	}
	text := fmt.Sprintf("emptied %s before %s\n", strings.Join(dirs, " "), before)
	desc := fmt.Sprintf("empty %s once, before %s fills it (recorded in %s)", strings.Join(abs, " and "), before, marker)
	if len(abs) == 0 {
		desc = fmt.Sprintf("record in %s that there is nothing to empty before %s", marker, before)
	}
	if err := e.Change(res, desc, "", func() error {
		return engine.RunScript(ctx, n.Host, e.Inv.Product.User, seedScript(abs, marker, text), nil, "empty the deployment directories of "+n.Name())
	}); err != nil {
		return false, err
	}
	n.Host.Remember(marker, []byte(text))
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
func firstSync(ctx context.Context, e *engine.Engine, s *syncSetup, seeded []*engine.Node, results map[*engine.Node]*engine.Result) {
	out, err := depsync.RunScript(ctx, s.source.Host.Client, s.user, depsyncPath(s.source, depsync.ScriptName))
	for _, n := range seeded {
		res := results[n]
		lines := linesOf(out, n.Name())
		switch {
		case err != nil && len(lines) == 0:
			engine.Fail(res, fmt.Errorf("first sync from %s: %w", s.source.Name(), err))
		case strings.Contains(strings.Join(lines, "\n"), ": FAILED"):
			engine.Fail(res, fmt.Errorf("first sync from %s: %s", s.source.Name(), strings.Join(lines, "; ")))
		default:
			res.AddChange(fmt.Sprintf("first sync from %s: %s", s.source.Name(), strings.Join(lines, "; ")), "")
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
