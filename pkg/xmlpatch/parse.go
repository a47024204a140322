package xmlpatch

import (
	"bytes"
	"fmt"
	"sort"
)

// tokKind is the kind of a content token.
type tokKind uint8

const (
	tokElem tokKind = iota
	tokText
	tokComment
	tokCDATA
	tokPI // processing instruction, including the XML declaration
	tokDoctype
)

// token is one piece of content: an element, a text run, a comment, ...
// [start, end) is its byte range in the source; for an element, end is not
// set (see el.end).
type token struct {
	kind       tokKind
	start, end int
	el         *element // tokElem only
}

// attr is one attribute of a start tag, with the byte offsets of its value.
type attr struct {
	name             string
	nameStart        int
	valStart, valEnd int  // value bytes, quotes excluded
	quote            byte // '"' or '\''
}

// element is one element with the byte offsets needed to edit it in place.
type element struct {
	name, local string
	start       int // offset of '<' of the start tag
	tagEnd      int // offset just past '>' of the start tag
	slash       int // offset of '/' of "/>" for an empty-element tag, else -1
	attrs       []attr
	innerStart  int // content range; both equal tagEnd for <a/>
	innerEnd    int
	end         int // offset just past the end tag (tagEnd for <a/>)
	parent      *element
	kids        []token
}

func (e *element) selfClosing() bool { return e.slash >= 0 }

// attr returns the attribute with the qualified name name.
func (e *element) attr(name string) (attr, bool) {
	for _, a := range e.attrs {
		if a.name == name {
			return a, true
		}
	}
	return attr{}, false
}

// childElems returns the element children of e.
func (e *element) childElems() []*element {
	var out []*element
	for _, t := range e.kids {
		if t.kind == tokElem {
			out = append(out, t.el)
		}
	}
	return out
}

// hasChildElems reports whether e has at least one element child.
func (e *element) hasChildElems() bool {
	for _, t := range e.kids {
		if t.kind == tokElem {
			return true
		}
	}
	return false
}

// prefix returns the namespace prefix of the element name ("" if none).
func (e *element) prefix() string {
	return prefixOf(e.name)
}

// document is a parsed XML document (or fragment) that keeps its source.
type document struct {
	src       []byte
	root      *element // nil for a fragment
	top       []token  // top-level tokens (prolog, root, epilog; or fragment nodes)
	lineStart []int    // offsets where lines start, computed on first use
	fragment  bool
	hasDTD    bool

	unit string // indentation unit, computed on first use
}

// SyntaxError reports malformed XML.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// parser holds the state of one parse. To keep a parse cheap, elements,
// tokens and attributes are carved out of a few large slices instead of
// being allocated one by one, and names are interned.
type parser struct {
	doc   *document
	src   []byte
	pos   int
	stack []*element
	marks []int // for each open element, where its tokens start in pending

	pending []token // tokens of the open elements, innermost last
	toks    []token // arena for finished kids slices
	attrs   []attr  // arena for attribute slices
	slab    []element
	names   *[512]string // direct-mapped cache of names seen
}

// parseDocument parses a complete XML document.
func parseDocument(src []byte) (*document, error) {
	return parse(src, false)
}

// parseFragment parses zero or more elements (and comments) without a root.
func parseFragment(src []byte) (*document, error) {
	return parse(src, true)
}

func parse(src []byte, fragment bool) (*document, error) {
	d := &document{src: src, fragment: fragment}
	n := bytes.Count(src, []byte("<"))
	p := &parser{
		doc:   d,
		src:   src,
		toks:  make([]token, 0, 2*n+1),
		attrs: make([]attr, 0, n/2+1),
		slab:  make([]element, 0, n/2+1),
		names: new([512]string),
	}
	if err := p.run(); err != nil {
		return nil, err
	}
	return d, nil
}

func lineStarts(src []byte) []int {
	starts := make([]int, 1, 64+len(src)/40)
	for i := 0; ; {
		j := bytes.IndexByte(src[i:], '\n')
		if j < 0 {
			return starts
		}
		i += j + 1
		starts = append(starts, i)
	}
}

