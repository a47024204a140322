package xmlpatch

import (
	"fmt"
	"strings"
)

// The planners below compute the single edit each kind of op makes; an op
// that is already satisfied plans nothing.

// planSetText replaces the element's content with the escaped value, or
// creates the element (and missing ancestors) from the path.
func planSetText(d *document, p *path, el *element, value string) (edit, bool, error) {
	if el == nil {
		ed, err := d.create(p, len(p.steps), func(n *node) error {
			if len(n.kids) > 0 {
				return fmt.Errorf("cannot create <%s> with both child elements (from the path's predicates) and text", n.name)
			}
			n.text, n.hasText, n.empty = escapeText(value), value != "", false
			return nil
		})
		return ed, err == nil, err
	}
	if el.hasChildElems() {
		c := el.childElems()[0]
		return edit{}, false, fmt.Errorf("element <%s> (line %d) has child elements (<%s> on line %d); use inner to replace them", el.name, d.line(el.start), c.name, d.line(c.start))
	}
	if textEquals(d.textOf(el), value) {
		return edit{}, false, nil
	}
	if el.selfClosing() {
		return d.expand(el, d.encode(escapeText(value))), true, nil
	}
	return edit{el.innerStart, el.innerEnd, d.encode(escapeText(value))}, true, nil
}

// textEquals reports whether the current text have already holds want.
func textEquals(have, want string) bool {
	return have == want || trim(have) == want
}

// planSetAttr replaces the attribute's value bytes or appends the
// attribute to the start tag; it creates a missing element from the path.
func planSetAttr(d *document, p *path, el *element, name, value string) (edit, bool, error) {
	last := p.steps[len(p.steps)-1]
	for _, pr := range last.preds {
		if pr.kind == predAttr && attrNameMatches(pr.name, name) && pr.value != value {
			return edit{}, false, fmt.Errorf("the path selects on @%s='%s', so setting it to %q would make the path miss the element next time; select the element another way", pr.name, pr.value, value)
		}
	}
	if el == nil {
		ed, err := d.create(p, len(p.steps), func(n *node) error {
			for _, a := range n.attrs {
				if a.name == name {
					return nil
				}
			}
			n.attrs = append(n.attrs, nodeAttr{name, escapeAttr(value, '"')})
			return nil
		})
		return ed, err == nil, err
	}
	if a, ok := el.attr(name); ok {
		if d.attrValue(a) == value {
			return edit{}, false, nil
		}
		return edit{a.valStart, a.valEnd, d.encode(escapeAttr(value, a.quote))}, true, nil
	}
	if p := prefixOf(name); p != "" && !strings.HasPrefix(name, "xmlns:") && !d.declaredPrefixes(el)[p] {
		return edit{}, false, fmt.Errorf("the namespace prefix %q of attribute %s is not declared on <%s> (line %d) or its ancestors", p, name, el.name, d.line(el.start))
	}
	return d.addAttr(el, name, value), true, nil
}

// addAttr appends name="value" at the end of el's start tag, using the
// quote character of its other attributes.
func (d *document) addAttr(el *element, name, value string) edit {
	q := d.dominantQuote()
	at := el.start + 1 + len(el.name)
	if n := len(el.attrs); n > 0 {
		q = el.attrs[n-1].quote
		at = el.attrs[n-1].valEnd + 1
	}
	text := " " + name + "=" + string(q) + d.encode(escapeAttr(value, q)) + string(q)
	return edit{at, at, text}
}

// dominantQuote returns the quote character most attributes use.
func (d *document) dominantQuote() byte {
	single, double := 0, 0
	var walk func(e *element)
	walk = func(e *element) {
		for _, a := range e.attrs {
			if a.quote == '\'' {
				single++
			} else {
				double++
			}
		}
		for _, c := range e.childElems() {
			walk(c)
		}
	}
	walk(d.root)
	if single > double {
		return '\''
	}
	return '"'
}

// planEnsure inserts the fragment's element into the path's parent
// (created if missing) unless the path already matches.
func planEnsure(d *document, p *path, el *element, value string) (edit, bool, error) {
	f, err := parseValueFragment(value)
	if err != nil {
		return edit{}, false, err
	}
	if len(f.elems) != 1 || len(f.nodes) != 1 {
		return edit{}, false, fmt.Errorf("value must hold exactly one element, found %d elements and %d comments", len(f.elems), len(f.nodes)-len(f.elems))
	}
	last := p.steps[len(p.steps)-1]
	if f.elems[0].local != last.local {
		return edit{}, false, fmt.Errorf("the value's element <%s> does not match the path's last step %s", f.elems[0].name, last)
	}
	if el != nil {
		return edit{}, false, nil
	}
	if len(p.steps) < 2 {
		return edit{}, false, fmt.Errorf("the root element does not match the path")
	}
	n := f.nodes[0]
	parents := d.matches(p, len(p.steps)-1)
	switch len(parents) {
	case 0:
		ed, err := d.create(p, len(p.steps)-1, func(last *node) error {
			last.kids = append(last.kids, n)
			return nil
		})
		return ed, err == nil, err
	case 1:
		ed, err := d.insertChild(parents[0], n)
		return ed, err == nil, err
	default:
		return edit{}, false, d.ambiguous(p.prefixString(len(p.steps)-1), parents)
	}
}

