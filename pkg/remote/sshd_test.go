package remote

// Test harness: a private OpenSSH server on 127.0.0.1 with its own host keys,
// plus two throwaway users (one with NOPASSWD sudo, one whose sudo needs a
// password). Everything is created lazily by needSSHD and removed by
// TestMain; nothing that existed before is touched.

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const sshdPath = "/usr/sbin/sshd"

// sshEnv is the test server and its users.
type sshEnv struct {
	dir       string
	port      int
	sshd      *exec.Cmd
	logFile   string
	hostKeys  map[string]ssh.PublicKey // by key type
	clientKey string                   // identity file accepted for every user
	clientPEM []byte
	clientRaw ed25519.PrivateKey
	user      string // has NOPASSWD sudo
	pwUser    string // sudo asks for a password
	cleanups  []func()
	logLevel  string // sshd's LogLevel; "" = VERBOSE
}

// harness holds the lazily started environment. It is test-only state.
var harness struct {
	once sync.Once
	env  *sshEnv
	skip string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if harness.env != nil {
		if code != 0 {
			harness.env.printLog()
		}
		harness.env.teardown()
	}
	os.Exit(code)
}

// needSSHD returns the test server, starting it on first use, or skips the
// test when that is impossible here.
func needSSHD(tb testing.TB) *sshEnv {
	tb.Helper()
	harness.once.Do(func() {
		if reason := sshdUnavailable(); reason != "" {
			harness.skip = reason
			return
		}
		env := &sshEnv{}
		harness.env = env
		if err := env.setup(); err != nil {
			harness.skip = "could not start the test sshd: " + err.Error()
			env.teardown()
			harness.env = nil
		}
	})
	if harness.env == nil {
		tb.Skip(harness.skip)
	}
	return harness.env
}

// sshdUnavailable says why the server cannot be run, or "".
func sshdUnavailable() string {
	if os.Geteuid() != 0 {
		return "needs root (to run sshd and create throwaway users)"
	}
	for _, tool := range []string{sshdPath, "/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/bin/sudo"} {
		if _, err := os.Stat(tool); err != nil {
			return tool + " is not installed"
		}
	}
	return ""
}

// setup creates keys, users and the sshd process.
func (e *sshEnv) setup() error {
	dir, err := os.MkdirTemp("", "carbonctl-remote-test-")
	if err != nil {
		return err
	}
	e.dir = dir
	e.cleanups = append(e.cleanups, func() { os.RemoveAll(dir) })
	// Test users must reach authorized_keys and the test files.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	steps := []func() error{e.writeHostKeys, e.writeClientKey, e.createUsers, e.startSSHD}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// printLog shows the end of the sshd log, to help explain failures.
func (e *sshEnv) printLog() {
	log, err := os.ReadFile(e.logFile)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	fmt.Fprintf(os.Stderr, "--- end of the test sshd log:\n%s\n", strings.Join(lines, "\n"))
}

// teardown undoes setup, newest first.
func (e *sshEnv) teardown() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	e.cleanups = nil
}

// writeHostKeys generates the server's ed25519 and ecdsa host keys.
func (e *sshEnv) writeHostKeys() error {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	e.hostKeys = map[string]ssh.PublicKey{}
	for name, key := range map[string]any{"host_ed25519": edKey, "host_ecdsa": ecKey} {
		pemBytes, pub, err := marshalKey(key)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(e.dir, name), pemBytes, 0o600); err != nil {
			return err
		}
		e.hostKeys[pub.Type()] = pub
	}
	return nil
}

// marshalKey encodes a private key in OpenSSH format.
func marshalKey(key any) ([]byte, ssh.PublicKey, error) {
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		return nil, nil, err
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(block), signer.PublicKey(), nil
}

// writeClientKey generates the login key and authorized_keys.
func (e *sshEnv) writeClientKey() error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	pemBytes, pub, err := marshalKey(key)
	if err != nil {
		return err
	}
	e.clientRaw, e.clientPEM = key, pemBytes
	e.clientKey = filepath.Join(e.dir, "id_ed25519")
	if err := os.WriteFile(e.clientKey, pemBytes, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.dir, "authorized_keys"), ssh.MarshalAuthorizedKey(pub), 0o644)
}

