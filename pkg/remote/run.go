package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/ssh"
)

// Result is the outcome of a command.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int // 128+N if the command was killed by signal N
}

// maxScript bounds a script's size: it travels as one command-line argument
// and Linux refuses single arguments over 128 KiB.
const maxScript = 100 << 10

// Timings of the cancellation path (see abort).
const (
	pidWait      = 2 * time.Second        // for the command to report its process group
	innerPIDWait = 500 * time.Millisecond // for sudo's command to report its own
	abortTimeout = 5 * time.Second        // for the session that signals the command
)

// Bookkeeping lines a command writes to stderr before the script runs; Run
// strips them. The login shell reports its process id (which sshd made a
// process group id); the shell started by sudo reports that sudo worked,
// and its own process id (sudo with use_pty starts a new process group).
const (
	pidMarker  = "carbonctl-pid "
	sudoMarker = "carbonctl-sudo-ok "
)

// sudoShell is run by sudo: it moves to runAsDir, reports success, then
// runs the script ($1). This is the one place that decides where a command
// run as another user starts: sshd starts the login shell in the login
// user's home, which the other user may not enter (root's /root is 0700),
// and find, for one, fails when it cannot return to its starting directory.
const sudoShell = `cd ` + runAsDir + ` && echo "` + sudoMarker + `$$" >&2 && exec sh -c "$1"`

// runAsDir is the working directory of every command Run, Gather or
// WriteFile runs as a user other than the login user: one every user may
// enter. Scripts that need another directory cd there themselves.
const runAsDir = "/"

// Run runs a POSIX sh script on the host as user as: "" (or the login user)
// runs it as the login user (in the login user's home, where sshd starts
// it), any other user goes through `sudo -n [-u USER] -- sh -c` and starts
// in runAsDir. stdin, which may be nil, is streamed to the
// script; this is also the way to upload data, e.g. Run(ctx, "root",
// "tar -xf - -C /opt", archive). A stdin reader that blocks forever keeps a
// goroutine alive after Run returns.
//
// A non-zero exit status is not an error: check Result.ExitCode. An error
// means the script could not be run: transport failure, sudo refusing
// (asking for a password, for example), or ctx ending, in which case the
// remote command is sent SIGTERM (and SIGKILL a second later) before Run
// returns.
func (c *Client) Run(ctx context.Context, as string, script string, stdin io.Reader) (Result, error) {
	inv, err := c.invocation(as, script)
	if err != nil {
		return Result{}, fmt.Errorf("running a command on %s: %w", c.host, err)
	}
	return c.run(ctx, inv, stdin)
}

// invocation is a command line ready for an SSH session.
type invocation struct {
	command  string
	sudoUser string // the user sudo runs the script as; "" without sudo
	// password is set when sudo runs with -S: the password goes on stdin
	// when sudo prompts for it (see feedSudo).
	password bool
}

// sudoPrompt is the prompt sudo -S writes to stderr when it wants the
// become password; stderrFilter watches for it.
const sudoPrompt = "[carbonctl] sudo password: "

// invocation builds the command line that runs script as user as.
func (c *Client) invocation(as, script string) (invocation, error) {
	if len(script) > maxScript {
		return invocation{}, fmt.Errorf("script of %d bytes is too long (limit %d): send data on stdin instead", len(script), maxScript)
	}
	if as != "" && !validUser(as) {
		return invocation{}, fmt.Errorf("invalid user name %q", as)
	}
	report := `echo "` + pidMarker + `$$" >&2; `
	if as == "" || as == c.user {
		return invocation{command: report + "exec sh -c " + Quote(script)}, nil
	}
	target := "-u " + Quote(as) + " "
	if as == "root" {
		target = ""
	}
	cmd := report + "exec " + c.sudo(sudoPrompt) + target + "-- sh -c " + Quote(sudoShell) + " carbonctl " + Quote(script)
	return invocation{command: cmd, sudoUser: as, password: c.become != ""}, nil
}

