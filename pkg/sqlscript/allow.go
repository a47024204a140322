package sqlscript

import (
	"fmt"
	"strings"
)

// KindCommit is a COMMIT statement (the BPEL create scripts end their
// inserts with one).
const KindCommit = "commit"

// allowedKinds are the statement kinds a schema script may hold: what the
// stock WSO2 dbscripts use, nothing that touches accounts, privileges,
// server settings or other databases.
var allowedKinds = map[string]bool{
	KindCreateTable: true,
	KindCreateIndex: true,
	KindAlterTable:  true,
	KindInsert:      true,
	KindDropTable:   true,
	KindCommit:      true,
}

// AllowedKinds names the statement kinds Check accepts, for messages.
const AllowedKinds = "CREATE TABLE, CREATE INDEX, ALTER TABLE, INSERT, DROP TABLE, COMMIT"

// RefusedError is a statement a schema script may not hold.
type RefusedError struct {
	Line   int    // 1-based script line where the statement starts
	Reason string // why it was refused
	Shown  string // the statement's start, string literals masked
}

// Error implements error.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("line %d: refused %s (a schema script may hold only %s on its own database's tables): %s",
		e.Line, e.Reason, AllowedKinds, e.Shown)
}

// Check accepts only the statements a schema script needs: the allowed kinds,
// on unqualified table names (so on the database the import is USEd in), and
// without a SELECT anywhere (CREATE TABLE ... SELECT or INSERT ... SELECT
// could copy another database's rows, mysql.user included, into the
// product's tables). Anything else is a *RefusedError.
func Check(s Statement) error {
	kind := Kind(s)
	if commitRE(s) {
		kind = KindCommit
	}
	refuse := func(reason string) error {
		return &RefusedError{Line: s.Line, Reason: reason, Shown: Shown(s.Text)}
	}
	if !allowedKinds[kind] {
		return refuse("statement " + strings.ToUpper(firstWords(s.Text, 2)))
	}
	if kind == KindCommit {
		return nil
	}
	if qualified, ok := targetQualified(s, kind); !ok || qualified {
		return refuse("a table name qualified with a database, or one that cannot be read")
	}
	if hasKeyword(s.Text, "SELECT") {
		return refuse("a statement that reads other tables (SELECT)")
	}
	return nil
}

// commitRE reports whether s is a bare COMMIT [WORK].
func commitRE(s Statement) bool {
	w := &words{s: s.Text}
	if !w.keyword("COMMIT") {
		return false
	}
	w.keyword("WORK")
	w.skipSpace()
	return w.i == len(w.s)
}

// targetQualified reads the table a statement of kind works on and reports
// whether its name carries a database; ok is false when it cannot be read.
func targetQualified(s Statement, kind string) (qualified, ok bool) {
	w := &words{s: s.Text}
	switch kind {
	case KindCreateIndex:
		if _, _, ok := IndexTarget(s); !ok {
			return false, false
		}
		w.i = onIndex(s.Text)
	case KindCreateTable:
		w.keyword("CREATE")
		w.keywords("OR", "REPLACE")
		w.keyword("TEMPORARY")
		w.keyword("TABLE")
		w.keywords("IF", "NOT", "EXISTS")
	case KindAlterTable:
		w.keyword("ALTER")
		w.keyword("ONLINE")
		w.keyword("IGNORE")
		w.keyword("TABLE")
	case KindDropTable:
		w.keyword("DROP")
		w.keyword("TEMPORARY")
		w.keyword("TABLE")
		w.keywords("IF", "EXISTS")
	case KindInsert:
		w.keyword("INSERT")
		_ = w.keyword("LOW_PRIORITY") || w.keyword("DELAYED") || w.keyword("HIGH_PRIORITY")
		w.keyword("IGNORE")
		w.keyword("INTO")
	}
	return w.qualified()
}

// onIndex returns the position after the ON keyword of a CREATE INDEX
// statement whose grammar IndexTarget has accepted.
func onIndex(text string) int {
	w := &words{s: text}
	w.keyword("CREATE")
	w.keywords("OR", "REPLACE")
	indexHead(w)
	w.keywords("IF", "NOT", "EXISTS")
	w.ident()
	if w.keyword("USING") || w.keyword("TYPE") {
		w.ident()
	}
	w.keyword("ON")
	return w.i
}

// qualified consumes ident(.ident)* and reports whether it had a dot.
func (w *words) qualified() (qualified, ok bool) {
	if _, ok = w.ident(); !ok {
		return false, false
	}
	w.skipSpace()
	return w.i < len(w.s) && w.s[w.i] == '.', true
}

// hasKeyword reports whether kw appears as a bare word outside quotes.
func hasKeyword(text, kw string) bool {
	found := false
	scanBare(text, func(word string) bool {
		found = strings.EqualFold(word, kw)
		return !found
	})
	return found
}

// scanBare calls f with each bare word of text outside quoted strings and
// identifiers, until f returns false.
func scanBare(text string, f func(string) bool) {
	w := &words{s: text}
	for w.i < len(w.s) {
		c := w.s[w.i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			w.i = skipQuoted(w.s, w.i)
		case w.bare() > 0:
			n := w.bare()
			if !f(w.s[w.i : w.i+n]) {
				return
			}
			w.i += n
		default:
			w.i++
		}
	}
}

// skipQuoted returns the index after the quoted run starting at i (backslash
// escapes and doubled quotes inside); the end of s when unterminated.
func skipQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			j++
		case s[j] == q:
			return j + 1
		}
	}
	return len(s)
}

// Shown returns the start of a statement for a message: its first line, at
// most 120 bytes, with every quoted string's content replaced by ***
// (a refused statement may carry a password).
func Shown(text string) string {
	first, _, more := strings.Cut(text, "\n")
	var b strings.Builder
	for i := 0; i < len(first); {
		if c := first[i]; c == '\'' || c == '"' {
			end := skipQuoted(first, i)
			b.WriteByte(c)
			b.WriteString("***")
			b.WriteByte(c)
			i = end
			continue
		}
		b.WriteByte(first[i])
		i++
	}
	out := b.String()
	if len(out) > 120 {
		out, more = out[:120], true
	}
	if more {
		out += " …"
	}
	return out
}

// firstWords returns the first n bare words of text, space-separated.
func firstWords(text string, n int) string {
	var ws []string
	scanBare(text, func(word string) bool {
		ws = append(ws, word)
		return len(ws) < n
	})
	return strings.Join(ws, " ")
}
