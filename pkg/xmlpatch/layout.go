package xmlpatch

import (
	"bytes"
	"strings"
)

// edit replaces src[start:end] with text. Line breaks in text are "\n" and
// are converted to the document's line ending when the edit is applied.
type edit struct {
	start, end int
	text       string
}

// apply returns a copy of the source with ed applied. Line breaks in the
// new text (values' own, and those of fragments written with CRLF) become
// the document's line ending.
func (d *document) apply(ed edit) []byte {
	text := normalizeNL(ed.text)
	if eol := d.eol(); eol != "\n" {
		text = strings.ReplaceAll(text, "\n", eol)
	}
	out := make([]byte, 0, len(d.src)-(ed.end-ed.start)+len(text))
	out = append(out, d.src[:ed.start]...)
	out = append(out, text...)
	return append(out, d.src[ed.end:]...)
}

// eol returns the document's line ending, decided by its first line break.
func (d *document) eol() string {
	if i := bytes.IndexByte(d.src, '\n'); i > 0 && d.src[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

// leadingWS returns the spaces and tabs that begin the line holding off,
// and whether nothing else precedes off on that line.
func (d *document) leadingWS(off int) (string, bool) {
	ind, own := d.indentAt(off)
	return string(ind), own
}

// indentAt is leadingWS without the copy.
func (d *document) indentAt(off int) ([]byte, bool) {
	ls := d.lineBegin(off)
	i := ls
	for i < off && (d.src[i] == ' ' || d.src[i] == '\t') {
		i++
	}
	return d.src[ls:i], i == off
}

// indentUnit returns the indentation step of the file: the most common
// difference between the indentation of an element and of its parent, when
// both begin their lines. It falls back to four spaces.
func (d *document) indentUnit() string {
	if d.unit != "" {
		return d.unit
	}
	type tally struct {
		unit []byte
		n    int
	}
	var counts []tally
	var walk func(e *element, indent []byte, own bool)
	walk = func(e *element, indent []byte, own bool) {
		for _, t := range e.kids {
			if t.kind != tokElem {
				continue
			}
			ci, cown := d.indentAt(t.el.start)
			if own && cown && len(ci) > len(indent) && bytes.HasPrefix(ci, indent) {
				u := ci[len(indent):]
				i := 0
				for i < len(counts) && !bytes.Equal(counts[i].unit, u) {
					i++
				}
				if i == len(counts) {
					counts = append(counts, tally{unit: u})
				}
				counts[i].n++
			}
			walk(t.el, ci, cown)
		}
	}
	if d.root != nil {
		ri, rown := d.indentAt(d.root.start)
		walk(d.root, ri, rown)
	}
	d.unit = "    "
	best := 0
	for _, c := range counts {
		if c.n > best {
			d.unit, best = string(c.unit), c.n
		}
	}
	return d.unit
}

// childIndent returns the indentation of the element child of parent
// nearest to off (preferring those before it) that begins its line.
func (d *document) childIndent(parent *element, off int) (string, bool) {
	var before, after []byte
	var haveBefore, haveAfter bool
	for _, t := range parent.kids {
		if t.kind != tokElem {
			continue
		}
		ind, own := d.indentAt(t.start)
		if !own {
			continue
		}
		if t.start < off {
			before, haveBefore = ind, true
		} else if !haveAfter {
			after, haveAfter = ind, true
		}
	}
	if haveBefore {
		return string(before), true
	}
	return string(after), haveAfter
}

// newChildIndent is the indentation for a new child of parent placed near
// off when nothing better is known.
func (d *document) newChildIndent(parent *element, off int) string {
	if ind, ok := d.childIndent(parent, off); ok {
		return ind
	}
	pi, _ := d.leadingWS(parent.start)
	return pi + d.indentUnit()
}

// insertChild returns the edit that inserts n into parent: after the last
// live sibling with the same name, else after a comment holding a
// commented-out look-alike, else as the last child.
func (d *document) insertChild(parent *element, n *node) (edit, error) {
	if pfx := parent.prefix(); pfx != "" && !d.defaultNSInScope(parent) {
		n.inheritPrefix(pfx)
	}
	if err := d.checkPrefixes(parent, n); err != nil {
		return edit{}, err
	}
	n.mapValues(d.encode)
	if sib := lastNamed(parent, n.local()); sib != nil {
		ind, own := d.leadingWS(sib.start)
		if !own {
			ind = d.newChildIndent(parent, sib.start)
		}
		return d.insertAfter(sib.end, ind, n), nil
	}
	if c, ok := d.lookAlike(parent, n); ok {
		ind, ok := d.childIndent(parent, c.start)
		if !ok {
			if ci, own := d.leadingWS(c.start); own {
				ind = ci
			} else {
				ind = d.newChildIndent(parent, c.start)
			}
		}
		return d.insertAfter(c.end, ind, n), nil
	}
	return d.appendChild(parent, n), nil
}

func lastNamed(parent *element, local string) *element {
	var last *element
	for _, t := range parent.kids {
		if t.kind == tokElem && t.el.local == local {
			last = t.el
		}
	}
	return last
}

// lookAlike finds the comment child of parent that best holds a
// commented-out copy of n: it must contain "<name" or start with "name"
// (a fused comment such as <!--HostName>...</HostName-->); comments that
// also mention n's attribute values win; among equals the last one wins.
func (d *document) lookAlike(parent *element, n *node) (token, bool) {
	var best token
	bestScore := 0
	for _, t := range parent.kids {
		if t.kind != tokComment {
			continue
		}
		body := d.src[t.start+4 : t.end-3]
		if !holdsTag(body, n.local()) {
			continue
		}
		score := 1
		for _, a := range n.attrs {
			if bytes.Contains(body, []byte(a.name+`="`+a.value+`"`)) || bytes.Contains(body, []byte(a.name+`='`+a.value+`'`)) {
				score++
			}
		}
		if score >= bestScore {
			best, bestScore = t, score
		}
	}
	return best, bestScore > 0
}

// holdsTag reports whether comment text body contains a start tag of an
// element with the given local name (any prefix), either as "<name" or, for
// fused comments, at the very start.
func holdsTag(body []byte, local string) bool {
	if tagAt(body, 0, local) {
		return true
	}
	for i := 0; i < len(body); i++ {
		if body[i] == '<' && tagAt(body, i+1, local) {
			return true
		}
	}
	return false
}

// tagAt reports whether body[i:] starts with [prefix:]local followed by a
// character that ends a tag name.
func tagAt(body []byte, i int, local string) bool {
	j := i
	for j < len(body) && isNameByte(body[j]) && body[j] != ':' {
		j++
	}
	if j < len(body) && body[j] == ':' {
		i = j + 1
	}
	rest := body[i:]
	if !bytes.HasPrefix(rest, []byte(local)) {
		return false
	}
	if len(rest) == len(local) {
		return false
	}
	c := rest[len(local)]
	return c == '>' || c == '/' || isSpaceByte(c)
}

// insertAfter inserts n after offset off (the end of a sibling or comment):
// on a line of its own after the current line when the rest of that line is
// blank, else right at off on a new line.
func (d *document) insertAfter(off int, indent string, n *node) edit {
	text := n.renderString(indent, d.indentUnit())
	if next, ok := d.restBlank(off, true); ok {
		return edit{next, next, text + "\n"}
	}
	return edit{off, off, "\n" + text}
}

// restBlank reports whether only spaces and tabs (and, if comments is set,
// comments that end on this line) follow off up to the line break; it
// returns the offset of the next line.
func (d *document) restBlank(off int, comments bool) (int, bool) {
	src := d.src
	for i := off; i < len(src); {
		switch c := src[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '\n':
			return i + 1, true
		case c == '\r' && i+1 < len(src) && src[i+1] == '\n':
			return i + 2, true
		case comments && bytes.HasPrefix(src[i:], []byte("<!--")):
			j := bytes.Index(src[i+4:], []byte("-->"))
			if j < 0 || bytes.IndexByte(src[i:i+4+j], '\n') >= 0 {
				return 0, false
			}
			i += 4 + j + 3
		default:
			return 0, false
		}
	}
	return 0, false
}

// appendChild inserts n as the last child of parent.
func (d *document) appendChild(parent *element, n *node) edit {
	pi, _ := d.leadingWS(parent.start)
	if parent.selfClosing() {
		text := n.renderString(pi+d.indentUnit(), d.indentUnit())
		return d.expand(parent, "\n"+text+"\n"+pi)
	}
	text := n.renderString(d.newChildIndent(parent, parent.innerEnd), d.indentUnit())
	ls := d.lineBegin(parent.innerEnd)
	if ls > parent.innerStart {
		if _, own := d.leadingWS(parent.innerEnd); own {
			return edit{ls, ls, text + "\n"}
		}
	}
	inner := d.src[parent.innerStart:parent.innerEnd]
	if isSpace(inner) && bytes.IndexByte(inner, '\n') < 0 {
		return edit{parent.innerStart, parent.innerEnd, "\n" + text + "\n" + pi}
	}
	return edit{parent.innerEnd, parent.innerEnd, "\n" + text + "\n" + pi}
}

// expand turns the empty-element tag <e .../> into <e ...>content</e>.
func (d *document) expand(e *element, content string) edit {
	cut := e.slash
	for cut > e.start && isSpaceByte(d.src[cut-1]) {
		cut--
	}
	return edit{cut, e.tagEnd, ">" + content + "</" + e.name + ">"}
}

// removeEdit removes e, with its whole line(s) when it stands alone on them.
func (d *document) removeEdit(e *element) edit {
	if _, own := d.leadingWS(e.start); own {
		if next, ok := d.restBlank(e.end, false); ok {
			return edit{d.lineBegin(e.start), next, ""}
		}
	}
	return edit{e.start, e.end, ""}
}
