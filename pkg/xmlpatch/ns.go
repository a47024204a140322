package xmlpatch

import (
	"fmt"
	"maps"
	"strings"
)

// Namespace handling. Matching ignores prefixes, but what is written must
// stay in the right namespace and parse: a new child of <tns:X> is written
// as <tns:Y>, and a new node may only use prefixes declared around it.

// inheritPrefix gives prefix to every unprefixed element of the subtree
// (so that a new child of <tns:X> is created as <tns:Y>, in the same
// namespace), stopping where a default namespace is declared.
func (n *node) inheritPrefix(prefix string) {
	if n.comment != "" || prefix == "" {
		return
	}
	for _, a := range n.attrs {
		if a.name == "xmlns" {
			return
		}
	}
	if prefixOf(n.name) == "" {
		n.name = prefix + ":" + n.name
	}
	for _, k := range n.kids {
		k.inheritPrefix(prefix)
	}
}

// defaultNSInScope reports whether a non-empty default namespace is
// declared on e or an ancestor.
func (d *document) defaultNSInScope(e *element) bool {
	for ; e != nil; e = e.parent {
		if a, ok := e.attr("xmlns"); ok {
			return a.valEnd > a.valStart
		}
	}
	return false
}

// declaredPrefixes returns the namespace prefixes in scope at e.
func (d *document) declaredPrefixes(e *element) map[string]bool {
	declared := map[string]bool{"xml": true, "xmlns": true}
	for ; e != nil; e = e.parent {
		for _, a := range e.attrs {
			if p, ok := strings.CutPrefix(a.name, "xmlns:"); ok {
				declared[p] = true
			}
		}
	}
	return declared
}

// checkPrefixes rejects a new node that uses a namespace prefix declared
// neither in it nor around parent: the file would no longer parse.
func (d *document) checkPrefixes(parent *element, n *node) error {
	if p := n.undeclaredPrefix(d.declaredPrefixes(parent)); p != "" {
		return fmt.Errorf("the new element <%s> uses the namespace prefix %q, which is not declared here; declare xmlns:%s in the value or on an ancestor", n.name, p, p)
	}
	return nil
}

// undeclaredPrefix returns a prefix used in the subtree of n that is not
// in declared (nor declared inside the subtree itself), or "".
func (n *node) undeclaredPrefix(declared map[string]bool) string {
	if n.comment != "" {
		return ""
	}
	for _, a := range n.attrs {
		if p, ok := strings.CutPrefix(a.name, "xmlns:"); ok && !declared[p] {
			declared = maps.Clone(declared)
			declared[p] = true
		}
	}
	if p := prefixOf(n.name); p != "" && !declared[p] {
		return p
	}
	for _, a := range n.attrs {
		if p := prefixOf(a.name); p != "" && !declared[p] {
			return p
		}
	}
	for _, k := range n.kids {
		if p := k.undeclaredPrefix(declared); p != "" {
			return p
		}
	}
	return ""
}
