package remote

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// knownHostsFor writes a known_hosts file with the ed25519 key of each
// server and returns its path.
func knownHostsFor(t *testing.T, envs ...*sshEnv) string {
	t.Helper()
	var b strings.Builder
	for _, e := range envs {
		b.WriteString(knownhosts.Line([]string{e.addr()}, e.hostKeys[ssh.KeyAlgoED25519]) + "\n")
	}
	file := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, file, []byte(b.String()), 0o600)
	return file
}

// hop is env as a jump host.
func (e *sshEnv) hop(user string) Hop {
	return Hop{Host: "127.0.0.1", Port: e.port, User: user}
}

// logCount counts the lines of env's sshd log that contain s.
func logCount(t *testing.T, e *sshEnv, s string) int {
	t.Helper()
	return strings.Count(string(readFile(t, e.logFile)), s)
}

func TestProxyJumpSharesOneBastionConnection(t *testing.T) {
	target := needSSHD(t)
	bastion := target.another(t, "DEBUG1")
	file := knownHostsFor(t, target, bastion)
	keys, err := NewHostKeys(file, false)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBastions()
	users := []string{"root", target.user, target.pwUser}
	clients := make([]*Client, len(users))
	var wg sync.WaitGroup
	errs := make([]error, len(users))
	for i, user := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := target.config(user, file)
			// Each target by a name of its own, connected at HostName.
			cfg.HostName = "127.0.0.1"
			cfg.ProxyJump = []Hop{bastion.hop(target.user)}
			clients[i], errs[i] = b.DialClient(context.Background(), "node"+user, cfg, keys)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("dial %s through the bastion: %v", users[i], err)
		}
	}
	for i, c := range clients {
		res, err := c.Run(context.Background(), "", "id -un", nil)
		if err != nil || strings.TrimSpace(string(res.Stdout)) != users[i] {
			t.Errorf("%s: %q %v", users[i], res.Stdout, err)
		}
	}
	if n := logCount(t, bastion, "Accepted publickey for "); n != 1 {
		t.Errorf("bastion saw %d logins, want 1 shared by %d hosts", n, len(users))
	}
	if n := logCount(t, bastion, "server_request_direct_tcpip"); n != len(users) {
		t.Errorf("bastion forwarded %d connections, want %d", n, len(users))
	}
	if n := logCount(t, target, "Accepted publickey for root"); n == 0 {
		t.Errorf("the target saw no login")
	}
	// The database tunnel: DialTCP from a host reached through the bastion.
	conn, err := clients[0].DialTCP(context.Background(), target.addr())
	if err != nil {
		t.Fatal(err)
	}
	banner, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if err != nil || !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Errorf("tunnel through a host behind the bastion read %q, %v", banner, err)
	}
	// The bastion connection lives while a host uses it.
	clients[0].Close()
	clients[1].Close()
	if len(b.conns) != 1 {
		t.Errorf("bastion connection closed while a host still uses it")
	}
	if _, err := clients[2].Run(context.Background(), "", "true", nil); err != nil {
		t.Errorf("host behind the bastion after others closed: %v", err)
	}
	clients[2].Close()
	if len(b.conns) != 0 {
		t.Errorf("bastion connection left open after the last host closed")
	}
}

