package engine

import (
	"context"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// The guard is the one way steps act on hosts and the database: every
// change is recorded in its step's result, which is what `plan` shows, and
// performed only when the run applies (Options.Apply), like k0sctl's
// Manager.Wet or pyinfra's two-phase operations. A step decides from what
// it read, then calls change or writeFile; it never tests Apply itself.

// Change records desc (and diff) in res and, when the run applies,
// performs act.
func (e *Engine) Change(res *Result, desc, diff string, act func() error) error {
	res.AddChange(desc, diff)
	if !e.Opts.Apply || act == nil {
		return nil
	}
	return act()
}

// WriteFile writes data to p on h when the run applies; either way the
// host's cache holds the new content, so later steps decide from what the
// host holds after this run (or, in a plan, would hold). The caller
// records the change in its result.
func (e *Engine) WriteFile(ctx context.Context, h *Host, p string, data []byte, opts remote.WriteOptions) error {
	return h.Write(ctx, e.Opts.Apply, p, data, opts)
}

// Planning reports whether the run only plans: where acting would produce
// something later decisions need (a generated key, a certificate), a step
// predicts it instead.
func (e *Engine) Planning() bool { return !e.Opts.Apply }
