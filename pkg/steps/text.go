package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/textedit"
)

// Text is the "text" step kind: edits of one text file of CARBON_HOME
// (properties files, shell scripts), in place.
type Text struct {
	engine.FileEdits
}

// RecordPart implements Recorded: the file and its rendered edits.
func (k *Text) RecordPart(_ *engine.Engine, s playbook.Step, n *engine.Node) (string, string, bool, bool, error) {
	return engine.RecordFileEdits(s, &k.FileEdits, n, func() (any, error) { return renderTextEdits(s, &k.FileEdits, n.Vars) })
}

// Check wants the file and edits whose op and fields fit. Templates are
// checked when rendered; a pattern without a template is compiled here
// already.
func (k *Text) Check() error {
	if k.File == "" || len(k.Edits) == 0 {
		return fmt.Errorf("text needs file and at least one edit")
	}
	for j, e := range k.Edits {
		op, err := textedit.ParseOp(e.Op)
		if err != nil {
			return fmt.Errorf("edit %d: %w", j+1, err)
		}
		switch {
		case op == textedit.Property && (e.Key == "" || e.Pattern != "" || e.Path != ""):
			return fmt.Errorf("edit %d: property needs key (and no pattern or path)", j+1)
		case op == textedit.Replace && (e.Pattern == "" || e.Key != "" || e.Path != ""):
			return fmt.Errorf("edit %d: replace needs pattern (and no key or path)", j+1)
		}
		if op == textedit.Replace && !strings.Contains(e.Pattern, "{{") {
			if err := (textedit.Edit{Op: op, Pattern: e.Pattern}).Check(); err != nil {
				return fmt.Errorf("edit %d: %w", j+1, err)
			}
		}
	}
	return nil
}

// RunNode edits the file on n.
func (k *Text) RunNode(ctx context.Context, e *engine.Engine, s playbook.Step, n *engine.Node, res *engine.Result) error {
	return patchText(ctx, e, s, &k.FileEdits, n, res)
}

// Editor is the step's edit of the file on n (FileEditor).
func (k *Text) Editor(_ *engine.Engine, s playbook.Step, n *engine.Node) func(p string, content []byte) ([]byte, bool, error) {
	return textEditor(s, &k.FileEdits, n)
}

// patchText applies a text step's edits (properties files, shell scripts)
// to one file of CARBON_HOME in place; with `create`, a missing file is
// created from the edits, owned by the product user.
func patchText(ctx context.Context, e *engine.Engine, s playbook.Step, f *engine.FileEdits, n *engine.Node, res *engine.Result) error {
	return e.EditFile(ctx, s, f, n, res, textEditor(s, f, n))
}

// textEditor applies a text step's edits for node n to a file's content.
func textEditor(s playbook.Step, f *engine.FileEdits, n *engine.Node) func(p string, content []byte) ([]byte, bool, error) {
	return func(p string, content []byte) ([]byte, bool, error) {
		edits, err := renderTextEdits(s, f, n.Vars)
		if err != nil {
			return nil, false, err
		}
		return textedit.Apply(p, content, edits)
	}
}

// renderTextEdits turns a text step's edit templates into edits for one node.
func renderTextEdits(s playbook.Step, f *engine.FileEdits, v engine.Vars) ([]textedit.Edit, error) {
	var edits []textedit.Edit
	for i, ed := range f.Edits {
		name := fmt.Sprintf("%s edit %d", s.Name, i+1)
		ok, err := v.When(name+".when", ed.When)
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
			if *f.dst, err = v.Render(name+f.what, f.src); err != nil {
				return nil, err
			}
		}
		edits = append(edits, te)
	}
	return edits, nil
}
