package remotetest

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Command scripts how the host answers a Run or Stream: the first Command
// (in the order given to OnCommand) that matches a call answers it.
type Command struct {
	// As is the user the command must run as: "" for the login user,
	// AnyUser for anyone.
	As string
	// Contains are strings the script must all contain; Regexp, when set,
	// must match it too.
	Contains []string
	Regexp   *regexp.Regexp
	// Stdout, Stderr and Exit are the answer. Err, when set, is returned
	// instead (the command could not run).
	Stdout, Stderr string
	Exit           int
	Err            error
	// Effect changes the host as the command would (creates a user, a
	// link, ...), before the answer is returned. It gets the call with its
	// stdin.
	Effect func(h *Host, c Call) error
	// Times, when above 0, is how many calls the Command answers; later
	// calls go to the next matching Command.
	Times int

	used int
}

// Call is one Run or Stream: who ran what, with which stdin.
type Call struct {
	As     string // the user the script ran as (the login user for "")
	Script string
	Stdin  []byte
	Stream bool
}

// OnCommand adds scripted commands.
func (h *Host) OnCommand(cmds ...Command) *Host {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range cmds {
		c := cmds[i]
		h.cmds = append(h.cmds, &c)
	}
	return h
}

// Unused lists the scripted commands that answered no call (a test's
// stale data).
func (h *Host) Unused() []Command {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Command
	for _, c := range h.cmds {
		if c.used == 0 {
			out = append(out, *c)
		}
	}
	return out
}

// Calls lists the commands run so far, in order.
func (h *Host) Calls() []Call {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// matches reports whether c answers a script run as user as.
func (c *Command) matches(as, login, script string) bool {
	want := c.As
	if want == "" {
		want = login
	}
	if want != AnyUser && want != as {
		return false
	}
	if c.Times > 0 && c.used >= c.Times {
		return false
	}
	for _, s := range c.Contains {
		if !strings.Contains(script, s) {
			return false
		}
	}
	return c.Regexp == nil || c.Regexp.MatchString(script)
}

// Run implements remote.Host: it records the call (stdin read whole) and
// answers from the first matching Command. A call no Command matches fails
// the test and returns an error.
func (h *Host) Run(ctx context.Context, as, script string, stdin io.Reader) (remote.Result, error) {
	var in []byte
	if stdin != nil {
		var err error
		if in, err = io.ReadAll(stdin); err != nil {
			return remote.Result{}, fmt.Errorf("running a command on %s: reading its stdin: %w", h.addr, err)
		}
	}
	return h.run(ctx, Call{As: as, Script: script, Stdin: in})
}

// Stream implements remote.Host as Run does, writing the answer to stdout
// and stderr.
func (h *Host) Stream(ctx context.Context, as, script string, stdout, stderr io.Writer) (int, error) {
	res, err := h.run(ctx, Call{As: as, Script: script, Stream: true})
	if err != nil {
		return -1, err
	}
	if _, err := stdout.Write(res.Stdout); err != nil {
		return -1, err
	}
	if _, err := stderr.Write(res.Stderr); err != nil {
		return -1, err
	}
	return res.ExitCode, nil
}

// run records call and answers it.
func (h *Host) run(ctx context.Context, call Call) (remote.Result, error) {
	h.mu.Lock()
	if err := h.usable(ctx); err != nil {
		h.mu.Unlock()
		return remote.Result{}, fmt.Errorf("running a command on %s: %w", h.addr, err)
	}
	if call.As != "" && !validUser(call.As) {
		h.mu.Unlock()
		return remote.Result{}, fmt.Errorf("running a command on %s: invalid user name %q", h.addr, call.As)
	}
	if call.As == "" {
		call.As = h.login
	}
	h.calls = append(h.calls, call)
	if call.As != h.login && h.noSudo {
		h.mu.Unlock()
		return remote.Result{}, fmt.Errorf("sudo on %s needs a password for %s: configure NOPASSWD sudo or log in as root", h.addr, h.login)
	}
	var cmd *Command
	for _, c := range h.cmds {
		if c.matches(call.As, h.login, call.Script) {
			cmd = c
			c.used++
			break
		}
	}
	h.mu.Unlock()
	if cmd == nil {
		h.tb.Errorf("remotetest: %s: unexpected command as %s (script it with OnCommand):\n%s", h.addr, call.As, call.Script)
		return remote.Result{}, fmt.Errorf("running a command on %s: remotetest: unexpected command", h.addr)
	}
	if cmd.Effect != nil {
		if err := cmd.Effect(h, call); err != nil {
			return remote.Result{}, fmt.Errorf("running a command on %s: remotetest effect: %w", h.addr, err)
		}
	}
	if cmd.Err != nil {
		return remote.Result{}, cmd.Err
	}
	return remote.Result{Stdout: []byte(cmd.Stdout), Stderr: []byte(cmd.Stderr), ExitCode: cmd.Exit}, nil
}

// Defer implements remote.Host: the script is recorded and answered like
// Run's when the Deferred runs, and never when it is cancelled, as on a
// real host, whose shell waits for the go-ahead line.
func (h *Host) Defer(_ context.Context, as, script string) remote.Deferred {
	return &deferred{h: h, call: Call{As: as, Script: script}}
}

// deferred is the fake's remote.Deferred.
type deferred struct {
	h    *Host
	call Call
	done bool // ran or cancelled: a Deferred runs at most once
}

// Run implements remote.Deferred.
func (d *deferred) Run(ctx context.Context) (remote.Result, error) {
	if d.done {
		return remote.Result{}, fmt.Errorf("running a command on %s: the deferred command already ran or was cancelled", d.h.addr)
	}
	d.done = true
	return d.h.run(ctx, d.call)
}

// Cancel implements remote.Deferred.
func (d *deferred) Cancel() { d.done = true }
