package runlock

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

func TestLockInfoRoundTrip(t *testing.T) {
	in := LockInfo{Host: "ctl 1", User: "alice", PID: 4242, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Command: "restart", Token: "abc123"}
	got := parseLock(in.encode())
	in.Host = "ctl 1"
	if got != in {
		t.Fatalf("parseLock(encode()) = %+v, want %+v", got, in)
	}
	if s := got.String(); !strings.Contains(s, "carbonctl restart by alice@ctl 1 (pid 4242) since 2026-01-02T03:04:05Z") {
		t.Errorf("String() = %q", s)
	}
	if l := parseLock("host=a\nhost\nnoise\npid=x\n"); l.Host != "a" || l.PID != 0 {
		t.Errorf("parseLock of junk = %+v", l)
	}
}

func TestStaleReason(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	alive := func(pid int) bool { return pid == 10 }
	cases := []struct {
		name string
		l    LockInfo
		want string // substring; "" = not stale
	}{
		{"live local run", LockInfo{Host: "me", PID: 10, Started: now.Add(-time.Minute)}, ""},
		{"dead local run", LockInfo{Host: "me", PID: 11, Started: now.Add(-time.Minute)}, "process 11 is no longer running on me"},
		{"other machine, recent", LockInfo{Host: "other", PID: 11, Started: now.Add(-time.Hour)}, ""},
		{"other machine, old", LockInfo{Host: "other", PID: 11, Started: now.Add(-7 * time.Hour)}, "7h0m0s old"},
		{"live but too old", LockInfo{Host: "me", PID: 10, Started: now.Add(-LockMaxAge - time.Minute)}, "more than 6h0m0s"},
		{"unreadable", LockInfo{}, "unreadable"},
	}
	for _, c := range cases {
		got, dead := staleReason(c.l, now, "me", alive)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: staleReason = %q, want %q", c.name, got, c.want)
		}
		if wantDead := c.name == "dead local run"; dead != wantDead {
			t.Errorf("%s: dead = %v, want %v", c.name, dead, wantDead)
		}
	}
}

func TestLockHeldMessage(t *testing.T) {
	h := LockInfo{Host: "ctl", User: "bob", PID: 7, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Command: "up"}
	live := (&LockHeldError{Path: "10.0.0.1:/var/lib/carbonctl/c.lock", Holder: h}).Error()
	for _, want := range []string{"10.0.0.1:/var/lib/carbonctl/c.lock", "carbonctl up by bob@ctl (pid 7) since 2026-01-02T03:04:05Z", "wait for it"} {
		if !strings.Contains(live, want) {
			t.Errorf("live lock message %q lacks %q", live, want)
		}
	}
	stale := (&LockHeldError{Path: "p", Holder: h, Stale: "process 7 is no longer running on ctl"}).Error()
	if !strings.Contains(stale, "stale (process 7") || !strings.Contains(stale, "--break-lock") {
		t.Errorf("stale lock message %q", stale)
	}
}

func TestLockScripts(t *testing.T) {
	info := LockInfo{Host: "h", User: "u'x", PID: 1, Started: time.Unix(0, 0), Command: "up", Token: "tok"}
	s := lockScript(LockPath("esb"), info)
	for _, want := range []string{"set -C", "'/var/lib/carbonctl/esb.lock'", `u'\''x`, `echo "held $(stat -c %u`} {
		if !strings.Contains(s, want) {
			t.Errorf("lockScript lacks %q:\n%s", want, s)
		}
	}
	if r := removeIfScript("/l", "tok"); !strings.Contains(r, "grep -qxF 'token=tok' '/l'") {
		t.Errorf("removeIfScript = %q", r)
	}
}

// TestLockScriptsInShell runs the lock scripts in the local sh: the second
// taker sees the first one's lock, only the owner's token removes it.
func TestLockScriptsInShell(t *testing.T) {
	p := t.TempDir() + "/locks/c.lock"
	sh := func(script string) string {
		out, err := exec.Command("sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("sh: %v\n%s", err, out)
		}
		return string(out)
	}
	first := LockInfo{Host: "a", User: "u", PID: 1, Started: time.Unix(100, 0).UTC(), Command: "up", Token: "t1"}
	second := first
	second.Token, second.Command = "t2", "restart"
	if out := sh(lockScript(p, first)); out != "acquired\n" {
		t.Fatalf("first take: %q", out)
	}
	out := sh(lockScript(p, second))
	status, rest, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(status, "held ") || parseLock(rest) != first {
		t.Fatalf("second take: %q", out)
	}
	sh(removeIfScript(p, "t2"))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("another run's token removed the lock: %v", err)
	}
	sh(removeIfScript(p, "t1"))
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("the owner's release left the lock: %v", err)
	}
}

