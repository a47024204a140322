package inventory

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// decoder turns the generic TOML tree into an Inventory, collecting every
// problem instead of stopping at the first.
type decoder struct {
	file      string
	dir       string
	lines     lineIndex
	lookupEnv func(string) (string, bool)
	opts      Options
	errs      Errors
	warnings  []string
}

// add records a problem.
func (d *decoder) add(line int, key, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// warn records a warning, formatted like an Error.
func (d *decoder) warn(line int, key, format string, args ...any) {
	w := &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	d.warnings = append(d.warnings, w.Error())
}

// table is one TOML table being decoded. Every key read through it is
// remembered, so that finish can report the others as unknown.
type table struct {
	d      *decoder
	path   string // key path, e.g. "database" or "node[2]"
	header string // how the table is written, e.g. "[database]" or "[[node]]"
	line   int    // line of the header, or of the nearest ancestor's
	m      map[string]any
	exists bool
	broken bool // present but not a table: its missing keys are not reported
	known  []string
}

// keyPath returns the full path of key.
func (t *table) keyPath(key string) string { return joinKey(t.path, key) }

// lineOf returns the line of key, or the table's line when key is absent.
func (t *table) lineOf(key string) int {
	if n := t.d.lines[t.keyPath(key)]; n > 0 {
		return n
	}
	return t.line
}

// errorf records a problem with key.
func (t *table) errorf(key, format string, args ...any) {
	t.d.add(t.lineOf(key), t.keyPath(key), format, args...)
}

// warnf records a warning about key.
func (t *table) warnf(key, format string, args ...any) {
	t.d.warn(t.lineOf(key), t.keyPath(key), format, args...)
}

// get returns the value of key and marks key as known.
func (t *table) get(key string) (any, bool) {
	t.known = append(t.known, key)
	v, ok := t.m[key]
	return v, ok
}

// missing reports a required key that is absent or empty.
func (t *table) missing(key, example string) {
	switch {
	case t.broken:
		return
	case !t.exists:
		t.errorf(key, "missing: add a %s table with %s = %s", t.header, key, example)
	default:
		t.errorf(key, "missing: add %s = %s to %s", key, example, t.header)
	}
}

// sub returns the table stored under key, or an empty one (exists false).
func (t *table) sub(key string) *table {
	path := t.keyPath(key)
	st := &table{d: t.d, path: path, header: "[" + path + "]", line: t.lineOf(key), m: map[string]any{}}
	v, ok := t.get(key)
	if !ok {
		return st
	}
	m, isTable := v.(map[string]any)
	if !isTable {
		t.errorf(key, "is %s, want a table: write %s on a line of its own, followed by its keys", describe(v), st.header)
		st.broken = true
		return st
	}
	st.m, st.exists = m, true
	return st
}

// array returns the tables of the array of tables stored under key.
func (t *table) array(key string) []*table {
	path := t.keyPath(key)
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	var elems []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		elems = v
	case []any:
		for _, e := range v {
			m, isTable := e.(map[string]any)
			if !isTable {
				t.errorf(key, "is an array of %s, want one [[%s]] table per entry", describe(e), path)
				return nil
			}
			elems = append(elems, m)
		}
	default:
		t.errorf(key, "is %s, want one [[%s]] table per entry: write [[%s]] with two brackets", describe(v), path, path)
		return nil
	}
	tabs := make([]*table, len(elems))
	for i, m := range elems {
		p := indexPath(path, i+1)
		line := t.d.lines[p]
		if line == 0 {
			line = t.lineOf(key)
		}
		tabs[i] = &table{d: t.d, path: p, header: "[[" + path + "]]", line: line, m: m, exists: true}
	}
	return tabs
}

