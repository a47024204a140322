package xmlpatch

import (
	"fmt"
	"strings"
)

// node is an element (or comment) to be written into a document. Attribute
// values and text are stored escaped, ready to be written.
type node struct {
	comment string // the whole "<!--...-->" when the node is a comment
	name    string
	attrs   []nodeAttr // written with double quotes
	text    string
	hasText bool
	kids    []*node
	empty   bool // written as <a/> when it has no content, else <a></a>
}

type nodeAttr struct{ name, value string }

func (n *node) local() string { return localOf(n.name) }

// render writes n starting with indent; nested nodes get one more unit.
// Lines are separated by "\n"; the caller converts them to the file's EOL.
func (n *node) render(sb *strings.Builder, indent, unit string) {
	sb.WriteString(indent)
	if n.comment != "" {
		sb.WriteString(n.comment)
		return
	}
	sb.WriteString("<")
	sb.WriteString(n.name)
	for _, a := range n.attrs {
		fmt.Fprintf(sb, ` %s="%s"`, a.name, a.value)
	}
	switch {
	case len(n.kids) > 0:
		sb.WriteString(">")
		for _, k := range n.kids {
			sb.WriteString("\n")
			k.render(sb, indent+unit, unit)
		}
		fmt.Fprintf(sb, "\n%s</%s>", indent, n.name)
	case n.hasText:
		fmt.Fprintf(sb, ">%s</%s>", n.text, n.name)
	case n.empty:
		sb.WriteString("/>")
	default:
		fmt.Fprintf(sb, "></%s>", n.name)
	}
}

// renderString renders n to a string.
func (n *node) renderString(indent, unit string) string {
	var sb strings.Builder
	n.render(&sb, indent, unit)
	return sb.String()
}

// mapValues applies f to the attribute values and texts of the subtree.
func (n *node) mapValues(f func(string) string) {
	if n.comment != "" {
		return
	}
	for i := range n.attrs {
		n.attrs[i].value = f(n.attrs[i].value)
	}
	n.text = f(n.text)
	for _, k := range n.kids {
		k.mapValues(f)
	}
}

// fragment is a parsed Value of an Ensure or SetInner op.
type fragment struct {
	doc   *document
	elems []*element // top-level elements, for comparisons
	nodes []*node    // top-level elements and comments, for rendering
}

// parseValueFragment parses an XML fragment given as an op value.
func parseValueFragment(value string) (*fragment, error) {
	d, err := parseFragment([]byte(value))
	if err != nil {
		return nil, fmt.Errorf("value is not a well-formed XML fragment: %w", err)
	}
	f := &fragment{doc: d}
	for _, t := range d.top {
		switch t.kind {
		case tokElem:
			n, err := d.toNode(t.el)
			if err != nil {
				return nil, fmt.Errorf("value: %w", err)
			}
			f.elems = append(f.elems, t.el)
			f.nodes = append(f.nodes, n)
		case tokComment:
			f.nodes = append(f.nodes, &node{comment: string(d.src[t.start:t.end])})
		case tokText:
			// only white space can get here
		default:
			return nil, fmt.Errorf("value: line %d: only elements and comments are allowed in a fragment", d.line(t.start))
		}
	}
	return f, nil
}

// toNode converts a parsed fragment element into a node, keeping attribute
// values and text as written.
func (d *document) toNode(e *element) (*node, error) {
	n := &node{name: e.name, empty: e.selfClosing()}
	for _, a := range e.attrs {
		v := string(d.src[a.valStart:a.valEnd])
		if a.quote == '\'' {
			v = strings.ReplaceAll(v, `"`, "&quot;")
		}
		n.attrs = append(n.attrs, nodeAttr{a.name, v})
	}
	if !e.hasChildElems() {
		n.text = trim(string(d.src[e.innerStart:e.innerEnd]))
		n.hasText = n.text != ""
		return n, nil
	}
	if d.hasText(e) {
		return nil, fmt.Errorf("line %d: <%s> mixes text and elements; not supported in a fragment", d.line(e.start), e.name)
	}
	for _, t := range e.kids {
		switch t.kind {
		case tokElem:
			k, err := d.toNode(t.el)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		case tokComment:
			n.kids = append(n.kids, &node{comment: string(d.src[t.start:t.end])})
		}
	}
	return n, nil
}

// stepNode builds the element a path step describes: its name, attributes
// from [@a='v'] predicates and child elements from [c='v'] predicates.
func stepNode(st step) (*node, error) {
	n := &node{name: st.name, empty: true}
	seen := map[string]string{}
	for _, p := range st.preds {
		switch p.kind {
		case predAttr:
			if old, dup := seen[p.name]; dup && old != p.value {
				return nil, fmt.Errorf("step %s: conflicting predicates on @%s", st, p.name)
			} else if dup {
				continue
			}
			seen[p.name] = p.value
			n.attrs = append(n.attrs, nodeAttr{p.name, escapeAttr(p.value, '"')})
		case predChild:
			n.kids = append(n.kids, &node{name: p.name, text: escapeText(p.value), hasText: p.value != ""})
		}
	}
	return n, nil
}

// sameChildren reports whether the element children of e (in d) equal the
// fragment elements semantically: names, attributes and trimmed texts;
// comments and white space are ignored.
func sameChildren(d *document, e *element, f *document, want []*element) bool {
	if d.hasText(e) {
		return false
	}
	have := e.childElems()
	if len(have) != len(want) {
		return false
	}
	for i := range have {
		if !sameElem(d, have[i], f, want[i]) {
			return false
		}
	}
	return true
}

func sameElem(d *document, a *element, f *document, b *element) bool {
	if a.local != b.local || len(a.attrs) != len(b.attrs) {
		return false
	}
	for _, x := range a.attrs {
		y, ok := b.attr(x.name)
		if !ok || d.attrValue(x) != f.attrValue(y) {
			return false
		}
	}
	if a.hasChildElems() || b.hasChildElems() {
		return !f.hasText(b) && sameChildren(d, a, f, b.childElems())
	}
	return trim(d.textOf(a)) == trim(f.textOf(b))
}
