// Package textedit edits line-oriented text files — Java properties files
// and shell scripts — in place, the way pkg/xmlpatch edits XML: every byte
// it was not asked to change stays as it was (line endings per file, CRLF
// included, a missing final newline, comments, blank lines, the order of
// keys), and applying the same edits twice changes nothing the second time.
//
// Two operations exist:
//
//   - Property sets key=value. The last live "key=" or "key:" line (the one
//     java.util.Properties keeps) gets the new value, its separator and
//     indentation kept. With no live line, a single commented "#key=" line
//     is uncommented and set; otherwise the line is appended.
//   - Replace replaces every match of a Go regular expression on the live
//     (non-comment) lines with a literal value. It does nothing when a live
//     line already contains the value, and fails when the pattern matches
//     nothing and the value is absent.
//
// Comment lines (first non-blank character '#' or '!') are never changed,
// except for the uncommenting described above. Continuation lines
// (a trailing backslash) are not supported: a key whose value continues is
// an error rather than a silent half edit.
package textedit

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Op names an operation.
type Op string

// Operations.
const (
	Property Op = "property"
	Replace  Op = "replace"
)

// Edit is one edit of a file.
type Edit struct {
	Op      Op
	Key     string // Property: the key
	Pattern string // Replace: a Go regular expression, matched per live line
	Value   string // the value (Property) or the literal replacement (Replace)
}

// ParseOp checks an operation name.
func ParseOp(s string) (Op, error) {
	switch Op(s) {
	case Property, Replace:
		return Op(s), nil
	}
	return "", fmt.Errorf("unknown text op %q (want property or replace)", s)
}

// Check reports an edit that can never apply, independent of any file.
func (e Edit) Check() error {
	switch e.Op {
	case Property:
		if strings.TrimSpace(e.Key) == "" || strings.ContainsAny(e.Key, "=: \t\r\n#!") {
			return fmt.Errorf("property key %q: want a non-empty key without blanks, '=', ':', '#' or '!'", e.Key)
		}
	case Replace:
		if e.Pattern == "" {
			return fmt.Errorf("replace needs a pattern")
		}
		if _, err := regexp.Compile(e.Pattern); err != nil {
			return fmt.Errorf("pattern %q: %w", e.Pattern, err)
		}
	default:
		return fmt.Errorf("unknown text op %q (want property or replace)", e.Op)
	}
	if strings.ContainsAny(e.Value, "\r\n") {
		return fmt.Errorf("value of %s %q spans lines; one line only", e.Op, e.Key+e.Pattern)
	}
	return nil
}

// file is a text split into lines, each without its line ending.
type file struct {
	lines []string
	eols  []string // the ending of each line: "\n", "\r\n" or "" (last line only)
	eol   string   // the file's own line ending, for new lines
}

func split(src []byte) *file {
	f := &file{eol: "\n"}
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		f.eol = "\r\n"
	}
	s := string(src)
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			f.lines, f.eols = append(f.lines, s), append(f.eols, "")
			break
		}
		line, end := s[:i], "\n"
		if strings.HasSuffix(line, "\r") {
			line, end = line[:len(line)-1], "\r\n"
		}
		f.lines, f.eols = append(f.lines, line), append(f.eols, end)
		s = s[i+1:]
	}
	return f
}

func (f *file) join() []byte {
	var b strings.Builder
	for i, l := range f.lines {
		b.WriteString(l)
		b.WriteString(f.eols[i])
	}
	return []byte(b.String())
}

// appendLine adds a line at the end. A file without a final newline keeps
// having none: the old last line gets the file's ending, the new one none.
func (f *file) appendLine(line string) {
	n := len(f.lines)
	if n == 0 {
		f.lines, f.eols = []string{line}, []string{f.eol}
		return
	}
	if f.eols[n-1] == "" {
		f.eols[n-1] = f.eol
		f.lines, f.eols = append(f.lines, line), append(f.eols, "")
		return
	}
	f.lines, f.eols = append(f.lines, line), append(f.eols, f.eol)
}

// isComment reports a properties or shell comment line.
func isComment(line string) bool {
	t := strings.TrimLeft(line, " \t\f")
	return strings.HasPrefix(t, "#") || strings.HasPrefix(t, "!")
}

// Apply performs the edits in order. name names the file in errors.
func Apply(name string, src []byte, edits []Edit) (out []byte, changed bool, err error) {
	f := split(src)
	for i, e := range edits {
		if err := e.Check(); err != nil {
			return nil, false, fmt.Errorf("%s: edit %d: %w", name, i+1, err)
		}
		switch e.Op {
		case Property:
			err = f.setProperty(e.Key, e.Value)
		case Replace:
			err = f.replace(e.Pattern, e.Value)
		}
		if err != nil {
			return nil, false, fmt.Errorf("%s: edit %d: %w", name, i+1, err)
		}
	}
	out = f.join()
	return out, !bytes.Equal(out, src), nil
}

// propertyLine matches "key = value" with any of Java's separators; group 1
// is everything up to the value, group 2 the value.
func propertyLine(key string) *regexp.Regexp {
	return regexp.MustCompile(`^([ \t\f]*` + regexp.QuoteMeta(key) + `(?:[ \t\f]*[=:][ \t\f]*|[ \t\f]+))(.*)$`)
}

func (f *file) setProperty(key, value string) error {
	live := propertyLine(key)
	commented := regexp.MustCompile(`^[ \t\f]*[#!][ \t\f]*(` + regexp.QuoteMeta(key) + `(?:[ \t\f]*[=:][ \t\f]*|[ \t\f]+).*)$`)
	last, comments := -1, []int{}
	for i, l := range f.lines {
		switch {
		case isComment(l):
			if commented.MatchString(l) {
				comments = append(comments, i)
			}
		case live.MatchString(l):
			last = i
		}
	}
	switch {
	case last >= 0:
		m := live.FindStringSubmatch(f.lines[last])
		if strings.HasSuffix(m[2], `\`) {
			return fmt.Errorf("property %s (line %d) continues on the next line; edit it by hand", key, last+1)
		}
		f.lines[last] = m[1] + value
	case len(comments) == 1:
		i := comments[0]
		indent := f.lines[i][:len(f.lines[i])-len(strings.TrimLeft(f.lines[i], " \t\f"))]
		m := live.FindStringSubmatch(commented.FindStringSubmatch(f.lines[i])[1])
		f.lines[i] = indent + m[1] + value
	default:
		f.appendLine(key + "=" + value)
	}
	return nil
}

func (f *file) replace(pattern, value string) error {
	re := regexp.MustCompile(pattern) // checked by Edit.Check
	matched := false
	for _, l := range f.lines {
		if isComment(l) {
			continue
		}
		if value != "" && strings.Contains(l, value) {
			return nil
		}
		matched = matched || re.MatchString(l)
	}
	if !matched && value == "" {
		return nil // nothing left to remove
	}
	if !matched {
		return fmt.Errorf("pattern %q matches no line outside comments and %q is not there either", pattern, value)
	}
	for i, l := range f.lines {
		if !isComment(l) {
			f.lines[i] = re.ReplaceAllLiteralString(l, value)
		}
	}
	return nil
}
