package remote

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// partitionProxy forwards TCP connections to the test sshd until cut, then
// silently holds every byte in both directions without closing anything:
// what a dropped-packets network partition looks like to both ends.
type partitionProxy struct {
	ln   net.Listener
	mu   sync.Mutex
	cut  bool
	heal chan struct{} // closed when the test ends, releasing held copies
}

func newPartitionProxy(t *testing.T, target string) *partitionProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &partitionProxy{ln: ln, heal: make(chan struct{})}
	t.Cleanup(func() { ln.Close(); close(p.heal) })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			go p.pipe(in, out)
			go p.pipe(out, in)
		}
	}()
	return p
}

// pipe copies src to dst, holding the data once the proxy is cut.
func (p *partitionProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if p.isCut() {
			<-p.heal
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *partitionProxy) isCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

func (p *partitionProxy) partition() {
	p.mu.Lock()
	p.cut = true
	p.mu.Unlock()
}

// dialThrough connects to the test sshd through the proxy.
func dialThrough(t *testing.T, env *sshEnv, p *partitionProxy, cfg Config) *Client {
	t.Helper()
	host, port, _ := net.SplitHostPort(p.ln.Addr().String())
	file := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{p.ln.Addr().String()}, env.hostKeys[ssh.KeyAlgoED25519])
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := NewHostKeys(file, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Port, _ = strconv.Atoi(port)
	cfg.KnownHostsFile = file
	c, err := Dial(context.Background(), host, cfg, keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPartitionFailsWithinKeepaliveWindow: once the host stops answering,
// a running command, a new command and a tunnel all fail (none hangs), with
// an error that names the host and the keepalive settings.
func TestPartitionFailsWithinKeepaliveWindow(t *testing.T) {
	env := needSSHD(t)
	proxy := newPartitionProxy(t, env.addr())
	cfg := env.config(env.user, "")
	cfg.AliveInterval, cfg.AliveCountMax = 200*time.Millisecond, 3
	c := dialThrough(t, env, proxy, cfg)
	if res, err := c.Run(context.Background(), "", "echo up", nil); err != nil || string(res.Stdout) != "up\n" {
		t.Fatalf("before the partition: %q %v", res.Stdout, err)
	}
	// Keepalives that are answered keep an idle connection open.
	time.Sleep(5 * cfg.AliveInterval)
	if _, err := c.Run(context.Background(), "", "true", nil); err != nil {
		t.Fatalf("idle connection with answered keepalives: %v", err)
	}

	running := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), "", "sleep 60", nil)
		running <- err
	}()
	time.Sleep(300 * time.Millisecond) // let the command start
	proxy.partition()
	cut := time.Now()
	// Generous bound: the point is that nothing waits for TCP's own
	// retransmission timeout (about 15 minutes).
	const bound = 20 * time.Second
	select {
	case err := <-running:
		mustContain(t, err, "127.0.0.1", "stopped answering", "server_alive_interval")
		t.Logf("running command failed %v after the partition", time.Since(cut).Round(time.Millisecond))
	case <-time.After(bound):
		t.Fatalf("a command on a partitioned host did not fail within %v", bound)
	}
	for name, call := range map[string]func() error{
		"run":    func() error { _, err := c.Run(context.Background(), "", "true", nil); return err },
		"stream": func() error { _, err := c.Stream(context.Background(), "", "true", io.Discard, nil); return err },
		"tunnel": func() error { _, err := c.DialTCP(context.Background(), env.addr()); return err },
	} {
		t.Run(name, func(t *testing.T) { mustContain(t, call(), "127.0.0.1", "stopped answering") })
	}
}

// TestPartitionedSessionOpenHonoursCancel: a session that cannot open
// returns as soon as its context ends, long before the keepalives give up.
func TestPartitionedSessionOpenHonoursCancel(t *testing.T) {
	env := needSSHD(t)
	proxy := newPartitionProxy(t, env.addr())
	cfg := env.config(env.user, "")
	cfg.AliveInterval, cfg.AliveCountMax = time.Hour, 3
	c := dialThrough(t, env, proxy, cfg)
	proxy.partition()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { _, err := c.Run(ctx, "", "true", nil); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "127.0.0.1") {
			t.Fatalf("err = %v, want context.Canceled naming the host", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run on a partitioned host ignored its cancelled context")
	}
}

// TestCommandTimeout: a command that outlives CommandTimeout is stopped on
// the host and reported with the setting's name.
func TestCommandTimeout(t *testing.T) {
	env := needSSHD(t)
	cfg := env.config(env.user, env.knownHosts(t, env.hostKeys[ssh.KeyAlgoED25519]))
	cfg.CommandTimeout = 3 * time.Second // the login shell may be slow to start here
	keys, err := NewHostKeys(cfg.KnownHostsFile, false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(context.Background(), "127.0.0.1", cfg, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pidFile := filepath.Join(env.dir, "timeout-sleep.pid")
	_, err = c.Run(context.Background(), "root", "sleep 60 & echo $! > "+Quote(pidFile)+"; wait", nil)
	mustContain(t, err, "127.0.0.1", "ssh.command_timeout")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
	pid, perr := strconv.Atoi(strings.TrimSpace(string(readFile(t, pidFile))))
	if perr != nil {
		t.Fatal(perr)
	}
	waitGone(t, pid, 5*time.Second)
}
