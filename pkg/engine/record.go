package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// The no-op record. Each host keeps, per cluster, a record of the files
// below CARBON_HOME that carbonctl last wrote or confirmed (xml, text and
// copy steps): their lstat identity, the sha256 of their content and the
// spec that produced them (a fingerprint of every step's rendered edits, or
// of the copied bytes). The batch read compares it with the files (see
// remote.Known): a file whose identity and spec match is not read, not
// parsed and not diffed, since the playbook's edits, applied again to what
// they produced, give the same bytes. A no-op run then reads none of those
// files, and none of the 0600 ones as their owner through sudo.

// recordDir is where the records are kept: a directory only root writes.
const recordDir = "/var/lib/carbonctl"

// recordVersion changes whenever the same rendered edits could give other
// bytes (a new xmlpatch or textedit behaviour): every record's specs then
// stop matching and the next run reads everything once.
const recordVersion = "1"

// safeName is what a cluster name may be to name a file as it is.
var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// recordPath is the record of cluster on each of its hosts.
func recordPath(cluster string) string {
	name := cluster
	if !safeName.MatchString(name) {
		sum := sha256.Sum256([]byte(cluster))
		name = hex.EncodeToString(sum[:8])
	}
	return recordDir + "/" + name + ".record"
}

// prefetchRecord adds node n's record specs to the host's batch read.
func (e *Engine) prefetchRecord(n *Node, req *remote.GatherRequest) {
	specs := e.RecordSpecs(n)
	if len(specs) == 0 {
		return
	}
	if req.Known.Specs == nil {
		req.Known = remote.Known{Record: recordPath(e.Inv.Cluster.Name), Specs: map[string]string{}}
	}
	for p, s := range specs {
		req.Known.Specs[p] = s
	}
}

// prefetchUntrusted marks node n's CARBON_HOME and its product user's
// home as that user's in the host's batch read: nothing below them is read
// as root (see remote.GatherRequest.Untrusted).
func prefetchUntrusted(n *Node, req *remote.GatherRequest) {
	if req.Untrusted == nil {
		req.Untrusted = map[string][]string{}
	}
	u := n.Vars.Product.User
	for _, d := range []string{n.Vars.Node.Home, "/home/" + u} {
		if !slices.Contains(req.Untrusted[u], d) {
			req.Untrusted[u] = append(req.Untrusted[u], d)
		}
	}
}

// RecordSpecs returns the spec of each file of node n that the record may
// vouch for: path → spec. A file that carries a secret brings its backup,
// whose mode the step checks (stat only). A step whose edits do not render
// leaves its file out: it is read and the step reports the error.
func (e *Engine) RecordSpecs(n *Node) map[string]string {
	parts := map[string][]string{}
	var order []string
	bad := map[string]bool{}
	for _, s := range e.PB.Steps {
		p, part, secret, err := e.recordPart(s, n)
		if p == "" {
			continue
		}
		if err != nil {
			bad[p] = true
		}
		if parts[p] == nil {
			order = append(order, p)
		}
		parts[p] = append(parts[p], part)
		if secret {
			if parts[BackupPath(p)] == nil {
				order = append(order, BackupPath(p))
			}
			parts[BackupPath(p)] = append(parts[BackupPath(p)], "backup of "+part)
		}
	}
	specs := map[string]string{}
	for _, p := range order {
		if bad[strings.TrimSuffix(p, BackupPath(""))] || strings.ContainsAny(p, "\t\n") {
			continue
		}
		sum := sha256.Sum256([]byte("carbonctl record " + recordVersion + "\n" + strings.Join(parts[p], "\n")))
		specs[p] = hex.EncodeToString(sum[:])
	}
	return specs
}

// Recorded is a kind whose file the no-op record vouches for (xml, text,
// copy). RecordPart names the file on n (relative to CARBON_HOME; "" for
// none) and renders what the step contributes to the file's spec.
type Recorded interface {
	RecordPart(e *Engine, s playbook.Step, n *Node) (rel, rendered string, create, secret bool, err error)
}

// recordPart is what step s contributes to the spec of its file on n: ""
// path for steps that edit or copy no file there; secret says whether the
// file carries a secret (its backup is recorded too).
func (e *Engine) recordPart(s playbook.Step, n *Node) (p, part string, secret bool, err error) {
	k, ok := s.Kind.(Recorded)
	if !ok {
		return "", "", false, nil
	}
	if ok, err := n.Vars.When(s.Name+".when", s.When); err != nil || !ok {
		return "", "", false, nil
	}
	rel, rendered, create, secret, err := k.RecordPart(e, s, n)
	if rel == "" {
		return "", "", false, err
	}
	part = fmt.Sprintf("%s %q create=%t secret=%t %s", s.Type, s.Name, create, secret, rendered)
	return n.Home(rel), part, secret, err
}