// finish reports the keys of the table that nothing asked for.
func (t *table) finish() {
	var unknown []string
	for k := range t.m {
		if !contains(t.known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Slice(unknown, func(i, j int) bool {
		li, lj := t.lineOf(unknown[i]), t.lineOf(unknown[j])
		return li < lj || li == lj && unknown[i] < unknown[j]
	})
	for _, k := range unknown {
		t.errorf(k, "%s", t.unknownMsg(k))
	}
}

// unknownMsg explains an unknown key and suggests the closest known one.
func (t *table) unknownMsg(key string) string {
	what, where := "key", "valid keys of "+t.header
	if t.path == "" {
		what, where = "top-level key", "valid tables"
		if _, isTable := t.m[key].(map[string]any); isTable {
			what = "table"
		}
	}
	advice := "remove it or fix its name"
	if s := closest(key, t.known); s != "" {
		advice = fmt.Sprintf("did you mean %q?", s)
	}
	return fmt.Sprintf("unknown %s: %s (%s: %s)", what, advice, where, strings.Join(t.known, ", "))
}

// str returns the string under key, or def when key is absent.
func (t *table) str(key, def string) string {
	v, ok := t.get(key)
	if !ok {
		return def
	}
	s, isString := v.(string)
	if !isString {
		t.errorf(key, "is %s, want a string: put the value in double quotes, e.g. %s = \"%v\"", describe(v), key, v)
		return def
	}
	return s
}

// required returns the non-empty string under key; example is shown in the
// message when it is missing.
func (t *table) required(key, example string) string {
	if _, ok := t.m[key]; !ok {
		t.get(key)
		t.missing(key, example)
		return ""
	}
	s := t.str(key, "")
	if s == "" && isString(t.m[key]) {
		t.errorf(key, "is empty: set it, e.g. %s = %s", key, example)
	}
	return s
}

// int returns the integer under key, within [lo, hi], or def.
func (t *table) int(key string, def, lo, hi int) int {
	v, ok := t.get(key)
	if !ok {
		return def
	}
	n, isInt := v.(int64)
	if !isInt {
		hint := fmt.Sprintf("write a whole number, e.g. %s = %d", key, def)
		if s, isStr := v.(string); isStr {
			if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
				hint = fmt.Sprintf("write %s = %d without quotes", key, i)
			}
		}
		t.errorf(key, "is %s, want an integer: %s", describe(v), hint)
		return def
	}
	if n < int64(lo) || n > int64(hi) {
		t.errorf(key, "%d is out of range: use a value from %d to %d", n, lo, hi)
		return def
	}
	return int(n)
}

// bool returns the boolean under key, or def.
func (t *table) bool(key string, def bool) bool {
	v, ok := t.get(key)
	if !ok {
		return def
	}
	b, isBool := v.(bool)
	if !isBool {
		hint := fmt.Sprintf("write %s = true or %s = false", key, key)
		if s, isStr := v.(string); isStr && (s == "true" || s == "false") {
			hint = fmt.Sprintf("write %s = %s without quotes", key, s)
		}
		t.errorf(key, "is %s, want a boolean: %s", describe(v), hint)
		return def
	}
	return b
}

// duration returns the positive duration written as a string under key
// ("10s", "1m30s"), or def.
func (t *table) duration(key string, def time.Duration) time.Duration {
	v, ok := t.get(key)
	if !ok {
		return def
	}
	s, isStr := v.(string)
	if !isStr {
		hint := fmt.Sprintf("write it as a quoted duration with a unit, e.g. %s = %q", key, def.String())
		if n, isInt := v.(int64); isInt {
			hint = fmt.Sprintf("write it as a quoted duration with a unit, e.g. %s = \"%ds\"", key, n)
		}
		t.errorf(key, "is %s, want a duration: %s", describe(v), hint)
		return def
	}
	dur, err := time.ParseDuration(s)
	if err != nil || dur <= 0 {
		t.errorf(key, "%q is not a positive duration: write e.g. %s = %q (units: ms, s, m, h)", s, key, def.String())
		return def
	}
	return dur
}

// describe names the TOML type of v and shows v.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("a string (%q)", v)
	case int64:
		return fmt.Sprintf("an integer (%d)", v)
	case float64:
		return fmt.Sprintf("a float (%v)", v)
	case bool:
		return fmt.Sprintf("a boolean (%v)", v)
	}
	return typeName(v)
}

// typeName names the TOML type of v without showing it.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date/time"
	case map[string]any:
		return "a table"
	case []map[string]any, []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// closest returns the candidate nearest to key when it is a plausible typo.
func closest(key string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(key, c); d < bestDist && d <= len(c)/2 {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
