package engine

import (
	"html"
	"sort"
	"strings"
)

// Mask is the placeholder printed instead of a secret.
const Mask = "********"

// Masker replaces every known secret in text with Mask. It knows the raw
// values and the forms they take in XML and SQL, so a password never shows in
// a diff, a log line or an error message.
type Masker struct {
	replacer *strings.Replacer
}

// NewMasker builds a masker for the given secret values (empty ones ignored).
func NewMasker(secrets []string) *Masker {
	seen := map[string]bool{}
	var forms []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, f := range []string{s, html.EscapeString(s), xmlEscape(s), strings.ReplaceAll(s, "'", "''"), strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`)} {
			if !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	var pairs []string
	for _, f := range forms {
		pairs = append(pairs, f, Mask)
	}
	return &Masker{replacer: strings.NewReplacer(pairs...)}
}

// String masks s.
func (m *Masker) String(s string) string {
	if m == nil || m.replacer == nil {
		return s
	}
	return m.replacer.Replace(s)
}

// xmlEscape escapes the characters xmlpatch escapes in text content.
func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}
