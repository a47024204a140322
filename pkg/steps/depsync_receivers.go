package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/depsync"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// receiverHost is one host of receiving nodes.
type receiverHost struct {
	h     *engine.Host
	nodes []*engine.Node // every receiving node on the host
}

// receiverHosts groups the receivers by host, in inventory order.
func (s *syncSetup) receiverHosts() []*receiverHost {
	var out []*receiverHost
	byHost := map[*engine.Host]*receiverHost{}
	for _, n := range s.receivers {
		rh := byHost[n.Host]
		if rh == nil {
			rh = &receiverHost{h: n.Host}
			byHost[n.Host] = rh
			out = append(out, rh)
		}
		rh.nodes = append(rh.nodes, n)
	}
	return out
}

// dirs are the absolute directories the host's nodes receive into.
func (rh *receiverHost) dirs(rel []string) []string {
	var out []string
	for _, n := range rh.nodes {
		for _, d := range rel {
			out = append(out, n.Home(d))
		}
	}
	return out
}

// authorizeReceivers installs the receiver and the restricted key on every
// targeted receiving host. It returns the host keys to pin on the source:
// read now from every connected receiving host, kept from the source's
// known_hosts for the others (--limit).
func authorizeReceivers(ctx context.Context, e *engine.Engine, s *syncSetup, key depsync.PublicKey, results map[*engine.Node]*engine.Result) []depsync.HostKey {
	hosts := s.receiverHosts()
	pins := make([][]depsync.HostKey, len(hosts))
	e.Parallel(len(hosts), func(i int) {
		rh := hosts[i]
		res := hostResult(rh, results)
		var err error
		if rh.h.Client != nil && rh.h.Err == nil {
			pins[i], err = readHostKeys(ctx, rh.h, s.port)
		} else {
			pins[i], err = keptPins(ctx, e, s, rh.h.Addr)
		}
		if err == nil && res != nil {
			err = authorizeHost(ctx, e, s, rh, key, res)
		}
		if err != nil && res != nil {
			failHost(rh, results, err)
		}
	})
	var out []depsync.HostKey
	for _, p := range pins {
		out = append(out, p...)
	}
	return out
}

// hostResult is the result that carries the host's actions: the first
// targeted node's, or nil when none of the host's nodes is targeted or one
// of them failed earlier (whose results become skipped).
func hostResult(rh *receiverHost, results map[*engine.Node]*engine.Result) *engine.Result {
	var first *engine.Result
	for _, n := range rh.nodes {
		if n.IsFailed() {
			for _, m := range rh.nodes {
				if r := results[m]; r != nil {
					r.Status, r.Note = engine.Skipped, "(an earlier step failed on this host)"
				}
			}
			return nil
		}
		if r := results[n]; r != nil && first == nil {
			first = r
		}
	}
	return first
}

// failHost fails every targeted node of the host.
func failHost(rh *receiverHost, results map[*engine.Node]*engine.Result, err error) {
	for _, n := range rh.nodes {
		if r := results[n]; r != nil {
			n.MarkFailed()
			engine.Fail(r, err)
		}
	}
}

// readHostKeys reads the host's public host keys.
func readHostKeys(ctx context.Context, h *engine.Host, port int) ([]depsync.HostKey, error) {
	var out []depsync.HostKey
	for _, p := range hostKeyFiles() {
		f, err := h.Read(ctx, p)
		if err != nil {
			return nil, err
		}
		if !f.Exists {
			continue
		}
		k, err := depsync.ParsePublicKey(string(f.Content))
		if err != nil {
			return nil, fmt.Errorf("%s on %s: %w", p, h.Addr, err)
		}
		out = append(out, depsync.HostKey{Addr: h.Addr, Port: port, Key: k})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no SSH host key in /etc/ssh/ssh_host_{ed25519,ecdsa,rsa}_key.pub on %s: the sync cannot pin it", h.Addr)
	}
	return out, nil
}

// keptPins returns the keys the source's known_hosts already pins for addr.
func keptPins(ctx context.Context, e *engine.Engine, s *syncSetup, addr string) ([]depsync.HostKey, error) {
	f, err := s.source.Host.Read(ctx, depsyncPath(s.source, depsync.KnownHostsName))
	if err != nil {
		return nil, err
	}
	pattern := depsync.HostPattern(addr, s.port)
	var out []depsync.HostKey
	for _, l := range strings.Split(string(f.Content), "\n") {
		host, rest, ok := strings.Cut(l, " ")
		if !ok || host != pattern {
			continue
		}
		if k, err := depsync.ParsePublicKey(rest); err == nil {
			out = append(out, depsync.HostKey{Addr: addr, Port: s.port, Key: k})
		}
	}
	return out, nil
}

