package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/runlock"
)

// lockCluster takes the lock for the engine's run on the manager's host;
// it returns a failed result when it cannot.
func (e *Engine) lockCluster(ctx context.Context) (*runlock.Lock, *Result) {
	m := e.ManagerNode()
	if m == nil {
		return nil, &Result{Step: "lock", Target: e.Inv.Cluster.Name, Status: Failed, Err: fmt.Errorf("no manager node to hold the run lock")}
	}
	res := &Result{Step: "lock", Target: m.Name()}
	if m.Host.Err != nil {
		return nil, Fail(res, m.Host.Err)
	}
	runLock, err := m.Host.Read(ctx, runlock.SharedDir)
	if err != nil {
		return nil, Fail(res, err)
	}
	place := runlock.PlaceFor(e.Inv.Cluster.Name, runLock)
	tried := ""
	if r, ok := m.Host.Probe(runlock.ProbeName); ok && place.As == "" && !strings.HasPrefix(r.Stdout, "unusable") {
		tried = r.Stdout
	}
	l, broken, err := runlock.Acquire(ctx, m.Host.Client, m.Host.Addr, place, e.lockInfo, e.Opts.BreakLock, tried)
	if broken != "" {
		e.Out.Printf("%s\n", broken)
	}
	if err != nil {
		return nil, Fail(res, err)
	}
	e.useRelease(l)
	return l, nil
}

// LockRun takes the run lock for an applying run and prints a failure; ok
// is false when the run must stop.
func (e *Engine) LockRun(ctx context.Context, report *Report) (*runlock.Lock, bool) {
	l, res := e.lockCluster(ctx)
	if res == nil {
		return l, true
	}
	e.Out.Header("LOCK", e.Inv.Cluster.Name)
	e.Out.PrintResult(res, false)
	report.Results = append(report.Results, res)
	report.Tally(e.Addresses(), e.Order())
	return nil, false
}

// Unlock releases the run lock, warning when it cannot.
func (e *Engine) Unlock(l *runlock.Lock) {
	if err := l.Release(); err != nil {
		e.Out.Printf("warning: %v (remove %s on the manager host by hand)\n", err, l.Path)
	}
}
