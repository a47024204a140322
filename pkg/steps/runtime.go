package steps

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/carbonctl/carbonctl/pkg/archive"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// host is one machine: one SSH connection and what carbonctl knows of its files.
type host struct {
	addr   string
	client remote.Host
	err    error // connection or gather failure: every target on the host fails

	// userMu serialises creating the product user for the nodes that
	// share this host.
	userMu sync.Mutex
	// javaMu serialises the java step of the nodes sharing this host: the
	// first unpacks the JDK, the others find it there.
	javaMu   sync.Mutex
	mu       sync.Mutex
	files    map[string]*remote.File
	probes   map[string]remote.ProbeResult
	overlays []overlay
	// untrusted is the batch read's GatherRequest.Untrusted, for later reads.
	untrusted map[string][]string
}

// overlay serves files below a CARBON_HOME from the product archive: what the
// host holds (or, in a plan, would hold) once the product step has unpacked it.
type overlay struct {
	home  string
	arch  *archive.Product
	owner string
	group string
}

func newHost(addr string) *host {
	return &host{addr: addr, files: map[string]*remote.File{}, probes: map[string]remote.ProbeResult{}}
}

// gather reads everything in req in one round trip and caches it.
func (h *host) gather(ctx context.Context, req remote.GatherRequest) error {
	facts, err := h.client.Gather(ctx, req)
	if err != nil {
		return fmt.Errorf("read state of %s: %w", h.addr, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.Untrusted != nil {
		h.untrusted = req.Untrusted
	}
	for p, f := range facts.Files {
		h.files[p] = f
	}
	for k, v := range facts.Probes {
		h.probes[k] = v
	}
	return nil
}

// lost is why the host's connection was given up (it stopped answering
// keepalives), nil while it answers or when it is not connected.
func (h *host) lost() error {
	if h.client == nil {
		return nil
	}
	return h.client.Lost()
}

// probe returns a cached probe result.
func (h *host) probe(name string) (remote.ProbeResult, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.probes[name]
	return r, ok
}

// setProbe records what a probe would now print, after a change.
func (h *host) setProbe(name string, r remote.ProbeResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.probes[name] = r
}

// read returns what carbonctl knows about path, fetching it if it must.
func (h *host) read(ctx context.Context, p string) (*remote.File, error) {
	h.mu.Lock()
	f, ok := h.files[p]
	if !ok {
		f, ok = h.fromOverlay(p)
	}
	h.mu.Unlock()
	if ok {
		return f, nil
	}
	if h.client == nil {
		return nil, fmt.Errorf("%s: not connected", h.addr)
	}
	h.mu.Lock()
	untrusted := h.untrusted
	h.mu.Unlock()
	if err := h.gather(ctx, remote.GatherRequest{Contents: []string{p}, Untrusted: untrusted}); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.files[p]; f != nil {
		return f, nil
	}
	return &remote.File{Path: p}, nil
}

// fromOverlay serves p from an archive overlay; h.mu must be held.
func (h *host) fromOverlay(p string) (*remote.File, bool) {
	for _, o := range h.overlays {
		rel, ok := strings.CutPrefix(p, o.home+"/")
		if !ok {
			continue
		}
		data, mode, found, err := o.arch.Read(rel)
		if err != nil || !found {
			return &remote.File{Path: p}, true
		}
		f := &remote.File{Path: p, Exists: true, Mode: mode, Owner: o.owner, Group: o.group, Size: int64(len(data)), Content: data}
		h.files[p] = f
		return f, true
	}
	return nil, false
}

// unpacked records that home now holds (or would hold) the archive's files.
func (h *host) unpacked(o overlay) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.files {
		if strings.HasPrefix(p, o.home+"/") {
			delete(h.files, p)
		}
	}
	h.overlays = append(h.overlays, o)
}

// remember records what path now holds after a change made by a command.
func (h *host) remember(p string, content []byte) {
	h.rememberFile(&remote.File{Path: p, Exists: true, Content: content, Size: int64(len(content))})
}

// rememberFile records what the host now holds at f.Path.
func (h *host) rememberFile(f *remote.File) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.files[f.Path] = f
}

// write writes data to path (only in apply mode) and records the new content.
func (h *host) write(ctx context.Context, apply bool, p string, data []byte, opts remote.WriteOptions) error {
	if apply {
		if err := h.client.WriteFile(ctx, p, data, opts); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.files[p]
	f := &remote.File{Path: p, Exists: true, Content: data, Size: int64(len(data)), Mode: opts.Mode, Owner: opts.Owner, Group: opts.Group}
	if opts.As != "" {
		f.Owner = opts.As
	}
	if old != nil && old.Exists {
		if f.Mode == 0 {
			f.Mode = old.Mode
		}
		if f.Owner == "" {
			f.Owner, f.Group = old.Owner, old.Group
		}
	}
	h.files[p] = f
	if b := h.files[backupPath(p)]; opts.Backup && opts.Mode != 0 && b != nil && b.Exists {
		b.Mode &^= os.ModePerm &^ opts.Mode // WriteFile narrows the backup's permissions to the file's
	}
	return nil
}

// node is one Carbon instance of the inventory at run time.
type node struct {
	vars Vars // focused on this node
	host *host

	mu      sync.Mutex
	failed  bool
	managed map[string]bool // files carbonctl manages for this node (for the start fingerprint)
}

func (n *node) name() string { return n.vars.Node.Name }

// home returns a path below this node's CARBON_HOME.
func (n *node) home(rel string) string { return path.Join(n.vars.Node.Home, rel) }

func (n *node) markFailed() {
	n.mu.Lock()
	n.failed = true
	n.mu.Unlock()
}

func (n *node) isFailed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.failed || n.host.err != nil
}

func (n *node) manage(p string) {
	n.mu.Lock()
	n.managed[p] = true
	n.mu.Unlock()
}

// productWrite is how carbonctl writes a file below CARBON_HOME: as the
// product user, who owns it (never as root: see remote.WriteOptions.As).
func (n *node) productWrite(mode os.FileMode) remote.WriteOptions {
	return remote.WriteOptions{Mode: mode, As: n.vars.Product.User, MkdirParents: true}
}

// javaHome is the node's JAVA_HOME: what every start of it gets, and what
// service units must set.
func (n *node) javaHome() string { return n.vars.JavaHome }

// run runs script on h as user and turns a non-zero exit into an error that
// says what was being done, with the command's stderr.
func run(ctx context.Context, h *host, as, script string, stdin io.Reader, doing string) error {
	_, err := runOut(ctx, h, as, script, stdin, doing)
	return err
}

func runOut(ctx context.Context, h *host, as, script string, stdin io.Reader, doing string) (string, error) {
	return remote.RunScript(ctx, h.client, h.addr, as, script, stdin, doing)
}

// runningPID is the node's pid as read at connect time, "" if it is down.
func runningPID(n *node) string {
	alive, _ := n.host.probe("alive:" + n.name())
	if alive.ExitCode != 0 {
		return ""
	}
	return strings.TrimSpace(alive.Stdout)
}
