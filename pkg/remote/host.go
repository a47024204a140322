package remote

import (
	"context"
	"io"
	"net"
)

// Host is what carbonctl needs of one logged-in connection to a machine.
// *Client is the SSH implementation; tests put a fake in its place so that
// step decisions can be checked as data, without an sshd.
type Host interface {
	// Run runs script with sh, as user as ("" = the login user), feeding
	// it stdin when not nil.
	Run(ctx context.Context, as, script string, stdin io.Reader) (Result, error)
	// Stream runs script as Run does, copying its output as it comes.
	Stream(ctx context.Context, as, script string, stdout, stderr io.Writer) (int, error)
	// Gather reads every file and probe of req in one round trip.
	Gather(ctx context.Context, req GatherRequest) (*Facts, error)
	// WriteFile replaces path with data, atomically, as opts say.
	WriteFile(ctx context.Context, path string, data []byte, opts WriteOptions) error
	// Defer makes script ready to run as user as with one round trip
	// later (see Client.Defer).
	Defer(ctx context.Context, as, script string) Deferred
	// Upload copies the local file src to dst, resuming what an earlier
	// upload left (see Client.Upload).
	Upload(ctx context.Context, src, dst string, opts UploadOptions) (UploadStats, error)
	// DialTCP opens a TCP connection from the host to addr (a tunnel).
	DialTCP(ctx context.Context, addr string) (net.Conn, error)
	// Lost is why the connection was given up, nil while the host answers.
	Lost() error
	// User is the login user.
	User() string
	// Close ends the connection.
	Close() error
}

// Dialer opens a Host: Dial for SSH, a fake in tests.
type Dialer func(ctx context.Context, addr string, cfg Config, keys *HostKeys) (Host, error)

// DialHost is Dial as a Dialer.
func DialHost(ctx context.Context, addr string, cfg Config, keys *HostKeys) (Host, error) {
	c, err := Dial(ctx, addr, cfg, keys)
	if err != nil {
		return nil, err
	}
	return c, nil
}

var _ Host = (*Client)(nil)
