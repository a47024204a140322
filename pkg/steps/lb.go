package steps

import (
	"context"
	"fmt"

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
func runLB(ctx context.Context, e *Engine, s playbook.Step, certStep bool, act func(context.Context, *Engine, *Result) error) []*Result {
	if e.lb == nil {
		e.out.printf("skipping: no [loadbalancer] in %s\n", e.inv.Path)
		return nil
	}
	return []*Result{runLBTarget(ctx, e, s, certStep, act)}
}

// runLBTarget runs act on the load balancer, honouring failures and `when`.
func runLBTarget(ctx context.Context, e *Engine, s playbook.Step, certStep bool, act func(context.Context, *Engine, *Result) error) *Result {
	res := &Result{Step: s.Name, Target: lbTarget}
	switch {
	case e.lb.host.err != nil:
		res.Status, res.Note = Skipped, "(the load balancer is unreachable)"
		return res
	case e.lb.isFailed():
		res.Status, res.Note = Skipped, "(an earlier step failed on the load balancer)"
		return res
	}
	ok, err := e.vars.when(s.Name+".when", s.When)
	if err != nil {
		return fail(res, err)
	}
	if !ok {
		res.Status, res.Note = Skipped, "(not applicable)"
		return res
	}
	if err := act(ctx, e, res); err != nil {
		e.lb.markFailed(certStep)
		return fail(res, fmt.Errorf("load balancer %s: %w", e.lb.conf.Host, err))
	}
	return res
}

// forget drops cached knowledge of paths, so the next read fetches them.
func forget(h *host, paths ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range paths {
		delete(h.files, p)
	}
}

// removed records that a path no longer exists.
func removed(h *host, p string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.files[p] = &remote.File{Path: p}
}