// sudo is the start of a sudo command line: "sudo -n " without a become
// password, else "sudo -S -p PROMPT ", which reads the password from stdin
// when (and only when) the policy asks for one.
func (c *Client) sudo(prompt string) string {
	if c.become == "" {
		return "sudo -n "
	}
	return "sudo -S -p " + Quote(prompt) + " "
}

// validUser accepts user names that cannot be mistaken for options or
// mangle a command line.
func validUser(name string) bool {
	if name == "" || name[0] == '-' {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' || r == ':'
	})
}

// run runs inv in a new session and collects its result, within the
// command timeout.
func (c *Client) run(ctx context.Context, inv invocation, stdin io.Reader) (Result, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.cmdTimeout)
	defer cancel()
	if err := c.acquire(ctx); err != nil {
		return Result{}, fmt.Errorf("running a command on %s: %w", c.host, c.stopReason(parent, err))
	}
	defer c.release()
	n, opening := c.trace.session(), time.Now()
	sess, err := c.newSession(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("opening an SSH session on %s: %w", c.host, c.stopReason(parent, err))
	}
	defer sess.Close()
	c.trace.timed(n, "opened in", inv.sudoUser, opening)
	starting := time.Now()
	defer c.trace.timed(n, "command ran in", inv.sudoUser, starting)
	var stdout bytes.Buffer
	stderr := newStderrFilter(inv)
	sess.Stdout, sess.Stderr = &stdout, stderr
	in, err := sess.StdinPipe()
	if err != nil {
		return Result{}, fmt.Errorf("opening an SSH session on %s: %w", c.host, err)
	}
	if err := c.start(ctx, sess, inv.command); err != nil {
		return Result{}, fmt.Errorf("starting a command on %s: %w", c.host, c.stopReason(parent, err))
	}
	stop := make(chan struct{})
	defer close(stop)
	go c.feedStdin(in, stdin, inv, stderr, stop)
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		c.abort(sess, stderr, inv, done)
		return Result{}, fmt.Errorf("command on %s stopped: %w", c.host, c.stopReason(parent, ctx.Err()))
	}
	stderr.flush()
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.out.Bytes()}
	if res.ExitCode, err = exitCode(err); err != nil {
		return res, fmt.Errorf("running a command on %s: %w", c.host, c.cause(err))
	}
	if inv.sudoUser != "" && !stderr.sudoOK {
		return res, c.sudoError(inv.sudoUser, res.Stderr)
	}
	return res, nil
}

// start starts cmd in sess. sshd's answer to the exec request is awaited
// until ctx ends (a host that stops answering is given up by the
// keepalives, which ends the wait in the background).
func (c *Client) start(ctx context.Context, sess *ssh.Session, cmd string) error {
	started := make(chan error, 1)
	go func() { started <- sess.Start(cmd) }()
	select {
	case err := <-started:
		return c.cause(err)
	case <-ctx.Done():
		_ = sess.Close()
		return ctx.Err()
	}
}

// stopReason explains why a command did not finish: the host stopped
// answering, the caller's context (parent) ended, or err, which is the
// command timeout when parent is still live and err is a deadline.
func (c *Client) stopReason(parent context.Context, err error) error {
	switch {
	case c.Lost() != nil:
		return c.Lost()
	case parent.Err() != nil:
		return parent.Err()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no result within %s (ssh.command_timeout): %w", c.cmdTimeout, err)
	}
	return err
}

// feedStdin feeds the command's stdin w from r (which may be nil). A
// command run through sudo -S first gets the become password, when sudo
// prompts for it (once: a second prompt means it was refused, and stdin is
// closed so that sudo gives up), and r only once sudo has started the
// script: so the password never reaches the script, whose input r is.
// stop ends the wait when the command is over.
func (c *Client) feedStdin(w io.WriteCloser, r io.Reader, inv invocation, f *stderrFilter, stop <-chan struct{}) {
	if !inv.password {
		feed(w, r)
		return
	}
	prompts := 0
	for {
		select {
		case <-stop:
			_ = w.Close()
			return
		case ev := <-f.events:
			if ev == sudoStarted {
				feed(w, r)
				return
			}
			if prompts++; prompts > 1 {
				_ = w.Close()
				return
			}
			_, _ = io.WriteString(w, string(c.become)+"\n")
		}
	}
}

