package steps

import (
	"context"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/depsync"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// seedSVN empties, once, the playbook's svn_empty directories on every
// targeted node but the manager, before Carbon's SVN deployment
// synchroniser checks the repository out into them at the next start (the
// ESB guide asks for it: what a worker had deployed before must not
// linger). A marker below CARBON_HOME records that it was done, so a
// re-run never empties a directory the checkout has filled.
func seedSVN(ctx context.Context, e *engine.Engine, results map[*engine.Node]*engine.Result) []*engine.Result {
	dirs := e.PB.DepSync.SVNEmpty
	e.Parallel(len(e.Targets), func(i int) {
		n := e.Targets[i]
		res := results[n]
		switch {
		case n.IsFailed():
			res.Status, res.Note = engine.Skipped, "(an earlier step failed on this node)"
		case n.Vars.Node.IsManager:
			res.Note = "(method svn: the manager commits its deployment directory)"
		case len(dirs) == 0:
			res.Note = "(method svn: playbook " + e.PB.Name + " names no directory to empty)"
		default:
			if err := seedSVNNode(ctx, e, n, dirs, res); err != nil {
				n.MarkFailed()
				engine.Fail(res, err)
			}
		}
	})
	return orderedResults(e, results)
}

// seedSVNNode empties n's directories of rel once.
func seedSVNNode(ctx context.Context, e *engine.Engine, n *engine.Node, rel []string, res *engine.Result) error {
	_, err := emptyOnce(ctx, e, n, rel, n.Home(depsync.SVNSeededMarker), "the first SVN checkout", res)
	return err
}

// prefetchSVNSeed adds what seedSVN reads on n to the host's batch: the
// marker and the directories.
func prefetchSVNSeed(e *engine.Engine, n *engine.Node, req *remote.GatherRequest) {
	if n.Vars.Node.IsManager {
		return
	}
	req.Contents = append(req.Contents, n.Home(depsync.SVNSeededMarker))
	for _, d := range e.PB.DepSync.SVNEmpty {
		req.Stats = append(req.Stats, n.Home(d))
	}
}
