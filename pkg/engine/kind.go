package engine

import (
	"context"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// A step kind is one Go type: its fields (decoded from the step's table),
// its checks (playbook.Kind), and what it does, which the engine detects
// through the optional interfaces below. A kind runs either per node
// (NodeActor) or as a whole step (StepRunner).

// Prefetcher is a kind that reads something from a node in the batch read:
// it adds to req what step s will read on n.
type Prefetcher interface {
	Prefetch(e *Engine, s playbook.Step, n *Node, req *remote.GatherRequest)
}

// NodeActor is a kind that decides and acts on each target node on its own,
// hosts in parallel; the engine skips failed nodes and those where the
// step's `when` does not hold.
type NodeActor interface {
	RunNode(ctx context.Context, e *Engine, s playbook.Step, n *Node, res *Result) error
}

// StepRunner is a kind that runs as a whole (one result for the database,
// the load balancer, or its own order over the nodes).
type StepRunner interface {
	Run(ctx context.Context, e *Engine, s playbook.Step) []*Result
}

// LoadBalancerKind is a kind that works with the inventory's
// [loadbalancer]: a playbook with one sets up the load balancer target.
type LoadBalancerKind interface {
	UsesLoadBalancer()
}

// LBPrefetcher is a kind that reads something from the load balancer's
// host in the batch read.
type LBPrefetcher interface {
	PrefetchLB(e *Engine, s playbook.Step, req *remote.GatherRequest)
}

// FileEditor is a kind that edits one file of CARBON_HOME: the engine looks
// at its edits of the member settings before a run, to tell a change that
// running members cannot bridge (split.go).
type FileEditor interface {
	// EditedFile is the file's template, relative to CARBON_HOME, and
	// whether a missing file is created.
	EditedFile() (file string, create bool)
	// Editor returns the step's edit of the file's content on node n.
	Editor(e *Engine, s playbook.Step, n *Node) func(p string, content []byte) ([]byte, bool, error)
}

// NodeStarter is the kind that starts the nodes: operations (start,
// restart) run it, and plans of the other steps leave it out.
type NodeStarter interface {
	StartsNodes()
}

// StepIs reports whether step s is of a kind that implements I.
func StepIs[I any](s playbook.Step) bool {
	_, ok := s.Kind.(I)
	return ok
}

// HasStep reports whether pb has a step of a kind that implements I.
func HasStep[I any](pb *playbook.Playbook) bool {
	for _, s := range pb.Steps {
		if StepIs[I](s) {
			return true
		}
	}
	return false
}
