package engine

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Printer serialises and masks everything the engine prints.
type Printer struct {
	mu      sync.Mutex
	W       io.Writer
	Mask    *Masker
	diffs   bool
	verbose bool
}

// Printf prints to the run's output, with secrets masked.
func (p *Printer) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.W, p.Mask.String(fmt.Sprintf(format, args...)))
}

// Header prints an Ansible-style banner.
func (p *Printer) Header(kind, name string) {
	title := fmt.Sprintf("%s [%s] ", kind, name)
	if n := 72 - len(title); n > 0 {
		title += strings.Repeat("*", n)
	}
	p.Printf("\n%s\n", title)
}

// PrintResult prints one step result on one target. Its error and diffs are
// also masked by place (the values found where the step writes secrets);
// carbonctl's own words (label, note, action) are not, so that a stock
// value there (e.g. the admin password "admin") cannot garble them.
func (p *Printer) PrintResult(r *Result, plan bool) {
	hidden := NewMasker(r.Hidden)
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
		fmt.Fprintf(&b, " %s", hidden.String(r.Err.Error()))
	}
	b.WriteString("\n")
	for _, a := range r.Actions {
		fmt.Fprintf(&b, "    - %s\n", a.Desc)
		if a.Diff != "" && (plan || p.diffs) {
			for _, line := range strings.Split(strings.TrimRight(hidden.String(a.Diff), "\n"), "\n") {
				fmt.Fprintf(&b, "      %s\n", line)
			}
		}
	}
	p.Printf("%s", b.String())
}

// PrintableWriter passes text on with every control character except
// newline and tab left out (escape sequences lose their ESC, carriage
// returns and backspaces go), and invalid UTF-8 bytes replaced by U+FFFD.
// Node output (logs, errors, file diffs) thus cannot move the cursor,
// retitle or recolour the operator's terminal, or hide a line under
// another. A multi-byte character split across writes is kept whole.
type PrintableWriter struct {
	w       io.Writer
	mu      sync.Mutex
	pending []byte // the start of a character split across writes
}

// NewPrintableWriter returns a PrintableWriter writing to w.
func NewPrintableWriter(w io.Writer) *PrintableWriter { return &PrintableWriter{w: w} }

// Write writes the printable part of p; it reports len(p) on success.
func (pw *PrintableWriter) Write(p []byte) (int, error) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	data := append(pw.pending, p...)
	pw.pending = nil
	out := make([]byte, 0, len(data))
	for len(data) > 0 {
		if !utf8.FullRune(data) {
			pw.pending = append([]byte(nil), data...)
			break
		}
		r, size := utf8.DecodeRune(data)
		switch {
		case r == utf8.RuneError && size == 1:
			out = utf8.AppendRune(out, utf8.RuneError)
		case r == '\n' || r == '\t' || !unicode.IsControl(r):
			out = append(out, data[:size]...)
		}
		data = data[size:]
	}
	if _, err := pw.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