func TestProxyJumpTwoHops(t *testing.T) {
	target := needSSHD(t)
	first := target.another(t, "DEBUG1")
	second := target.another(t, "DEBUG1")
	file := knownHostsFor(t, target, first, second)
	cfg := target.config(target.user, file)
	cfg.ProxyJump = []Hop{first.hop("root"), second.hop("")}
	c, err := Dial(context.Background(), "127.0.0.1", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(context.Background(), "root", "id -un", nil)
	if err != nil || strings.TrimSpace(string(res.Stdout)) != "root" {
		t.Errorf("through two hops: %q %v", res.Stdout, err)
	}
	c.Close()
	if logCount(t, first, "Accepted publickey for root") != 1 || logCount(t, first, "server_request_direct_tcpip") != 1 {
		t.Errorf("first hop: want one root login and one forwarded connection")
	}
	// The second hop logs in as the host's user, reached through the first.
	if logCount(t, second, "Accepted publickey for "+target.user) != 1 || logCount(t, second, "server_request_direct_tcpip") != 1 {
		t.Errorf("second hop: want one %s login and one forwarded connection", target.user)
	}
}

func TestProxyJumpHostKeysAndErrors(t *testing.T) {
	target := needSSHD(t)
	bastion := target.another(t, "")
	ctx := context.Background()

	// The bastion's key is checked like a host's: unknown is refused ...
	file := knownHostsFor(t, target)
	cfg := target.config("root", file)
	cfg.ProxyJump = []Hop{bastion.hop("root")}
	_, err := Dial(ctx, "127.0.0.1", cfg, nil)
	mustContain(t, err, "through jump host 1 of 1 (root@"+bastion.addr()+")", bastion.addr()+" is not in known_hosts", "SHA256:")

	// ... recorded with accept-new, fingerprint printed ...
	cfg.AcceptNewHostKeys = true
	keys, err := NewHostKeys(file, true)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	keys.Log = &log
	c, err := Dial(ctx, "127.0.0.1", cfg, keys)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	fp := Fingerprint(bastion.hostKeys[ssh.KeyAlgoED25519])
	if !strings.Contains(log.String(), "recorded host key: ["+"127.0.0.1]:") || !strings.Contains(string(readFile(t, file)), bastion.addr()[len("127.0.0.1:"):]) {
		t.Errorf("bastion key not recorded: log %q", log.String())
	}
	if !strings.Contains(log.String(), "SHA256:") {
		t.Errorf("no fingerprint printed: %q (bastion's is %s)", log.String(), fp)
	}

	// ... and a changed one refused even with accept-new.
	bad := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, bad, []byte(knownhosts.Line([]string{target.addr()}, target.hostKeys[ssh.KeyAlgoED25519])+"\n"+
		knownhosts.Line([]string{bastion.addr()}, target.hostKeys[ssh.KeyAlgoED25519])+"\n"), 0o600)
	cfg.KnownHostsFile = bad
	_, err = Dial(ctx, "127.0.0.1", cfg, nil)
	mustContain(t, err, "jump host 1 of 1", "host key mismatch for "+bastion.addr())

	// A bastion that is down is named; so is a target it cannot reach.
	port, _ := freePort()
	cfg = target.config("root", knownHostsFor(t, target, bastion))
	cfg.ProxyJump = []Hop{{Host: "127.0.0.1", Port: port, User: "root"}}
	_, err = Dial(ctx, "127.0.0.1", cfg, nil)
	mustContain(t, err, "through jump host 1 of 1 (root@127.0.0.1:", "connection refused")
	cfg.ProxyJump = []Hop{bastion.hop("root")}
	cfg.Port = port
	_, err = Dial(ctx, "127.0.0.1", cfg, nil)
	mustContain(t, err, "jump host "+bastion.addr()+" could not open a connection to 127.0.0.1:")
}

func TestProxyJumpLostBastionNamed(t *testing.T) {
	target := needSSHD(t)
	bastion := target.another(t, "")
	cfg := target.config("root", knownHostsFor(t, target, bastion))
	cfg.ProxyJump = []Hop{bastion.hop("root")}
	c, err := Dial(context.Background(), "127.0.0.1", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The bastion's keepalives give it up; the host's errors name it.
	c.via.giveUp(io.ErrUnexpectedEOF)
	_, err = c.Run(context.Background(), "", "true", nil)
	if err == nil {
		t.Fatal("command ran through a closed bastion")
	}
	if !strings.Contains(err.Error(), io.ErrUnexpectedEOF.Error()) {
		t.Errorf("error %q does not say the bastion was lost", err)
	}
	_ = os.Stdout
	_ = net.IPv4len
}
