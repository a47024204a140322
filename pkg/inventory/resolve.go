package inventory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Lookup returns the addresses of a host name, as the control machine's
// resolver (/etc/hosts, DNS) answers. LookupHost is the real one; tests
// give a table.
type Lookup func(ctx context.Context, name string) ([]netip.Addr, error)

// LookupHost resolves name with the system's resolver.
func LookupHost(ctx context.Context, name string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", name)
}

// PickAddr chooses the one address a host name stands for: its IPv4
// address, or its IPv6 address when it has no IPv4 one. A name with several
// addresses of that family is ambiguous (the peers need the one they can
// reach), and so is a loopback or unspecified address, which no peer can
// reach.
func PickAddr(addrs []netip.Addr) (netip.Addr, error) {
	var v4, v6 []netip.Addr
	for _, a := range dedupeAddrs(addrs) {
		if a.Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	pick := v4
	if len(pick) == 0 {
		pick = v6
	}
	switch {
	case len(pick) == 0:
		return netip.Addr{}, errors.New("it has no address")
	case len(pick) > 1:
		return netip.Addr{}, fmt.Errorf("it has %d addresses (%s) and the cluster needs the one the peers reach", len(pick), joinAddrs(pick))
	case pick[0].IsLoopback() || pick[0].IsUnspecified():
		return netip.Addr{}, fmt.Errorf("it resolves to %s, which no other machine can reach", pick[0])
	}
	return pick[0], nil
}

// dedupeAddrs unmaps IPv4-in-IPv6 addresses and drops repeats, keeping the
// order.
func dedupeAddrs(addrs []netip.Addr) []netip.Addr {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// resolveTimeout bounds each lookup when [ssh] connect_timeout is unset.
const resolveTimeout = 10 * time.Second

// Resolve replaces every DNS name in a node's or the load balancer's host
// with the one address it resolves to on the control machine (see
// PickAddr), keeping the name in HostName: SSH connects by the name, the
// clustering configuration (well-known members, /etc/hosts, nginx
// upstreams) gets the address. It resolves the whole inventory inv was
// narrowed from and copies the answers into inv, so the product groups of
// one run look every name up once. Each lookup is bounded by
// [ssh] connect_timeout. The error is Errors, one per name, naming the
// file, line and node.
func (inv *Inventory) Resolve(ctx context.Context, lookup Lookup) error {
	full := inv.full()
	if err := full.resolveOwn(ctx, lookup); err != nil {
		return err
	}
	if full == inv {
		return nil
	}
	for i := range inv.Nodes {
		if n := full.Node(inv.Nodes[i].Name); n != nil {
			inv.Nodes[i].Host, inv.Nodes[i].HostName = n.Host, n.HostName
		}
	}
	if inv.LoadBalancer != nil && full.LoadBalancer != nil {
		inv.LoadBalancer.Host, inv.LoadBalancer.HostName = full.LoadBalancer.Host, full.LoadBalancer.HostName
	}
	return nil
}

// hostRef is one host key that holds a name still to resolve.
type hostRef struct {
	host, name *string // the Host and HostName fields
	key, who   string  // "node[2].host", "node esb1"
	addr       netip.Addr
	err        error
}

// resolveOwn resolves the names of inv itself, in parallel.
func (inv *Inventory) resolveOwn(ctx context.Context, lookup Lookup) error {
	refs := inv.unresolved()
	timeout := inv.SSH.ConnectTimeout
	if timeout <= 0 {
		timeout = resolveTimeout
	}
	var wg sync.WaitGroup
	for _, r := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			r.addr, r.err = resolveName(ctx, lookup, *r.host)
		}()
	}
	wg.Wait()
	var errs Errors
	for _, r := range refs {
		if r.err != nil {
			errs = append(errs, &Error{File: inv.Path, Line: inv.LineOf(r.key), Key: r.key,
				Msg: fmt.Sprintf("%s: host name %q: %v", r.who, *r.host, r.err)})
			continue
		}
		*r.name, *r.host = *r.host, r.addr.String()
	}
	errs = append(errs, inv.sharedAddrs()...)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// unresolved lists the hosts of inv written as names and not resolved yet.
func (inv *Inventory) unresolved() []*hostRef {
	var refs []*hostRef
	for i := range inv.Nodes {
		n := &inv.Nodes[i]
		if isName(n.Host) {
			refs = append(refs, &hostRef{host: &n.Host, name: &n.HostName, key: fmt.Sprintf("node[%d].host", i+1), who: "node " + n.Name})
		}
	}
	if lb := inv.LoadBalancer; lb != nil && isName(lb.Host) {
		refs = append(refs, &hostRef{host: &lb.Host, name: &lb.HostName, key: "loadbalancer.host", who: "load balancer"})
	}
	return refs
}

// isName reports whether host is written as a name (not an address).
func isName(host string) bool {
	_, err := netip.ParseAddr(host)
	return host != "" && err != nil
}

// resolveName looks name up and picks its address, explaining failures.
func resolveName(ctx context.Context, lookup Lookup, name string) (netip.Addr, error) {
	addrs, err := lookup(ctx, name)
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return netip.Addr{}, errors.New("does not resolve on the control machine (no DNS or /etc/hosts entry): fix the name, add it to DNS, or write the IP address")
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &dnsErr) && dnsErr.IsTimeout):
		return netip.Addr{}, fmt.Errorf("lookup timed out on the control machine: check its DNS servers, or write the IP address: %w", err)
	case err != nil:
		return netip.Addr{}, fmt.Errorf("lookup failed on the control machine: %w", err)
	}
	a, err := PickAddr(addrs)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("on the control machine, %v: write in host the address the cluster should use", err)
	}
	return a, nil
}

// sharedAddrs reports nodes written differently (two names, or a name and
// an address) that turned out to be the same machine: the checks of nodes
// sharing a host (ports, offsets) compare what is written, so such nodes
// must name their host the same way.
func (inv *Inventory) sharedAddrs() Errors {
	var errs Errors
	first := map[string]int{}
	for i, n := range inv.Nodes {
		j, seen := first[sameHost(n.Host)]
		if !seen {
			first[sameHost(n.Host)] = i
			continue
		}
		if m := inv.Nodes[j]; written(m) != written(n) {
			key := fmt.Sprintf("node[%d].host", i+1)
			errs = append(errs, &Error{File: inv.Path, Line: inv.LineOf(key), Key: key,
				Msg: fmt.Sprintf("node %s (%s) and node %s (%s) are the same machine, %s: write host the same way for nodes that share a machine, so that their ports are checked against each other", m.Name, written(m), n.Name, written(n), n.Host)})
		}
	}
	return errs
}

// written is the host as the inventory wrote it.
func written(n Node) string { return writtenHost(n.Host, n.HostName) }

// writtenHost is name when the host was written as a name, else host.
func writtenHost(host, name string) string {
	if name != "" {
		return name
	}
	return host
}

// SSHHost is what carbonctl connects to over SSH: the name written in the
// inventory (also after Resolve), else the address.
func (n Node) SSHHost() string { return written(n) }

// SSHHost is what carbonctl connects to over SSH: the name written in the
// inventory (also after Resolve), else the address.
func (lb *LoadBalancer) SSHHost() string { return writtenHost(lb.Host, lb.HostName) }
