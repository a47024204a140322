package remote

import (
	"context"
	"fmt"
	"io"
)

// Stream runs a POSIX sh script on the host as user as (like Run, without
// stdin) and copies its standard output to stdout as it arrives, e.g. to
// follow a log with `tail -f`. What the script writes to stderr is passed to
// stderr (which may be nil) when it ends. It returns the exit status.
//
// When ctx ends, the remote command is stopped as Run stops it (SIGTERM to
// its process groups, SIGKILL a second later) and Stream returns ctx's error.
func (c *Client) Stream(ctx context.Context, as, script string, stdout, stderr io.Writer) (int, error) {
	inv, err := c.invocation(as, script)
	if err != nil {
		return -1, fmt.Errorf("running a command on %s: %w", c.host, err)
	}
	if err := c.acquire(ctx); err != nil {
		return -1, fmt.Errorf("running a command on %s: %w", c.host, err)
	}
	defer c.release()
	sess, err := c.newSession(ctx)
	if err != nil {
		return -1, fmt.Errorf("opening an SSH session on %s: %w", c.host, c.stopReason(ctx, err))
	}
	defer sess.Close()
	filter := newStderrFilter(inv)
	sess.Stdout, sess.Stderr = stdout, filter
	in, err := sess.StdinPipe()
	if err != nil {
		return -1, fmt.Errorf("opening an SSH session on %s: %w", c.host, err)
	}
	if err := c.start(ctx, sess, inv.command); err != nil {
		return -1, fmt.Errorf("starting a command on %s: %w", c.host, c.stopReason(ctx, err))
	}
	stop := make(chan struct{})
	defer close(stop)
	go c.feedStdin(in, nil, inv, filter, stop)
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		c.abort(sess, filter, inv, done)
		return -1, fmt.Errorf("command on %s stopped: %w", c.host, c.stopReason(ctx, ctx.Err()))
	}
	filter.flush()
	if stderr != nil {
		_, _ = stderr.Write(filter.out.Bytes())
	}
	code, err := exitCode(err)
	if err != nil {
		return code, fmt.Errorf("running a command on %s: %w", c.host, c.cause(err))
	}
	if inv.sudoUser != "" && !filter.sudoOK {
		return code, c.sudoError(inv.sudoUser, filter.out.Bytes())
	}
	return code, nil
}
