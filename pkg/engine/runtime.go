package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/carbonctl/carbonctl/pkg/archive"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Host is one machine: one SSH connection and what carbonctl knows of its files.
type Host struct {
	Addr   string
	Client remote.Host
	Err    error // connection or gather failure: every target on the host fails

	// UserMu serialises creating the product user for the nodes that
	// share this host.
	UserMu sync.Mutex
	// JavaMu serialises the java step of the nodes sharing this host: the
	// first unpacks the JDK, the others find it there.
	JavaMu   sync.Mutex
	Mu       sync.Mutex
	Files    map[string]*remote.File
	Probes   map[string]remote.ProbeResult
	Overlays []Overlay
	// untrusted is the batch read's GatherRequest.Untrusted, for later reads.
	untrusted map[string][]string
}

// Overlay serves files below a CARBON_HOME from the product archive: what the
// host holds (or, in a plan, would hold) once the product step has unpacked it.
type Overlay struct {
	Home  string
	Arch  *archive.Product
	Owner string
	Group string
}

// NewHost is the state of host addr before it is connected and read.
func NewHost(addr string) *Host {
	return &Host{Addr: addr, Files: map[string]*remote.File{}, Probes: map[string]remote.ProbeResult{}}
}

// Gather reads everything in req in one round trip and caches it.
func (h *Host) Gather(ctx context.Context, req remote.GatherRequest) error {
	facts, err := h.Client.Gather(ctx, req)
	if err != nil {
		return fmt.Errorf("read state of %s: %w", h.Addr, err)
	}
	h.Mu.Lock()
	defer h.Mu.Unlock()
	if req.Untrusted != nil {
		h.untrusted = req.Untrusted
	}
	for p, f := range facts.Files {
		h.Files[p] = f
	}
	for k, v := range facts.Probes {
		h.Probes[k] = v
	}
	return nil
}

// Lost is why the host's connection was given up (it stopped answering
// keepalives), nil while it answers or when it is not connected.
func (h *Host) Lost() error {
	if h.Client == nil {
		return nil
	}
	return h.Client.Lost()
}

// Probe returns a cached probe result.
func (h *Host) Probe(name string) (remote.ProbeResult, bool) {
	h.Mu.Lock()
	defer h.Mu.Unlock()
	r, ok := h.Probes[name]
	return r, ok
}

// SetProbe records what a probe would now print, after a change.
func (h *Host) SetProbe(name string, r remote.ProbeResult) {
	h.Mu.Lock()
	defer h.Mu.Unlock()
	h.Probes[name] = r
}

// Read returns what carbonctl knows about path, fetching it if it must.
func (h *Host) Read(ctx context.Context, p string) (*remote.File, error) {
	h.Mu.Lock()
	f, ok := h.Files[p]
	if !ok {
		f, ok = h.fromOverlay(p)
	}
	h.Mu.Unlock()
	if ok {
		return f, nil
	}
	if h.Client == nil {
		return nil, fmt.Errorf("%s: not connected", h.Addr)
	}
	h.Mu.Lock()
	untrusted := h.untrusted
	h.Mu.Unlock()
	if err := h.Gather(ctx, remote.GatherRequest{Contents: []string{p}, Untrusted: untrusted}); err != nil {
		return nil, err
	}
	h.Mu.Lock()
	defer h.Mu.Unlock()
	if f := h.Files[p]; f != nil {
		return f, nil
	}
	return &remote.File{Path: p}, nil
}

// fromOverlay serves p from an archive overlay; h.mu must be held.
func (h *Host) fromOverlay(p string) (*remote.File, bool) {
	for _, o := range h.Overlays {
		rel, ok := strings.CutPrefix(p, o.Home+"/")
		if !ok {
			continue
		}
		data, mode, found, err := o.Arch.Read(rel)
		if err != nil || !found {
			return &remote.File{Path: p}, true
		}
		f := &remote.File{Path: p, Exists: true, Mode: mode, Owner: o.Owner, Group: o.Group, Size: int64(len(data)), Content: data}
		h.Files[p] = f
		return f, true
	}
	return nil, false
}

