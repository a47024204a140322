package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// setPassword gives the user whose sudo asks for a password a new random
// password and returns it.
func setPassword(t *testing.T, env *sshEnv) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	pw := "Pw-" + hex.EncodeToString(b)
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(env.pwUser + ":" + pw + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v: %s", err, out)
	}
	return pw
}

// dialBecome logs in as user with the become password pw.
func dialBecome(t *testing.T, env *sshEnv, user, pw string) *Client {
	t.Helper()
	file := env.knownHosts(t, env.hostKeys[ssh.KeyAlgoED25519])
	cfg := env.config(user, file)
	cfg.BecomePassword = Secret(pw)
	c, err := Dial(context.Background(), "127.0.0.1", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestBecomePassword(t *testing.T) {
	env := needSSHD(t)
	pw := setPassword(t, env)
	ctx := context.Background()
	fx := newGatherFixture(t, env)
	mustRun(t, "chown", env.user, fx.secret) // 0600, read as its owner
	data := []byte("first line of the data\nsecond\n")
	// The user whose sudo asks, and one whose sudo does not ask (NOPASSWD):
	// there the password must not reach the command's stdin.
	for _, user := range []string{env.pwUser, env.user} {
		t.Run(user, func(t *testing.T) {
			c := dialBecome(t, env, user, pw)
			sessions := "Starting session: command for " + user + " from 127.0.0.1 port " +
				strings.TrimPrefix(c.conn.LocalAddr().String(), "127.0.0.1:") + " "
			facts, err := c.Gather(ctx, GatherRequest{
				Contents: []string{fx.noNewline},
				As:       map[string]GatherRequest{env.user: {Contents: []string{fx.secret}}},
			})
			if err != nil {
				t.Fatalf("gather with the become check and a nested sudo: %v", err)
			}
			if got := string(facts.Files[fx.secret].Content); got != "password=hunter2\n" {
				t.Errorf("nested read as %s: %q", env.user, got)
			}
			// One round trip: the check and the nested sudo (no re-read as root).
			if n := logCount(t, env, sessions); n != 1 {
				t.Errorf("the gather took %d sessions, want 1", n)
			}
			res, err := c.Run(ctx, "root", "id -un; cat", bytes.NewReader(data))
			if err != nil || string(res.Stdout) != "root\n"+string(data) {
				t.Errorf("run as root with stdin: %q %v", res.Stdout, err)
			}
			res, err = c.Run(ctx, env.user, "id -un; ps -eo args", nil)
			if err != nil || !strings.HasPrefix(string(res.Stdout), env.user+"\n") {
				t.Errorf("run as %s: %q %v", env.user, res.Stdout, err)
			}
			if strings.Contains(string(res.Stdout)+string(res.Stderr), pw) {
				t.Errorf("the password is visible in the process list or the output")
			}
			dest := filepath.Join(t.TempDir(), "written")
			if err := c.WriteFile(ctx, dest, data, WriteOptions{Mode: 0o600}); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, dest); !bytes.Equal(got, data) {
				t.Errorf("WriteFile through sudo -S wrote %q", got)
			}
			var out bytes.Buffer
			if code, err := c.Stream(ctx, "root", "id -un", &out, nil); err != nil || code != 0 || out.String() != "root\n" {
				t.Errorf("stream as root: %q %d %v", out.String(), code, err)
			}
		})
	}
}

func TestBecomePasswordWrong(t *testing.T) {
	env := needSSHD(t)
	setPassword(t, env)
	c := dialBecome(t, env, env.pwUser, "not-the-password")
	_, err := c.Gather(context.Background(), GatherRequest{Stats: []string{"/"}})
	mustContain(t, err, "sudo on 127.0.0.1 refused the become password of login user "+env.pwUser, "nothing was changed")
	if strings.Contains(err.Error(), "not-the-password") {
		t.Errorf("error shows the password: %v", err)
	}
	_, err = c.Run(context.Background(), "root", "echo never", strings.NewReader("data\n"))
	mustContain(t, err, "refused the become password of login user "+env.pwUser)
}

func TestBecomeCancelStopsSudoCommand(t *testing.T) {
	env := needSSHD(t)
	pw := setPassword(t, env)
	c := dialBecome(t, env, env.pwUser, pw)
	pidFile := filepath.Join(env.dir, "become-sleep.pid")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, "root", "sleep 300 & echo $! > "+Quote(pidFile)+"; wait", nil)
		done <- err
	}()
	waitFor(t, pidFile, 20*time.Second)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(readFile(t, pidFile))))
	if err != nil {
		t.Fatal(err)
	}
	// The kill goes through sudo with the password, too.
	waitGone(t, pid, 3*time.Second)
}
