package xmlpatch

import "fmt"

// lookup parses src and path and returns the single element at path (nil
// if none).
func lookup(src []byte, pathStr string) (*document, *element, error) {
	p, err := parsePath(pathStr)
	if err != nil {
		return nil, nil, err
	}
	d, err := parseDocument(src)
	if err != nil {
		return nil, nil, fmt.Errorf("input is not well-formed XML: %w", err)
	}
	found := d.resolve(p)
	switch len(found) {
	case 0:
		return d, nil, nil
	case 1:
		return d, found[0], nil
	default:
		return nil, nil, fmt.Errorf("%s: %w", pathStr, d.ambiguous("", found))
	}
}

// Get returns the trimmed, unescaped text of the element at path (ok=false
// if absent). It is an error if several elements match or if the element
// has child elements.
func Get(src []byte, path string) (string, bool, error) {
	d, el, err := lookup(src, path)
	if err != nil || el == nil {
		return "", false, err
	}
	if el.hasChildElems() {
		return "", false, fmt.Errorf("%s: element <%s> (line %d) has child elements, not text", path, el.name, d.line(el.start))
	}
	return trim(d.textOf(el)), true, nil
}

// GetAttr returns the value of attribute attr of the element at path
// (ok=false if the element or the attribute is absent). attr is the
// attribute's qualified name as written in the file (e.g. svns:secretAlias).
func GetAttr(src []byte, path, attr string) (string, bool, error) {
	d, el, err := lookup(src, path)
	if err != nil || el == nil {
		return "", false, err
	}
	a, ok := el.attr(attr)
	if !ok {
		return "", false, nil
	}
	return d.attrValue(a), true, nil
}

// Count returns how many live elements match path (predicates allowed, no
// uniqueness required).
func Count(src []byte, path string) (int, error) {
	p, err := parsePath(path)
	if err != nil {
		return 0, err
	}
	d, err := parseDocument(src)
	if err != nil {
		return 0, fmt.Errorf("input is not well-formed XML: %w", err)
	}
	return len(d.resolve(p)), nil
}