// line returns the 1-based line number of offset off.
func (d *document) line(off int) int {
	if d.lineStart == nil {
		d.lineStart = lineStarts(d.src)
	}
	return sort.SearchInts(d.lineStart, off+1)
}

// lineBegin returns the offset of the start of the line holding off.
func (d *document) lineBegin(off int) int {
	return bytes.LastIndexByte(d.src[:off], '\n') + 1
}

func (p *parser) errorf(off int, format string, args ...any) error {
	return &SyntaxError{Line: p.doc.line(off), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) run() error {
	if bytes.HasPrefix(p.src, []byte("\xef\xbb\xbf")) {
		p.pos = 3 // a UTF-8 byte order mark stays in the source, untouched
	}
	for p.pos < len(p.src) {
		if p.src[p.pos] != '<' {
			if err := p.text(); err != nil {
				return err
			}
			continue
		}
		if err := p.markup(); err != nil {
			return err
		}
	}
	if n := len(p.stack); n > 0 {
		open := p.stack[n-1]
		return p.errorf(len(p.src), "unexpected end of input: <%s> (line %d) is not closed", open.name, p.doc.line(open.start))
	}
	if !p.doc.fragment && p.doc.root == nil {
		return p.errorf(len(p.src), "no root element")
	}
	return nil
}

// add appends a token to the current element or to the top level.
func (p *parser) add(t token) {
	if len(p.stack) > 0 {
		p.pending = append(p.pending, t)
		return
	}
	p.doc.top = append(p.doc.top, t)
}

// open pushes e as the current element.
func (p *parser) open(e *element) {
	p.stack = append(p.stack, e)
	p.marks = append(p.marks, len(p.pending))
}

// close pops the current element and moves its tokens to the arena.
func (p *parser) close() {
	n := len(p.stack) - 1
	e, mark := p.stack[n], p.marks[n]
	start := len(p.toks)
	p.toks = append(p.toks, p.pending[mark:]...)
	e.kids = p.toks[start:len(p.toks):len(p.toks)]
	p.pending = p.pending[:mark]
	p.stack, p.marks = p.stack[:n], p.marks[:n]
}

// newElement returns a zeroed element from the slab.
func (p *parser) newElement() *element {
	if len(p.slab) == cap(p.slab) {
		p.slab = make([]element, 0, max(64, cap(p.slab)))
	}
	p.slab = p.slab[:len(p.slab)+1]
	return &p.slab[len(p.slab)-1]
}

// intern returns b as a string, sharing the strings of recent equal names.
func (p *parser) intern(b []byte) string {
	h := uint(len(b))
	for _, c := range b {
		h = h*31 + uint(c)
	}
	slot := &p.names[h%uint(len(p.names))]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}

func (p *parser) text() error {
	start := p.pos
	end := len(p.src)
	if j := bytes.IndexByte(p.src[start:], '<'); j >= 0 {
		end = start + j
	}
	p.pos = end
	if len(p.stack) == 0 && !isSpace(p.src[start:end]) {
		where := "the root element"
		if p.doc.fragment {
			where = "any element"
		}
		at := skipSpace(p.src, start)
		return p.errorf(at, "text outside %s: %q", where, clip(bytes.TrimSpace(p.src[start:end])))
	}
	if err := p.checkRefs(start, end); err != nil {
		return err
	}
	p.add(token{kind: tokText, start: start, end: end})
	return nil
}

// checkRefs rejects a bare '&' or an unknown entity reference in src[start:end].
func (p *parser) checkRefs(start, end int) error {
	for i := start; i < end; i++ {
		if p.src[i] != '&' {
			continue
		}
		n, ok := refLen(p.src[i:end])
		if !ok {
			return p.errorf(i, "invalid character or entity reference %q (write & as &amp;)", clip(p.src[i:min(end, i+12)]))
		}
		if p.src[i+1] != '#' && !p.doc.hasDTD {
			if _, known := predefined(string(p.src[i+1 : i+n-1])); !known {
				return p.errorf(i, "undefined entity %q", p.src[i:i+n])
			}
		}
		i += n - 1
	}
	return nil
}

func (p *parser) markup() error {
	rest := p.src[p.pos:]
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		return p.delimited(tokComment, 4, "-->", "comment")
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		if len(p.stack) == 0 {
			return p.errorf(p.pos, "CDATA section outside the root element")
		}
		return p.delimited(tokCDATA, 9, "]]>", "CDATA section")
	case bytes.HasPrefix(rest, []byte("<?")):
		return p.delimited(tokPI, 2, "?>", "processing instruction")
	case bytes.HasPrefix(rest, []byte("<!DOCTYPE")):
		return p.doctype()
	case bytes.HasPrefix(rest, []byte("</")):
		return p.endTag()
	default:
		return p.startTag()
	}
}

