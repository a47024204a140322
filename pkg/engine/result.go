package engine

import (
	"fmt"
	"io"
	"sort"
)

// Status is the outcome of one step on one target.
type Status int

// Statuses, in the order the recap prints them.
const (
	OK Status = iota
	Changed
	Failed
	Skipped
)

// String names the status like Ansible does.
func (s Status) String() string {
	return [...]string{"ok", "changed", "failed", "skipped"}[s]
}

// Action is one change a step made, or would make in a plan.
type Action struct {
	Desc string // one line, e.g. "patch repository/conf/axis2/axis2.xml (+5 -3)"
	Diff string // unified diff of a file, if any
}

// Result is what one step did on one target (a node, a host or the database).
type Result struct {
	Step    string
	Target  string
	Status  Status
	Actions []Action
	Note    string
	Err     error
	// Hidden are secrets found at the places a playbook writes secrets
	// (e.g. the password a rotation replaces): masked in this result's
	// diffs and error on top of the run's known secrets.
	Hidden []string
}

// Hide masks values in this result's output.
func (r *Result) Hide(values ...string) { r.Hidden = append(r.Hidden, values...) }

// Tally counts results of one target.
type Tally struct {
	Target, Address              string
	OK, Changed, Failed, Skipped int
}

// Report is the outcome of a run.
type Report struct {
	Results []*Result
	Tallies []Tally
}

// Failed reports whether any step failed.
func (r *Report) Failed() bool {
	for _, t := range r.Tallies {
		if t.Failed > 0 {
			return true
		}
	}
	return false
}

// Changed counts changed results.
func (r *Report) Changed() int {
	n := 0
	for _, t := range r.Tallies {
		n += t.Changed
	}
	return n
}

// Tally counts the results per target into the recap, targets in order.
func (r *Report) Tally(addresses map[string]string, order []string) {
	byTarget := map[string]*Tally{}
	for _, res := range r.Results {
		t := byTarget[res.Target]
		if t == nil {
			t = &Tally{Target: res.Target, Address: addresses[res.Target]}
			byTarget[res.Target] = t
		}
		switch res.Status {
		case OK:
			t.OK++
		case Changed:
			t.Changed++
		case Failed:
			t.Failed++
		case Skipped:
			t.Skipped++
		}
	}
	rank := map[string]int{}
	for i, name := range order {
		rank[name] = i + 1
	}
	for _, t := range byTarget {
		r.Tallies = append(r.Tallies, *t)
	}
	sort.Slice(r.Tallies, func(i, j int) bool {
		a, b := rank[r.Tallies[i].Target], rank[r.Tallies[j].Target]
		if a != b {
			return a < b
		}
		return r.Tallies[i].Target < r.Tallies[j].Target
	})
}

// PrintRecap writes the per-target recap.
func (r *Report) PrintRecap(w io.Writer, plan bool) {
	changed := "changed"
	if plan {
		changed = "to_change"
	}
	fmt.Fprintf(w, "\nRECAP %s\n", "******************************************************************")
	for _, t := range r.Tallies {
		fmt.Fprintf(w, "%-10s %-22s ok=%-3d %s=%-3d failed=%-3d skipped=%d\n",
			t.Target, t.Address, t.OK, changed, t.Changed, t.Failed, t.Skipped)
	}
}

// dbTarget is the recap name of the database server.
const DBTarget = "database"

// lbTarget is the recap name of the load balancer.
const LBTarget = "lb"
