package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Dial opens the one SSH connection this run uses for host (an IP address or
// a name), checking its host key with keys and logging in as cfg.User,
// through cfg.ProxyJump's jump hosts if any (opened for this connection
// alone and closed with it: use a Bastions to share them between hosts).
// Hosts dialled in parallel should share one HostKeys; a nil keys is made
// from cfg.KnownHostsFile and cfg.AcceptNewHostKeys.
// Errors name host:port (and the jump host that failed) and say what went
// wrong: unknown or changed host key, authentication failure, timeout,
// connection refused, name resolution.
func Dial(ctx context.Context, host string, cfg Config, keys *HostKeys) (*Client, error) {
	return NewBastions().DialClient(ctx, host, cfg, keys)
}

// login is one SSH login: to a host, or to a jump host on the way.
type login struct {
	addr          string // host:port dialled; also its name in known_hosts
	user          string
	identityFiles []string
	via           *Client // the jump host whose connection carries this one; nil = direct
}

// connect opens a TCP connection for l (directly or through l.via), checks
// the host key with keys and logs in. The result's heard tells when the
// host last sent anything.
func connect(ctx context.Context, l login, cfg Config, keys *HostKeys, trace *tracer) (*ssh.Client, *lastRead, error) {
	if l.user == "" {
		return nil, nil, fmt.Errorf("connecting to %s: no login user given", l.addr)
	}
	lc := cfg
	lc.User, lc.IdentityFiles = l.user, l.identityFiles
	creds, err := loadCredentials(lc)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", l.addr, err)
	}
	defer creds.close()
	algos, err := keys.hostKeyAlgorithms(l.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", l.addr, err)
	}
	var hostKey verdict
	checkKey := keys.callback(l.addr, &hostKey)
	sshCfg := &ssh.ClientConfig{
		User: l.user,
		Auth: []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			trace.mark("service request and auth \"none\"")
			return creds.signers()
		})},
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			trace.mark("version and key exchange")
			return checkKey(hostname, remote, key)
		},
		HostKeyAlgorithms: algos,
	}
	conn, heard, err := handshake(ctx, l, sshCfg, cfg, trace)
	if err != nil {
		if err := hostKey.get(); err != nil {
			return nil, nil, err
		}
		return nil, nil, explainDialError(ctx, l.addr, lc, creds, err)
	}
	trace.mark("publickey auth")
	return conn, heard, nil
}

// handshake connects to l.addr and runs the SSH handshake and
// authentication, all bounded by ctx and cfg.ConnectTimeout. heard tells
// when the host last sent anything.
func handshake(ctx context.Context, l login, sshCfg *ssh.ClientConfig, cfg Config, trace *tracer) (conn *ssh.Client, heard *lastRead, err error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	tcp, err := l.dialTCP(ctx)
	if err != nil {
		return nil, nil, err
	}
	trace.mark("tcp connect")
	watched := &lastRead{Conn: tcp}
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	c, chans, reqs, err := ssh.NewClientConn(watched, l.addr, sshCfg)
	if !stop() {
		// ctx ended during the handshake and closed the connection.
		if err == nil {
			c.Close()
		}
		return nil, nil, ctx.Err()
	}
	if err != nil {
		tcp.Close()
		return nil, nil, err
	}
	return ssh.NewClient(c, chans, reqs), watched, nil
}

// dialTCP opens the connection l's SSH runs over: a TCP connection, or a
// direct-tcpip channel of the jump host's connection.
func (l login) dialTCP(ctx context.Context) (net.Conn, error) {
	if l.via == nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", l.addr)
	}
	conn, err := l.via.conn.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		return nil, fmt.Errorf("jump host %s could not open a connection to %s: %w", l.via.addr, l.addr, l.via.cause(err))
	}
	return conn, nil
}

// lastRead is a connection that records when it last received data, like
// OpenSSH, whose ServerAliveCountMax counts only intervals in which nothing
// at all arrived (a reply to a keepalive can queue behind a large upload).
type lastRead struct {
	net.Conn
	at atomic.Int64 // UnixNano of the last read that returned data
}

// Read implements io.Reader.
func (l *lastRead) Read(p []byte) (int, error) {
	n, err := l.Conn.Read(p)
	if n > 0 {
		l.at.Store(time.Now().UnixNano())
	}
	return n, err
}

// within reports whether data arrived in the last d.
func (l *lastRead) within(d time.Duration) bool {
	return time.Since(time.Unix(0, l.at.Load())) < d
}