// createUsers adds the two throwaway users and their sudoers file.
func (e *sshEnv) createUsers() error {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return err
	}
	e.user = fmt.Sprintf("cctest%06d", n)
	e.pwUser = fmt.Sprintf("cctpw%06d", n)
	for _, name := range []string{e.user, e.pwUser} {
		if err := run("useradd", "-M", "-s", "/bin/sh", name); err != nil {
			return err
		}
		e.cleanups = append(e.cleanups, func() { removeUser(name) })
		// "*" instead of useradd's "!": sshd refuses locked accounts.
		if err := run("usermod", "-p", "*", name); err != nil {
			return err
		}
	}
	sudoers := "/etc/sudoers.d/carbonctl-test-" + e.user
	rules := fmt.Sprintf("%s ALL=(ALL:ALL) NOPASSWD: ALL\n%s ALL=(ALL:ALL) ALL\n", e.user, e.pwUser)
	if err := os.WriteFile(sudoers, []byte(rules), 0o440); err != nil {
		return err
	}
	e.cleanups = append(e.cleanups, func() { os.Remove(sudoers) })
	return nil
}

// removeUser deletes a test user, retrying while its last processes exit.
func removeUser(name string) {
	for i := 0; i < 20; i++ {
		if exec.Command("userdel", name).Run() == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "warning: could not remove test user %s\n", name)
}

// run runs a local command, returning its output in the error.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// startSSHD starts sshd on a free port and waits until it accepts.
func (e *sshEnv) startSSHD() error {
	// sshd's privilege separation directory. It stays: removing it would
	// break the sshd of another test process running meanwhile.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	e.port = port
	config := filepath.Join(e.dir, "sshd_config")
	if err := os.WriteFile(config, []byte(e.sshdConfig()), 0o600); err != nil {
		return err
	}
	e.logFile = filepath.Join(e.dir, "sshd.log")
	logf, err := os.Create(e.logFile)
	if err != nil {
		return err
	}
	defer logf.Close()
	e.sshd = exec.Command(sshdPath, "-D", "-e", "-f", config)
	e.sshd.Stdout, e.sshd.Stderr = logf, logf
	if err := e.sshd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { e.sshd.Wait(); close(exited) }()
	e.cleanups = append(e.cleanups, func() {
		e.sshd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			e.sshd.Process.Kill()
		}
	})
	return e.waitListening(exited)
}

// sshdConfig is the server's configuration.
func (e *sshEnv) sshdConfig() string {
	return fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host_ed25519
HostKey %[2]s/host_ecdsa
PidFile %[2]s/sshd.pid
AuthorizedKeysFile %[2]s/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
LogLevel %[3]s
`, e.port, e.dir, cmp.Or(e.logLevel, "VERBOSE"))
}

// another starts a second sshd with host keys of its own, accepting the
// same users and key, e.g. as a jump host; it stops when the test ends.
func (e *sshEnv) another(t testing.TB, logLevel string) *sshEnv {
	t.Helper()
	// Not t.TempDir, whose parent the test users cannot enter.
	dir, err := os.MkdirTemp("", "carbonctl-remote-test-")
	if err != nil {
		t.Fatal(err)
	}
	o := &sshEnv{dir: dir, clientKey: e.clientKey, user: e.user, pwUser: e.pwUser, logLevel: logLevel}
	o.cleanups = append(o.cleanups, func() { os.RemoveAll(dir) })
	t.Cleanup(o.teardown)
	if err := os.Chmod(o.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	keys := readFile(t, filepath.Join(e.dir, "authorized_keys"))
	writeFile(t, filepath.Join(o.dir, "authorized_keys"), keys, 0o644)
	for _, step := range []func() error{o.writeHostKeys, o.startSSHD} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// waitListening waits for sshd to accept connections.
func (e *sshEnv) waitListening(exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log, _ := os.ReadFile(e.logFile)
			return fmt.Errorf("sshd exited: %s", log)
		default:
		}
		if conn, err := net.Dial("tcp", e.addr()); err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("sshd did not start listening")
}

// freePort returns a TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// addr is the server's host:port.
func (e *sshEnv) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(e.port)) }

// knownHosts writes a known_hosts file holding the given keys for the
// server and returns its path.
func (e *sshEnv) knownHosts(t testing.TB, keys ...ssh.PublicKey) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# test known_hosts\n")
	for _, k := range keys {
		b.WriteString(knownhosts.Line([]string{e.addr()}, k) + "\n")
	}
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// config returns a Config logging in as user with the test key.
func (e *sshEnv) config(user, knownHostsFile string) Config {
	return Config{
		User:           user,
		Port:           e.port,
		IdentityFiles:  []string{e.clientKey},
		KnownHostsFile: knownHostsFile,
		ConnectTimeout: 5 * time.Second,
	}
}

// dial connects as user, trusting the server's ed25519 key.
func (e *sshEnv) dial(t testing.TB, user string) *Client {
	t.Helper()
	file := e.knownHosts(t, e.hostKeys[ssh.KeyAlgoED25519])
	keys, err := NewHostKeys(file, false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(context.Background(), "127.0.0.1", e.config(user, file), keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
