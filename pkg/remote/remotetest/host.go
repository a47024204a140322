// Package remotetest is a fake remote.Host: a machine in memory with a file
// system (regular files with content, mode, owner and group; directories;
// symbolic links) that answers Gather and WriteFile the way the SSH
// implementation does, and answers Run and Stream from commands a test
// scripts, recording every call. It lets step kinds be tested as data:
// facts in, actions and files out, without an sshd.
//
// Whatever the fake cannot answer faithfully fails the test loudly: a
// command or probe nobody scripted is reported with testing.TB.Errorf and
// returns an error.
package remotetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// AnyUser in Command.As matches a command run as any user.
const AnyUser = "*"

// Host is one fake machine. It is safe for concurrent use.
type Host struct {
	tb   Reporter
	addr string

	mu      sync.Mutex
	fs      *fsys
	login   string
	probes  map[string]remote.ProbeResult
	cmds    []*Command
	calls   []Call
	writes  []Write
	reads   []Read
	dialTCP func(addr string) (net.Conn, error)
	lost    error
	closed  bool
	// noSudo makes every sudo fail, as for a login user without NOPASSWD.
	noSudo bool
}

// Reporter is the part of testing.TB the fake reports failures to.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// NewHost returns a host at addr holding only "/" (root's, 0755), whose
// login user is root until a Dial says otherwise.
func NewHost(tb Reporter, addr string) *Host {
	return &Host{tb: tb, addr: addr, fs: newFS(), login: "root", probes: map[string]remote.ProbeResult{}}
}

// NewLinuxHost returns a host laid out like a fresh Debian machine: /etc
// with passwd, group and hosts, /tmp and /run/lock (sticky, world-writable),
// /run, /opt, /var/lib, all root's.
func NewLinuxHost(tb Reporter, addr string) *Host {
	h := NewHost(tb, addr)
	for _, d := range []string{"/etc", "/run", "/opt", "/var", "/var/lib", "/usr", "/usr/lib", "/home"} {
		h.Dir(d, 0o755, "root", "root")
	}
	h.Dir("/tmp", 0o777|os.ModeSticky, "root", "root")
	h.Dir("/run/lock", 0o777|os.ModeSticky, "root", "root")
	h.File("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0o644, "root", "root")
	h.File("/etc/group", "root:x:0:\n", 0o644, "root", "root")
	h.File("/etc/hosts", "127.0.0.1\tlocalhost\n", 0o644, "root", "root")
	return h
}

// SetLogin sets the login user (Network.Dial sets it from the Config).
func (h *Host) SetLogin(user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.login = user
}

// Addr is the address the host answers on.
func (h *Host) Addr() string { return h.addr }

// File puts a regular file at p (its missing directories are created,
// root's, 0755).
func (h *Host) File(p, content string, mode os.FileMode, owner, group string) *Host {
	return h.Put(p, &Entry{Kind: Regular, Data: []byte(content), Mode: mode, Owner: owner, Group: group})
}

// Dir puts a directory at p.
func (h *Host) Dir(p string, mode os.FileMode, owner, group string) *Host {
	return h.Put(p, &Entry{Kind: Directory, Mode: mode, Owner: owner, Group: group})
}

// Symlink puts a symbolic link at p pointing to target.
func (h *Host) Symlink(p, target, owner string) *Host {
	return h.Put(p, &Entry{Kind: Symlink, Target: target, Mode: 0o777, Owner: owner, Group: owner})
}

// Put puts e at p, replacing what was there.
func (h *Host) Put(p string, e *Entry) *Host {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fs.set(p, e)
	return h
}

// Remove deletes p (and what is below it).
func (h *Host) Remove(p string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fs.remove(p)
}

// Lookup returns a copy of the entry at p (symbolic links not followed),
// nil when there is none.
func (h *Host) Lookup(p string) *Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, e := h.fs.resolve(p, false)
	if e == nil {
		return nil
	}
	c := *e
	c.Data = slices.Clone(e.Data)
	return &c
}

