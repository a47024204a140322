package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
)

// Client is one SSH connection to a host. It is safe for concurrent use;
// each call runs in its own SSH session, at most Config.MaxSessions at once.
type Client struct {
	host     string
	addr     string
	user     string
	conn     *ssh.Client
	sessions chan struct{} // semaphore: one token per open session
}

// newClient wraps an authenticated connection.
func newClient(host, addr string, cfg Config, conn *ssh.Client) *Client {
	return &Client{
		host:     host,
		addr:     addr,
		user:     cfg.User,
		conn:     conn,
		sessions: make(chan struct{}, cfg.MaxSessions),
	}
}

// Host returns the host as given to Dial.
func (c *Client) Host() string { return c.host }

// User returns the login user.
func (c *Client) User() string { return c.user }

// Close closes the connection; commands still running are cut off.
func (c *Client) Close() error { return c.conn.Close() }

// DialTCP opens a TCP connection to addr ("host:port") from the remote host,
// through the SSH connection (a direct-tcpip channel), e.g. to reach a MySQL
// server that only the host can see. ctx bounds the connection setup only.
func (c *Client) DialTCP(ctx context.Context, addr string) (net.Conn, error) {
	conn, err := c.conn.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("opening a tunnel through %s to %s: %w", c.host, addr, err)
	}
	return conn, nil
}

// acquire takes a session slot, waiting for one if all are in use.
func (c *Client) acquire(ctx context.Context) error {
	select {
	case c.sessions <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release returns a session slot.
func (c *Client) release() { <-c.sessions }

// Session retry: sshd frees a closed session's slot a little after the
// close, so a new session can be refused for a moment ("open failed", as
// with too many sessions) although the Client holds fewer than MaxSessions.
const (
	sessionRetries    = 8
	sessionRetryDelay = 10 * time.Millisecond // doubles on each retry
)

// newSession opens an SSH session, retrying while sshd refuses it for lack
// of free session slots.
func (c *Client) newSession(ctx context.Context) (*ssh.Session, error) {
	delay := sessionRetryDelay
	for attempt := 0; ; attempt++ {
		sess, err := c.conn.NewSession()
		var refused *ssh.OpenChannelError
		if err == nil || !errors.As(err, &refused) || attempt == sessionRetries {
			return sess, err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		delay *= 2
	}
}

// isRoot reports whether the login user is root.
func (c *Client) isRoot() bool { return c.user == "root" }
