package xmlpatch

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// predefined returns the replacement of the entities every XML document
// knows.
func predefined(name string) (string, bool) {
	switch name {
	case "amp":
		return "&", true
	case "lt":
		return "<", true
	case "gt":
		return ">", true
	case "quot":
		return `"`, true
	case "apos":
		return "'", true
	}
	return "", false
}

// refLen returns the length of the entity or character reference at the
// start of b (which begins with '&'), and whether it is well-formed.
func refLen(b []byte) (int, bool) {
	semi := bytes.IndexByte(b, ';')
	if semi < 2 {
		return 0, false
	}
	body := b[1:semi]
	if body[0] == '#' {
		_, ok := charRef(string(body[1:]))
		return semi + 1, ok
	}
	if !isNameStart(body[0]) {
		return 0, false
	}
	for _, c := range body {
		if !isNameByte(c) {
			return 0, false
		}
	}
	return semi + 1, true
}

// charRef decodes the digits of a character reference ("65" or "x41").
func charRef(s string) (rune, bool) {
	base := 10
	if strings.HasPrefix(s, "x") {
		base, s = 16, s[1:]
	}
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, base, 32)
	if err != nil || n == 0 || n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
		return 0, false
	}
	return rune(n), true
}

// unescape replaces entity and character references in b and normalizes
// literal line breaks to "\n", as an XML parser does. Unknown references
// are kept as written.
func unescape(b []byte) string {
	if bytes.IndexByte(b, '&') < 0 && bytes.IndexByte(b, '\r') < 0 {
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\r':
			sb.WriteByte('\n')
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			continue
		case '&':
		default:
			sb.WriteByte(b[i])
			continue
		}
		n, ok := refLen(b[i:])
		if !ok {
			sb.WriteByte('&')
			continue
		}
		body := string(b[i+1 : i+n-1])
		if r, isChar := charRef(body[1:]); isChar && body[0] == '#' {
			sb.WriteRune(r)
		} else if s, known := predefined(body); known {
			sb.WriteString(s)
		} else {
			sb.Write(b[i : i+n])
		}
		i += n - 1
	}
	return sb.String()
}

// escapeText escapes a value for element content.
func escapeText(s string) string {
	if !strings.ContainsAny(s, "&<>\r") {
		return s
	}
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;").Replace(s)
}

// escapeAttr escapes a value for an attribute delimited by quote.
func escapeAttr(s string, quote byte) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", "\t", "&#9;", "\n", "&#10;", "\r", "&#13;")
	s = r.Replace(s)
	if quote == '\'' {
		return strings.ReplaceAll(s, "'", "&apos;")
	}
	return strings.ReplaceAll(s, `"`, "&quot;")
}

// checkValue rejects characters that XML 1.0 cannot hold at all.
func checkValue(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return fmt.Errorf("value contains control character %#02x, which XML 1.0 cannot represent", c)
		}
	}
	return nil
}

// textOf returns the unescaped character data directly inside e (text and
// CDATA; comments and processing instructions are skipped).
func (d *document) textOf(e *element) string {
	var sb strings.Builder
	for _, t := range e.kids {
		switch t.kind {
		case tokText:
			sb.WriteString(unescape(d.src[t.start:t.end]))
		case tokCDATA:
			sb.WriteString(normalizeNL(string(d.src[t.start+9 : t.end-3])))
		}
	}
	return sb.String()
}

// attrValue returns the value of a as an XML parser reports it: literal
// white space characters become spaces, then references are replaced.
func (d *document) attrValue(a attr) string {
	raw := d.src[a.valStart:a.valEnd]
	if bytes.ContainsAny(raw, "\t\r\n") {
		s := strings.ReplaceAll(string(raw), "\r\n", " ")
		s = strings.NewReplacer("\t", " ", "\r", " ", "\n", " ").Replace(s)
		raw = []byte(s)
	}
	return unescape(raw)
}

// normalizeNL turns "\r\n" and lone "\r" into "\n".
func normalizeNL(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// hasText reports whether e holds non-whitespace character data directly.
func (d *document) hasText(e *element) bool {
	for _, t := range e.kids {
		if (t.kind == tokText || t.kind == tokCDATA) && !isSpace(d.src[t.start:t.end]) {
			return true
		}
	}
	return false
}

// trim removes XML white space (not U+00A0) from both ends of s.
func trim(s string) string {
	return strings.Trim(s, " \t\r\n")
}

// declaredEncoding returns the lower-cased encoding named by the XML
// declaration of src, or "" when there is none.
func declaredEncoding(src []byte) string {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(src, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(src, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := src[:end]
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return ""
	}
	i = skipSpace(decl, i+len("encoding"))
	if i >= len(decl) || decl[i] != '=' {
		return ""
	}
	i = skipSpace(decl, i+1)
	if i >= len(decl) || (decl[i] != '"' && decl[i] != '\'') {
		return ""
	}
	j := bytes.IndexByte(decl[i+1:], decl[i])
	if j < 0 {
		return ""
	}
	return strings.ToLower(string(decl[i+1 : i+1+j]))
}

// asciiOnly reports whether new non-ASCII characters must be written as
// character references: the file declares an encoding other than UTF-8
// (ISO-8859-1 in most WSO2 files), and bytes are never transcoded.
func (d *document) asciiOnly() bool {
	switch declaredEncoding(d.src) {
	case "", "utf-8", "utf8":
		return false
	}
	return true
}

// encode prepares escaped text or attribute content for the document's
// encoding.
func (d *document) encode(s string) string {
	if !d.asciiOnly() {
		return s
	}
	return charRefs(s)
}

// charRefs replaces every non-ASCII character of s with a character
// reference; bytes that are not UTF-8 are kept as they are.
func charRefs(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r < utf8.RuneSelf || (r == utf8.RuneError && size == 1):
			sb.WriteByte(s[i])
		default:
			fmt.Fprintf(&sb, "&#x%X;", r)
		}
		i += size
	}
	return sb.String()
}
