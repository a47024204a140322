package remotetest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Network is a set of fake hosts by address; its Dial is a remote.Dialer.
type Network struct {
	tb    Reporter
	mu    sync.Mutex
	hosts map[string]*Host
	fail  map[string]error
	dials []Dialed
}

// Dialed is one Dial: the address and the configuration it was given.
type Dialed struct {
	Addr string
	Cfg  remote.Config
}

// NewNetwork returns an empty network.
func NewNetwork(tb Reporter) *Network {
	return &Network{tb: tb, hosts: map[string]*Host{}, fail: map[string]error{}}
}

// Add puts a fresh Linux host (NewLinuxHost) at addr and returns it.
func (n *Network) Add(addr string) *Host {
	h := NewLinuxHost(n.tb, addr)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hosts[addr] = h
	return h
}

// Host returns the host at addr, nil if none.
func (n *Network) Host(addr string) *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hosts[addr]
}

// Unreachable makes Dial to addr fail with err.
func (n *Network) Unreachable(addr string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fail[addr] = err
}

// Dials lists the Dial calls so far.
func (n *Network) Dials() []Dialed {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.dials)
}

// Dial implements remote.Dialer: it (re)opens the host at addr, logged in
// as cfg.User (root when empty). keys is not consulted: the fake has no
// host keys.
func (n *Network) Dial(ctx context.Context, addr string, cfg remote.Config, _ *remote.HostKeys) (remote.Host, error) {
	n.mu.Lock()
	n.dials = append(n.dials, Dialed{Addr: addr, Cfg: cfg})
	h, err := n.hosts[addr], n.fail[addr]
	n.mu.Unlock()
	port := cfg.Port
	if port == 0 {
		port = 22
	}
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("connecting to %s:%d: %w", addr, port, ctx.Err())
	case err != nil:
		return nil, fmt.Errorf("connecting to %s:%d: %w", addr, port, err)
	case h == nil:
		return nil, fmt.Errorf("connecting to %s:%d: no route to host (remotetest: no fake host at that address)", addr, port)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.login = cfg.User
	if h.login == "" {
		h.login = "root"
	}
	h.closed = false
	return h, nil
}
