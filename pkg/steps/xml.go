package steps

import (
	"context"
	"fmt"
	"slices"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

// XML is the "xml" step kind: edits of one XML file of CARBON_HOME, in place.
type XML struct {
	engine.FileEdits
}

// RecordPart implements Recorded: the file and its rendered edits.
func (k *XML) RecordPart(e *engine.Engine, s playbook.Step, n *engine.Node) (string, string, bool, bool, error) {
	return engine.RecordFileEdits(s, &k.FileEdits, n, func() (any, error) { return renderEdits(e, s, &k.FileEdits, n) })
}

// Check wants the file and edits with a known op and a path.
func (k *XML) Check() error {
	if k.File == "" || len(k.Edits) == 0 {
		return fmt.Errorf("xml needs file and at least one edit")
	}
	for j, e := range k.Edits {
		if _, err := xmlpatch.ParseKind(e.Op); err != nil {
			return fmt.Errorf("edit %d: %w", j+1, err)
		}
		if e.Path == "" {
			return fmt.Errorf("edit %d: path is missing", j+1)
		}
	}
	return nil
}

// RunNode patches the file on n.
func (k *XML) RunNode(ctx context.Context, e *engine.Engine, s playbook.Step, n *engine.Node, res *engine.Result) error {
	return patchXML(ctx, e, s, &k.FileEdits, n, res)
}

// Editor is the step's edit of the file on n (FileEditor).
func (k *XML) Editor(e *engine.Engine, s playbook.Step, n *engine.Node) func(p string, content []byte) ([]byte, bool, error) {
	return xmlEditor(e, s, &k.FileEdits, n)
}

// patchXML applies a step's XML edits to one file of CARBON_HOME in place.
// The file's values at the step's secret places, before and after, are
// masked in what the result prints.
func patchXML(ctx context.Context, e *engine.Engine, s playbook.Step, f *engine.FileEdits, n *engine.Node, res *engine.Result) error {
	places, err := secretPlaces(s, f, n.Vars)
	if err != nil {
		return err
	}
	edit := xmlEditor(e, s, f, n)
	return e.EditFile(ctx, s, f, n, res, func(p string, content []byte) ([]byte, bool, error) {
		res.Hide(placeValues(content, places)...)
		out, changed, err := edit(p, content)
		if err != nil {
			return nil, false, err
		}
		res.Hide(placeValues(out, places)...)
		if changed {
			if err := noteAdminPasswordChange(ctx, e, s, f, n, res, content, out); err != nil {
				return nil, false, err
			}
		}
		return out, changed, nil
	})
}

// xmlEditor applies an xml step's edits for node n to a file's content.
func xmlEditor(e *engine.Engine, s playbook.Step, f *engine.FileEdits, n *engine.Node) func(p string, content []byte) ([]byte, bool, error) {
	return func(p string, content []byte) ([]byte, bool, error) {
		ops, err := renderEdits(e, s, f, n)
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
func noteAdminPasswordChange(ctx context.Context, e *engine.Engine, s playbook.Step, f *engine.FileEdits, n *engine.Node, res *engine.Result, old, updated []byte) error {
	places, err := adminPasswordPlaces(s, f, n.Vars)
	if err != nil || len(places) == 0 || slices.Equal(placeValues(old, places), placeValues(updated, places)) {
		return err
	}
	started, err := n.Host.Read(ctx, n.Home(startedMarker))
	if err != nil || !started.Exists {
		return err
	}
	res.Note = "the admin console password changed: Carbon applies user-mgt.xml's only at its first start, so the console keeps the old one until it is changed there too"
	return nil
}

// renderEdits turns a step's edit templates into patch operations for node n.
func renderEdits(e *engine.Engine, s playbook.Step, f *engine.FileEdits, n *engine.Node) ([]xmlpatch.Op, error) {
	var ops []xmlpatch.Op
	for i, ed := range f.Edits {
		name := fmt.Sprintf("%s edit %d", s.Name, i+1)
		ok, err := n.Vars.When(name+".when", ed.When)
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
		if op.Path, err = n.Vars.Render(name+".path", ed.Path); err != nil {
			return nil, err
		}
		if op.Value, err = n.Vars.Render(name+".value", ed.Value); err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}
