package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/runlock"
)

// lockCluster takes the lock for the engine's run on the manager's host;
// it returns a failed result when it cannot.
func (e *Engine) lockCluster(ctx context.Context) (*runlock.Lock, *Result) {
	m := e.managerNode()
	if m == nil {
		return nil, &Result{Step: "lock", Target: e.inv.Cluster.Name, Status: Failed, Err: fmt.Errorf("no manager node to hold the run lock")}
	}
	res := &Result{Step: "lock", Target: m.name()}
	if m.host.err != nil {
		return nil, fail(res, m.host.err)
	}
	runLock, err := m.host.read(ctx, runlock.SharedDir)
	if err != nil {
		return nil, fail(res, err)
	}
	place := runlock.PlaceFor(e.inv.Cluster.Name, runLock)
	tried := ""
	if r, ok := m.host.probe(runlock.ProbeName); ok && place.As == "" && !strings.HasPrefix(r.Stdout, "unusable") {
		tried = r.Stdout
	}
	l, broken, err := runlock.Acquire(ctx, m.host.client, m.host.addr, place, e.lockInfo, e.opts.BreakLock, tried)
	if broken != "" {
		e.out.printf("%s\n", broken)
	}
	if err != nil {
		return nil, fail(res, err)
	}
	e.useRelease(l)
	return l, nil
}

// lockRun takes the run lock for an applying run and prints a failure; ok
// is false when the run must stop.
func (e *Engine) lockRun(ctx context.Context, report *Report) (*runlock.Lock, bool) {
	l, res := e.lockCluster(ctx)
	if res == nil {
		return l, true
	}
	e.out.header("LOCK", e.inv.Cluster.Name)
	e.out.result(res, false)
	report.Results = append(report.Results, res)
	report.tally(e.addresses(), e.order())
	return nil, false
}

// unlock releases the run lock, warning when it cannot.
func (e *Engine) unlock(l *runlock.Lock) {
	if err := l.Release(); err != nil {
		e.out.printf("warning: %v (remove %s on the manager host by hand)\n", err, l.Path)
	}
}