// Paths lists every path of the file system, sorted.
func (h *Host) Paths() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fs.paths()
}

// Probe scripts what the gather probe called name prints and its exit
// status. A probe nobody scripted fails the test.
func (h *Host) Probe(name, stdout string, exit int) *Host {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.probes[name] = remote.ProbeResult{Stdout: stdout, ExitCode: exit}
	return h
}

// SetLost makes the host report err from Lost, and fail every call after.
func (h *Host) SetLost(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lost = err
}

// DenySudo makes sudo refuse (a login user without NOPASSWD sudo): every
// call that needs another user than the login user fails.
func (h *Host) DenySudo() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.noSudo = true
}

// HandleTCP makes DialTCP answer with dial.
func (h *Host) HandleTCP(dial func(addr string) (net.Conn, error)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dialTCP = dial
}

// Read is one Gather call: what it asked and how many round trips the SSH
// implementation would have needed (2 when the login user could not read
// something and root had to).
type Read struct {
	Request    remote.GatherRequest
	RoundTrips int
}

// Reads lists the Gather calls so far.
func (h *Host) Reads() []Read {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reads)
}

// usable fails when the host cannot take a call.
func (h *Host) usable(ctx context.Context) error {
	switch {
	case h.lost != nil:
		return h.lost
	case h.closed:
		return fmt.Errorf("remotetest: the connection to %s is closed", h.addr)
	}
	return ctx.Err()
}

// Gather implements remote.Host: the same Facts the SSH implementation
// returns for the same files. Symbolic links are followed; a missing path
// (or a dangling link) has Exists false; directories have Size 4096 and no
// Content; regular files in Contents have their bytes (empty, not nil, when
// empty). Probes are answered from Probe, by name; an unscripted one fails
// the test. Paths in As are read as their user, which matters only for
// the round trips counted in Reads.
func (h *Host) Gather(ctx context.Context, req remote.GatherRequest) (*remote.Facts, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.usable(ctx); err != nil {
		return nil, fmt.Errorf("gathering facts on %s: %w", h.addr, err)
	}
	readers, contents, err := h.gatherPlan(req)
	if err != nil {
		return nil, fmt.Errorf("gathering facts on %s: %w", h.addr, err)
	}
	facts := &remote.Facts{Files: map[string]*remote.File{}, Probes: map[string]remote.ProbeResult{}}
	trips := 1
	var denied []string
	for p, reader := range readers {
		f, readable := h.stat(p, reader, contents[p])
		if !readable {
			trips = 2
			if !h.readable(p, "root") {
				denied = append(denied, p)
			}
		}
		facts.Files[p] = f
	}
	if len(denied) > 0 {
		slices.Sort(denied)
		return nil, fmt.Errorf("gathering facts on %s: root cannot read %s", h.addr, strings.Join(denied, ", "))
	}
	for name := range req.Probes {
		r, ok := h.probes[name]
		if !ok {
			h.tb.Errorf("remotetest: %s: Gather ran probe %q, which the test did not script:\n%s", h.addr, name, req.Probes[name])
			return nil, fmt.Errorf("gathering facts on %s: remotetest: unscripted probe %q", h.addr, name)
		}
		r.Stdout = strings.ReplaceAll(r.Stdout, "\x00", "")
		facts.Probes[name] = r
	}
	h.reads = append(h.reads, Read{Request: req, RoundTrips: trips})
	return facts, nil
}