// planSetInner replaces the element's content with the rendered fragment
// unless its children already equal the fragment's.
func planSetInner(d *document, p *path, el *element, value string) (edit, bool, error) {
	f, err := parseValueFragment(value)
	if err != nil {
		return edit{}, false, err
	}
	if el == nil {
		ed, err := d.create(p, len(p.steps), func(n *node) error {
			if len(n.kids) > 0 {
				return fmt.Errorf("cannot create <%s>: the path's child predicates and the value would both give it children", n.name)
			}
			n.kids = f.nodes
			return nil
		})
		return ed, err == nil, err
	}
	if sameChildren(d, el, f.doc, f.elems) {
		return edit{}, false, nil
	}
	content, err := d.innerContent(el, f.nodes)
	if err != nil {
		return edit{}, false, err
	}
	if el.selfClosing() {
		return d.expand(el, content), true, nil
	}
	return edit{el.innerStart, el.innerEnd, content}, true, nil
}

// innerContent renders nodes as the new content of el: each on its own
// line, indented like el's current children (or one unit deeper than el),
// then a line break and el's indentation before the end tag.
func (d *document) innerContent(el *element, nodes []*node) (string, error) {
	indent := d.newChildIndent(el, el.innerEnd)
	var sb strings.Builder
	for _, n := range nodes {
		if pfx := el.prefix(); pfx != "" && !d.defaultNSInScope(el) {
			n.inheritPrefix(pfx)
		}
		if err := d.checkPrefixes(el, n); err != nil {
			return "", err
		}
		n.mapValues(d.encode)
		sb.WriteString("\n")
		n.render(&sb, indent, d.indentUnit())
	}
	pi, _ := d.leadingWS(el.start)
	sb.WriteString("\n" + pi)
	return sb.String(), nil
}

// create builds the missing elements of the first n steps of p (with leaf
// applied to the innermost one) and inserts them under the deepest
// existing ancestor.
func (d *document) create(p *path, n int, leaf func(*node) error) (edit, error) {
	k, parent, err := d.deepestExisting(p, n)
	if err != nil {
		return edit{}, err
	}
	var top, last *node
	for i := k; i < n; i++ {
		if err := d.checkCreatable(p.steps[i], parent, i == k); err != nil {
			return edit{}, err
		}
		sn, err := stepNode(p.steps[i])
		if err != nil {
			return edit{}, err
		}
		if top == nil {
			top = sn
		} else {
			last.kids = append(last.kids, sn)
		}
		last = sn
	}
	if err := leaf(last); err != nil {
		return edit{}, err
	}
	return d.insertChild(parent, top)
}

// deepestExisting finds the longest prefix (of the first n steps) of p that
// matches exactly one element.
func (d *document) deepestExisting(p *path, n int) (int, *element, error) {
	for k := n - 1; k >= 1; k-- {
		m := d.matches(p, k)
		switch {
		case len(m) == 1:
			return k, m[0], nil
		case len(m) > 1:
			return 0, nil, fmt.Errorf("cannot create %s: %w", p.prefixString(k+1), d.ambiguous(p.prefixString(k), m))
		}
	}
	return 0, nil, fmt.Errorf("the root element is <%s> (line %d), the path starts with /%s", d.root.name, d.line(d.root.start), p.steps[0])
}

// checkCreatable rejects creating an element for a step whose positional
// predicate the new element would not satisfy.
func (d *document) checkCreatable(st step, parent *element, first bool) error {
	for i, pr := range st.preds {
		if pr.kind != predPos {
			continue
		}
		have := 0
		if first {
			have = len(d.filter(parent.childElems(), step{name: st.name, local: st.local, preds: st.preds[:i]}))
		}
		if pr.pos != have+1 {
			return fmt.Errorf("cannot create %s: there are %d matching siblings, so a new one would be number %d", st, have, have+1)
		}
	}
	return nil
}

// verify checks that re-applying op to the edited document would be a
// no-op, which is what makes patches idempotent.
func verify(d *document, op Op, p *path) error {
	found := d.resolve(p)
	if op.Kind == Remove {
		if len(found) > 0 {
			return fmt.Errorf("after removal the path still matches an element (line %d), so re-applying would remove another one; select the element without a position", d.line(found[0].start))
		}
		return nil
	}
	if len(found) != 1 {
		return fmt.Errorf("after the edit the path matches %d elements, so re-applying would not be a no-op; make the value agree with the path's predicates", len(found))
	}
	el := found[0]
	ok := true
	switch op.Kind {
	case SetText:
		ok = textEquals(d.textOf(el), op.Value)
	case SetAttr:
		a, has := el.attr(op.Attr)
		ok = has && d.attrValue(a) == op.Value
	case SetInner:
		f, err := parseValueFragment(op.Value)
		ok = err == nil && sameChildren(d, el, f.doc, f.elems)
	}
	if !ok {
		return fmt.Errorf("after the edit the element (line %d) does not read back the value; re-applying would not be a no-op", d.line(el.start))
	}
	return nil
}
