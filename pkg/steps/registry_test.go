package steps

import (
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/playbooks"
)

// TestRegistryKinds checks that every registered kind runs one way (per
// node or as a whole step) and that every type the built-in playbooks use
// is registered.
func TestRegistryKinds(t *testing.T) {
	r := Kinds()
	for _, typ := range r.Types() {
		k, ok := r.New(typ)
		if !ok {
			t.Fatalf("%s: listed but New fails", typ)
		}
		_, perNode := k.(engine.NodeActor)
		_, whole := k.(engine.StepRunner)
		if perNode == whole {
			t.Errorf("%s: runs per node %v, as a whole %v: want exactly one", typ, perNode, whole)
		}
	}
	if _, ok := r.New("shell"); ok {
		t.Error("an unknown type is registered")
	}
	for _, name := range playbook.Names(playbooks.FS) {
		pb, err := playbook.Load(playbooks.FS, name, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range pb.Steps {
			if s.Kind == nil {
				t.Errorf("%s: step %s has no kind", name, s.Name)
			}
		}
	}
}
