package remote

import (
	"context"
	"fmt"
	"io"
)

// Deferred is a command made ready early and run later (Host.Defer).
type Deferred interface {
	// Run runs the command and waits for its result.
	Run(ctx context.Context) (Result, error)
	// Cancel ends it without running the command.
	Cancel()
}

// deferredGo is the line that makes a deferred command run.
const deferredGo = "go"

// Defer opens a session now, in the background, whose shell waits for a
// line on stdin before it runs script as user as; Run sends that line and
// waits for the result, Cancel closes stdin without it (so does a lost
// connection or a killed carbonctl: the script never runs then). A command
// that must run at the end of a run (releasing the run lock) then costs one
// round trip instead of two: the session was opened while other work went
// on. The session holds one of Config.MaxSessions until Run or Cancel.
func (c *Client) Defer(ctx context.Context, as, script string) Deferred {
	d := &deferred{done: make(chan struct{})}
	inv, err := c.invocation(as, fmt.Sprintf("IFS= read -r line && [ \"$line\" = %s ] || exit 0\n%s", deferredGo, script))
	if err != nil {
		d.err = fmt.Errorf("running a command on %s: %w", c.host, err)
		close(d.done)
		return d
	}
	pr, pw := io.Pipe()
	d.stdin = pw
	go func() {
		defer close(d.done)
		d.res, d.err = c.run(ctx, inv, pr)
	}()
	return d
}

// deferred is Defer's Deferred: the command runs in the background with
// stdin from a pipe.
type deferred struct {
	stdin *io.PipeWriter // nil when the command could not be made
	done  chan struct{}  // closed when the command ended
	res   Result
	err   error
}

// Run implements Deferred.
func (d *deferred) Run(ctx context.Context) (Result, error) {
	if d.stdin != nil {
		go func() {
			_, _ = io.WriteString(d.stdin, deferredGo+"\n")
			_ = d.stdin.Close()
		}()
	}
	select {
	case <-d.done:
		return d.res, d.err
	case <-ctx.Done():
		d.Cancel()
		return Result{}, ctx.Err()
	}
}

// Cancel implements Deferred.
func (d *deferred) Cancel() {
	if d.stdin != nil {
		_ = d.stdin.CloseWithError(io.EOF)
	}
}
