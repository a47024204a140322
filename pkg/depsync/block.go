package depsync

import (
	"fmt"
	"strings"
)

// Block is a carbonctl-managed block of lines in a file that others edit
// too (a crontab, authorized_keys): everything between its Begin and End
// lines belongs to carbonctl, everything else to the file's owner.
type Block struct{ Begin, End string }

// ClusterBlock returns the deployment-sync block of a cluster.
func ClusterBlock(cluster string) Block {
	return Block{
		Begin: "# BEGIN carbonctl deployment sync (cluster " + cluster + ")",
		End:   "# END carbonctl deployment sync (cluster " + cluster + ")",
	}
}

// Set returns content with the block holding exactly lines: in place of the
// first copy of the block, or appended when there is none; further copies
// are removed, so the block is never duplicated. An empty lines removes the
// block. Lines outside the block keep their bytes, except that a missing
// final newline is added before an appended block, and that lines for which
// drop (if not nil) returns true are removed and counted.
func (b Block) Set(content string, lines []string, drop func(line string) bool) (string, int, error) {
	var out strings.Builder
	placed, inBlock, dropped := false, false, 0
	begun := 0
	for i, l := range strings.SplitAfter(content, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case t == b.Begin && inBlock:
			return "", 0, fmt.Errorf("line %d: %q again before %q: remove the damaged block", i+1, b.Begin, b.End)
		case t == b.Begin:
			inBlock, begun = true, i+1
			if !placed {
				writeBlock(&out, b, lines)
				placed = true
			}
		case t == b.End && inBlock:
			inBlock = false
		case t == b.End:
			return "", 0, fmt.Errorf("line %d: %q without %q: remove the line", i+1, b.End, b.Begin)
		case inBlock || l == "":
		case drop != nil && drop(l):
			dropped++
		default:
			out.WriteString(l)
		}
	}
	if inBlock {
		return "", 0, fmt.Errorf("line %d: %q has no %q: add the end line or remove the damaged block", begun, b.Begin, b.End)
	}
	s := out.String()
	if !placed && len(lines) > 0 {
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		var tail strings.Builder
		writeBlock(&tail, b, lines)
		s += tail.String()
	}
	return s, dropped, nil
}

// writeBlock writes the block with lines, or nothing when lines is empty.
func writeBlock(w *strings.Builder, b Block, lines []string) {
	if len(lines) == 0 {
		return
	}
	w.WriteString(b.Begin + "\n")
	for _, l := range lines {
		w.WriteString(l + "\n")
	}
	w.WriteString(b.End + "\n")
}