// delimited scans a construct that ends with the first occurrence of closer.
func (p *parser) delimited(kind tokKind, open int, closer, what string) error {
	start := p.pos
	j := bytes.Index(p.src[start+open:], []byte(closer))
	if j < 0 {
		return p.errorf(start, "unterminated %s (no %q)", what, closer)
	}
	p.pos = start + open + j + len(closer)
	p.add(token{kind: kind, start: start, end: p.pos})
	return nil
}

func (p *parser) doctype() error {
	start := p.pos
	if p.doc.fragment || p.doc.root != nil || len(p.stack) > 0 {
		return p.errorf(start, "DOCTYPE not allowed here")
	}
	depth := 0
	for i := start + 2; i < len(p.src); i++ {
		switch p.src[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '"', '\'':
			j := bytes.IndexByte(p.src[i+1:], p.src[i])
			if j < 0 {
				return p.errorf(i, "unterminated literal in DOCTYPE")
			}
			i += j + 1
		case '>':
			if depth <= 0 {
				p.pos = i + 1
				p.doc.hasDTD = true
				p.add(token{kind: tokDoctype, start: start, end: p.pos})
				return nil
			}
		}
	}
	return p.errorf(start, "unterminated DOCTYPE")
}

func (p *parser) endTag() error {
	start := p.pos
	i := start + 2
	name, i := p.name(i)
	if name == "" {
		return p.errorf(start, "invalid end tag")
	}
	i = skipSpace(p.src, i)
	if i >= len(p.src) || p.src[i] != '>' {
		return p.errorf(start, "end tag </%s> is not closed with '>'", name)
	}
	p.pos = i + 1
	n := len(p.stack)
	if n == 0 {
		return p.errorf(start, "end tag </%s> has no matching start tag", name)
	}
	cur := p.stack[n-1]
	if cur.name != name {
		return p.errorf(start, "end tag </%s> does not match start tag <%s> (line %d)", name, cur.name, p.doc.line(cur.start))
	}
	cur.innerEnd = start
	cur.end = p.pos
	p.close()
	return nil
}

func (p *parser) startTag() error {
	start := p.pos
	name, i := p.name(start + 1)
	if name == "" {
		return p.errorf(start, "'<' not followed by a name (write < as &lt;)")
	}
	e := p.newElement()
	e.name, e.local, e.start, e.slash = name, localOf(name), start, -1
	i, err := p.parseAttrs(e, i)
	if err != nil {
		return err
	}
	if p.src[i] == '/' {
		e.slash = i
		i++
	}
	e.tagEnd = i + 1
	e.innerStart, e.innerEnd, e.end = e.tagEnd, e.tagEnd, e.tagEnd
	p.pos = e.tagEnd
	if err := p.place(e); err != nil {
		return err
	}
	if !e.selfClosing() {
		p.open(e)
	}
	return nil
}

// place links a new element into the tree.
func (p *parser) place(e *element) error {
	if n := len(p.stack); n > 0 {
		e.parent = p.stack[n-1]
	} else if !p.doc.fragment {
		if p.doc.root != nil {
			return p.errorf(e.start, "second root element <%s> (the root <%s> ended on line %d)", e.name, p.doc.root.name, p.doc.line(p.doc.root.end-1))
		}
		p.doc.root = e
	}
	p.add(token{kind: tokElem, start: e.start, end: -1, el: e})
	return nil
}

