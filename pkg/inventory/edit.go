package inventory

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// NodeEntry is a [[node]] table that AppendNode writes. Zero or empty
// optional fields are left out of the table (the inventory's defaults
// apply).
type NodeEntry struct {
	Name, Host, Role string
	WKA              bool   // written as wka = true when set
	PortOffset       int    // written when not 0
	LocalMemberPort  int    // written when not 0
	Home             string // written when not ""
	Product          string // written when not ""
}

// block renders the table, one key a line, each line ended by eol.
func (n NodeEntry) block(eol string) string {
	lines := []string{"[[node]]", "name = " + tomlString(n.Name), "host = " + tomlString(n.Host), "role = " + tomlString(n.Role)}
	if n.Product != "" {
		lines = append(lines, "product = "+tomlString(n.Product))
	}
	if n.WKA {
		lines = append(lines, "wka = true")
	}
	if n.PortOffset != 0 {
		lines = append(lines, "port_offset = "+strconv.Itoa(n.PortOffset))
	}
	if n.LocalMemberPort != 0 {
		lines = append(lines, "local_member_port = "+strconv.Itoa(n.LocalMemberPort))
	}
	if n.Home != "" {
		lines = append(lines, "home = "+tomlString(n.Home))
	}
	return strings.Join(lines, eol) + eol
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// AppendNode returns data with n added as a new [[node]] table after the
// last one (at the end when there is none), separated by a blank line.
// Every other byte stays as it was; the new lines use the file's line
// ending (CRLF when its first line ends so), and a file without a final
// newline still has none. data must be valid TOML.
func AppendNode(data []byte, n NodeEntry) ([]byte, error) {
	doc, err := scanDoc(data)
	if err != nil {
		return nil, err
	}
	at := len(doc.lines)
	if k := doc.nodeCount(); k > 0 {
		start, end := doc.block(k)
		at = doc.trimBack(start+1, end, isBlank)
	}
	out := doc.insert(at, doc.eol+n.block(doc.eol))
	return out, verify(out, append(append([]string{}, doc.nodes...), n.Name))
}

// RemoveNode returns data without the [[node]] table of the node called
// name: its header, keys and sub-tables, the comment lines right above the
// header and the blank lines that follow it (before the end of the file,
// the blank lines before it instead). Comment lines right above the next
// table belong to that table and stay; so does every other byte.
func RemoveNode(data []byte, name string) ([]byte, error) {
	doc, err := scanDoc(data)
	if err != nil {
		return nil, err
	}
	k, err := doc.nodeIndex(name)
	if err != nil {
		return nil, err
	}
	start, end := doc.block(k)
	first := doc.trimBack(0, start, isComment)
	if end == len(doc.lines) {
		first = doc.trimBack(0, first, isBlank)
	}
	out := doc.remove(first, end)
	return out, verify(out, append(append([]string{}, doc.nodes[:k-1]...), doc.nodes[k:]...))
}

// SetNodeKey returns data with `key = "value"` added to the [[node]] table
// of the node called name, after its last key. It fails when the table
// already has key.
func SetNodeKey(data []byte, name, key, value string) ([]byte, error) {
	doc, err := scanDoc(data)
	if err != nil {
		return nil, err
	}
	k, err := doc.nodeIndex(name)
	if err != nil {
		return nil, err
	}
	path := indexPath("node", k)
	if doc.index[joinKey(path, key)] > 0 {
		return nil, fmt.Errorf("node %s already sets %s (line %d)", name, key, doc.index[joinKey(path, key)])
	}
	start, end := doc.block(k)
	for _, h := range doc.headers {
		if h.line > start && h.line < end {
			end = h.line // the node's own keys end at its first sub-table
			break
		}
	}
	at := doc.trimBack(start+1, end, func(l string) bool { return isBlank(l) || isComment(l) })
	out := doc.insert(at, key+" = "+tomlString(value)+doc.eol)
	return out, verify(out, doc.nodes)
}

// verify checks that an edited document is valid TOML with the nodes
// named want, in this order: a guard against editing the wrong lines.
func verify(data []byte, want []string) error {
	doc, err := scanDoc(data)
	if err != nil {
		return fmt.Errorf("editing the inventory would break it: %w", err)
	}
	if strings.Join(doc.nodes, "\x00") != strings.Join(want, "\x00") {
		return fmt.Errorf("editing the inventory would leave the nodes %v instead of %v: edit the file by hand", doc.nodes, want)
	}
	return nil
}

// header is a [table] or [[array]] header line of a document.
type header struct {
	line int    // 0-based
	path string // key path as the line index spells it, e.g. "node[2].vars"
}

// document is an inventory file split into lines, with its headers.
type document struct {
	lines   []string // each with its line ending; the last may have none
	eol     string
	headers []header
	index   lineIndex
	nodes   []string // node names in [[node]] order
}

// scanDoc splits valid TOML data into lines and finds its table headers
// with the scanner that builds the line index.
func scanDoc(data []byte) (*document, error) {
	var raw struct {
		Node []map[string]any `toml:"node"`
	}
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, fmt.Errorf("the inventory is not valid TOML: %w", err)
	}
	doc := &document{eol: "\n"}
	for _, m := range raw.Node {
		name, _ := m["name"].(string)
		doc.nodes = append(doc.nodes, name)
	}
	text := string(data)
	if i := strings.IndexByte(text, '\n'); i > 0 && text[i-1] == '\r' {
		doc.eol = "\r\n"
	}
	doc.lines = strings.SplitAfter(text, "\n")
	if doc.lines[len(doc.lines)-1] == "" {
		doc.lines = doc.lines[:len(doc.lines)-1]
	}
	ix := &indexer{lines: lineIndex{}, arrays: map[string]int{}}
	for i, l := range doc.lines {
		l = strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
		if i == 0 {
			l = strings.TrimPrefix(l, "\ufeff")
		}
		top := ix.multi == "" && ix.depth == 0
		ix.scanLine(l, i+1)
		if top && strings.HasPrefix(strings.TrimLeft(l, " \t"), "[") {
			doc.headers = append(doc.headers, header{line: i, path: ix.table})
		}
	}
	doc.index = ix.lines
	return doc, nil
}

