package engine

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// LocalFiles caches files read from the control machine during one run.
type LocalFiles struct {
	mu    sync.Mutex
	Files map[string][]byte
}

// Read returns the content of control-machine file p, read once per run.
func (l *LocalFiles) Read(p string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if data, ok := l.Files[p]; ok {
		return data, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	l.Files[p] = data
	return data, nil
}

// FileEdits are the fields of the kinds that edit one file of CARBON_HOME
// in place (xml, text).
type FileEdits struct {
	File  string `toml:"file"` // relative to CARBON_HOME (a template)
	Edits []Edit `toml:"edit"`
	// Create creates File (empty, then edited) when the node lacks it.
	Create bool `toml:"create"`
	// Secret: File carries a secret (see CarriesSecret).
	Secret bool `toml:"secret"`
}

// Edit is one edit of an xml or text step; its strings are templates.
type Edit struct {
	Op      string `toml:"op"` // xml: set | attr | ensure | inner | remove; text: property | replace
	Path    string `toml:"path"`
	Attr    string `toml:"attr"`
	Key     string `toml:"key"`     // text property
	Pattern string `toml:"pattern"` // text replace: a Go regexp
	Value   string `toml:"value"`
	When    string `toml:"when"`
	// Secret marks an edit that writes a secret which does not come from
	// one of the inventory's secrets: its place is masked in every diff.
	// Edits whose value uses a secret are masked without it.
	Secret bool `toml:"secret"`
}

// CarriesSecret reports whether the step's file holds a secret, so that it
// and its backup are kept readable by the product user only (0600): the
// step says secret = true, or one of its edits names a password in its
// path, attribute, key or value template (e.g. {{.DB.Password}}), whether
// or not its `when` holds on a given node.
func (f *FileEdits) CarriesSecret() bool {
	if f.Secret {
		return true
	}
	for _, e := range f.Edits {
		for _, v := range []string{e.Path, e.Attr, e.Key, e.Value} {
			if strings.Contains(strings.ToLower(v), "password") {
				return true
			}
		}
	}
	return false
}

// EditedFile is the file's template and whether a missing one is created
// (FileEditor).
func (f *FileEdits) EditedFile() (string, bool) { return f.File, f.Create }

// Prefetch adds the step's file to the batch read (Prefetcher). A file that
// carries a secret is the product user's, mode 0600: it is read as that
// user, with its backup's mode, in the same round trip.
func (f *FileEdits) Prefetch(_ *Engine, s playbook.Step, n *Node, req *remote.GatherRequest) {
	file, err := n.Vars.Render(s.Name+".file", f.File)
	if err != nil {
		return
	}
	if !f.CarriesSecret() {
		req.Contents = append(req.Contents, n.Home(file))
		return
	}
	if req.As == nil {
		req.As = map[string]remote.GatherRequest{}
	}
	own := req.As[n.Vars.Product.User]
	own.Contents = append(own.Contents, n.Home(file))
	own.Stats = append(own.Stats, BackupPath(n.Home(file)))
	req.As[n.Vars.Product.User] = own
}

// EditFile runs edit on the content of a step's file below CARBON_HOME and
// writes the result, as the product user, when it changed: in place,
// keeping the file's mode and backing up the original; a file missing on
// the node is an error unless the step says `create`, which creates it. A
// file that carries a secret (FileEdits.CarriesSecret) is made 0600,
// its backup too, even when its content is already right.
func (e *Engine) EditFile(ctx context.Context, s playbook.Step, f *FileEdits, n *Node, res *Result, edit func(p string, content []byte) ([]byte, bool, error)) error {
	rel, err := n.Vars.Render(s.Name+".file", f.File)
	if err != nil {
		return err
	}
	p := n.Home(rel)
	n.Manage(p)
	cur, err := n.Host.Read(ctx, p)
	if err != nil {
		return err
	}
	good, cur, err := e.knownGood(ctx, f.CarriesSecret(), n, cur)
	if err != nil || good {
		return err
	}
	if !cur.Exists && !f.Create {
		return fmt.Errorf("%s not found on %s: is %s a %s product home?", p, n.Host.Addr, n.Vars.Node.Home, e.PB.Name)
	}
	out, changed, err := edit(p, cur.Content)
	if err != nil {
		return err
	}
	backup := &remote.File{Path: BackupPath(p)}
	if f.CarriesSecret() {
		if backup, err = n.Host.Read(ctx, BackupPath(p)); err != nil {
			return err
		}
	}
	w := planEdit(cur, backup, changed, f.CarriesSecret())
	if w.verb == "" && w.chmod == "" {
		return nil
	}
	opts := n.ProductWrite(w.mode)
	opts.Backup = cur.Exists
	if err := e.WriteFile(ctx, n.Host, p, out, opts); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if w.verb != "" {
		res.AddFileChange(w.verb, p, cur.Content, out)
	}
	if w.chmod != "" {
		res.AddChange(fmt.Sprintf("chmod %04o %s (%s): it carries a secret", secretMode, p, w.chmod), "")
	}
	return nil
}

// secretMode is the mode of a file that carries a secret, and of its backup.
const secretMode os.FileMode = 0o600

// BackupPath is where WriteFile keeps the original of path.
func BackupPath(p string) string { return p + ".carbonctl.orig" }

// editWrite is what editFile does with a step's file.
type editWrite struct {
	verb  string      // "create", "patch", or "" when the content is right
	mode  os.FileMode // the mode to write with; 0 keeps the file's
	chmod string      // what must become 0600 besides: "", "the file", "its backup" or both
}

// planEdit decides editFile's write from the file, its backup, whether the
// edit changed the content, and whether the file carries a secret.
func planEdit(cur, backup *remote.File, changed, secret bool) editWrite {
	var w editWrite
	switch {
	case !cur.Exists:
		w.verb, w.mode = "create", 0o644
	case changed:
		w.verb = "patch"
	}
	if !secret {
		return w
	}
	w.mode = secretMode
	var fix []string
	if cur.Exists && cur.Mode.Perm() != secretMode {
		fix = append(fix, "the file")
	}
	if backup.Exists && backup.Mode.Perm()&^secretMode != 0 {
		fix = append(fix, "its backup")
	}
	w.chmod = strings.Join(fix, " and ")
	return w
}
