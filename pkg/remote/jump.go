package remote

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
)

// Hop is one jump host of Config.ProxyJump.
type Hop struct {
	// Host is the jump host's name or address as written; HostName, if
	// set, is the address to connect to instead (ssh_config's HostName).
	Host, HostName string
	// Port is its sshd port; 0 means 22.
	Port int
	// User is the login user there; "" = the host's Config.User.
	User string
	// IdentityFiles are the keys to log in with; nil = the host's
	// Config.IdentityFiles (the agent is used as Config.UseAgent says).
	IdentityFiles []string
}

// addr is the address the hop is dialled at, "host:port".
func (h Hop) addr() string {
	host, port := h.Host, h.Port
	if h.HostName != "" {
		host = h.HostName
	}
	if port == 0 {
		port = defaultPort
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// String is the hop as OpenSSH's ProxyJump writes it, user@host:port.
func (h Hop) String() string {
	s := h.addr()
	if h.User != "" {
		s = h.User + "@" + s
	}
	return s
}

// Bastions opens the connections to jump hosts and shares them: every host
// of a run dialled through one Bastions with the same jump host (same
// address, user and keys, reached the same way) goes through ONE
// connection to it. A jump host's connection is closed when the last
// Client through it closes. Its keepalives work as a host's: a jump host
// that stops answering fails the hosts behind it with an error naming it.
type Bastions struct {
	mu    sync.Mutex
	conns map[string]*bastion
}

// bastion is one shared jump host connection.
type bastion struct {
	key    string
	once   sync.Once
	client *Client
	err    error
	refs   int // guarded by Bastions.mu
}

// NewBastions returns an empty set of jump host connections.
func NewBastions() *Bastions { return &Bastions{conns: map[string]*bastion{}} }

// NewDialer returns a Dialer that shares jump host connections between the
// hosts it dials: one per run.
func NewDialer() Dialer { return NewBastions().Dial }

// Dial is DialClient as a Dialer.
func (b *Bastions) Dial(ctx context.Context, host string, cfg Config, keys *HostKeys) (Host, error) {
	c, err := b.DialClient(ctx, host, cfg, keys)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DialClient is Dial, going through the jump hosts b holds or opens.
func (b *Bastions) DialClient(ctx context.Context, host string, cfg Config, keys *HostKeys) (*Client, error) {
	cfg = cfg.withDefaults()
	target := cfg.HostName
	if target == "" {
		target = host
	}
	addr := net.JoinHostPort(target, strconv.Itoa(cfg.Port))
	if keys == nil {
		var err error
		if keys, err = NewHostKeys(cfg.KnownHostsFile, cfg.AcceptNewHostKeys); err != nil {
			return nil, fmt.Errorf("connecting to %s: %w", addr, err)
		}
	}
	var held []*bastion
	var via *Client
	for i := range cfg.ProxyJump {
		hop, err := b.acquire(ctx, cfg, keys, i, via)
		if hop != nil {
			held = append(held, hop)
		}
		if err != nil {
			b.release(held)
			return nil, fmt.Errorf("connecting to %s through jump host %d of %d (%s): %w", addr, i+1, len(cfg.ProxyJump), cfg.ProxyJump[i], err)
		}
		via = hop.client
	}
	trace := newTracer(cfg.Trace, addr)
	conn, heard, err := connect(ctx, login{addr: addr, user: cfg.User, identityFiles: cfg.IdentityFiles, via: via}, cfg, keys, trace)
	if err != nil {
		b.release(held)
		if via != nil {
			return nil, fmt.Errorf("%w (through jump host %s)", err, via.addr)
		}
		return nil, err
	}
	trace.connected()
	c := newClient(host, addr, cfg, conn, heard)
	c.trace = trace
	c.via = via
	c.onClose = func() { b.release(held) }
	return c, nil
}

// acquire returns the connection to the i-th jump host of cfg, reached
// through via (the one before it; nil for the first), opening it on first
// use. The caller holds a reference to it until it calls release, even
// when the connection failed.
func (b *Bastions) acquire(ctx context.Context, cfg Config, keys *HostKeys, i int, via *Client) (*bastion, error) {
	key := chainKey(cfg, i)
	b.mu.Lock()
	h := b.conns[key]
	if h == nil {
		h = &bastion{key: key}
		b.conns[key] = h
	}
	h.refs++
	b.mu.Unlock()
	h.once.Do(func() { h.client, h.err = dialHop(ctx, cfg, keys, cfg.ProxyJump[i], via) })
	return h, h.err
}

// dialHop logs in to one jump host.
func dialHop(ctx context.Context, cfg Config, keys *HostKeys, hop Hop, via *Client) (*Client, error) {
	l := login{addr: hop.addr(), user: hop.User, identityFiles: hop.IdentityFiles, via: via}
	if l.user == "" {
		l.user = cfg.User
	}
	if l.identityFiles == nil {
		l.identityFiles = cfg.IdentityFiles
	}
	trace := newTracer(cfg.Trace, "jump host "+l.addr)
	conn, heard, err := connect(ctx, l, cfg, keys, trace)
	if err != nil {
		return nil, err
	}
	trace.connected()
	hc := cfg
	hc.User = l.user
	c := newClient("jump host "+hop.Host, l.addr, hc, conn, heard)
	c.via = via
	return c, nil
}

// chainKey identifies the i-th jump host of cfg and the way to it: the
// hops up to it, their users and keys.
func chainKey(cfg Config, i int) string {
	var parts []string
	for _, h := range cfg.ProxyJump[:i+1] {
		user, ids := h.User, h.IdentityFiles
		if user == "" {
			user = cfg.User
		}
		if ids == nil {
			ids = cfg.IdentityFiles
		}
		parts = append(parts, user+"@"+h.addr()+" "+strings.Join(ids, ":"))
	}
	return strings.Join(parts, ",")
}

// release gives up the references to held (a chain, first hop first),
// closing the connections no host uses any more, the last hop first.
func (b *Bastions) release(held []*bastion) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(held) - 1; i >= 0; i-- {
		h := held[i]
		if h.refs--; h.refs > 0 {
			continue
		}
		if b.conns[h.key] == h {
			delete(b.conns, h.key)
		}
		if h.client != nil {
			h.client.Close()
		}
	}
}

// Describe says how host is reached with cfg, for messages:
// "user@host:port", then " (HostName ADDR)" and " via HOP,HOP" as they apply.
func (cfg Config) Describe(host string) string {
	cfg = cfg.withDefaults()
	s := fmt.Sprintf("%s@%s", cfg.User, net.JoinHostPort(host, strconv.Itoa(cfg.Port)))
	if cfg.HostName != "" {
		s += " (HostName " + cfg.HostName + ")"
	}
	if len(cfg.ProxyJump) > 0 {
		hops := make([]string, len(cfg.ProxyJump))
		for i, h := range cfg.ProxyJump {
			hops[i] = h.String()
		}
		s += " via " + strings.Join(hops, ",")
	}
	return s
}
