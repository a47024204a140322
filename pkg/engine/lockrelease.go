package engine

import (
	"context"

	"github.com/carbonctl/carbonctl/pkg/runlock"
)

// prepareRelease makes the release of the run lock ready on the manager's
// host h while its batch read runs, so that releasing costs one round trip
// at the end of the run instead of two (docs/performance.md). It covers the
// lock the batch read's probe takes as the login user in the shared lock
// directory; a lock elsewhere is released as before. The script removes the
// lock only while it holds this run's token, so running it is harmless
// whether or not the lock was taken.
func (e *Engine) prepareRelease(ctx context.Context, h *Host) {
	if m := e.ManagerNode(); !e.Opts.Apply || m == nil || m.Host != h || h.Client == nil {
		return
	}
	e.lockRelease = h.Client.Defer(ctx, "", runlock.ReleaseScript(runlock.SharedPath(e.Inv.Cluster.Name), e.lockInfo.Token))
}

// useRelease hands the prepared release to l when l is the lock it removes;
// otherwise the prepared one is dropped.
func (e *Engine) useRelease(l *runlock.Lock) {
	if e.lockRelease == nil {
		return
	}
	if !l.UsePrepared(runlock.SharedPath(e.Inv.Cluster.Name), e.lockRelease) {
		e.lockRelease.Cancel()
	}
	e.lockRelease = nil
}

// dropRelease cancels a prepared release that no lock took (the run ended
// before taking it).
func (e *Engine) dropRelease() { e.useRelease(nil) }
