package steps

import (
	"context"
	"fmt"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/textedit"
)

// patchText applies a text step's edits (properties files, shell scripts)
// to one file of CARBON_HOME in place; with `create`, a missing file is
// created from the edits, owned by the product user.
func (e *Engine) patchText(ctx context.Context, s playbook.Step, n *node, res *Result) error {
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
	if !cur.Exists && !s.Create {
		return fmt.Errorf("%s not found on %s: is %s a %s product home?", p, n.host.addr, n.vars.Node.Home, e.pb.Name)
	}
	edits, err := renderTextEdits(s, n.vars)
	if err != nil {
		return err
	}
	out, changed, err := textedit.Apply(p, cur.Content, edits)
	if err != nil {
		return err
	}
	if !changed && cur.Exists {
		return nil
	}
	opts := n.productWrite(0o644)
	verb := "create"
	if cur.Exists {
		verb = "patch"
		opts.Mode, opts.Owner, opts.Group, opts.Backup = 0, "", "", true
	}
	if err := n.host.write(ctx, e.opts.Apply, p, out, opts); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	res.fileChanged(verb, p, cur.Content, out)
	return nil
}

// renderTextEdits turns a text step's edit templates into edits for one node.
func renderTextEdits(s playbook.Step, v Vars) ([]textedit.Edit, error) {
	var edits []textedit.Edit
	for i, ed := range s.Edits {
		name := fmt.Sprintf("%s edit %d", s.Name, i+1)
		ok, err := v.when(name+".when", ed.When)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		op, err := textedit.ParseOp(ed.Op)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		te := textedit.Edit{Op: op}
		for _, f := range []struct {
			dst  *string
			what string
			src  string
		}{{&te.Key, ".key", ed.Key}, {&te.Pattern, ".pattern", ed.Pattern}, {&te.Value, ".value", ed.Value}} {
			if *f.dst, err = v.render(name+f.what, f.src); err != nil {
				return nil, err
			}
		}
		edits = append(edits, te)
	}
	return edits, nil
}
