// Package textdiff computes line diffs (Myers' algorithm in linear space)
// and renders them as unified diffs, the way operators read them before a
// change is applied.
package textdiff

import (
	"bytes"
	"fmt"
	"strings"
)

// contextLines is the number of unchanged lines shown around a change.
const contextLines = 3

// opKind says what happens to one line.
type opKind uint8

const (
	opEqual opKind = iota
	opDelete
	opInsert
)

// edit is one line of the edit script: a line of a (delete), of b (insert)
// or of both (equal). ai and bi are the 0-based positions reached in a and b.
type edit struct {
	kind   opKind
	ai, bi int
}

// Unified returns a unified diff (3 lines of context, `--- a/NAME`/`+++
// b/NAME` headers, @@ hunks) of a and b, or "" if equal. Lines are compared
// with their terminators, so a CRLF→LF change shows as a change, but are
// printed without them; a missing final newline is shown as
// "\ No newline at end of file" like GNU diff.
func Unified(name string, a, b []byte) string {
	if bytes.Equal(a, b) {
		return ""
	}
	al, bl := splitLines(a), splitLines(b)
	script := diffLines(al, bl)
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- a/%s\n+++ b/%s\n", name, name)
	for _, h := range hunks(script) {
		writeHunk(&sb, script[h[0]:h[1]], al, bl)
	}
	return sb.String()
}

// Stat returns added and removed line counts.
func Stat(a, b []byte) (added, removed int) {
	for _, e := range diffLines(splitLines(a), splitLines(b)) {
		switch e.kind {
		case opInsert:
			added++
		case opDelete:
			removed++
		}
	}
	return added, removed
}

// splitLines splits s into lines that keep their terminators.
func splitLines(s []byte) []string {
	var lines []string
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, string(s))
			break
		}
		lines = append(lines, string(s[:i+1]))
		s = s[i+1:]
	}
	return lines
}

// hunks groups the script into [start, end) ranges of script entries, each
// a change with up to contextLines equal lines around it; changes closer
// than 2*contextLines lines share a hunk.
func hunks(script []edit) [][2]int {
	var out [][2]int
	for i := 0; i < len(script); {
		if script[i].kind == opEqual {
			i++
			continue
		}
		start := max(i-contextLines, 0)
		end := i
		for end < len(script) {
			if script[end].kind != opEqual {
				end++
				continue
			}
			run := end
			for run < len(script) && script[run].kind == opEqual {
				run++
			}
			if run == len(script) || run-end > 2*contextLines {
				end = min(end+contextLines, run)
				break
			}
			end = run
		}
		if n := len(out); n > 0 && start <= out[n-1][1] {
			out[n-1][1] = end
		} else {
			out = append(out, [2]int{start, end})
		}
		i = end
	}
	return out
}

// writeHunk writes one @@ hunk; within each run of changes, deletions are
// written before insertions as diff(1) does.
func writeHunk(sb *strings.Builder, h []edit, a, b []string) {
	aStart, bStart := h[0].ai, h[0].bi
	aCount, bCount := 0, 0
	for _, e := range h {
		if e.kind != opInsert {
			aCount++
		}
		if e.kind != opDelete {
			bCount++
		}
	}
	fmt.Fprintf(sb, "@@ -%s +%s @@\n", rangeOf(aStart, aCount), rangeOf(bStart, bCount))
	for i := 0; i < len(h); {
		if h[i].kind == opEqual {
			writeLine(sb, ' ', a[h[i].ai])
			i++
			continue
		}
		j := i
		for j < len(h) && h[j].kind != opEqual {
			j++
		}
		for _, e := range h[i:j] {
			if e.kind == opDelete {
				writeLine(sb, '-', a[e.ai])
			}
		}
		for _, e := range h[i:j] {
			if e.kind == opInsert {
				writeLine(sb, '+', b[e.bi])
			}
		}
		i = j
	}
}

// rangeOf formats a hunk range: "start,count", with ",1" omitted and an
// empty range numbered after the line it follows.
func rangeOf(start, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, count)
}

func writeLine(sb *strings.Builder, mark byte, line string) {
	sb.WriteByte(mark)
	switch {
	case strings.HasSuffix(line, "\r\n"):
		sb.WriteString(line[:len(line)-2])
	case strings.HasSuffix(line, "\n"):
		sb.WriteString(line[:len(line)-1])
	default:
		sb.WriteString(line)
		sb.WriteString("\n\\ No newline at end of file")
	}
	sb.WriteByte('\n')
}