func TestPlantedBy(t *testing.T) {
	tests := []struct {
		status  string
		owner   int
		planted bool
	}{
		{"held 1000 1000", 1000, false}, // the login user's own lock
		{"held 0 1000", 0, false},       // root's
		{"held 0 0", 0, false},
		{"held 1001 1000", 1001, true}, // another local user's
		{"held 1001 0", 1001, true},    // planted where root logs in
		{"held  1000", 0, false},       // owner unknown (the file vanished): honoured, retried
		{"held", 0, false},
		{"acquired", 0, false},
	}
	for _, tt := range tests {
		owner, planted := plantedBy(tt.status)
		if owner != tt.owner || planted != tt.planted {
			t.Errorf("plantedBy(%q) = %d, %v; want %d, %v", tt.status, owner, planted, tt.owner, tt.planted)
		}
	}
}

// TestPlantedLockInShell plants a lock owned by another user in a sticky
// directory (as root, like the shared /run/lock): lockScript reports its
// owner, removeOwnedScript removes it, and then the lock is taken.
func TestPlantedLockInShell(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root to plant a lock owned by another user")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "carbonctl-c.lock")
	forged := LockInfo{Host: "elsewhere", User: "root", PID: 1, Started: time.Now().UTC(), Command: "up", Token: "x"}
	if err := os.WriteFile(p, []byte(forged.encode()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	sh := func(script string) string {
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sh: %v\n%s", err, out)
		}
		return string(out)
	}
	info := LockInfo{Host: "ctl", User: "root", PID: 42, Started: time.Now().UTC(), Command: "up", Token: "mine"}
	status, _, _ := strings.Cut(sh(lockScript(p, info)), "\n")
	owner, planted := plantedBy(status)
	if !planted || owner != 65534 {
		t.Fatalf("lockScript status %q: owner %d, planted %v", status, owner, planted)
	}
	sh(removeOwnedScript(p, 0)) // another owner: kept
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("removeOwnedScript removed a file of another owner: %v", err)
	}
	sh(removeOwnedScript(p, owner))
	if got := sh(lockScript(p, info)); got != "acquired\n" {
		t.Fatalf("after removing the planted lock: %q", got)
	}
}

func TestLockPlaceFor(t *testing.T) {
	sticky := os.ModeSticky | 0o777
	tests := []struct {
		name    string
		runLock *remote.File
		want    Place
	}{
		{"debian /run/lock", &remote.File{Exists: true, IsDir: true, Mode: sticky}, Place{Path: "/run/lock/carbonctl-esb.lock"}},
		{"root-only /run/lock", &remote.File{Exists: true, IsDir: true, Mode: 0o755}, Place{Path: "/var/lib/carbonctl/esb.lock", As: "root"}},
		{"writable but not sticky", &remote.File{Exists: true, IsDir: true, Mode: 0o777}, Place{Path: "/var/lib/carbonctl/esb.lock", As: "root"}},
		{"no /run/lock", &remote.File{}, Place{Path: "/var/lib/carbonctl/esb.lock", As: "root"}},
		{"not read", nil, Place{Path: "/var/lib/carbonctl/esb.lock", As: "root"}},
	}
	for _, tt := range tests {
		if got := PlaceFor("esb", tt.runLock); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// TestLockProbe runs the batch-read lock probe with the local sh: it takes
// the lock in a world-writable sticky directory, reports the holder when
// the lock is taken, and declines any other directory.
func TestLockProbe(t *testing.T) {
	sticky := t.TempDir()
	if err := os.Chmod(sticky, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	plain := t.TempDir()
	info := LockInfo{Host: "ctl", User: "op", PID: 42, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Command: "up", Token: "t0k"}
	run := func(p string) string {
		out, err := exec.Command("sh", "-c", Probe(p, info)).Output()
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		return string(out)
	}
	lock := filepath.Join(sticky, "carbonctl-c.lock")
	if got := run(lock); got != "acquired\n" {
		t.Errorf("first probe = %q, want acquired", got)
	}
	got := run(lock)
	status, rest, _ := strings.Cut(got, "\n")
	if !strings.HasPrefix(status, "held ") || parseLock(rest) != info {
		t.Errorf("second probe = %q, want held by %v", got, info)
	}
	if got := run(filepath.Join(plain, "carbonctl-c.lock")); got != "unusable\n" {
		t.Errorf("probe in a non-sticky directory = %q, want unusable", got)
	}
}
