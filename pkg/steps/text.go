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
	return e.editFile(ctx, s, n, res, textEditor(s, n))
}

// textEditor applies a text step's edits for node n to a file's content.
func textEditor(s playbook.Step, n *node) func(p string, content []byte) ([]byte, bool, error) {
	return func(p string, content []byte) ([]byte, bool, error) {
		edits, err := renderTextEdits(s, n.vars)
		if err != nil {
			return nil, false, err
		}
		return textedit.Apply(p, content, edits)
	}
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