// feed copies r (if any) to the command's stdin, then closes it. A copy
// error means the command stopped reading; its exit status tells the rest.
func feed(w io.WriteCloser, r io.Reader) {
	if r != nil {
		_, _ = io.Copy(w, r)
	}
	_ = w.Close()
}

// exitCode extracts the exit status from a Session.Wait error.
func exitCode(err error) (int, error) {
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		return exitErr.ExitStatus(), nil
	default:
		return -1, err
	}
}

// sudoError explains why sudo did not run the script. stderr holds only
// sshd's and sudo's messages here, since the script never started.
func (c *Client) sudoError(as string, stderr []byte) error {
	msg := clip(strings.TrimSpace(string(stderr)), 500)
	switch {
	case c.become != "" && (strings.Contains(msg, "incorrect password") || strings.Contains(msg, "Sorry, try again")):
		return fmt.Errorf("sudo on %s refused the become password of login user %s (ssh.become_password_env / become_password_file): check the password", c.host, c.user)
	case c.become == "" && strings.Contains(msg, "password"):
		return fmt.Errorf("sudo on %s needs a password for login user %s: set ssh.become_password_env or ssh.become_password_file, configure NOPASSWD sudo, or log in as root", c.host, c.user)
	}
	return fmt.Errorf("sudo on %s failed to run a command as %s for login user %s: %s", c.host, as, c.user, msg)
}

