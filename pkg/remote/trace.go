package remote

import (
	"sync/atomic"
	"time"
)

// Tracef receives one line per traced event (Config.Trace). Lines name the
// host, the phase and how long it took; never a script, a path or data.
type Tracef func(format string, args ...any)

// tracer times the round-trip-bound phases of one connection: TCP connect,
// key exchange, authentication, and each session's opening and command. A
// nil tracer traces nothing.
type tracer struct {
	fn       Tracef
	addr     string
	began    time.Time
	last     atomic.Int64 // UnixNano of the previous mark of the connection phases
	sessions atomic.Int32 // sessions opened so far
}

// newTracer returns a tracer for addr, or nil when fn is nil.
func newTracer(fn Tracef, addr string) *tracer {
	if fn == nil {
		return nil
	}
	t := &tracer{fn: fn, addr: addr, began: time.Now()}
	t.last.Store(t.began.UnixNano())
	return t
}

// mark reports a connection phase that ended now, timed from the previous one.
func (t *tracer) mark(phase string) {
	if t == nil {
		return
	}
	now := time.Now().UnixNano()
	prev := t.last.Swap(now)
	t.fn("ssh %s: %s %s\n", t.addr, phase, time.Duration(now-prev).Round(time.Millisecond))
}

// connected reports the whole connection setup.
func (t *tracer) connected() {
	if t == nil {
		return
	}
	t.fn("ssh %s: connected in %s\n", t.addr, time.Since(t.began).Round(time.Millisecond))
}

// session returns a new session's number, for session and command lines.
func (t *tracer) session() int32 {
	if t == nil {
		return 0
	}
	return t.sessions.Add(1)
}

// timed reports a phase of session n (opening it, running its command)
// that began at since.
func (t *tracer) timed(n int32, what, as string, since time.Time) {
	if t == nil {
		return
	}
	if as == "" {
		as = "login user"
	}
	t.fn("ssh %s: session %d (as %s) %s %s\n", t.addr, n, as, what, time.Since(since).Round(time.Millisecond))
}