// authorizeHost installs the receiver script and the key's restricted
// entry in the product user's authorized_keys on one host.
func authorizeHost(ctx context.Context, e *engine.Engine, s *syncSetup, rh *receiverHost, key depsync.PublicKey, res *engine.Result) error {
	h := rh.h
	if err := checkTools(h, receiverTools); err != nil {
		return err
	}
	if err := installReceiver(ctx, e, h, res); err != nil {
		return err
	}
	home, err := productHome(ctx, e, h, s.user)
	if err != nil {
		return err
	}
	if err := ensureSSHDir(ctx, e, s, h, home+"/.ssh", res); err != nil {
		return err
	}
	cmd := depsync.ForcedCommand(depsync.Receiver, rh.dirs(s.dirs))
	line, err := depsync.AuthorizedKeyLine(s.source.Vars.Node.Host, cmd, key, s.keyComment())
	if err != nil {
		return err
	}
	return writeAuthorizedKeys(ctx, e, s, h, home+"/.ssh/authorized_keys", line, key, res)
}

// installReceiver writes the rsync-only receiver, owned by root.
func installReceiver(ctx context.Context, e *engine.Engine, h *engine.Host, res *engine.Result) error {
	want := depsync.ReceiverScript()
	cur, err := h.Read(ctx, depsync.Receiver)
	if err != nil {
		return err
	}
	if cur.Exists && string(cur.Content) == want && cur.Mode.Perm() == 0o755 && cur.Owner == "root" {
		return nil
	}
	opts := remote.WriteOptions{Mode: 0o755, Owner: "root", Group: "root", MkdirParents: true}
	if err := e.WriteFile(ctx, h, depsync.Receiver, []byte(want), opts); err != nil {
		return fmt.Errorf("install %s: %w", depsync.Receiver, err)
	}
	res.AddFileChange("install", depsync.Receiver, cur.Content, []byte(want))
	return nil
}

// productHome is the product user's home on h: from /etc/passwd; for a
// user this run created, asked from the host; in a plan, useradd's default.
func productHome(ctx context.Context, e *engine.Engine, h *engine.Host, user string) (string, error) {
	passwd, err := h.Read(ctx, etcPasswd)
	if err != nil {
		return "", err
	}
	if home := passwdHome(passwd.Content, user); home != "" {
		return home, nil
	}
	if e.Planning() {
		return "/home/" + user, nil
	}
	out, err := engine.RunScriptOut(ctx, h, "", "printf '%s' ~"+user, nil, "find the home directory of "+user)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(out, "/") {
		return "", fmt.Errorf("%s has no home directory on %s", user, h.Addr)
	}
	return out, nil
}

// passwdHome returns user's home from /etc/passwd content, or "".
func passwdHome(passwd []byte, user string) string {
	for _, l := range strings.Split(string(passwd), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 7 && f[0] == user && strings.HasPrefix(f[5], "/") {
			return f[5]
		}
	}
	return ""
}

// ensureSSHDir creates the product user's ~/.ssh (0700) when missing, as
// that user: the home is the user's, so root never creates anything in it.
func ensureSSHDir(ctx context.Context, e *engine.Engine, s *syncSetup, h *engine.Host, dir string, res *engine.Result) error {
	f, err := h.Read(ctx, dir)
	if err != nil || f.Exists {
		return err
	}
	return e.Change(res, fmt.Sprintf("create %s (0700, owned by %s)", dir, s.user), "", func() error {
		return engine.RunScript(ctx, h, s.user, "mkdir -m 0700 "+remote.Quote(dir), nil, "create "+dir)
	})
}

// writeAuthorizedKeys sets the cluster's block of authorized_keys to line.
func writeAuthorizedKeys(ctx context.Context, e *engine.Engine, s *syncSetup, h *engine.Host, p, line string, key depsync.PublicKey, res *engine.Result) error {
	cur, err := h.Read(ctx, p)
	if err != nil {
		return err
	}
	out, removed, err := depsync.AuthorizedKeys(string(cur.Content), s.cluster, line, key)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", p, h.Addr, err)
	}
	if out == string(cur.Content) {
		return nil
	}
	// As the product user: ~/.ssh is that user's, and whatever it points
	// to, the kernel lets the write reach only what that user may write.
	opts := remote.WriteOptions{Backup: true, As: s.user}
	if !cur.Exists {
		opts = remote.WriteOptions{Mode: 0o600, As: s.user}
	}
	if err := e.WriteFile(ctx, h, p, []byte(out), opts); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	verb := "update"
	if !cur.Exists {
		verb = "create"
	}
	res.AddFileChange(verb, p, cur.Content, []byte(out))
	if removed > 0 {
		res.AddChange(fmt.Sprintf("removed %d copies of the sync key outside carbonctl's block from %s: they lacked its restrictions", removed, p), "")
	}
	return nil
}
