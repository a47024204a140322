package remote

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// ---- host keys and Dial ----

func TestDialUnknownHostRefused(t *testing.T) {
	env := needSSHD(t)
	file := filepath.Join(t.TempDir(), "known_hosts") // missing file: nothing is known
	keys, err := NewHostKeys(file, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Dial(context.Background(), "127.0.0.1", env.config("root", file), keys)
	mustContain(t, err, env.addr(), "is not in known_hosts "+file, "SHA256:", "--accept-new-host-keys")
	// Without HostKeys, Dial makes one from the Config.
	_, err = Dial(context.Background(), "127.0.0.1", env.config("root", file), nil)
	mustContain(t, err, env.addr(), "is not in known_hosts "+file)
	if _, statErr := os.Stat(file); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("known_hosts was created without accept-new")
	}
}

func TestDialAcceptNewAppendsOnce(t *testing.T) {
	env := needSSHD(t)
	file := filepath.Join(t.TempDir(), "ssh", "known_hosts") // directory missing too
	keys, err := NewHostKeys(file, true)
	if err != nil {
		t.Fatal(err)
	}
	var recorded bytes.Buffer
	keys.Log = &recorded
	// Several parallel Dials to the same new host must record it once.
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(context.Background(), "127.0.0.1", env.config("root", file), keys)
			if err == nil {
				c.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	before := readFile(t, file)
	lines := strings.Split(strings.TrimSpace(string(before)), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "[127.0.0.1]:"+strconv.Itoa(env.port)+" ") {
		t.Fatalf("known_hosts = %q, want one line for [127.0.0.1]:%d", before, env.port)
	}
	assertPerm(t, file, 0o600)
	assertPerm(t, filepath.Dir(file), 0o700)
	// The operator sees what was recorded: host, key type, fingerprint.
	_, _, pub, _, _, err := ssh.ParseKnownHosts(before)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("recorded host key: [127.0.0.1]:%d %s %s (in %s)\n", env.port, pub.Type(), ssh.FingerprintSHA256(pub), file)
	if recorded.String() != want {
		t.Errorf("printed %q, want %q", recorded.String(), want)
	}

	// Known now: a strict HostKeys accepts it and nothing is appended.
	strict, err := NewHostKeys(file, false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(context.Background(), "127.0.0.1", env.config("root", file), strict)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c, err = Dial(context.Background(), "127.0.0.1", env.config("root", file), keys)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if after := readFile(t, file); !bytes.Equal(before, after) {
		t.Errorf("known_hosts changed on a second Dial: %q", after)
	}
}

func TestDialChangedKeyRefusedEvenWithAcceptNew(t *testing.T) {
	env := needSSHD(t)
	for _, keyType := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256} {
		t.Run(keyType, func(t *testing.T) {
			other := newPublicKey(t, keyType)
			file := env.knownHosts(t, other) // line 2 (line 1 is a comment)
			before := readFile(t, file)
			keys, err := NewHostKeys(file, true)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Dial(context.Background(), "127.0.0.1", env.config("root", file), keys)
			mustContain(t, err, "host key mismatch for "+env.addr(), file+":2", "SHA256:", "man-in-the-middle", "remove the old line")
			if !bytes.Equal(before, readFile(t, file)) {
				t.Errorf("known_hosts was modified")
			}
		})
	}
}

// The classic bug: the library's default preference asks for ecdsa first, so
// a host recorded by its ed25519 key looked changed. Dial must ask for the
// recorded key type.
func TestDialHostKnownByOneKeyType(t *testing.T) {
	env := needSSHD(t)
	if got := offeredHostKeyType(t, env); got != ssh.KeyAlgoECDSA256 {
		t.Logf("note: without HostKeyAlgorithms the server offers %s (the test still checks both types)", got)
	}
	for _, keyType := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256} {
		t.Run(keyType, func(t *testing.T) {
			file := env.knownHosts(t, env.hostKeys[keyType])
			keys, err := NewHostKeys(file, false)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Dial(context.Background(), "127.0.0.1", env.config("root", file), keys)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		})
	}
}

// offeredHostKeyType reports which host key the server shows a client that
// states no preference.
func offeredHostKeyType(t *testing.T, env *sshEnv) string {
	var offered string
	errStop := errors.New("stop")
	_, err := ssh.Dial("tcp", env.addr(), &ssh.ClientConfig{
		User: "root",
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			offered = key.Type()
			return errStop
		},
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("probe dial: %v", err)
	}
	return offered
}

func TestDialWrongIdentity(t *testing.T) {
	env := needSSHD(t)
	wrong := filepath.Join(t.TempDir(), "id_wrong")
	pemBytes, _, err := marshalKey(newPrivateKey(t))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, wrong, pemBytes, 0o600)
	cfg := env.config("root", env.knownHosts(t, env.hostKeys[ssh.KeyAlgoED25519]))
	cfg.IdentityFiles = []string{wrong}
	keys, _ := NewHostKeys(cfg.KnownHostsFile, false)
	_, err = Dial(context.Background(), "127.0.0.1", cfg, keys)
	mustContain(t, err, "authentication to "+env.addr(), `"root"`, wrong)
}