// gatherPlan checks req as the SSH implementation does and returns who
// reads each path and which paths' content is wanted.
func (h *Host) gatherPlan(req remote.GatherRequest) (map[string]string, map[string]bool, error) {
	readers := map[string]string{}
	contents := map[string]bool{}
	add := func(r remote.GatherRequest, user string) error {
		for _, list := range [][]string{r.Contents, r.Stats} {
			for _, p := range list {
				if !path.IsAbs(p) || strings.ContainsAny(p, "\n\x00") {
					return fmt.Errorf("path %q must be absolute and must not contain newlines", p)
				}
				readers[p] = user
			}
		}
		for _, p := range r.Contents {
			contents[p] = true
		}
		return nil
	}
	if err := add(remote.GatherRequest{Contents: req.Contents, Stats: req.Stats}, h.login); err != nil {
		return nil, nil, err
	}
	for user, r := range req.As {
		reader := user
		if h.login == "root" || h.login == user {
			reader = h.login
		} else if !validUser(user) {
			return nil, nil, fmt.Errorf("invalid user name %q", user)
		} else if h.noSudo {
			reader = "" // sudo refused: the paths count as denied, root reads them
		}
		if err := add(r, reader); err != nil {
			return nil, nil, err
		}
	}
	if h.noSudo && h.login != "root" {
		for p, reader := range readers {
			if reader == "" || !h.readable(p, reader) {
				return nil, nil, fmt.Errorf("sudo on %s needs a password for %s: configure NOPASSWD sudo or log in as root", h.addr, h.login)
			}
		}
	}
	return readers, contents, nil
}

// readable reports whether user can tell what p is, and read it if it is
// a regular file (the gather script's type "x" when not).
func (h *Host) readable(p, user string) bool {
	real, e := h.fs.resolve(p, true)
	if e == nil {
		// A missing path is "-" only when the deepest existing path above
		// it, as the script strips components, may be searched: else p
		// may hide behind it (or is below a file, which even root cannot
		// tell).
		a := path.Dir(path.Clean(p))
		for a != "/" {
			if _, x := h.fs.resolve(a, true); x != nil {
				break
			}
			a = path.Dir(a)
		}
		realA, x := h.fs.resolve(a, true)
		return h.fs.reachable(user, realA) && h.fs.may(user, x, execute)
	}
	if user == "root" {
		return true
	}
	if !h.fs.reachable(user, real) {
		return false
	}
	return e.Kind != Regular || h.fs.may(user, e, read)
}

// stat is what Gather says about p read by reader, and whether reader
// could read it (root reads it otherwise).
func (h *Host) stat(p, reader string, content bool) (*remote.File, bool) {
	ok := reader != "" && h.readable(p, reader)
	_, e := h.fs.resolve(p, true)
	f := &remote.File{Path: p}
	if e == nil {
		return f, ok
	}
	f.Exists, f.IsDir = true, e.Kind == Directory
	f.Mode = e.Mode & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
	f.UID, f.GID = h.fs.id("/etc/passwd", e.Owner), h.fs.id("/etc/group", e.Group)
	f.Owner, f.Group = e.Owner, e.Group
	switch e.Kind {
	case Directory:
		f.Size = 4096
	case Regular:
		f.Size = int64(len(e.Data))
		if content {
			f.Content = append([]byte{}, e.Data...)
		}
	}
	return f, ok
}

// validUser is remote's rule for user names on command lines.
func validUser(name string) bool {
	if name == "" || name[0] == '-' {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' || r == ':'
	})
}

// DialTCP implements remote.Host: the handler's connection, or an error
// when the test gave none.
func (h *Host) DialTCP(ctx context.Context, addr string) (net.Conn, error) {
	h.mu.Lock()
	dial, err := h.dialTCP, h.usable(ctx)
	h.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("opening a tunnel through %s to %s: %w", h.addr, addr, err)
	}
	if dial == nil {
		return nil, fmt.Errorf("opening a tunnel through %s to %s: remotetest: the test gave this host no TCP handler (HandleTCP)", h.addr, addr)
	}
	return dial(addr)
}

// Lost implements remote.Host.
func (h *Host) Lost() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lost
}

// User implements remote.Host: the login user.
func (h *Host) User() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.login
}

// Close implements remote.Host; calls after it fail until the next Dial.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	return nil
}

// Dump renders the file system, one path a line, for failure messages.
func (h *Host) Dump() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b bytes.Buffer
	for _, p := range h.fs.paths() {
		fmt.Fprintf(&b, "%s: %s\n", p, h.fs.entries[p].describe())
	}
	return b.String()
}

var _ remote.Host = (*Host)(nil)
