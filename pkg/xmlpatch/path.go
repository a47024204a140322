package xmlpatch

import (
	"fmt"
	"strconv"
	"strings"
)

// predKind is the kind of a path predicate.
type predKind uint8

const (
	predAttr  predKind = iota // [@name='v']
	predChild                 // [child='v']
	predPos                   // [N]
)

// pred is one predicate of a path step.
type pred struct {
	kind  predKind
	name  string // attribute or child element name, as written
	value string
	pos   int
}

// step is one /-separated step of a path.
type step struct {
	name  string // element name as written (may carry a prefix)
	local string
	preds []pred
}

// path is a parsed absolute path.
type path struct {
	raw   string
	steps []step
}

// parsePath parses an absolute path such as
// /axisconfig/clustering/parameter[@name='membershipScheme'].
func parsePath(s string) (*path, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("path %q must start with '/'", s)
	}
	p := &path{raw: s}
	for i := 0; i < len(s); {
		if s[i] != '/' {
			return nil, fmt.Errorf("path %q: expected '/' at offset %d", s, i)
		}
		st, next, err := parseStep(s, i+1)
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", s, err)
		}
		p.steps = append(p.steps, st)
		i = next
	}
	return p, nil
}

// parseStep parses the step starting at offset i of s.
func parseStep(s string, i int) (step, int, error) {
	j := i
	for j < len(s) && s[j] != '/' && s[j] != '[' {
		j++
	}
	name := strings.TrimSpace(s[i:j])
	if !validName(name) {
		return step{}, 0, fmt.Errorf("invalid element name %q at offset %d", s[i:j], i)
	}
	st := step{name: name, local: localOf(name)}
	for j < len(s) && s[j] == '[' {
		end, err := predEnd(s, j)
		if err != nil {
			return step{}, 0, err
		}
		pr, err := parsePred(s[j+1 : end])
		if err != nil {
			return step{}, 0, fmt.Errorf("predicate %s: %w", s[j:end+1], err)
		}
		st.preds = append(st.preds, pr)
		j = end + 1
	}
	if j < len(s) && s[j] != '/' {
		return step{}, 0, fmt.Errorf("unexpected %q at offset %d", s[j], j)
	}
	return st, j, nil
}

// predEnd returns the offset of the ']' closing the predicate opened at i,
// skipping quoted strings.
func predEnd(s string, i int) (int, error) {
	var quote byte
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == ']':
			return j, nil
		}
	}
	return 0, fmt.Errorf("unterminated predicate at offset %d", i)
}

// parsePred parses the inside of [...].
func parsePred(s string) (pred, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 {
			return pred{}, fmt.Errorf("position must be 1 or more")
		}
		return pred{kind: predPos, pos: n}, nil
	}
	kind := predChild
	if strings.HasPrefix(s, "@") {
		kind, s = predAttr, s[1:]
	}
	eq := strings.IndexByte(s, '=')
	if eq < 0 {
		return pred{}, fmt.Errorf("want [@attr='value'], [child='value'] or [N]")
	}
	name := strings.TrimSpace(s[:eq])
	if !validName(name) {
		return pred{}, fmt.Errorf("invalid name %q", name)
	}
	val := strings.TrimSpace(s[eq+1:])
	if len(val) < 2 || (val[0] != '\'' && val[0] != '"') || val[len(val)-1] != val[0] {
		return pred{}, fmt.Errorf("value must be quoted with ' or \"")
	}
	if strings.IndexByte(val[1:len(val)-1], val[0]) >= 0 {
		return pred{}, fmt.Errorf("value contains its own quote character")
	}
	val = val[1 : len(val)-1]
	return pred{kind: kind, name: name, value: val}, nil
}

func validName(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// String renders the step back (used in error messages).
func (st step) String() string {
	var sb strings.Builder
	sb.WriteString(st.name)
	for _, p := range st.preds {
		switch p.kind {
		case predPos:
			fmt.Fprintf(&sb, "[%d]", p.pos)
		case predAttr:
			fmt.Fprintf(&sb, "[@%s=%s]", p.name, quoteFor(p.value))
		default:
			fmt.Fprintf(&sb, "[%s=%s]", p.name, quoteFor(p.value))
		}
	}
	return sb.String()
}

func quoteFor(v string) string {
	if strings.Contains(v, "'") {
		return `"` + v + `"`
	}
	return "'" + v + "'"
}

// prefixString renders the first n steps as a path.
func (p *path) prefixString(n int) string {
	var sb strings.Builder
	for _, st := range p.steps[:n] {
		sb.WriteByte('/')
		sb.WriteString(st.String())
	}
	return sb.String()
}

// attrNameMatches reports whether the attribute name query matches the
// attribute name have. Unprefixed names match unprefixed attributes only;
// a prefixed query matches by local name, whatever the prefix.
func attrNameMatches(query, have string) bool {
	if query == have {
		return true
	}
	if prefixOf(query) == "" || prefixOf(have) == "" {
		return false
	}
	return localOf(query) == localOf(have)
}

// matches returns the live elements matching the first n steps of p.
func (d *document) matches(p *path, n int) []*element {
	if d.root == nil || n == 0 {
		return nil
	}
	cur := d.filter([]*element{d.root}, p.steps[0])
	for _, st := range p.steps[1:n] {
		var next []*element
		for _, e := range cur {
			next = append(next, d.filter(e.childElems(), st)...)
		}
		cur = next
		if len(cur) == 0 {
			break
		}
	}
	return cur
}

// resolve returns every live element matching the whole path.
func (d *document) resolve(p *path) []*element {
	return d.matches(p, len(p.steps))
}

// filter keeps the candidates (siblings) that match st, applying the
// predicates in order as XPath does.
func (d *document) filter(cands []*element, st step) []*element {
	var out []*element
	for _, e := range cands {
		if e.local == st.local {
			out = append(out, e)
		}
	}
	for _, pr := range st.preds {
		if pr.kind == predPos {
			if pr.pos > len(out) {
				return nil
			}
			out = out[pr.pos-1 : pr.pos]
			continue
		}
		kept := out[:0:0]
		for _, e := range out {
			if d.predHolds(e, pr) {
				kept = append(kept, e)
			}
		}
		out = kept
	}
	return out
}

// predHolds evaluates an attribute or child predicate on e.
func (d *document) predHolds(e *element, pr pred) bool {
	if pr.kind == predAttr {
		for _, a := range e.attrs {
			if attrNameMatches(pr.name, a.name) && d.attrValue(a) == pr.value {
				return true
			}
		}
		return false
	}
	local := localOf(pr.name)
	for _, c := range e.childElems() {
		if c.local == local && trim(d.textOf(c)) == pr.value {
			return true
		}
	}
	return false
}