// RecordFileEdits is RecordPart of the kinds that edit a file with
// rendered edits (xml, text).
func RecordFileEdits(s playbook.Step, f *FileEdits, n *Node, render func() (any, error)) (rel, rendered string, create, secret bool, err error) {
	rel, err = n.Vars.Render(s.Name+".file", f.File)
	if err == nil {
		var edits any
		edits, err = render()
		rendered = fmt.Sprintf("%#v", edits)
	}
	return rel, rendered, f.Create, f.CarriesSecret(), err
}

// ContentSum is the sha256 (hex) of what f holds: the record's, or its
// content's.
func ContentSum(f *remote.File) string {
	if f.Known && f.Sum != "" {
		return f.Sum
	}
	sum := sha256.Sum256(f.Content)
	return hex.EncodeToString(sum[:])
}

// knownGood reports whether the record vouches for cur, the file of an xml
// or text step: its content is what the step's edits produce and, for a
// file that carries a secret, it and its backup have the right mode. When
// it does not, cur is read in full (one round trip, rare: a record whose
// file needs a chmod) and returned.
func (e *Engine) knownGood(ctx context.Context, secret bool, n *Node, cur *remote.File) (bool, *remote.File, error) {
	if !cur.Known {
		return false, cur, nil
	}
	backup := &remote.File{Path: BackupPath(cur.Path)}
	if secret {
		var err error
		if backup, err = n.Host.Read(ctx, BackupPath(cur.Path)); err != nil {
			return false, nil, err
		}
	}
	if w := planEdit(cur, backup, false, secret); w.verb == "" && w.chmod == "" {
		return true, cur, nil
	}
	f, err := n.Host.fetch(ctx, cur.Path)
	return false, f, err
}

// fetch reads p in full, even when the record vouched for it.
func (h *Host) fetch(ctx context.Context, p string) (*remote.File, error) {
	h.Mu.Lock()
	delete(h.Files, p)
	h.Mu.Unlock()
	return h.Read(ctx, p)
}

// refreshRecords rewrites, at the end of a run that applied, the record of
// every host where it no longer vouches for every file it could (files
// written by this run, a first run, a record from another version). Hosts
// whose record still holds cost nothing; the others one command as root.
// A root login leaves the record as it is: whatever it changed no longer
// matches it (new ctime), and the next sudo login rewrites it.
func (e *Engine) refreshRecords(ctx context.Context) {
	if !e.Opts.Apply || ctx.Err() != nil {
		return
	}
	var hosts []*Host
	for _, h := range e.Hosts {
		// A root login does not use the record (see remote.Known).
		if h.Client != nil && h.Err == nil && h.Client.User() != "root" {
			hosts = append(hosts, h)
		}
	}
	e.Parallel(len(hosts), func(i int) {
		h := hosts[i]
		entries, users, stale := e.RecordEntries(h)
		if !stale {
			return
		}
		script := remote.RecordScript(recordPath(e.Inv.Cluster.Name), h.Client.User(), users)
		if err := RunScript(ctx, h, "root", script, strings.NewReader(string(remote.RecordStdin(entries))), "update the no-op record "+recordPath(e.Inv.Cluster.Name)); err != nil && e.Opts.Verbose {
			e.Out.Printf("%v (the next run reads those files in full)\n", err)
		}
	})
}

// RecordEntries lists what h's record should vouch for: the files of the
// nodes on h that this run worked on and that did not fail, as the run
// left them (every step ran on them), plus what the record already
// vouched for on the other nodes (--limit), grouped by the product user
// who owns them; stale says whether the record does not already hold
// exactly that.
func (e *Engine) RecordEntries(h *Host) (entries []remote.RecordEntry, users map[string][]string, stale bool) {
	users = map[string][]string{}
	for _, n := range e.Nodes {
		if n.Host != h || n.IsFailed() {
			continue
		}
		target := slices.Contains(e.Targets, n)
		for p, spec := range e.RecordSpecs(n) {
			h.Mu.Lock()
			f := h.Files[p]
			h.Mu.Unlock()
			if f == nil || !f.Exists || f.IsDir || !target && !f.Known {
				continue
			}
			sum := "-"
			if !strings.HasSuffix(p, BackupPath("")) {
				sum = ContentSum(f)
			}
			entries = append(entries, remote.RecordEntry{Path: p, Spec: spec, Sum: sum})
			users[n.Vars.Product.User] = append(users[n.Vars.Product.User], p)
			stale = stale || !f.Known
		}
	}
	return entries, users, stale && len(entries) > 0
}
