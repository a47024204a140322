package steps

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/textdiff"
	"github.com/carbonctl/carbonctl/pkg/textedit"
	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
	"github.com/carbonctl/carbonctl/playbooks"
)

// loadBuiltin loads a built-in playbook.
func loadBuiltin(t testing.TB, name string) *playbook.Playbook {
	t.Helper()
	pb, err := playbook.Load(playbooks.FS, name, Kinds())
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

// stockHomes names the product homes a stock-file test patches: a fresh copy
// of the simulated product fixture, and each corpus directory (real WSO2
// files, see corpusDir).
func stockHomes(t *testing.T, fixture string, corpus ...string) map[string]string {
	t.Helper()
	homes := map[string]string{"fixture": fixtureHome(t, fixture)}
	dir := corpusDir(t)
	for _, c := range corpus {
		homes[c] = filepath.Join(dir, c)
	}
	return homes
}

// samplePassword is the database password sampleVars gives: characters
// that XML must escape.
const samplePassword = "p&ss<w>rd"

// sampleVars builds the template data of the nodes of product (a
// [products.KEY] key, "" for [product]) in the sample inventory
// fixtures/inventories/SAMPLE the way a run does (inventory.Parse, Groups,
// newVars), with every secret samplePassword and overrides on top of the
// vars.
func sampleVars(t *testing.T, sample, product string, overrides map[string]any) engine.Vars {
	t.Helper()
	dir := filepath.Join("..", "..", "fixtures", "inventories")
	data, err := os.ReadFile(filepath.Join(dir, sample))
	if err != nil {
		t.Fatal(err)
	}
	secret := func(string) (string, bool) { return samplePassword, true }
	inv, err := inventory.Parse(sample, dir, data, secret, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := engine.Groups(inv, func(name string) (*playbook.Playbook, error) { return playbook.Load(playbooks.FS, name, Kinds()) })
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g.Inv.Product.Key == product {
			v := engine.NewVars(g.Inv, g.PB)
			// The samples leave the optional admin console password out.
			v.Product.AdminPassword = samplePassword
			for k, val := range overrides {
				v.Vars[k] = val
			}
			return v
		}
	}
	t.Fatalf("%s has no nodes of product %q", sample, product)
	return engine.Vars{}
}

// applyPlaybookFiles runs every xml and text step of pb that applies to
// v.Node, in order, on the files below home (steps on the same file see the
// earlier steps' result), and checks each step: it changes the stock file,
// a second application is a no-op, line endings, a missing final newline
// and no-break spaces are kept, and no more original lines change than its
// edits may (one each, plus the old content an inner edit replaces). A text
// step with `create` starts from an empty file when home lacks it; files in
// absent (not in the stock corpus) are skipped. The result holds each
// patched file under its path and its base name.
func applyPlaybookFiles(t *testing.T, pb *playbook.Playbook, home string, v engine.Vars, absent map[string]bool) map[string][]byte {
	t.Helper()
	e := &engine.Engine{PB: pb}
	n := &engine.Node{Vars: v}
	out := map[string][]byte{}
	for _, s := range pb.Steps {
		if !engine.StepIs[engine.FileEditor](s) {
			continue
		}
		f := fileEditsOf(t, s)
		if ok, err := v.When(s.Name, s.When); err != nil || !ok {
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		src, seen := out[f.File]
		if !seen && absent[f.File] {
			continue
		}
		if !seen {
			var err error
			if src, err = os.ReadFile(filepath.Join(home, f.File)); err != nil && !(f.Create && os.IsNotExist(err)) {
				t.Fatal(err)
			}
		}
		apply, allowed := stepApplier(t, e, s, n, src)
		got, changed := apply(src)
		if !changed {
			t.Errorf("%s (%s): nothing changed on a stock file", f.File, s.Name)
		}
		if again, changed2 := apply(got); changed2 || !bytes.Equal(again, got) {
			t.Errorf("%s (%s): second application is not a no-op:\n%s", f.File, s.Name, textdiff.Unified(f.File, got, again))
		}
		checkBytesKept(t, f.File, src, got)
		if _, removed := textdiff.Stat(src, got); removed > allowed {
			t.Errorf("%s (%s): %d original lines changed, %d allowed:\n%s", f.File, s.Name, removed, allowed, textdiff.Unified(f.File, src, got))
		}
		out[f.File] = got
		out[filepath.Base(f.File)] = got
	}
	return out
}

// stepApplier renders an xml or text step for one node and returns a
// function applying it to a file's bytes, and how many lines of src the
// step may change: one per edit, plus the old content of inner edits.
func stepApplier(t *testing.T, e *engine.Engine, s playbook.Step, n *engine.Node, src []byte) (func([]byte) ([]byte, bool), int) {
	t.Helper()
	f := fileEditsOf(t, s)
	if _, text := s.Kind.(*Text); text {
		edits, err := renderTextEdits(s, f, n.Vars)
		if err != nil {
			t.Fatal(err)
		}
		return func(src []byte) ([]byte, bool) {
			got, changed, err := textedit.Apply(f.File, src, edits)
			if err != nil {
				t.Fatalf("%s: %v", f.File, err)
			}
			return got, changed
		}, len(edits)
	}
	ops, err := renderEdits(e, s, f, n)
	if err != nil {
		t.Fatal(err)
	}
	apply := func(src []byte) ([]byte, bool) {
		got, changed, err := xmlpatch.Patch(src, ops)
		if err != nil {
			t.Fatalf("%s: %v", f.File, err)
		}
		return got, changed
	}
	return apply, len(ops) + innerLines(t, f.File, src, ops)
}

// innerLines counts the original lines that the inner edits of ops may
// rewrite: the old content of each element they replace, measured by
// replacing it with a one-line marker.
func innerLines(t *testing.T, name string, src []byte, ops []xmlpatch.Op) int {
	t.Helper()
	lines := 0
	for _, op := range ops {
		if op.Kind != xmlpatch.SetInner {
			continue
		}
		got, _, err := xmlpatch.Patch(src, []xmlpatch.Op{{Kind: xmlpatch.SetInner, Path: op.Path, Value: "<carbonctl-marker/>"}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, removed := textdiff.Stat(src, got)
		lines += removed
	}
	return lines
}

// checkBytesKept checks that patching kept the file's line endings, its
// final newline (or the lack of one) and its no-break spaces.
func checkBytesKept(t *testing.T, file string, src, got []byte) {
	t.Helper()
	if len(src) == 0 {
		return
	}
	crlf := bytes.Contains(src, []byte("\r\n"))
	lines, crlfs := bytes.Count(got, []byte("\n")), bytes.Count(got, []byte("\r\n"))
	if crlf && lines != crlfs || !crlf && crlfs != 0 {
		t.Errorf("%s: line endings changed (%d lines, %d CRLF; source CRLF %v)", file, lines, crlfs, crlf)
	}
	if bytes.HasSuffix(src, []byte("\n")) != bytes.HasSuffix(got, []byte("\n")) {
		t.Errorf("%s: final newline changed", file)
	}
	if a, b := bytes.Count(src, []byte("\u00a0")), bytes.Count(got, []byte("\u00a0")); a != b {
		t.Errorf("%s: %d no-break spaces before, %d after", file, a, b)
	}
}