// Unpacked records that home now holds (or would hold) the archive's files.
func (h *Host) Unpacked(o Overlay) {
	h.Mu.Lock()
	defer h.Mu.Unlock()
	for p := range h.Files {
		if strings.HasPrefix(p, o.Home+"/") {
			delete(h.Files, p)
		}
	}
	h.Overlays = append(h.Overlays, o)
}

// Remember records what path now holds after a change made by a command.
func (h *Host) Remember(p string, content []byte) {
	h.RememberFile(&remote.File{Path: p, Exists: true, Content: content, Size: int64(len(content))})
}

// RememberFile records what the host now holds at f.Path.
func (h *Host) RememberFile(f *remote.File) {
	h.Mu.Lock()
	defer h.Mu.Unlock()
	h.Files[f.Path] = f
}

// Write writes data to path (only in apply mode) and records the new content.
func (h *Host) Write(ctx context.Context, apply bool, p string, data []byte, opts remote.WriteOptions) error {
	if apply {
		if err := h.Client.WriteFile(ctx, p, data, opts); err != nil {
			return err
		}
	}
	h.Mu.Lock()
	defer h.Mu.Unlock()
	old := h.Files[p]
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
	h.Files[p] = f
	if b := h.Files[BackupPath(p)]; opts.Backup && opts.Mode != 0 && b != nil && b.Exists {
		b.Mode &^= os.ModePerm &^ opts.Mode // WriteFile narrows the backup's permissions to the file's
	}
	return nil
}

// Node is one Carbon instance of the inventory at run time.
type Node struct {
	Vars Vars // focused on this node
	Host *Host

	mu      sync.Mutex
	failed  bool
	Managed map[string]bool // files carbonctl manages for this node (for the start fingerprint)
}

// Name is the node's inventory name.
func (n *Node) Name() string { return n.Vars.Node.Name }

// Home returns a path below this node's CARBON_HOME.
func (n *Node) Home(rel string) string { return path.Join(n.Vars.Node.Home, rel) }

// MarkFailed records that a step failed on n: its later steps are skipped.
func (n *Node) MarkFailed() {
	n.mu.Lock()
	n.failed = true
	n.mu.Unlock()
}

// IsFailed reports whether a step failed on n or its host is unreachable.
func (n *Node) IsFailed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.failed || n.Host.Err != nil
}

// Manage records that carbonctl manages file p for n (part of the start
// fingerprint).
func (n *Node) Manage(p string) {
	n.mu.Lock()
	n.Managed[p] = true
	n.mu.Unlock()
}

// ManagedFiles lists the files carbonctl manages for n, sorted.
func (n *Node) ManagedFiles() []string {
	n.mu.Lock()
	paths := make([]string, 0, len(n.Managed))
	for p := range n.Managed {
		paths = append(paths, p)
	}
	n.mu.Unlock()
	sort.Strings(paths)
	return paths
}

// ProductWrite is how carbonctl writes a file below CARBON_HOME: as the
// product user, who owns it (never as root: see remote.WriteOptions.As).
func (n *Node) ProductWrite(mode os.FileMode) remote.WriteOptions {
	return remote.WriteOptions{Mode: mode, As: n.Vars.Product.User, MkdirParents: true}
}

// JavaHome is the node's JAVA_HOME: what every start of it gets, and what
// service units must set.
func (n *Node) JavaHome() string { return n.Vars.JavaHome }

// RunScript runs script on h as user and turns a non-zero exit into an error that
// says what was being done, with the command's stderr.
func RunScript(ctx context.Context, h *Host, as, script string, stdin io.Reader, doing string) error {
	_, err := RunScriptOut(ctx, h, as, script, stdin, doing)
	return err
}

// RunScriptOut is RunScript that also returns the command's stdout.
func RunScriptOut(ctx context.Context, h *Host, as, script string, stdin io.Reader, doing string) (string, error) {
	return remote.RunScript(ctx, h.Client, h.Addr, as, script, stdin, doing)
}

// RunningPID is the node's pid as read at connect time, "" if it is down.
func RunningPID(n *Node) string {
	alive, _ := n.Host.Probe("alive:" + n.Name())
	if alive.ExitCode != 0 {
		return ""
	}
	return strings.TrimSpace(alive.Stdout)
}
