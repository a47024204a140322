package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// checkBecome refuses the whole run when sudo refused the become password
// on a host it connected to: the password is the operator's input, wrong
// for every host alike, so no step runs anywhere (a cluster-wide step such
// as the databases would otherwise go ahead). Nil when no host refused it.
func (e *Engine) checkBecome() *Result {
	hosts := make([]*Host, 0, len(e.Hosts)+1)
	for _, addr := range slices.Sorted(maps.Keys(e.Hosts)) {
		hosts = append(hosts, e.Hosts[addr])
	}
	if e.LB != nil {
		hosts = append(hosts, e.LB.Host)
	}
	for _, h := range hosts {
		var be *remote.BecomeError
		if errors.As(h.Err, &be) {
			return &Result{Step: "connect", Target: e.Inv.Cluster.Name, Status: Failed,
				Err: fmt.Errorf("%w: the run stops before any step, on every host", be)}
		}
	}
	return nil
}