// explainDialError turns a failed connection attempt into a message that
// names addr and the cause.
func explainDialError(ctx context.Context, addr string, cfg Config, creds *credentials, err error) error {
	var dnsErr *net.DNSError
	var algoErr *ssh.AlgorithmNegotiationError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("connecting to %s: %w", addr, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return fmt.Errorf("connecting to %s: timed out after %s", addr, cfg.ConnectTimeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		_, port, _ := net.SplitHostPort(addr)
		return fmt.Errorf("connecting to %s: connection refused (is sshd running and listening on port %s?)", addr, port)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("connecting to %s: cannot resolve host name: %w", addr, err)
	case strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("authentication to %s as %q failed: the server accepted none of the keys offered (%s)%s",
			addr, cfg.User, creds.describe(), creds.skippedNote())
	case errors.As(err, &algoErr) && algoErr.What == "host key":
		return fmt.Errorf("%s offers none of the host key types recorded for it in known_hosts (%s; server has %s); its keys have probably changed: verify them and fix known_hosts",
			addr, strings.Join(algoErr.SupportedAlgorithms, ", "), strings.Join(algoErr.RequestedAlgorithms, ", "))
	default:
		return fmt.Errorf("connecting to %s: %w", addr, err)
	}
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// credentials are the keys Dial offers: identity files first, then the
// agent's keys.
type credentials struct {
	files      []ssh.Signer
	fileNames  []string
	skipped    []string // encrypted identity files, left to the agent
	agent      agent.ExtendedAgent
	agentConn  net.Conn
	agentCount int
}

// loadCredentials reads cfg's identity files and connects to the agent.
func loadCredentials(cfg Config) (*credentials, error) {
	creds := &credentials{}
	if cfg.UseAgent {
		if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
			conn, err := net.Dial("unix", sock)
			if err != nil && len(cfg.IdentityFiles) == 0 {
				return nil, fmt.Errorf("connecting to ssh-agent at $SSH_AUTH_SOCK: %w", err)
			}
			if err == nil {
				creds.agentConn, creds.agent = conn, agent.NewClient(conn)
			}
		}
	}
	for _, file := range cfg.IdentityFiles {
		if err := creds.addIdentityFile(file); err != nil {
			creds.close()
			return nil, err
		}
	}
	if len(creds.files) == 0 && creds.agent == nil {
		creds.close()
		if len(creds.skipped) > 0 {
			return nil, encryptedKeyError(creds.skipped[0])
		}
		return nil, errors.New("no SSH credentials: give an identity file or use ssh-agent (SSH_AUTH_SOCK)")
	}
	return creds, nil
}

// addIdentityFile parses one private key file. An encrypted key is skipped
// when the agent is available (it may hold the key) and is an error
// otherwise.
func (c *credentials) addIdentityFile(file string) error {
	pem, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading identity file: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing) && c.agent != nil:
		c.skipped = append(c.skipped, file)
		return nil
	case errors.As(err, &missing):
		return encryptedKeyError(file)
	case err != nil:
		return fmt.Errorf("identity file %s: %w", file, err)
	}
	c.files = append(c.files, signer)
	c.fileNames = append(c.fileNames, file)
	return nil
}

// encryptedKeyError explains that a passphrase-protected key needs the agent.
func encryptedKeyError(file string) error {
	return fmt.Errorf("identity file %s is encrypted (has a passphrase) and carbonctl does not prompt for passphrases: load it into ssh-agent (ssh-add %s) and use the agent", file, file)
}

// signers returns the keys to offer, in order.
func (c *credentials) signers() ([]ssh.Signer, error) {
	all := append([]ssh.Signer(nil), c.files...)
	if c.agent != nil {
		fromAgent, err := c.agent.Signers()
		if err != nil && len(all) == 0 {
			return nil, fmt.Errorf("listing ssh-agent keys: %w", err)
		}
		c.agentCount = len(fromAgent)
		all = append(all, fromAgent...)
	}
	return all, nil
}

// describe lists the key sources for an authentication failure message.
func (c *credentials) describe() string {
	var parts []string
	if len(c.fileNames) > 0 {
		parts = append(parts, "identity files "+strings.Join(c.fileNames, ", "))
	}
	if c.agent != nil {
		parts = append(parts, fmt.Sprintf("%d ssh-agent keys", c.agentCount))
	}
	return strings.Join(parts, "; ")
}

// skippedNote mentions encrypted identity files the agent did not cover.
func (c *credentials) skippedNote() string {
	if len(c.skipped) == 0 {
		return ""
	}
	return fmt.Sprintf("; encrypted identity files %s were not used: load them into ssh-agent with ssh-add",
		strings.Join(c.skipped, ", "))
}

// close releases the agent connection.
func (c *credentials) close() {
	if c.agentConn != nil {
		c.agentConn.Close()
	}
}
