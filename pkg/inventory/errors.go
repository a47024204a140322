package inventory

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem found in an inventory file.
type Error struct {
	File string // the inventory file as named by the caller
	Line int    // 1-based line; 0 when the problem has no line (e.g. a missing table)
	Key  string // dotted key path, e.g. "node[2].role" (nodes count from 1); may be empty
	Msg  string // what is wrong and what to do about it
}

// Error formats the problem as "file:line: key: msg", leaving out the parts
// that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one inventory, in line order. Load and
// Parse return it (never an empty one) as their error.
type Errors []*Error

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.As.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// sortErrors orders problems by line, those without a line last, keeping
// the order of discovery among equals.
func sortErrors(es Errors) {
	sort.SliceStable(es, func(i, j int) bool {
		li, lj := es[i].Line, es[j].Line
		if li == 0 || lj == 0 {
			return lj == 0 && li != 0
		}
		return li < lj
	})
}