// nodeCount is the number of [[node]] tables written as headers.
func (doc *document) nodeCount() int {
	n := 0
	for _, h := range doc.headers {
		if strings.HasPrefix(h.path, "node[") && !strings.Contains(h.path, ".") {
			n++
		}
	}
	return n
}

// nodeIndex returns the 1-based position of the node called name.
func (doc *document) nodeIndex(name string) (int, error) {
	for i, n := range doc.nodes {
		if n != name {
			continue
		}
		if doc.index[indexPath("node", i+1)] == 0 {
			return 0, fmt.Errorf("node %s is not written as a [[node]] table: edit the file by hand", name)
		}
		return i + 1, nil
	}
	return 0, errors.New("no node named " + strconv.Quote(name))
}

// block returns the lines [start, end) of the k-th [[node]] table and its
// sub-tables, up to the next table or the end of the file, leaving out the
// comment lines right above the next table.
func (doc *document) block(k int) (start, end int) {
	path := indexPath("node", k)
	start, end = -1, len(doc.lines)
	for _, h := range doc.headers {
		switch {
		case h.path == path:
			start = h.line
		case start >= 0 && !strings.HasPrefix(h.path, path+"."):
			return start, doc.trimBack(start+1, h.line, isComment)
		}
	}
	return start, end
}

// trimBack moves end back over the lines (not before min) that drop says
// to leave out.
func (doc *document) trimBack(min, end int, drop func(string) bool) int {
	for end > min && drop(doc.lines[end-1]) {
		end--
	}
	return end
}

// insert returns the document with text inserted before line at. At the
// end of a file without a final newline, the newline moves to the end of
// the text: the file still ends without one.
func (doc *document) insert(at int, text string) []byte {
	var b strings.Builder
	for _, l := range doc.lines[:at] {
		b.WriteString(l)
	}
	if last := len(doc.lines) - 1; at == len(doc.lines) && last >= 0 && !strings.HasSuffix(doc.lines[last], "\n") {
		b.WriteString(doc.eol)
		text = strings.TrimSuffix(text, doc.eol)
	}
	b.WriteString(text)
	for _, l := range doc.lines[at:] {
		b.WriteString(l)
	}
	return []byte(b.String())
}

// remove returns the document without lines [first, end). When they run to
// the end of a file without a final newline, the line before them loses
// its newline: the file still ends without one.
func (doc *document) remove(first, end int) []byte {
	kept := append([]string{}, doc.lines[:first]...)
	kept = append(kept, doc.lines[end:]...)
	last := len(doc.lines) - 1
	if end == len(doc.lines) && first > 0 && last >= 0 && !strings.HasSuffix(doc.lines[last], "\n") {
		kept[first-1] = strings.TrimSuffix(strings.TrimSuffix(kept[first-1], "\n"), "\r")
	}
	return []byte(strings.Join(kept, ""))
}

func isBlank(l string) bool { return strings.TrimSpace(l) == "" }

func isComment(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "#") }
