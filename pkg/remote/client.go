package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
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
	// openTimeout bounds opening a session; cmdTimeout bounds a command.
	openTimeout, cmdTimeout time.Duration

	heard     *lastRead // when the host last sent anything
	trace     *tracer   // nil unless Config.Trace is set
	closeOnce sync.Once
	closed    chan struct{} // closed by Close: stops the keepalives
	mu        sync.Mutex
	lost      error // why the keepalives gave the host up; nil while it answers

	via     *Client // the jump host this connection goes through; nil = direct
	onClose func()  // releases the jump hosts; nil without
	// become is the sudo password (Config.BecomePassword); becomeChecked
	// is set once a Gather has checked it.
	become        Secret
	becomeChecked atomic.Bool
}

// newClient wraps an authenticated connection and starts its keepalives.
func newClient(host, addr string, cfg Config, conn *ssh.Client, heard *lastRead) *Client {
	c := &Client{
		host:        host,
		addr:        addr,
		user:        cfg.User,
		conn:        conn,
		sessions:    make(chan struct{}, cfg.MaxSessions),
		openTimeout: cfg.AliveInterval * time.Duration(cfg.AliveCountMax),
		cmdTimeout:  cfg.CommandTimeout,
		heard:       heard,
		closed:      make(chan struct{}),
		become:      cfg.BecomePassword,
	}
	go c.keepAlive(cfg.AliveInterval, cfg.AliveCountMax)
	return c
}

// keepAlive sends a keepalive@openssh.com global request every interval
// (sshd answers it, even if only with a failure reply), one at a time. When
// count intervals in a row pass with the request unanswered and nothing at
// all received, the host counts as gone: the connection is closed, which
// makes every call blocked on it (opening a session or a channel, waiting
// for a command) return at once. It ends when the connection closes.
func (c *Client) keepAlive(interval time.Duration, count int) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	answers := make(chan error, 1) // one request is outstanding at a time
	pending, missed := false, 0
	for {
		select {
		case <-c.closed:
			return
		case err := <-answers:
			if err != nil {
				return // the connection is closed
			}
			pending, missed = false, 0
		case <-ticker.C:
			switch {
			case c.heard.within(interval):
				missed = 0
			case pending:
				if missed++; missed >= count {
					c.giveUp(fmt.Errorf("%s stopped answering: no reply to an SSH keepalive for %s (ssh.server_alive_interval %s × server_alive_count_max %d); the connection was closed",
						c.host, interval*time.Duration(count), interval, count))
					return
				}
			}
			if !pending {
				pending = true
				go func() {
					_, _, err := c.conn.SendRequest("keepalive@openssh.com", true, nil)
					answers <- err
				}()
			}
		}
	}
}

// giveUp records why the host is considered gone and closes the connection.
func (c *Client) giveUp(err error) {
	c.mu.Lock()
	c.lost = err
	c.mu.Unlock()
	_ = c.conn.Close()
}

// Lost returns why the keepalives gave the host up (the connection is
// closed and every further call fails), nil while it answers.
func (c *Client) Lost() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lost
}

// cause replaces a transport error by the keepalive failure that caused it,
// which names the host (or the jump host on the way) and says what
// happened.
func (c *Client) cause(err error) error {
	if err == nil {
		return nil
	}
	if lost := c.Lost(); lost != nil {
		return lost
	}
	for via := c.via; via != nil; via = via.via {
		if lost := via.Lost(); lost != nil {
			return fmt.Errorf("%w (the connection to %s goes through it): %w", lost, c.host, err)
		}
	}
	return err
}

// Host returns the host as given to Dial.
func (c *Client) Host() string { return c.host }

// User returns the login user.
func (c *Client) User() string { return c.user }

// Close closes the connection; commands still running are cut off.
func (c *Client) Close() error {
	err := c.conn.Close()
	c.closeOnce.Do(func() {
		close(c.closed)
		if c.onClose != nil {
			c.onClose()
		}
	})
	return err
}

// DialTCP opens a TCP connection to addr ("host:port") from the remote host,
// through the SSH connection (a direct-tcpip channel), e.g. to reach a MySQL
// server that only the host can see. ctx bounds the connection setup only.
func (c *Client) DialTCP(ctx context.Context, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.openTimeout)
	defer cancel()
	conn, err := c.conn.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("opening a tunnel through %s to %s: %w", c.host, addr, c.cause(err))
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
		sess, err := c.openSession(ctx)
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

// openSession opens one SSH session, waiting at most until ctx ends or the
// keepalive window (openTimeout) passes. A session that opens after the
// caller gave up is closed; the goroutine opening it ends at the latest
// when the keepalives close a connection whose host stopped answering.
func (c *Client) openSession(ctx context.Context) (*ssh.Session, error) {
	type opened struct {
		sess *ssh.Session
		err  error
	}
	result := make(chan opened, 1)
	go func() {
		sess, err := c.conn.NewSession()
		result <- opened{sess, err}
	}()
	timer := time.NewTimer(c.openTimeout)
	defer timer.Stop()
	select {
	case o := <-result:
		return o.sess, c.cause(o.err)
	case <-ctx.Done():
	case <-timer.C:
	}
	go func() {
		if o := <-result; o.sess != nil {
			o.sess.Close()
		}
	}()
	switch {
	case c.Lost() != nil:
		return nil, c.Lost()
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("%s did not open an SSH session within %s (ssh.server_alive_interval × server_alive_count_max)", c.host, c.openTimeout)
}

// isRoot reports whether the login user is root.
func (c *Client) isRoot() bool { return c.user == "root" }
