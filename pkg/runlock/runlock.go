// Package runlock is the cluster's run lock: runs that change a cluster
// take a lock file on the manager host, so that two operators (or an
// operator and cron) never change it at once.
package runlock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Run lock: runs that change a cluster take a lock file on the manager host,
// created atomically (noclobber), so that two runs never overlap.
const (
	lockDir = "/var/lib/carbonctl"
	// SharedDir holds the lock instead when the manager host has it as a
	// world-writable sticky directory (Debian, Ubuntu): the login user then
	// takes and releases the lock without sudo, which costs a PAM session
	// per call and would double the cost of a no-op run.
	SharedDir = "/run/lock"
	// LockMaxAge is the age after which a lock is stale whoever holds it.
	LockMaxAge = 6 * time.Hour
	// lockReleaseTimeout bounds the release, which runs after ctx may have ended.
	lockReleaseTimeout = 15 * time.Second
)

// LockInfo is what a lock file records about the run holding it.
type LockInfo struct {
	Host    string    // control machine's host name
	User    string    // user on the control machine
	PID     int       // carbonctl's process id there
	Started time.Time // when the lock was taken
	Command string    // e.g. "up", "restart"
	Token   string    // random, so that only its owner releases it
}

// LockPath is the lock file of a cluster on a manager host that has no
// shared lock directory (see PlaceFor).
func LockPath(cluster string) string {
	return path.Join(lockDir, cluster+".lock")
}

// Place is where a cluster's lock lives on a host, and who writes it
// ("" is the login user).
type Place struct{ Path, As string }

// PlaceFor picks the lock's place from what the host's /run/lock is.
func PlaceFor(cluster string, runLock *remote.File) Place {
	if runLock != nil && runLock.Exists && runLock.IsDir && runLock.Mode&0o002 != 0 && runLock.Mode&os.ModeSticky != 0 {
		return Place{Path: SharedPath(cluster)}
	}
	return Place{Path: LockPath(cluster), As: "root"}
}

// SharedPath is a cluster's lock file in the shared lock directory.
func SharedPath(cluster string) string {
	return path.Join(SharedDir, "carbonctl-"+cluster+".lock")
}

// NewLockInfo describes this process running command.
func NewLockInfo(command string) LockInfo {
	hostname, _ := os.Hostname()
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	buf := make([]byte, 8)
	_, _ = rand.Read(buf)
	return LockInfo{Host: hostname, User: name, PID: os.Getpid(), Started: time.Now().UTC(), Command: command, Token: hex.EncodeToString(buf)}
}

// encode renders the lock file's content, one key=value a line.
func (l LockInfo) encode() string {
	return fmt.Sprintf("host=%s\nuser=%s\npid=%d\nstarted=%s\ncommand=%s\ntoken=%s\n",
		oneLine(l.Host), oneLine(l.User), l.PID, l.Started.UTC().Format(time.RFC3339), oneLine(l.Command), l.Token)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// parseLock reads a lock file's content; unknown keys are ignored.
func parseLock(text string) LockInfo {
	var l LockInfo
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch k {
		case "host":
			l.Host = v
		case "user":
			l.User = v
		case "pid":
			l.PID, _ = strconv.Atoi(v)
		case "started":
			l.Started, _ = time.Parse(time.RFC3339, v)
		case "command":
			l.Command = v
		case "token":
			l.Token = v
		}
	}
	return l
}

