package inventory

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// lineIndex maps key paths ("database.port", "node[2].role", "node[2]" for
// a [[node]] header; arrays of tables count from 1) to the line defining them.
//
// BurntSushi/toml reports positions only for syntax errors, and its
// MetaData keys carry no array index, so the index is built by scanning the
// file. It runs only on files the TOML decoder accepted, which keeps the
// scanner small: it needs to find headers and "key =" at the start of
// lines, and to skip multi-line strings and arrays.
type lineIndex map[string]int

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+`)

// joinKey appends key to the path, quoting it when it is not a bare key.
func joinKey(path, key string) string {
	if key == "" || bareKey.FindString(key) != key {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends the 1-based index n of an array of tables to path.
func indexPath(path string, n int) string {
	return fmt.Sprintf("%s[%d]", path, n)
}

// indexer is the state of one scan.
type indexer struct {
	lines  lineIndex
	arrays map[string]int // [[array]] path -> tables seen so far
	table  string         // path of the current table
	multi  string         // closing delimiter of an open multi-line string
	depth  int            // open [ and { of a value spanning lines
}

// indexLines scans a valid TOML document.
func indexLines(data string) lineIndex {
	ix := &indexer{lines: lineIndex{}, arrays: map[string]int{}}
	data = strings.TrimPrefix(data, "\ufeff")
	for i, line := range strings.Split(data, "\n") {
		ix.scanLine(strings.TrimSuffix(line, "\r"), i+1)
	}
	return ix.lines
}

// scanLine handles one line of the document.
func (ix *indexer) scanLine(line string, n int) {
	if ix.multi != "" || ix.depth > 0 {
		ix.scanValue(line)
		return
	}
	t := strings.TrimLeft(line, " \t")
	switch {
	case t == "" || t[0] == '#':
	case strings.HasPrefix(t, "[["):
		if parts, _, ok := parseKey(t[2:]); ok {
			ix.header(parts, true, n)
		}
	case t[0] == '[':
		if parts, _, ok := parseKey(t[1:]); ok {
			ix.header(parts, false, n)
		}
	default:
		parts, rest, ok := parseKey(t)
		rest = strings.TrimLeft(rest, " \t")
		if !ok || !strings.HasPrefix(rest, "=") {
			return
		}
		ix.record(ix.table, parts, n)
		ix.scanValue(rest[1:])
	}
}

// header records a [table] or [[array]] header and makes it current.
func (ix *indexer) header(parts []string, array bool, n int) {
	path := ""
	for i, p := range parts {
		path = joinKey(path, p)
		last := i == len(parts)-1
		if last && array {
			ix.arrays[path]++
		}
		if k := ix.arrays[path]; k > 0 {
			path = indexPath(path, k)
		}
		if _, seen := ix.lines[path]; !seen || last {
			ix.lines[path] = n
		}
	}
	ix.table = path
}

// record notes the line of a (possibly dotted) key and its implicit tables.
func (ix *indexer) record(table string, parts []string, n int) {
	path := table
	for _, p := range parts {
		path = joinKey(path, p)
		if _, seen := ix.lines[path]; !seen {
			ix.lines[path] = n
		}
	}
}

// scanValue follows a value's strings and brackets to the end of the line.
func (ix *indexer) scanValue(s string) {
	for i := 0; i < len(s); i++ {
		if ix.multi != "" {
			i = ix.scanMulti(s, i)
			continue
		}
		switch c := s[i]; c {
		case '#':
			return
		case '"', '\'':
			if strings.HasPrefix(s[i:], strings.Repeat(string(c), 3)) {
				ix.multi = strings.Repeat(string(c), 3)
				i += 2
				continue
			}
			i = skipString(s, i)
		case '[', '{':
			ix.depth++
		case ']', '}':
			ix.depth = max(ix.depth-1, 0)
		}
	}
}

// scanMulti advances through an open multi-line string from s[i] and returns
// the index of the last byte consumed.
func (ix *indexer) scanMulti(s string, i int) int {
	for ; i < len(s); i++ {
		if s[i] == '\\' && ix.multi == `"""` {
			i++
			continue
		}
		if strings.HasPrefix(s[i:], ix.multi) {
			i += 3
			for k := 0; k < 2 && i < len(s) && s[i] == ix.multi[0]; k++ {
				i++ // up to two quotes may end the content right before the delimiter
			}
			ix.multi = ""
			return i - 1
		}
	}
	return i
}

// skipString returns the index of the quote closing the one-line string
// opened at s[i].
func skipString(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q == '"':
			j++
		case s[j] == q:
			return j
		}
	}
	return len(s)
}

// parseKey reads a dotted key (bare, "basic" or 'literal' parts) and returns
// its parts and the text after it.
func parseKey(s string) (parts []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		part, n := keyPart(s)
		if n == 0 {
			return nil, "", false
		}
		parts = append(parts, part)
		s = strings.TrimLeft(s[n:], " \t")
		if !strings.HasPrefix(s, ".") {
			return parts, s, true
		}
		s = s[1:]
	}
}

// keyPart reads one key part at the start of s and returns it and its length.
func keyPart(s string) (string, int) {
	if s == "" {
		return "", 0
	}
	switch s[0] {
	case '\'':
		if end := strings.IndexByte(s[1:], '\''); end >= 0 {
			return s[1 : end+1], end + 2
		}
	case '"':
		end := skipString(s, 0)
		if end >= len(s) {
			return "", 0
		}
		if v, err := strconv.Unquote(s[:end+1]); err == nil {
			return v, end + 1
		}
		return s[1:end], end + 1
	default:
		k := bareKey.FindString(s)
		return k, len(k)
	}
	return "", 0
}
