package sqlscript

import (
	"strings"
	"unicode/utf8"
)

// Statement kinds returned by Kind.
const (
	KindCreateTable = "create-table"
	KindCreateIndex = "create-index"
	KindAlterTable  = "alter-table"
	KindInsert      = "insert"
	KindDropTable   = "drop-table"
	KindOther       = "other"
)

// Kind classifies a statement as KindCreateTable (CREATE [TEMPORARY] TABLE),
// KindCreateIndex (CREATE [OR REPLACE] [ONLINE|OFFLINE]
// [UNIQUE|FULLTEXT|SPATIAL] INDEX), KindAlterTable (ALTER [ONLINE] [IGNORE]
// TABLE), KindInsert, KindDropTable (DROP [TEMPORARY] TABLE) or KindOther.
func Kind(s Statement) string {
	w := &words{s: s.Text}
	switch {
	case w.keyword("CREATE"):
		return createKind(w)
	case w.keyword("ALTER"):
		w.keyword("ONLINE")
		w.keyword("IGNORE")
		if w.keyword("TABLE") {
			return KindAlterTable
		}
	case w.keyword("INSERT"):
		return KindInsert
	case w.keyword("DROP"):
		w.keyword("TEMPORARY")
		if w.keyword("TABLE") {
			return KindDropTable
		}
	}
	return KindOther
}

// createKind classifies the rest of a CREATE statement.
func createKind(w *words) string {
	w.keywords("OR", "REPLACE")
	if w.keyword("TEMPORARY") {
		if w.keyword("TABLE") {
			return KindCreateTable
		}
		return KindOther
	}
	if w.keyword("TABLE") {
		return KindCreateTable
	}
	if indexHead(w) {
		return KindCreateIndex
	}
	return KindOther
}

// indexHead consumes [ONLINE|OFFLINE] [UNIQUE|FULLTEXT|SPATIAL] INDEX.
func indexHead(w *words) bool {
	_ = w.keyword("ONLINE") || w.keyword("OFFLINE")
	_ = w.keyword("UNIQUE") || w.keyword("FULLTEXT") || w.keyword("SPATIAL")
	return w.keyword("INDEX")
}

// CreatedTables returns the names of the tables created by the CREATE TABLE
// [IF NOT EXISTS] statements among stmts, in order, unquoted; a
// schema-qualified name keeps only the table part. CREATE TEMPORARY TABLE
// statements are left out.
func CreatedTables(stmts []Statement) []string {
	var names []string
	for _, s := range stmts {
		w := &words{s: s.Text}
		if !w.keyword("CREATE") {
			continue
		}
		w.keywords("OR", "REPLACE")
		if !w.keyword("TABLE") {
			continue
		}
		w.keywords("IF", "NOT", "EXISTS")
		if name, ok := w.qualifiedName(); ok {
			names = append(names, name)
		}
	}
	return names
}

// IndexTarget returns the index and table names of a CREATE [UNIQUE] INDEX
// name [USING type] ON table (...) statement, unquoted, the table without its
// schema. ok is false for any other statement.
func IndexTarget(s Statement) (index, table string, ok bool) {
	w := &words{s: s.Text}
	if !w.keyword("CREATE") {
		return "", "", false
	}
	w.keywords("OR", "REPLACE")
	if !indexHead(w) {
		return "", "", false
	}
	w.keywords("IF", "NOT", "EXISTS")
	if index, ok = w.ident(); !ok {
		return "", "", false
	}
	if w.keyword("USING") || w.keyword("TYPE") {
		if _, ok := w.ident(); !ok {
			return "", "", false
		}
	}
	if !w.keyword("ON") {
		return "", "", false
	}
	if table, ok = w.qualifiedName(); !ok {
		return "", "", false
	}
	return index, table, true
}

// words reads keywords and identifiers from statement text.
type words struct {
	s string
	i int
}

// skipSpace skips whitespace.
func (w *words) skipSpace() {
	for w.i < len(w.s) && isSpace(w.s[w.i]) {
		w.i++
	}
}

// bare returns the length of the unquoted identifier or keyword at i.
func (w *words) bare() int {
	n := 0
	for w.i+n < len(w.s) {
		r, size := utf8.DecodeRuneInString(w.s[w.i+n:])
		if !isIdentRune(r) {
			break
		}
		n += size
	}
	return n
}

// keyword consumes the keyword kw (case-insensitive) if it comes next.
func (w *words) keyword(kw string) bool {
	w.skipSpace()
	n := w.bare()
	if n == 0 || !strings.EqualFold(w.s[w.i:w.i+n], kw) {
		return false
	}
	w.i += n
	return true
}

// keywords consumes the keyword sequence kws if it comes next, else nothing.
func (w *words) keywords(kws ...string) bool {
	save := w.i
	for _, kw := range kws {
		if !w.keyword(kw) {
			w.i = save
			return false
		}
	}
	return true
}

// ident consumes an identifier: bare, `quoted` or "quoted".
func (w *words) ident() (string, bool) {
	w.skipSpace()
	if w.i >= len(w.s) {
		return "", false
	}
	if q := w.s[w.i]; q == '`' || q == '"' {
		return w.quoted(q)
	}
	n := w.bare()
	if n == 0 {
		return "", false
	}
	w.i += n
	return w.s[w.i-n : w.i], true
}

// quoted consumes an identifier quoted with q; a doubled q stands for one.
func (w *words) quoted(q byte) (string, bool) {
	var b strings.Builder
	for j := w.i + 1; j < len(w.s); j++ {
		if w.s[j] != q {
			b.WriteByte(w.s[j])
			continue
		}
		if j+1 < len(w.s) && w.s[j+1] == q {
			b.WriteByte(q)
			j++
			continue
		}
		w.i = j + 1
		return b.String(), true
	}
	return "", false
}

// qualifiedName consumes ident(.ident)* and returns the last part.
func (w *words) qualifiedName() (string, bool) {
	name, ok := w.ident()
	for ok {
		w.skipSpace()
		if w.i >= len(w.s) || w.s[w.i] != '.' {
			break
		}
		w.i++
		name, ok = w.ident()
	}
	return name, ok
}

// isSpace reports whether c is SQL whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isIdentRune reports whether r may appear in an unquoted MySQL identifier.
func isIdentRune(r rune) bool {
	return r == '_' || r == '$' || r >= 0x80 && r != utf8.RuneError ||
		'0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
}
