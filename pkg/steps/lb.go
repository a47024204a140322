package steps

import (
	"context"
	"fmt"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// sbinPath makes sure a script finds nginx: sudo without secure_path keeps
// the login user's PATH, which often lacks the sbin directories.
const sbinPath = "PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin; export PATH\n"

// Probe names on the load balancer host.
const (
	probeNginxV     = "lb:nginx-V"
	probeNginxAlive = "lb:nginx-alive"
)

// runLB runs a load balancer step: one result, for the target "lb"; a
// failed certStep leaves the load balancer without a certificate.
func runLB(ctx context.Context, e *engine.Engine, s playbook.Step, certStep bool, act func(context.Context, *engine.Engine, *engine.Result) error) []*engine.Result {
	if e.LB == nil {
		e.Out.Printf("skipping: no [loadbalancer] in %s\n", e.Inv.Path)
		return nil
	}
	return []*engine.Result{runLBTarget(ctx, e, s, certStep, act)}
}

// runLBTarget runs act on the load balancer, honouring failures and `when`.
func runLBTarget(ctx context.Context, e *engine.Engine, s playbook.Step, certStep bool, act func(context.Context, *engine.Engine, *engine.Result) error) *engine.Result {
	res := &engine.Result{Step: s.Name, Target: engine.LBTarget}
	switch {
	case e.LB.Host.Err != nil:
		res.Status, res.Note = engine.Skipped, "(the load balancer is unreachable)"
		return res
	case e.LB.IsFailed():
		res.Status, res.Note = engine.Skipped, "(an earlier step failed on the load balancer)"
		return res
	}
	ok, err := e.Vars.When(s.Name+".when", s.When)
	if err != nil {
		return engine.Fail(res, err)
	}
	if !ok {
		res.Status, res.Note = engine.Skipped, "(not applicable)"
		return res
	}
	if err := act(ctx, e, res); err != nil {
		e.LB.MarkFailed(certStep)
		return engine.Fail(res, fmt.Errorf("load balancer %s: %w", e.LB.Conf.Host, err))
	}
	return res
}

// forget drops cached knowledge of paths, so the next read fetches them.
func forget(h *engine.Host, paths ...string) {
	h.Mu.Lock()
	defer h.Mu.Unlock()
	for _, p := range paths {
		delete(h.Files, p)
	}
}

// removed records that a path no longer exists.
func removed(h *engine.Host, p string) {
	h.Mu.Lock()
	defer h.Mu.Unlock()
	h.Files[p] = &remote.File{Path: p}
}
