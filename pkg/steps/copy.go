package steps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Copy is the "copy" step kind: a file from the control machine (e.g. the
// JDBC driver) installed into CARBON_HOME.
type Copy struct {
	Src  string `toml:"src"`  // on the control machine (a template)
	Dest string `toml:"dest"` // relative to CARBON_HOME (a template)
	// SHA256 (a template, optional) is the sha256 the source must have.
	SHA256 string `toml:"sha256"`
}

// RecordPart implements Recorded: the destination and the sha256 of the
// bytes it gets.
func (k *Copy) RecordPart(e *engine.Engine, s playbook.Step, n *engine.Node) (rel, sum string, create, secret bool, err error) {
	if rel, err = n.Vars.Render(s.Name+".dest", k.Dest); err != nil {
		return rel, "", false, false, err
	}
	src, err := n.Vars.Render(s.Name+".src", k.Src)
	if err != nil {
		return rel, "", false, false, err
	}
	data, err := e.Local.Read(src)
	if err != nil {
		return rel, "", false, false, err
	}
	h := sha256.Sum256(data)
	return rel, hex.EncodeToString(h[:]), false, false, nil
}

// Check wants src and dest.
func (k *Copy) Check() error {
	if k.Src == "" || k.Dest == "" {
		return fmt.Errorf("copy needs src and dest")
	}
	return nil
}

// Prefetch reads the destination, when the step applies to n (a copy that
// does not apply, e.g. the SVN client without method svn, names no file
// worth reading).
func (k *Copy) Prefetch(_ *engine.Engine, s playbook.Step, n *engine.Node, req *remote.GatherRequest) {
	if ok, err := n.Vars.When(s.Name+".when", s.When); err != nil || !ok {
		return
	}
	if dest, err := n.Vars.Render(s.Name+".dest", k.Dest); err == nil {
		req.Contents = append(req.Contents, n.Home(dest))
	}
}

// RunNode installs the file on n unless it has identical bytes.
func (k *Copy) RunNode(ctx context.Context, e *engine.Engine, s playbook.Step, n *engine.Node, res *engine.Result) error {
	return copyFile(ctx, e, s, k, n, res)
}

// copyFile installs a file from the control machine (e.g. the JDBC driver)
// into CARBON_HOME, skipping it when the node already has identical bytes.
func copyFile(ctx context.Context, e *engine.Engine, s playbook.Step, k *Copy, n *engine.Node, res *engine.Result) error {
	src, err := n.Vars.Render(s.Name+".src", k.Src)
	if err != nil {
		return err
	}
	rel, err := n.Vars.Render(s.Name+".dest", k.Dest)
	if err != nil {
		return err
	}
	data, err := e.Local.Read(src)
	if err != nil {
		return fmt.Errorf("read %s on the control machine: %w", src, err)
	}
	if err := checkSHA256(s, k, n, src, data); err != nil {
		return err
	}
	dest := n.Home(rel)
	n.Manage(dest)
	cur, err := n.Host.Read(ctx, dest)
	if err != nil {
		return err
	}
	if cur.Exists && (cur.Known || bytes.Equal(cur.Content, data)) {
		return nil
	}
	if err := e.WriteFile(ctx, n.Host, dest, data, n.ProductWrite(0o644)); err != nil {
		return fmt.Errorf("install %s: %w", dest, err)
	}
	verb := "install"
	if cur.Exists {
		verb = "replace"
	}
	res.AddChange(fmt.Sprintf("%s %s (%d bytes)", verb, dest, len(data)), "")
	return nil
}

// checkSHA256 refuses data (read from src) when the step names a sha256 it
// does not have: the file changed since validate, or is not the one meant.
func checkSHA256(s playbook.Step, k *Copy, n *engine.Node, src string, data []byte) error {
	want, err := n.Vars.Render(s.Name+".sha256", k.SHA256)
	if err != nil || want == "" {
		return err
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(data)); !strings.EqualFold(got, want) {
		return fmt.Errorf("%s on the control machine has sha256 %s, not %s as the inventory says: it is not the file meant; nothing was installed", src, got, want)
	}
	return nil
}
