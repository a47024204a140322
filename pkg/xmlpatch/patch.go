// Package xmlpatch edits XML configuration files in place: an edit changes
// only the bytes of the elements and attributes it touches, and everything
// else (comments, indentation, attribute order and quotes, line endings, the
// XML declaration, trailing blanks, a missing final newline, odd bytes such
// as U+00A0) stays as it was. Look-alike markup inside comments, such as
// WSO2's "fused" comments (<!--HostName>x</HostName-->), never matches.
//
// # Paths
//
// Paths are absolute and /-separated. A step is an element's local name
// (prefixes and default namespaces are ignored when matching) followed by
// any number of predicates: [@attr='v'] (attribute equals), [child='v'] (a
// child element whose trimmed text equals v) and [N] (1-based position
// among the matches so far). Values may be quoted with ' or ". An edit's
// path must match at most one element.
//
// # New elements
//
// Elements that SetText, SetAttr and SetInner create, and the fragments
// Ensure inserts, go after the parent's last child of the same name, else
// right after a comment of the parent that holds a commented-out copy
// (preferring one that also names the new element's attribute values),
// else at the end of the parent. Each starts on its own line, indented like
// its neighbours (or one file indentation unit deeper than the parent), with
// the file's line ending. A created element is built from its path step
// (name, [@a='v'] attributes, [c='v'] children); an unprefixed element
// created under a prefixed parent (<tns:X>) takes the parent's prefix, and
// a new node may only use namespace prefixes declared around it. In a file
// that declares a non-UTF-8 encoding, new non-ASCII characters are written
// as character references.
//
// # Idempotency
//
// Every op is checked after it is applied: applying it again must be a
// no-op. An op whose value contradicts its own path (an Ensure fragment that
// does not satisfy the predicates, a SetAttr of an attribute the path
// selects on, a positional Remove) is rejected instead of producing a patch
// that would keep changing the file.
package xmlpatch

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Kind of edit.
type Kind int

const (
	// SetText sets the text content of the element at Path to Value,
	// creating the element and missing ancestors.
	SetText Kind = iota
	// SetAttr sets attribute Attr of the element at Path to Value, creating
	// the element if missing.
	SetAttr
	// Ensure inserts Value (an XML fragment holding one element) into
	// Path's parent if no element matches Path.
	Ensure
	// SetInner replaces the child content of the element at Path with Value
	// (a fragment of zero or more elements), creating the element if
	// missing.
	SetInner
	// Remove removes the element at Path if present.
	Remove
)

var kindNames = [...]string{SetText: "set", SetAttr: "attr", Ensure: "ensure", SetInner: "inner", Remove: "remove"}

// String returns the playbook name of k ("set", "attr", ...).
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind parses "set", "attr", "ensure", "inner", "remove" (for playbook
// data files).
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if s == name {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown edit op %q (want one of %s)", s, strings.Join(kindNames[:], ", "))
}

// Op is one edit.
type Op struct {
	Kind  Kind
	Path  string // e.g. /axisconfig/clustering/parameter[@name='membershipScheme']
	Attr  string // SetAttr only
	Value string
}

// String describes the op the way errors name it: "set /a/b" or
// "attr /a/b @enable".
func (op Op) String() string {
	if op.Kind == SetAttr {
		return fmt.Sprintf("%s %s @%s", op.Kind, op.Path, op.Attr)
	}
	return fmt.Sprintf("%s %s", op.Kind, op.Path)
}

// OpError reports why an op could not be applied.
type OpError struct {
	Index int // position of the op in the list given to Patch
	Op    Op
	Err   error
}

func (e *OpError) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }

func (e *OpError) Unwrap() error { return e.Err }

// ErrAmbiguous is wrapped by errors about a path matching several elements.
var ErrAmbiguous = errors.New("ambiguous path")

// ambiguousError reports a path that matches several elements.
type ambiguousError struct {
	what  string // "" or the path prefix that is ambiguous
	lines []int
}