func TestDialEncryptedKeyNeedsAgent(t *testing.T) {
	env := needSSHD(t)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(env.clientRaw, "", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	encrypted := filepath.Join(t.TempDir(), "id_encrypted")
	writeFile(t, encrypted, pem.EncodeToMemory(block), 0o600)
	cfg := env.config("root", env.knownHosts(t, env.hostKeys[ssh.KeyAlgoED25519]))
	cfg.IdentityFiles = []string{encrypted}
	keys, _ := NewHostKeys(cfg.KnownHostsFile, false)

	t.Setenv("SSH_AUTH_SOCK", "")
	_, err = Dial(context.Background(), "127.0.0.1", cfg, keys)
	mustContain(t, err, env.addr(), encrypted, "ssh-agent", "ssh-add")

	// With the key loaded into an agent, the same Config works.
	t.Setenv("SSH_AUTH_SOCK", startAgent(t, env.clientRaw))
	cfg.UseAgent = true
	c, err := Dial(context.Background(), "127.0.0.1", cfg, keys)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// startAgent serves an in-process ssh-agent holding key; returns its socket.
func startAgent(t *testing.T, key any) string {
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer conn.Close(); agent.ServeAgent(keyring, conn) }()
		}
	}()
	return sock
}

func TestDialConnectionRefusedAndTimeout(t *testing.T) {
	env := needSSHD(t)
	file := env.knownHosts(t, env.hostKeys[ssh.KeyAlgoED25519])
	keys, _ := NewHostKeys(file, false)

	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := env.config("root", file)
	cfg.Port = port
	_, err = Dial(context.Background(), "127.0.0.1", cfg, keys)
	mustContain(t, err, "127.0.0.1:"+strconv.Itoa(port), "connection refused")

	// A server that accepts but never speaks.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	cfg.Port = silent.Addr().(*net.TCPAddr).Port
	cfg.ConnectTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err = Dial(context.Background(), "127.0.0.1", cfg, keys)
	mustContain(t, err, silent.Addr().String(), "timed out")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

// ---- Run ----

func TestRun(t *testing.T) {
	env := needSSHD(t)
	c := env.dial(t, "root")
	ctx := context.Background()

	res, err := c.Run(ctx, "", "echo out; echo err >&2; exit 3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitCode != 3 {
		t.Errorf("got %+v", res)
	}
	if c.Host() != "127.0.0.1" || c.User() != "root" {
		t.Errorf("Host/User = %q/%q", c.Host(), c.User())
	}

	// stdin is streamed byte for byte; as "root" needs no sudo for root.
	data := randomBytes(t, 3<<20)
	res, err = c.Run(ctx, "root", "cat; printf x >&2", bytes.NewReader(data))
	if err != nil || res.ExitCode != 0 || !bytes.Equal(res.Stdout, data) || string(res.Stderr) != "x" {
		t.Fatalf("cat: err=%v code=%d len=%d stderr=%q", err, res.ExitCode, len(res.Stdout), res.Stderr)
	}

	// Quoting and a POSIX sh (not the login shell, bash) run the script.
	res, err = c.Run(ctx, "", `set -- "a b" 'c'\''d'; printf '[%s]' "$@"; [ -z "$BASH_VERSION" ] && echo ' sh'`, nil)
	if err != nil || string(res.Stdout) != "[a b][c'd] sh\n" {
		t.Errorf("quoting: %q %v", res.Stdout, err)
	}

	// Killed by a signal: 128+N.
	res, err = c.Run(ctx, "", "kill -s KILL $$", nil)
	if err != nil || res.ExitCode != 128+9 {
		t.Errorf("signal: code %d, err %v", res.ExitCode, err)
	}
}

func TestRunThroughSudo(t *testing.T) {
	env := needSSHD(t)
	ctx := context.Background()
	c := env.dial(t, env.user)
	for as, want := range map[string]string{"": env.user, env.user: env.user, "root": "root", env.pwUser: env.pwUser} {
		res, err := c.Run(ctx, as, "id -un; echo e >&2", nil)
		if err != nil {
			t.Fatalf("as %q: %v", as, err)
		}
		if got := strings.TrimSpace(string(res.Stdout)); got != want || res.ExitCode != 0 {
			t.Errorf("as %q: ran as %q (code %d)", as, got, res.ExitCode)
		}
		// sshd's "Could not chdir to home directory" (the user has none)
		// stays; carbonctl's bookkeeping lines do not.
		if bytes.Contains(res.Stderr, []byte("carbonctl-")) || !bytes.HasSuffix(res.Stderr, []byte("e\n")) {
			t.Errorf("as %q: stderr %q", as, res.Stderr)
		}
	}

	// Exit codes and binary stdin pass through sudo.
	data := randomBytes(t, 1<<20)
	res, err := c.Run(ctx, "root", "cat; exit 7", bytes.NewReader(data))
	if err != nil || res.ExitCode != 7 || !bytes.Equal(res.Stdout, data) {
		t.Fatalf("sudo cat: err=%v code=%d len=%d", err, res.ExitCode, len(res.Stdout))
	}

	// The root login reaches other users through sudo -u.
	root := env.dial(t, "root")
	res, err = root.Run(ctx, env.user, "id -un", nil)
	if err != nil || strings.TrimSpace(string(res.Stdout)) != env.user {
		t.Errorf("root as %s: %q %v", env.user, res.Stdout, err)
	}
}

func TestRunSudoNeedsPassword(t *testing.T) {
	env := needSSHD(t)
	c := env.dial(t, env.pwUser)
	_, err := c.Run(context.Background(), "root", "echo never", nil)
	mustContain(t, err, "sudo on 127.0.0.1 needs a password for login user "+env.pwUser+": set ssh.become_password_env")
	// Gather reads what the login user can read without sudo ...
	if _, err := c.Gather(context.Background(), GatherRequest{Stats: []string{"/"}, Contents: []string{"/etc/hostname"}}); err != nil {
		t.Errorf("gather of readable paths needed sudo: %v", err)
	}
	// ... and goes through sudo for the rest (t.TempDir is 0700, owned by root).
	_, err = c.Gather(context.Background(), GatherRequest{Contents: []string{filepath.Join(t.TempDir(), "f")}})
	mustContain(t, err, "needs a password")
	// Running as oneself needs no sudo.
	if res, err := c.Run(context.Background(), "", "id -un", nil); err != nil || strings.TrimSpace(string(res.Stdout)) != env.pwUser {
		t.Errorf("as self: %q %v", res.Stdout, err)
	}
}

func TestRunCancelStopsRemoteCommand(t *testing.T) {
	env := needSSHD(t)
	for _, login := range []string{"root", env.user} {
		t.Run(login, func(t *testing.T) {
			c := env.dial(t, login)
			// Stopping costs one more command (a login shell, and sudo for
			// a non-root login); root's shell rc files may be slow here.
			start := time.Now()
			if _, err := c.Run(context.Background(), "root", "true", nil); err != nil {
				t.Fatal(err)
			}
			limit := time.Second + 2*time.Since(start)
			pidFile := filepath.Join(env.dir, "sleep-"+login+".pid")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			script := fmt.Sprintf("sleep 30 & echo $! > %s; wait", Quote(pidFile))
			var cancelled time.Time
			go func() {
				waitFor(t, pidFile, 20*time.Second) // the login shell may be slow to start
				cancelled = time.Now()
				cancel()
			}()
			_, err := c.Run(ctx, "root", script, nil)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			took := time.Since(cancelled)
			t.Logf("Run returned %v after cancel (limit %v)", took, limit)
			if took > limit {
				t.Errorf("Run returned %v after cancel, limit %v", took, limit)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(readFile(t, pidFile))))
			if err != nil {
				t.Fatal(err)
			}
			waitGone(t, pid, time.Second)
			// The connection is still usable.
			if res, err := c.Run(context.Background(), "", "echo ok", nil); err != nil || string(res.Stdout) != "ok\n" {
				t.Errorf("after cancel: %q %v", res.Stdout, err)
			}
		})
	}
}