// parseAttrs parses the attributes of e starting at i; it returns the
// offset of the closing '>' or of the '/' of "/>".
func (p *parser) parseAttrs(e *element, i int) (int, error) {
	first := len(p.attrs)
	for {
		j := skipSpace(p.src, i)
		if j >= len(p.src) {
			return 0, p.errorf(e.start, "start tag <%s> is not closed", e.name)
		}
		switch {
		case p.src[j] == '>' || (p.src[j] == '/' && j+1 < len(p.src) && p.src[j+1] == '>'):
			e.attrs = p.attrs[first:len(p.attrs):len(p.attrs)]
			return j, nil
		case p.src[j] == '/':
			return 0, p.errorf(j, "unexpected '/' in start tag <%s>", e.name)
		case j == i:
			return 0, p.errorf(j, "missing space before attribute in <%s>", e.name)
		}
		a, next, err := p.attr(e, j)
		if err != nil {
			return 0, err
		}
		for _, b := range p.attrs[first:] {
			if b.name == a.name {
				return 0, p.errorf(j, "duplicate attribute %s in <%s>", a.name, e.name)
			}
		}
		p.attrs = append(p.attrs, a)
		i = next
	}
}

func (p *parser) attr(e *element, i int) (attr, int, error) {
	name, j := p.name(i)
	if name == "" {
		return attr{}, 0, p.errorf(i, "invalid attribute name in <%s>", e.name)
	}
	j = skipSpace(p.src, j)
	if j >= len(p.src) || p.src[j] != '=' {
		return attr{}, 0, p.errorf(i, "attribute %s in <%s> has no value", name, e.name)
	}
	j = skipSpace(p.src, j+1)
	if j >= len(p.src) || (p.src[j] != '"' && p.src[j] != '\'') {
		return attr{}, 0, p.errorf(i, "value of attribute %s in <%s> is not quoted", name, e.name)
	}
	q := p.src[j]
	k := bytes.IndexByte(p.src[j+1:], q)
	if k < 0 {
		return attr{}, 0, p.errorf(j, "unterminated value of attribute %s in <%s>", name, e.name)
	}
	a := attr{name: name, nameStart: i, valStart: j + 1, valEnd: j + 1 + k, quote: q}
	if lt := bytes.IndexByte(p.src[a.valStart:a.valEnd], '<'); lt >= 0 {
		return attr{}, 0, p.errorf(a.valStart+lt, "'<' in value of attribute %s in <%s>", name, e.name)
	}
	if err := p.checkRefs(a.valStart, a.valEnd); err != nil {
		return attr{}, 0, err
	}
	return a, a.valEnd + 1, nil
}

// name reads an XML name at i and returns it and the offset after it.
func (p *parser) name(i int) (string, int) {
	j := i
	for j < len(p.src) && isNameByte(p.src[j]) {
		j++
	}
	if j == i || !isNameStart(p.src[i]) {
		return "", i
	}
	return p.intern(p.src[i:j]), j
}

func isNameStart(b byte) bool {
	return b == '_' || b == ':' || b >= 0x80 || (b|0x20 >= 'a' && b|0x20 <= 'z')
}

func isNameByte(b byte) bool {
	return isNameStart(b) || b == '-' || b == '.' || (b >= '0' && b <= '9')
}

func isSpaceByte(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

func isSpace(b []byte) bool {
	for _, c := range b {
		if !isSpaceByte(c) {
			return false
		}
	}
	return true
}

func skipSpace(src []byte, i int) int {
	for i < len(src) && isSpaceByte(src[i]) {
		i++
	}
	return i
}

func localOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == ':' {
			return name[i+1:]
		}
	}
	return name
}

func prefixOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == ':' {
			return name[:i]
		}
	}
	return ""
}

// clip shortens b for error messages.
func clip(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