func (e *ambiguousError) Error() string {
	var ls []string
	for _, l := range e.lines {
		ls = append(ls, fmt.Sprint(l))
	}
	what := ""
	if e.what != "" {
		what = " " + e.what
	}
	return fmt.Sprintf("%d elements match%s (lines %s); add a predicate", len(e.lines), what, strings.Join(ls, ", "))
}

func (e *ambiguousError) Is(target error) bool { return target == ErrAmbiguous }

// ambiguous builds the error for els, which all match what (a path, or ""
// for the op's own path).
func (d *document) ambiguous(what string, els []*element) error {
	e := &ambiguousError{what: what}
	for _, el := range els {
		e.lines = append(e.lines, d.line(el.start))
	}
	return e
}

// Patch applies ops in order to src and returns the new bytes and whether
// anything changed. When nothing changes, out is src itself.
func Patch(src []byte, ops []Op) (out []byte, changed bool, err error) {
	doc, err := parseDocument(src)
	if err != nil {
		return nil, false, fmt.Errorf("input is not well-formed XML: %w", err)
	}
	for i, op := range ops {
		next, err := applyOp(doc, op)
		if err != nil {
			return nil, false, &OpError{Index: i, Op: op, Err: err}
		}
		if next != nil {
			doc = next
		}
	}
	if bytes.Equal(doc.src, src) {
		return src, false, nil
	}
	return doc.src, true, nil
}

// applyOp applies one op; it returns the new document, or nil when the op
// is already satisfied.
func applyOp(d *document, op Op) (*document, error) {
	p, err := parsePath(op.Path)
	if err != nil {
		return nil, err
	}
	if err := checkOp(op); err != nil {
		return nil, err
	}
	ed, ok, err := planOp(d, op, p)
	if err != nil || !ok {
		return nil, err
	}
	next, err := parseDocument(d.apply(ed))
	if err != nil {
		return nil, fmt.Errorf("internal error, the edit produced malformed XML (%v); please report this", err)
	}
	if err := verify(next, op, p); err != nil {
		return nil, err
	}
	return next, nil
}

// checkOp validates the fields of op that do not depend on the document.
func checkOp(op Op) error {
	switch {
	case op.Kind < SetText || op.Kind > Remove:
		return fmt.Errorf("unknown kind %d", int(op.Kind))
	case op.Kind == SetAttr && !validName(op.Attr):
		return fmt.Errorf("invalid attribute name %q", op.Attr)
	case op.Kind == Remove && op.Attr != "":
		return fmt.Errorf("Attr %q is only used by attr ops; remove deletes whole elements, attributes cannot be removed", op.Attr)
	case op.Kind != SetAttr && op.Attr != "":
		return fmt.Errorf("Attr %q is only used by attr ops", op.Attr)
	case op.Kind == Remove && op.Value != "":
		return fmt.Errorf("remove takes no value")
	case op.Kind == SetText || op.Kind == SetAttr:
		return checkValue(op.Value)
	}
	return nil
}

// planOp computes the edit for op; ok is false when there is nothing to do.
func planOp(d *document, op Op, p *path) (ed edit, ok bool, err error) {
	found := d.resolve(p)
	if len(found) > 1 {
		return edit{}, false, d.ambiguous("", found)
	}
	var el *element
	if len(found) == 1 {
		el = found[0]
	}
	switch op.Kind {
	case SetText:
		return planSetText(d, p, el, op.Value)
	case SetAttr:
		return planSetAttr(d, p, el, op.Attr, op.Value)
	case Ensure:
		return planEnsure(d, p, el, op.Value)
	case SetInner:
		return planSetInner(d, p, el, op.Value)
	default:
		if el == nil {
			return edit{}, false, nil
		}
		if el.parent == nil {
			return edit{}, false, fmt.Errorf("cannot remove the root element")
		}
		return d.removeEdit(el), true, nil
	}
}