// String describes the holder for messages.
func (l LockInfo) String() string {
	started := "at an unknown time"
	if !l.Started.IsZero() {
		started = "since " + l.Started.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("carbonctl %s by %s@%s (pid %d) %s", l.Command, l.User, l.Host, l.PID, started)
}

// staleReason says why a lock is stale, or "" if its holder may still run.
// localHost is this control machine; alive tells whether a local pid runs.
// dead is true when the holder certainly ended: it ran on this machine and
// its process is gone (a reused pid can only make a dead run look alive).
func staleReason(l LockInfo, now time.Time, localHost string, alive func(int) bool) (reason string, dead bool) {
	if l.Host == localHost && l.PID > 0 && !alive(l.PID) {
		return fmt.Sprintf("process %d is no longer running on %s", l.PID, localHost), true
	}
	if l.Started.IsZero() || l.PID <= 0 {
		return "the lock file is unreadable", false
	}
	if age := now.Sub(l.Started); age > LockMaxAge {
		return fmt.Sprintf("it is %s old (more than %s)", age.Round(time.Minute), LockMaxAge), false
	}
	return "", false
}

// pidAlive reports whether a process of this machine exists.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// LockHeldError is returned when another run holds the cluster's lock.
type LockHeldError struct {
	Path   string
	Holder LockInfo
	Stale  string // why the lock is stale; "" if its holder may still run
}

func (e *LockHeldError) Error() string {
	msg := fmt.Sprintf("another run holds the lock %s: %s", e.Path, e.Holder)
	if e.Stale != "" {
		return msg + "; the lock is stale (" + e.Stale + "): re-run with --break-lock to break it"
	}
	return msg + "; wait for it to finish"
}

// lockScript tries to create the lock file atomically; it prints
// "acquired", or "held OWNER ME" (the lock file's owner uid and the login
// user's, see plantedBy) and the holder's lock file.
func lockScript(p string, info LockInfo) string {
	return fmt.Sprintf(`umask 022
mkdir -p %[1]s || exit 1
if ( set -C; printf '%%s' %[3]s > %[2]s ) 2>/dev/null; then echo acquired; exit 0; fi
echo "held $(stat -c %%u -- %[2]s 2>/dev/null) ${SUDO_UID:-$(id -u)}"
cat %[2]s`, remote.Quote(path.Dir(p)), remote.Quote(p), remote.Quote(info.encode()))
}

// plantedBy reads lockScript's "held OWNER ME" line: planted is true when
// the lock file belongs to neither the login user (ME) nor root, i.e. any
// other local user could have written it to block every run. A line that
// does not say who owns the file is honoured.
func plantedBy(status string) (owner int, planted bool) {
	f := strings.Fields(status)
	if len(f) != 3 || f[0] != "held" {
		return 0, false
	}
	owner, err1 := strconv.Atoi(f[1])
	me, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return owner, owner != 0 && owner != me
}

// removeOwnedScript removes the lock file only if uid still owns it.
func removeOwnedScript(p string, uid int) string {
	return fmt.Sprintf(`[ "$(stat -c %%u -- %[1]s 2>/dev/null)" = %[2]d ] && rm -f -- %[1]s; exit 0`, remote.Quote(p), uid)
}

// ProbeName names the gather probe that takes the run lock.
const ProbeName = "run-lock"

// lockProbe takes the lock at p in the batch read itself, saving a round
// trip, when the login user may: p's directory is world-writable and
// sticky (see PlaceFor). It prints what lockScript prints, or
// "unusable" when the directory is not such a place.
func Probe(p string, info LockInfo) string {
	d := remote.Quote(path.Dir(p))
	return fmt.Sprintf("[ -d %[1]s ] && [ -w %[1]s ] && [ -k %[1]s ] || { echo unusable; exit 0; }\n%[2]s", d, lockScript(p, info))
}

// removeIfScript removes the lock file only if it still holds token.
func removeIfScript(p, token string) string {
	return fmt.Sprintf(`grep -qxF %s %s 2>/dev/null && rm -f %s; exit 0`, remote.Quote("token="+token), remote.Quote(p), remote.Quote(p))
}

// Lock is a held run lock.
type Lock struct {
	c    remote.Host
	addr string
	Path string // the lock file on the manager host
	as   string // who took it, and so removes it
	info LockInfo
	// prepared is its release made ready in advance (UsePrepared).
	prepared remote.Deferred
}

// ReleaseScript removes the lock file at path only while it holds token: a
// release that may be made ready before the lock is taken.
func ReleaseScript(path, token string) string { return removeIfScript(path, token) }

// UsePrepared gives l a release made ready in advance (remote.Host.Defer of
// ReleaseScript(path, l's token)) when l is the login user's lock at path;
// it reports whether l took it. Release then costs one round trip.
func (l *Lock) UsePrepared(path string, d remote.Deferred) bool {
	if l == nil || l.as != "" || l.Path != path {
		return false
	}
	l.prepared = d
	return true
}

// Acquire takes the cluster's lock on h. A lock whose run certainly
// died (on this machine) is broken, and so is, with breakStale, any other
// stale one; a lock whose holder may still run is always refused. broken
// describes a lock it broke. tried is lockScript's output when the batch
// read already ran it (lockProbe), else "".
func Acquire(ctx context.Context, c remote.Host, addr string, place Place, info LockInfo, breakStale bool, tried string) (l *Lock, broken string, err error) {
	p := place.Path
	for attempt := 0; attempt < 2; attempt++ {
		out := tried
		if attempt > 0 || tried == "" {
			if out, err = remote.RunScript(ctx, c, addr, place.As, lockScript(p, info), nil, "take the run lock "+p); err != nil {
				return nil, broken, err
			}
		}
		status, rest, _ := strings.Cut(out, "\n")
		if strings.TrimSpace(status) == "acquired" {
			return &Lock{c: c, addr: addr, Path: p, as: place.As, info: info}, broken, nil
		}
		if owner, planted := plantedBy(status); planted && attempt == 0 {
			if _, err := remote.RunScript(ctx, c, addr, "root", removeOwnedScript(p, owner), nil, "remove the planted lock "+p); err != nil {
				return nil, broken, err
			}
			broken = fmt.Sprintf("removed the run lock %s:%s: it belongs to uid %d, and only lock files of the login user or root count", addr, p, owner)
			continue
		}
		holder := parseLock(rest)
		hostname, _ := os.Hostname()
		reason, dead := staleReason(holder, time.Now(), hostname, pidAlive)
		held := &LockHeldError{Path: addr + ":" + p, Holder: holder, Stale: reason}
		if reason == "" || !(dead || breakStale) || attempt > 0 {
			return nil, broken, held
		}
		if _, err := remote.RunScript(ctx, c, addr, "root", removeIfScript(p, holder.Token), nil, "break the stale lock "+p); err != nil {
			return nil, broken, err
		}
		broken = fmt.Sprintf("broke the stale run lock %s of %s: %s", held.Path, holder, reason)
	}
	return nil, broken, fmt.Errorf("could not take the run lock %s", p)
}

// Release removes the lock if this run still holds it. It uses its own
// timeout, so that it also works after the run's context ended.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), lockReleaseTimeout)
	defer cancel()
	if l.prepared != nil {
		if res, err := l.prepared.Run(ctx); err == nil && res.ExitCode == 0 {
			return nil
		}
	}
	_, err := remote.RunScript(ctx, l.c, l.addr, l.as, removeIfScript(l.Path, l.info.Token), nil, "release the run lock "+l.Path)
	return err
}
