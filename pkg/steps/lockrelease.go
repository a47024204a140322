package steps

import "context"

// prepareRelease makes the release of the run lock ready on the manager's
// host h while its batch read runs, so that releasing costs one round trip
// at the end of the run instead of two (docs/performance.md). It covers the
// lock the batch read's probe takes as the login user in the shared lock
// directory; a lock elsewhere is released as before. The script removes the
// lock only while it holds this run's token, so running it is harmless
// whether or not the lock was taken.
func (e *Engine) prepareRelease(ctx context.Context, h *host) {
	if m := e.managerNode(); !e.opts.Apply || m == nil || m.host != h || h.client == nil {
		return
	}
	e.lockRelease = h.client.Defer(ctx, "", removeIfScript(sharedLockPath(e.inv.Cluster.Name), e.lockInfo.Token))
}

// useRelease hands the prepared release to l when l is the lock it removes;
// otherwise the prepared one is dropped.
func (e *Engine) useRelease(l *Lock) {
	if e.lockRelease == nil {
		return
	}
	if l != nil && l.as == "" && l.path == sharedLockPath(e.inv.Cluster.Name) {
		l.prepared = e.lockRelease
	} else {
		e.lockRelease.Cancel()
	}
	e.lockRelease = nil
}

// releasePrepared runs l's prepared release; ok is false when there is none
// or it did not work, and the lock is to be released the ordinary way.
func (l *Lock) releasePrepared(ctx context.Context) (ok bool) {
	if l.prepared == nil {
		return false
	}
	res, err := l.prepared.Run(ctx)
	return err == nil && res.ExitCode == 0
}

// dropRelease cancels a prepared release that no lock took (the run ended
// before taking it).
func (e *Engine) dropRelease() { e.useRelease(nil) }