// abort stops a command whose context ended. The command's process groups
// get SIGTERM, and SIGKILL a second later, from a new session (through sudo
// if the command used sudo, since the login user cannot signal its
// processes). Closing the session alone would leave the command running,
// and sshd refuses in-band SSH signals ("session signalling requires
// privilege separation").
func (c *Client) abort(sess *ssh.Session, stderr *stderrFilter, inv invocation, done <-chan error) {
	if c.Lost() != nil {
		_ = sess.Close() // the host cannot be reached to stop anything
		return
	}
	groups := stderr.groups(inv.sudoUser != "", done)
	_ = sess.Close()
	if len(groups) == 0 {
		return
	}
	var list []string
	for _, g := range groups {
		list = append(list, "-"+strconv.Itoa(g))
	}
	targets := strings.Join(list, " ")
	kill := fmt.Sprintf("kill -s TERM -- %[1]s 2>/dev/null\n(sleep 1; kill -s KILL -- %[1]s) </dev/null >/dev/null 2>&1 &", targets)
	cmd := "exec sh -c " + Quote(kill)
	var stdin io.Reader
	if inv.sudoUser != "" {
		// The kill script reads no input: the password can go on stdin
		// whether or not sudo asks for it, and stays with root.
		cmd = "exec " + c.sudo("") + "-- sh -c " + Quote(kill)
		stdin = strings.NewReader(string(c.become) + "\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), abortTimeout)
	defer cancel()
	c.signal(ctx, cmd, stdin)
}

// signal runs cmd in a session of its own, outside the session limit (the
// caller has just closed its session), and waits at most until ctx ends.
func (c *Client) signal(ctx context.Context, cmd string, stdin io.Reader) {
	sess, err := c.newSession(ctx)
	if err != nil {
		return
	}
	defer sess.Close()
	sess.Stdin = stdin
	finished := make(chan error, 1)
	go func() { finished <- sess.Run(cmd) }()
	select {
	case <-finished:
	case <-ctx.Done():
	}
}

// clip shortens s to at most n bytes for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// stderrFilter receives a command's stderr. It strips the bookkeeping lines
// (pidMarker, sudoMarker) from its start, reports the process ids they carry
// and passes everything else through to out.
type stderrFilter struct {
	out     bytes.Buffer
	sudo    bool   // a sudoMarker line ends the header, not a pidMarker one
	prompt  []byte // sudo -S's password prompt, stripped and reported; nil without -S
	events  chan filterEvent
	sudoOK  bool     // the sudoMarker line was seen
	passing bool     // the header is over
	pending []byte   // an incomplete header line
	pids    chan int // process group ids, outer first
}

// filterEvent is what the header of a command run through sudo -S tells
// the goroutine feeding its stdin.
type filterEvent int

const (
	sudoPrompted filterEvent = iota // sudo asks for the password
	sudoStarted                     // sudo started the script
)

// newStderrFilter returns a filter for the command inv.
func newStderrFilter(inv invocation) *stderrFilter {
	f := &stderrFilter{sudo: inv.sudoUser != "", pids: make(chan int, 2), events: make(chan filterEvent, 8)}
	if inv.password {
		f.prompt = []byte(sudoPrompt)
	}
	return f
}

// event reports e without ever blocking (sudo prompts at most a handful
// of times).
func (f *stderrFilter) event(e filterEvent) {
	select {
	case f.events <- e:
	default:
	}
}

// Write implements io.Writer.
func (f *stderrFilter) Write(p []byte) (int, error) {
	if f.passing {
		return f.out.Write(p)
	}
	f.pending = append(f.pending, p...)
	for !f.passing {
		if f.prompt != nil && bytes.HasPrefix(f.pending, f.prompt) {
			// sudo writes its prompt with no newline after it.
			f.pending = f.pending[len(f.prompt):]
			f.event(sudoPrompted)
			continue
		}
		i := bytes.IndexByte(f.pending, '\n')
		if i < 0 {
			break
		}
		f.headerLine(f.pending[:i+1])
		f.pending = f.pending[i+1:]
	}
	if f.passing {
		f.flush()
	}
	return len(p), nil
}

// headerLine handles one line (with its newline) of the header.
func (f *stderrFilter) headerLine(line []byte) {
	text := string(bytes.TrimSuffix(line, []byte("\n")))
	if pid, ok := markerPID(text, pidMarker); ok {
		f.report(pid)
		f.passing = !f.sudo
		return
	}
	if pid, ok := markerPID(text, sudoMarker); ok && f.sudo {
		f.report(pid)
		f.sudoOK, f.passing = true, true
		f.event(sudoStarted)
		return
	}
	f.out.Write(line)
}

// report passes on a process group id without ever blocking.
func (f *stderrFilter) report(pid int) {
	select {
	case f.pids <- pid:
	default:
	}
}

// flush passes on what is left of an incomplete header line.
func (f *stderrFilter) flush() {
	f.out.Write(f.pending)
	f.pending = nil
}

// markerPID parses "MARKER<pid>".
func markerPID(line, marker string) (int, bool) {
	rest, ok := strings.CutPrefix(line, marker)
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(rest)
	return pid, err == nil && pid > 1
}

// groups returns the process groups to signal for an aborted command: the
// login shell's (waiting up to pidWait for it) and, with sudo, the one of
// sudo's command (waiting up to innerPIDWait more). None if the command
// ends meanwhile.
func (f *stderrFilter) groups(sudo bool, done <-chan error) []int {
	waits := []time.Duration{pidWait}
	if sudo {
		waits = append(waits, innerPIDWait)
	}
	var groups []int
	for _, wait := range waits {
		pid, ended := f.awaitPID(wait, done)
		if ended {
			return nil
		}
		if pid == 0 {
			break
		}
		groups = append(groups, pid)
	}
	return groups
}

// awaitPID waits up to d for the next reported process id; it returns 0 on
// timeout, and ended=true if the command finished first.
func (f *stderrFilter) awaitPID(d time.Duration, done <-chan error) (pid int, ended bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case pid := <-f.pids:
		return pid, false
	case <-done:
		return 0, true
	case <-timer.C:
		return 0, false
	}
}
