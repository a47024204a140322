package steps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

// localFiles caches files read from the control machine during one run.
type localFiles struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (l *localFiles) read(p string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if data, ok := l.files[p]; ok {
		return data, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	l.files[p] = data
	return data, nil
}

// copyFile installs a file from the control machine (e.g. the JDBC driver)
// into CARBON_HOME, skipping it when the node already has identical bytes.
func (e *Engine) copyFile(ctx context.Context, s playbook.Step, n *node, res *Result) error {
	src, err := n.vars.render(s.Name+".src", s.Src)
	if err != nil {
		return err
	}
	rel, err := n.vars.render(s.Name+".dest", s.Dest)
	if err != nil {
		return err
	}
	data, err := e.local.read(src)
	if err != nil {
		return fmt.Errorf("read %s on the control machine: %w", src, err)
	}
	if err := checkSHA256(s, n, src, data); err != nil {
		return err
	}
	dest := n.home(rel)
	n.manage(dest)
	cur, err := n.host.read(ctx, dest)
	if err != nil {
		return err
	}
	if cur.Exists && (cur.Known || bytes.Equal(cur.Content, data)) {
		return nil
	}
	if err := n.host.write(ctx, e.opts.Apply, dest, data, n.productWrite(0o644)); err != nil {
		return fmt.Errorf("install %s: %w", dest, err)
	}
	verb := "install"
	if cur.Exists {
		verb = "replace"
	}
	res.changed(fmt.Sprintf("%s %s (%d bytes)", verb, dest, len(data)), "")
	return nil
}

// checkSHA256 refuses data (read from src) when the step names a sha256 it
// does not have: the file changed since validate, or is not the one meant.
func checkSHA256(s playbook.Step, n *node, src string, data []byte) error {
	want, err := n.vars.render(s.Name+".sha256", s.SHA256)
	if err != nil || want == "" {
		return err
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(data)); !strings.EqualFold(got, want) {
		return fmt.Errorf("%s on the control machine has sha256 %s, not %s as the inventory says: it is not the file meant; nothing was installed", src, got, want)
	}
	return nil
}

// patchXML applies a step's XML edits to one file of CARBON_HOME in place.
// The file's values at the step's secret places, before and after, are
// masked in what the result prints.
func (e *Engine) patchXML(ctx context.Context, s playbook.Step, n *node, res *Result) error {
	places, err := secretPlaces(s, n.vars)
	if err != nil {
		return err
	}
	edit := e.xmlEditor(s, n)
	return e.editFile(ctx, s, n, res, func(p string, content []byte) ([]byte, bool, error) {
		res.hide(placeValues(content, places)...)
		out, changed, err := edit(p, content)
		if err != nil {
			return nil, false, err
		}
		res.hide(placeValues(out, places)...)
		if changed {
			if err := e.noteAdminPasswordChange(ctx, s, n, res, content, out); err != nil {
				return nil, false, err
			}
		}
		return out, changed, nil
	})
}

// xmlEditor applies an xml step's edits for node n to a file's content.
func (e *Engine) xmlEditor(s playbook.Step, n *node) func(p string, content []byte) ([]byte, bool, error) {
	return func(p string, content []byte) ([]byte, bool, error) {
		ops, err := e.renderEdits(s, n)
		if err != nil {
			return nil, false, err
		}
		out, changed, err := xmlpatch.Patch(content, ops)
		if err != nil {
			return nil, false, fmt.Errorf("patch %s: %w", p, err)
		}
		return out, changed, nil
	}
}

// noteAdminPasswordChange tells the operator, when a step changes the
// admin console password of a node carbonctl already started, that Carbon
// does not apply it: it reads user-mgt.xml's password at the first start
// only, into the user store, which keeps it.
func (e *Engine) noteAdminPasswordChange(ctx context.Context, s playbook.Step, n *node, res *Result, old, updated []byte) error {
	places, err := adminPasswordPlaces(s, n.vars)
	if err != nil || len(places) == 0 || slices.Equal(placeValues(old, places), placeValues(updated, places)) {
		return err
	}
	started, err := n.host.read(ctx, n.home(startedMarker))
	if err != nil || !started.Exists {
		return err
	}
	res.Note = "the admin console password changed: Carbon applies user-mgt.xml's only at its first start, so the console keeps the old one until it is changed there too"
	return nil
}

// editFile runs edit on the content of a step's file below CARBON_HOME and
// writes the result, as the product user, when it changed: in place,
// keeping the file's mode and backing up the original; a file missing on
// the node is an error unless the step says `create`, which creates it. A
// file that carries a secret (playbook.Step.CarriesSecret) is made 0600,
// its backup too, even when its content is already right.
func (e *Engine) editFile(ctx context.Context, s playbook.Step, n *node, res *Result, edit func(p string, content []byte) ([]byte, bool, error)) error {
	rel, err := n.vars.render(s.Name+".file", s.File)
	if err != nil {
		return err
	}
	p := n.home(rel)
	n.manage(p)
	cur, err := n.host.read(ctx, p)
	if err != nil {
		return err
	}
	good, cur, err := e.knownGood(ctx, s, n, cur)
	if err != nil || good {
		return err
	}
	if !cur.Exists && !s.Create {
		return fmt.Errorf("%s not found on %s: is %s a %s product home?", p, n.host.addr, n.vars.Node.Home, e.pb.Name)
	}
	out, changed, err := edit(p, cur.Content)
	if err != nil {
		return err
	}
	backup := &remote.File{Path: backupPath(p)}
	if s.CarriesSecret() {
		if backup, err = n.host.read(ctx, backupPath(p)); err != nil {
			return err
		}
	}
	w := planEdit(cur, backup, changed, s.CarriesSecret())
	if w.verb == "" && w.chmod == "" {
		return nil
	}
	opts := n.productWrite(w.mode)
	opts.Backup = cur.Exists
	if err := n.host.write(ctx, e.opts.Apply, p, out, opts); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if w.verb != "" {
		res.fileChanged(w.verb, p, cur.Content, out)
	}
	if w.chmod != "" {
		res.changed(fmt.Sprintf("chmod %04o %s (%s): it carries a secret", secretMode, p, w.chmod), "")
	}
	return nil
}

// secretMode is the mode of a file that carries a secret, and of its backup.
const secretMode os.FileMode = 0o600

// backupPath is where WriteFile keeps the original of path.
func backupPath(p string) string { return p + ".carbonctl.orig" }

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

// renderEdits turns a step's edit templates into patch operations for node n.
func (e *Engine) renderEdits(s playbook.Step, n *node) ([]xmlpatch.Op, error) {
	var ops []xmlpatch.Op
	for i, ed := range s.Edits {
		name := fmt.Sprintf("%s edit %d", s.Name, i+1)
		ok, err := n.vars.when(name+".when", ed.When)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		kind, err := xmlpatch.ParseKind(ed.Op)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		op := xmlpatch.Op{Kind: kind, Attr: ed.Attr}
		if op.Path, err = n.vars.render(name+".path", ed.Path); err != nil {
			return nil, err
		}
		if op.Value, err = n.vars.render(name+".value", ed.Value); err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}