// waitFor waits until file exists and is not empty.
func waitFor(t *testing.T, file string, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if st, err := os.Stat(file); err == nil && st.Size() > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%s did not appear within %v", file, d)
}

// waitGone fails unless process pid ends (or is a zombie) within d.
func waitGone(t *testing.T, pid int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote sleep (pid %d) still running %v after Run returned", pid, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- Gather ----

// gatherFixture creates files of all kinds under a fresh directory.
type gatherFixture struct {
	dir                                                                  string
	binary, noNewline, empty, spaced, secret, big, link, dangling, setid string
	numeric, subdir, missing, hidden, hiddenMissing                      string
}

func newGatherFixture(t *testing.T, env *sshEnv) *gatherFixture {
	dir, err := os.MkdirTemp(env.dir, "gather-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	f := &gatherFixture{dir: dir}
	p := func(name string) string { return filepath.Join(dir, name) }
	f.binary, f.noNewline, f.empty = p("binary.bin"), p("no-newline.txt"), p("empty")
	f.spaced, f.secret, f.big = p("it's a file with spaces"), p("secret.conf"), p("big.bin")
	f.link, f.dangling, f.setid = p("link"), p("dangling"), p("setuid")
	f.numeric, f.subdir, f.missing = p("numeric-owner"), p("sub dir"), p("missing")
	// Behind a directory only root may enter: the unprivileged login cannot
	// tell whether these exist, so Gather must ask root.
	f.hidden, f.hiddenMissing = p("private/app.conf"), p("private/nested/none")

	binary := append([]byte{0, 0, '\n', 0xff, 0}, randomBytes(t, 64<<10)...)
	writeFile(t, f.binary, binary, 0o644)
	writeFile(t, f.noNewline, []byte("no final newline"), 0o644)
	writeFile(t, f.empty, nil, 0o644)
	writeFile(t, f.spaced, []byte("spaced\n"), 0o640)
	writeFile(t, f.secret, []byte("password=hunter2\n"), 0o600)
	writeFile(t, f.big, randomBytes(t, 24<<20), 0o644)
	writeFile(t, f.setid, []byte("#!/bin/sh\n"), 0o755)
	if err := os.Chmod(f.setid, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.numeric, []byte("x"), 0o644)
	os.Chown(f.numeric, 54321, 54322)
	mustRun(t, "chown", env.user+":"+env.user, f.spaced)
	if err := os.Mkdir(f.subdir, 0o750); err != nil {
		t.Fatal(err)
	}
	os.Symlink(f.noNewline, f.link)
	os.Symlink(p("nowhere"), f.dangling)
	if err := os.Mkdir(p("private"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.hidden, []byte("behind a root-only directory\n"), 0o644)
	return f
}

func (f *gatherFixture) request() GatherRequest {
	return GatherRequest{
		Contents: []string{f.binary, f.noNewline, f.empty, f.spaced, f.secret, f.big, f.link, f.dangling, f.missing, f.subdir, f.hidden, f.hiddenMissing},
		Stats:    []string{f.binary, f.setid, f.numeric, f.subdir, f.missing, "/"},
		Probes: map[string]string{
			"ok":       "echo hi",
			"fail":     "echo out; echo noise >&2; exit 3",
			"trailing": "printf 'a\\n\\n\\n'",
			"silent":   "true",
			"whoami":   "id -u",
			"case":     "case x in x) echo matched;; esac",
			"stdin":    "cat",
		},
	}
}

func TestGather(t *testing.T) {
	env := needSSHD(t)
	fx := newGatherFixture(t, env)
	for _, login := range []string{"root", env.user} {
		t.Run(login, func(t *testing.T) {
			c := env.dial(t, login)
			req := fx.request()
			facts, err := c.Gather(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range append(req.Contents, req.Stats...) {
				_, wantContent := indexOf(req.Contents, p)
				checkFile(t, facts.Files[p], p, wantContent)
			}
			if len(facts.Files) != 15 {
				t.Errorf("got %d files, want 15 distinct paths", len(facts.Files))
			}
			if f := facts.Files[fx.hidden]; f == nil || string(f.Content) != "behind a root-only directory\n" {
				t.Errorf("file behind a root-only directory: %+v", f)
			}
			if f := facts.Files[fx.hiddenMissing]; f == nil || f.Exists {
				t.Errorf("missing file behind a root-only directory: %+v", f)
			}
			// Probes run as the login user, without sudo.
			uid, err := exec.Command("id", "-u", login).Output()
			if err != nil {
				t.Fatal(err)
			}
			wantProbes := map[string]ProbeResult{
				"ok": {"hi\n", 0}, "fail": {"out\n", 3}, "trailing": {"a\n\n\n", 0},
				"silent": {"", 0}, "whoami": {string(uid), 0}, "case": {"matched\n", 0}, "stdin": {"", 0},
			}
			for name, want := range wantProbes {
				if got := facts.Probes[name]; got != want {
					t.Errorf("probe %s = %+v, want %+v", name, got, want)
				}
			}
		})
	}
}

// checkFile compares what Gather reported with the local file system (the
// server is this machine).
func checkFile(t *testing.T, got *File, path string, wantContent bool) {
	t.Helper()
	if got == nil || got.Path != path {
		t.Fatalf("%s: got %+v", path, got)
	}
	st, err := os.Stat(path)
	if err != nil {
		if got.Exists {
			t.Errorf("%s: reported as existing", path)
		}
		return
	}
	sys := st.Sys().(*syscall.Stat_t)
	want := File{
		Path: path, Exists: true, IsDir: st.IsDir(), Mode: st.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky),
		UID: int(sys.Uid), GID: int(sys.Gid), Owner: userName(sys.Uid), Group: groupName(sys.Gid),
	}
	if st.Mode().IsRegular() || st.IsDir() {
		want.Size = st.Size()
	}
	gotMeta := *got
	gotMeta.Content = nil
	if fmt.Sprintf("%+v", gotMeta) != fmt.Sprintf("%+v", want) {
		t.Errorf("%s:\n got %+v\nwant %+v", path, gotMeta, want)
	}
	if wantContent && st.Mode().IsRegular() {
		if data := readFile(t, path); !bytes.Equal(got.Content, data) || got.Content == nil {
			t.Errorf("%s: content differs (%d bytes, want %d)", path, len(got.Content), len(data))
		}
	} else if got.Content != nil {
		t.Errorf("%s: unexpected content", path)
	}
}

func TestGatherEmptyRequestAndBadPaths(t *testing.T) {
	env := needSSHD(t)
	c := env.dial(t, "root")
	facts, err := c.Gather(context.Background(), GatherRequest{})
	if err != nil || len(facts.Files) != 0 || len(facts.Probes) != 0 {
		t.Errorf("empty request: %+v %v", facts, err)
	}
	_, err = c.Gather(context.Background(), GatherRequest{Stats: []string{"relative/path"}})
	mustContain(t, err, "must be absolute")
	_, err = c.Gather(context.Background(), GatherRequest{Stats: []string{"/a\nb"}})
	mustContain(t, err, "newline")
}

// ---- WriteFile ----

func TestWriteFile(t *testing.T) {
	env := needSSHD(t)
	for _, login := range []string{"root", env.user} {
		t.Run(login, func(t *testing.T) {
			c := env.dial(t, login)
			dir, err := os.MkdirTemp(env.dir, "write-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			testWriteNew(t, c, dir)
			testWriteReplace(t, c, env, dir)
			testWriteBackup(t, c, dir)
			testWriteOwnerModeParents(t, c, env, dir)
			testWriteErrors(t, c, dir)
			if leftovers, _ := filepath.Glob(filepath.Join(dir, "*", "*.carbonctl-*")); len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

func testWriteNew(t *testing.T, c *Client, dir string) {
	ctx := context.Background()
	path := filepath.Join(dir, "new.bin")
	data := append([]byte{0, 1, 0, '\n'}, randomBytes(t, 2<<20)...)
	if err := c.WriteFile(ctx, path, data, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, data, 0o644, 0, 0)
	noTemps(t, dir)
}

func testWriteReplace(t *testing.T, c *Client, env *sshEnv, dir string) {
	ctx := context.Background()
	path := filepath.Join(dir, "existing.conf")
	writeFile(t, path, []byte("old\n"), 0o640)
	mustRun(t, "chown", env.user+":"+env.user, path)
	uid, gid := ownerOf(t, path)
	inode := inodeOf(t, path)
	if err := c.WriteFile(ctx, path, []byte("new\n"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, []byte("new\n"), 0o640, uid, gid)
	if inodeOf(t, path) == inode {
		t.Errorf("file was rewritten in place, not replaced by rename")
	}
	noTemps(t, dir)
}

func testWriteBackup(t *testing.T, c *Client, dir string) {
	ctx := context.Background()
	path := filepath.Join(dir, "backed-up.conf")
	writeFile(t, path, []byte("pristine\n"), 0o600)
	orig := path + ".carbonctl.orig"
	for i, content := range []string{"first\n", "second\n"} {
		if err := c.WriteFile(ctx, path, []byte(content), WriteOptions{Backup: true, Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		assertFile(t, path, []byte(content), 0o644, 0, 0)
		assertFile(t, orig, []byte("pristine\n"), 0o600, 0, 0)
		if i == 0 && inodeOf(t, orig) == inodeOf(t, path) {
			t.Errorf("backup shares the new file's inode")
		}
	}
	// No backup of a file that did not exist.
	fresh := filepath.Join(dir, "fresh.conf")
	if err := c.WriteFile(ctx, fresh, []byte("x"), WriteOptions{Backup: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh + ".carbonctl.orig"); err == nil {
		t.Errorf("backup made of a new file")
	}
}

func testWriteOwnerModeParents(t *testing.T, c *Client, env *sshEnv, dir string) {
	ctx := context.Background()
	u, err := user.Lookup(env.user)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	path := filepath.Join(dir, "a", "b", "c.conf")
	opts := WriteOptions{Mode: 0o640 | os.ModeSetgid, Owner: env.user, Group: env.user, MkdirParents: true}
	if err := c.WriteFile(ctx, path, []byte("deep"), opts); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, []byte("deep"), 0o640|os.ModeSetgid, uid, gid)
	for _, d := range []string{filepath.Join(dir, "a"), filepath.Join(dir, "a", "b")} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v", d, st.Mode(), err)
		}
		if u, g := ownerOf(t, d); u != 0 || g != 0 {
			t.Errorf("%s owned by %d:%d, want root's (the writer's)", d, u, g)
		}
	}
	// Group only, on an existing file: owner kept.
	if err := c.WriteFile(ctx, path, []byte("deeper"), WriteOptions{Group: "root"}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, []byte("deeper"), 0o640|os.ModeSetgid, uid, 0)
}

func testWriteErrors(t *testing.T, c *Client, dir string) {
	ctx := context.Background()
	err := c.WriteFile(ctx, filepath.Join(dir, "nope", "x.conf"), []byte("x"), WriteOptions{})
	mustContain(t, err, "does not exist", "127.0.0.1")

	target := filepath.Join(dir, "target")
	writeFile(t, target, []byte("t"), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(target, link)
	err = c.WriteFile(ctx, link, []byte("x"), WriteOptions{})
	mustContain(t, err, "symbolic link")

	path := filepath.Join(dir, "bad-owner.conf")
	writeFile(t, path, []byte("keep\n"), 0o644)
	err = c.WriteFile(ctx, path, []byte("secret-content"), WriteOptions{Owner: "no-such-user-cct", Backup: true})
	mustContain(t, err, "cannot set the owner")
	if strings.Contains(err.Error(), "secret-content") {
		t.Errorf("error leaks the content: %v", err)
	}
	assertFile(t, path, []byte("keep\n"), 0o644, 0, 0)
	if _, err := os.Lstat(path + ".carbonctl.orig"); err == nil {
		t.Errorf("backup left behind by a failed write")
	}
	noTemps(t, dir)
}

// A root write refuses any directory on the way that another user
// controls, and leaves the place it points to untouched.
func TestWriteFileRootRefusesUserControlledDirs(t *testing.T) {
	env := needSSHD(t)
	u, uid, gid := lookupUser(t, env.user)
	cases := []struct {
		name    string
		layout  func(t *testing.T, dir, victim string) string // returns the path to write
		refused string                                        // "" = the write must succeed
	}{
		{"user-owned directory", func(t *testing.T, dir, _ string) string {
			mustMkdir(t, filepath.Join(dir, "home"), 0o755, uid, gid)
			return filepath.Join(dir, "home", "f")
		}, "is owned by uid " + u.Uid + ", not root"},
		{"user-owned directory above a root one", func(t *testing.T, dir, _ string) string {
			mustMkdir(t, filepath.Join(dir, "home"), 0o755, uid, gid)
			mustMkdir(t, filepath.Join(dir, "home", "sub"), 0o755, 0, 0)
			return filepath.Join(dir, "home", "sub", "f")
		}, "is owned by uid " + u.Uid},
		{"user's symbolic link to a root directory", func(t *testing.T, dir, victim string) string {
			link := filepath.Join(dir, "ssh")
			if err := os.Symlink(victim, link); err != nil {
				t.Fatal(err)
			}
			mustRun(t, "chown", "-h", env.user, link)
			return filepath.Join(link, "authorized_keys")
		}, "is owned by uid " + u.Uid},
		{"root's link to a user directory", func(t *testing.T, dir, _ string) string {
			mustMkdir(t, filepath.Join(dir, "home"), 0o755, uid, gid)
			if err := os.Symlink(filepath.Join(dir, "home"), filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "link", "f")
		}, "is owned by uid " + u.Uid},
		{"world-writable directory", func(t *testing.T, dir, _ string) string {
			mustMkdir(t, filepath.Join(dir, "open"), 0o777, 0, 0)
			return filepath.Join(dir, "open", "f")
		}, "writable by every user"},
		{"directory writable by the user's group", func(t *testing.T, dir, _ string) string {
			mustMkdir(t, filepath.Join(dir, "grp"), 0o775, 0, gid)
			return filepath.Join(dir, "grp", "f")
		}, "writable by group " + u.Gid},
		{"root's link to a root directory", func(t *testing.T, dir, victim string) string {
			if err := os.Symlink(victim, filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "link", "new")
		}, ""},
		{"sticky world-writable directory", func(t *testing.T, dir, _ string) string {
			mustMkdir(t, filepath.Join(dir, "tmp"), 0o777|os.ModeSticky, 0, 0)
			return filepath.Join(dir, "tmp", "f")
		}, ""},
	}
	c := env.dial(t, "root")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := os.MkdirTemp(env.dir, "rootpath-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			victim := filepath.Join(dir, "victim")
			mustMkdir(t, victim, 0o700, 0, 0)
			writeFile(t, filepath.Join(victim, "authorized_keys"), []byte("root's\n"), 0o600)
			p := tc.layout(t, dir, victim)
			err = c.WriteFile(context.Background(), p, []byte("attacker's\n"), WriteOptions{Backup: true, MkdirParents: true})
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("write refused: %v", err)
				}
				return
			}
			mustContain(t, err, "127.0.0.1", p, tc.refused, "refusing to write")
			assertFile(t, filepath.Join(victim, "authorized_keys"), []byte("root's\n"), 0o600, 0, 0)
			if names, _ := filepath.Glob(filepath.Join(victim, "*")); len(names) != 1 {
				t.Errorf("files appeared in the root directory: %v", names)
			}
		})
	}
}

// A write as a user is that user's: its file, and the kernel's refusal
// where that user may not write.
func TestWriteFileAsUser(t *testing.T) {
	env := needSSHD(t)
	u, uid, gid := lookupUser(t, env.user)
	for _, login := range []string{"root", env.user} {
		t.Run(login, func(t *testing.T) {
			c := env.dial(t, login)
			ctx := context.Background()
			dir, err := os.MkdirTemp(env.dir, "as-")
			if err != nil || os.Chmod(dir, 0o755) != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			home := filepath.Join(dir, "home")
			mustMkdir(t, home, 0o755, uid, gid)
			// A new file with its parents, then a secret one replacing a
			// 0644 original: file and backup end up 0600.
			deep := filepath.Join(home, "a", "b", "f")
			if err := c.WriteFile(ctx, deep, []byte("x"), WriteOptions{As: env.user, MkdirParents: true, Mode: 0o640}); err != nil {
				t.Fatal(err)
			}
			assertFile(t, deep, []byte("x"), 0o640, uid, gid)
			if u, _ := ownerOf(t, filepath.Join(home, "a", "b")); u != uid {
				t.Errorf("parent created as uid %d", u)
			}
			conf := filepath.Join(home, "secret.xml")
			writeFile(t, conf, []byte("stock"), 0o644)
			mustRun(t, "chown", env.user+":"+u.Gid, conf)
			for _, content := range []string{"pw1", "pw2"} {
				if err := c.WriteFile(ctx, conf, []byte(content), WriteOptions{As: env.user, Mode: 0o600, Backup: true}); err != nil {
					t.Fatal(err)
				}
				assertFile(t, conf, []byte(content), 0o600, uid, gid)
				assertFile(t, conf+".carbonctl.orig", []byte("stock"), 0o600, uid, gid)
			}
			// The kernel refuses what the user may not write: a root
			// directory, also through the user's own symbolic link.
			victim := filepath.Join(dir, "victim")
			mustMkdir(t, victim, 0o755, 0, 0)
			if err := os.Symlink(victim, filepath.Join(home, "ssh")); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{filepath.Join(victim, "f"), filepath.Join(home, "ssh", "f")} {
				err := c.WriteFile(ctx, p, []byte("x"), WriteOptions{As: env.user})
				mustContain(t, err, "cannot create a temporary file next to "+p)
			}
			if names, _ := filepath.Glob(filepath.Join(victim, "*")); len(names) != 0 {
				t.Errorf("files appeared in the root directory: %v", names)
			}
			err = c.WriteFile(ctx, deep, []byte("x"), WriteOptions{As: env.user, Owner: "root"})
			mustContain(t, err, "Owner and Group must be empty")
		})
	}
}

// Commands run as another user start in a directory every user may enter,
// not in the login user's home (root's is 0700).
func TestRunAsAnotherUserStartsInRoot(t *testing.T) {
	env := needSSHD(t)
	for _, login := range []string{"root", env.user} {
		c := env.dial(t, login)
		for _, as := range []string{env.user, "root"} {
			if as == login {
				continue
			}
			res, err := c.Run(context.Background(), as, "pwd; find . -maxdepth 0 -newer /nonexistent 2>/dev/null; find /proc/self -maxdepth 0 >/dev/null", nil)
			if err != nil || res.ExitCode != 0 || string(res.Stdout) != "/\n" {
				t.Errorf("login %s, as %s: %q %q code %d %v", login, as, res.Stdout, res.Stderr, res.ExitCode, err)
			}
		}
	}
}

// Readers must see the old or the new content, never a mix or a short file.
func TestWriteFileAtomic(t *testing.T) {
	env := needSSHD(t)
	c := env.dial(t, env.user)
	dir := t.TempDir()
	path := filepath.Join(dir, "atomic.conf")
	versions := [][]byte{bytes.Repeat([]byte("a"), 256<<10), bytes.Repeat([]byte("b"), 256<<10)}
	writeFile(t, path, versions[0], 0o644)
	stop := make(chan struct{})
	var bad []string
	var reads int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			data, err := os.ReadFile(path)
			reads++
			if err != nil || !(bytes.Equal(data, versions[0]) || bytes.Equal(data, versions[1])) {
				bad = append(bad, fmt.Sprintf("read %d bytes, err %v", len(data), err))
			}
		}
	}()
	for i := 0; i < 20; i++ {
		if err := c.WriteFile(context.Background(), path, versions[(i+1)%2], WriteOptions{}); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d of %d reads saw partial content, e.g. %s", len(bad), reads, bad[0])
	}
	noTemps(t, dir)
}

// ---- DialTCP and concurrency ----

func TestDialTCP(t *testing.T) {
	env := needSSHD(t)
	c := env.dial(t, env.user)
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			conn, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer conn.Close(); io.Copy(conn, conn) }()
		}
	}()
	conn, err := c.DialTCP(context.Background(), echo.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := randomBytes(t, 256<<10)
	go conn.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo through tunnel: %v", err)
	}

	port, _ := freePort()
	_, err = c.DialTCP(context.Background(), "127.0.0.1:"+strconv.Itoa(port))
	mustContain(t, err, "127.0.0.1:"+strconv.Itoa(port), "tunnel")
}

func TestConcurrentUse(t *testing.T) {
	env := needSSHD(t)
	fx := newGatherFixture(t, env)
	c := env.dial(t, env.user)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				want := fmt.Sprintf("g%d-i%d", g, i)
				res, err := c.Run(context.Background(), "root", "echo "+want, nil)
				if err != nil || string(res.Stdout) != want+"\n" {
					errs <- fmt.Errorf("run %s: %q %v", want, res.Stdout, err)
				}
				facts, err := c.Gather(context.Background(), GatherRequest{Contents: []string{fx.noNewline, fx.secret}})
				if err != nil || string(facts.Files[fx.secret].Content) != "password=hunter2\n" {
					errs <- fmt.Errorf("gather %s: %v", want, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// ---- unit tests (no sshd) ----

func TestQuote(t *testing.T) {
	for _, s := range []string{"", "plain", "it's", "'", "''", `a"b$c` + "`d`\\e", "new\nline", " spaces ", "$(reboot)", "*"} {
		out, err := exec.Command("sh", "-c", "printf %s "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("Quote(%q) read back as %q (%v)", s, out, err)
		}
	}
}

func TestParseLsMode(t *testing.T) {
	cases := map[string]os.FileMode{
		"-rw-r--r--":  0o644,
		"drwxrwxrwt.": 0o777 | os.ModeSticky,
		"-rwsr-x---+": 0o750 | os.ModeSetuid,
		"-rwSr-S--T":  0o640 | os.ModeSetuid | os.ModeSetgid | os.ModeSticky,
		"----------":  0,
	}
	for s, want := range cases {
		got, _, _, err := parseLsMode(s)
		if err != nil || got != want {
			t.Errorf("parseLsMode(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, _, _, err := parseLsMode("-rwx"); err == nil {
		t.Errorf("short mode accepted")
	}
}

func TestOctalMode(t *testing.T) {
	cases := map[os.FileMode]string{0: "", 0o644: "0644", 0o755 | os.ModeSetuid: "4755", 0o777 | os.ModeSticky: "1777"}
	for m, want := range cases {
		if got, err := octalMode(m); err != nil || got != want {
			t.Errorf("octalMode(%v) = %q, %v; want %q", m, got, err, want)
		}
	}
	if _, err := octalMode(os.ModeDir | 0o755); err == nil {
		t.Errorf("ModeDir accepted")
	}
}

func TestStderrFilter(t *testing.T) {
	f := newStderrFilter(invocation{sudoUser: "root"})
	for _, chunk := range []string{"Could not chdir\ncarbonctl-p", "id 123\nsudo: oops\ncarbonctl-sudo-ok 4", "56\nreal ", "stderr\ncarbonctl-pid 9\n"} {
		f.Write([]byte(chunk))
	}
	f.flush()
	if got := f.out.String(); got != "Could not chdir\nsudo: oops\nreal stderr\ncarbonctl-pid 9\n" || !f.sudoOK {
		t.Errorf("filtered stderr %q, sudoOK %v", got, f.sudoOK)
	}
	if a, b := <-f.pids, <-f.pids; a != 123 || b != 456 {
		t.Errorf("pids %d %d", a, b)
	}
}

// The Gather script and parser, run locally: output printed by the login
// shell's startup files is skipped, and a cut-short output is an error.
func TestGatherScriptLocally(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	writeFile(t, file, []byte("data\x00\n"), 0o640)
	plan, err := newGatherPlan(GatherRequest{
		Contents: []string{file, filepath.Join(dir, "missing")},
		Stats:    []string{dir},
		Probes:   map[string]string{"p": "printf 'x y'; exit 4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", plan.script()).Output()
	if err != nil {
		t.Fatal(err)
	}
	facts, _, err := plan.parse(append([]byte("motd from .bashrc\n"), out...))
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, facts.Files[file], file, true)
	checkFile(t, facts.Files[dir], dir, false)
	if f := facts.Files[filepath.Join(dir, "missing")]; f.Exists {
		t.Errorf("missing file reported as existing")
	}
	if p := facts.Probes["p"]; p != (ProbeResult{"x y", 4}) {
		t.Errorf("probe = %+v", p)
	}
	for _, cut := range []int{1, len(out) / 2, len(out) - 1} {
		if _, _, err := plan.parse(out[:cut]); err == nil {
			t.Errorf("output cut at %d of %d bytes parsed without error", cut, len(out))
		}
	}
	if _, _, err := plan.parse(append(out, 'x')); err == nil {
		t.Errorf("trailing garbage accepted")
	}
}

// ---- benchmark ----

// BenchmarkGatherNoop is the cost of a no-op run's fact gathering on one host
// (20 files + 3 probes), connection already open.
func BenchmarkGatherNoop(b *testing.B) {
	env := needSSHD(b)
	dir := b.TempDir()
	var req GatherRequest
	for i := 0; i < 20; i++ {
		p := filepath.Join(dir, fmt.Sprintf("conf-%02d.xml", i))
		writeFile(b, p, bytes.Repeat([]byte("<property name=\"x\">y</property>\n"), 100), 0o644)
		if i%4 == 3 {
			req.Stats = append(req.Stats, p)
		} else {
			req.Contents = append(req.Contents, p)
		}
	}
	req.Probes = map[string]string{
		"carbon-running": "kill -0 $$",
		"java":           "command -v java",
		"uptime":         "cat /proc/uptime",
	}
	for _, login := range []string{"root", env.user} {
		b.Run("login="+login, func(b *testing.B) {
			c := env.dial(b, login)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Gather(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// ---- helpers ----

func mustContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if err := run(name, args...); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t testing.TB, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // not subject to umask
		t.Fatal(err)
	}
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func assertPerm(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
		t.Errorf("%s: mode %v (%v), want %v", path, st.Mode().Perm(), err, want)
	}
}

// assertFile checks content, mode (with special bits) and owner of path.
func assertFile(t *testing.T, path string, data []byte, mode os.FileMode, uid, gid int) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	got := st.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
	if !st.Mode().IsRegular() || got != mode {
		t.Errorf("%s: mode %v, want regular %v", path, st.Mode(), mode)
	}
	if u, g := ownerOf(t, path); u != uid || g != gid {
		t.Errorf("%s: owner %d:%d, want %d:%d", path, u, g, uid, gid)
	}
	if !bytes.Equal(readFile(t, path), data) {
		t.Errorf("%s: content differs", path)
	}
}

func ownerOf(t *testing.T, path string) (int, int) {
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return int(sys.Uid), int(sys.Gid)
}

func inodeOf(t *testing.T, path string) uint64 {
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// noTemps fails if WriteFile left temporary files in dir.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*.carbonctl-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return u.Username
	}
	return strconv.Itoa(int(uid))
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.Itoa(int(gid))); err == nil {
		return g.Name
	}
	return strconv.Itoa(int(gid))
}

func indexOf(list []string, s string) (int, bool) {
	for i, v := range list {
		if v == s {
			return i, true
		}
	}
	return -1, false
}

func newPrivateKey(t *testing.T) ed25519.PrivateKey {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// newPublicKey returns a fresh public key of the given type.
func newPublicKey(t *testing.T, keyType string) ssh.PublicKey {
	var key any = newPrivateKey(t)
	if keyType == ssh.KeyAlgoECDSA256 {
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = ec
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return signer.PublicKey()
}

// mustMkdir creates dir with mode and owner.
func mustMkdir(t *testing.T, dir string, mode os.FileMode, uid, gid int) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

// lookupUser returns a local user and its uid and primary gid.
func lookupUser(t *testing.T, name string) (*user.User, int, int) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return u, uid, gid
}

// TestGatherAs: paths listed under GatherRequest.As are read as their
// owner inside the same round trip (a file only that user may read, and a
// missing one); a login whose sudo refuses gets them denied and then the
// usual root re-read, which reports why.
func TestGatherAs(t *testing.T) {
	env := needSSHD(t)
	dir, err := os.MkdirTemp("", "cc-owner-read-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	secret, missing := filepath.Join(dir, "master-datasources.xml"), filepath.Join(dir, "master-datasources.xml.carbonctl.orig")
	writeFile(t, secret, []byte("<password>s3cret</password>\n"), 0o600)
	mustRun(t, "chown", env.pwUser+":"+env.pwUser, secret)
	public := filepath.Join(dir, "carbon.xml")
	writeFile(t, public, []byte("<Server/>\n"), 0o644)
	req := GatherRequest{
		Contents: []string{public},
		Probes:   map[string]string{"whoami": "id -un"},
		As:       map[string]GatherRequest{env.pwUser: {Contents: []string{secret}, Stats: []string{missing}}},
	}
	for _, login := range []string{"root", env.user} {
		t.Run(login, func(t *testing.T) {
			facts, err := env.dial(t, login).Gather(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			checkFile(t, facts.Files[secret], secret, true)
			checkFile(t, facts.Files[public], public, true)
			if f := facts.Files[missing]; f == nil || f.Exists {
				t.Errorf("%s: %+v, want a missing file", missing, f)
			}
			if got := strings.TrimSpace(facts.Probes["whoami"].Stdout); got != login {
				t.Errorf("probe ran as %q, want the login user %q", got, login)
			}
		})
	}
	t.Run("nested plan in the script", func(t *testing.T) {
		plan, err := env.dial(t, env.user).newGatherPlans("", req)
		if err != nil {
			t.Fatal(err)
		}
		script := plan.script()
		if !strings.Contains(script, "sudo -n -u "+Quote(env.pwUser)) || strings.Count(script, gatherStart) != 2 {
			t.Errorf("want one nested gather as %s in the login user's script:\n%s", env.pwUser, script)
		}
	})
	t.Run("sudo refuses", func(t *testing.T) {
		own := GatherRequest{As: map[string]GatherRequest{env.user: {Contents: []string{secret}}}}
		_, err := env.dial(t, env.pwUser).Gather(context.Background(), own)
		mustContain(t, err, "needs a password")
	})
}

func TestConfigDescribe(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{User: "root"}, "root@198.18.0.21:22"},
		{Config{User: "admin", Port: 2222, HostName: "10.0.0.1"}, "admin@198.18.0.21:2222 (HostName 10.0.0.1)"},
		{Config{User: "root", ProxyJump: []Hop{{Host: "gw", User: "ops"}, {Host: "b", HostName: "198.18.0.3", Port: 2200}}},
			"root@198.18.0.21:22 via ops@gw:22,198.18.0.3:2200"},
	}
	for _, tt := range tests {
		if got := tt.cfg.Describe("198.18.0.21"); got != tt.want {
			t.Errorf("Describe = %q, want %q", got, tt.want)
		}
	}
}
