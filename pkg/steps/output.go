package steps

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// printer serialises and masks everything the engine prints.
type printer struct {
	mu      sync.Mutex
	w       io.Writer
	mask    *Masker
	diffs   bool
	verbose bool
}

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, p.mask.String(fmt.Sprintf(format, args...)))
}

// header prints an Ansible-style banner.
func (p *printer) header(kind, name string) {
	title := fmt.Sprintf("%s [%s] ", kind, name)
	if n := 72 - len(title); n > 0 {
		title += strings.Repeat("*", n)
	}
	p.printf("\n%s\n", title)
}

// result prints one step result on one target.
func (p *printer) result(r *Result, plan bool) {
	var b strings.Builder
	label := r.Status.String()
	if plan && r.Status == Changed {
		label = "would change"
	}
	fmt.Fprintf(&b, "%s: [%s]", label, r.Target)
	if r.Note != "" {
		fmt.Fprintf(&b, " %s", r.Note)
	}
	if r.Err != nil {
		fmt.Fprintf(&b, " %v", r.Err)
	}
	b.WriteString("\n")
	for _, a := range r.Actions {
		fmt.Fprintf(&b, "    - %s\n", a.Desc)
		if a.Diff != "" && (plan || p.diffs) {
			for _, line := range strings.Split(strings.TrimRight(a.Diff, "\n"), "\n") {
				fmt.Fprintf(&b, "      %s\n", line)
			}
		}
	}
	p.printf("%s", NewMasker(r.hidden).String(b.String()))
}
