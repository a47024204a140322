package playbook

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Fragments: a playbook entry of the arrays [[step]], [[step.edit]] or
// [[step.database]] that has a `use` key is replaced, when the playbook is
// loaded, by the entries of the same kind ([[step]], [[edit]] or
// [[database]]) of the fragment file fragments/NAME.toml, with every
// ${PARAM} in their strings replaced by the use's other keys (or the
// fragment's defaults). A fragment may itself use fragments. A top-level
// table ([start], [vars], [depsync]) with a `use` key (a name or a list of
// names) takes every key of the fragments' table of the same name that it
// does not set itself. The expansion works on the TOML document, before it
// is decoded into a Playbook; see docs/playbooks-authoring.md.

// maxFragmentDepth bounds fragments using fragments (and catches cycles).
const maxFragmentDepth = 8

var (
	useKeyLine   = regexp.MustCompile(`(?m)^[ \t]*use[ \t]*=`)
	tableHeader  = regexp.MustCompile(`^[ \t]*\[\[?[ \t]*([A-Za-z0-9_.-]+)[ \t]*\]`)
	paramRef     = regexp.MustCompile(`\$\{([^}]*)\}`)
	fragmentName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	expandedLine = regexp.MustCompile(`^toml: line [0-9]+ `)
)

// tableKinds are the top-level tables a `use` may fill in.
var tableKinds = []string{"start", "vars", "depsync"}

// entryArrays names, for an array of tables, the arrays its entries may
// hold in turn: a step's edits and databases.
var entryArrays = map[string][]string{"step": {"edit", "database"}}

// fragment is one parsed fragments/NAME.toml.
type fragment struct {
	file   string // fragments/NAME.toml, for errors
	params map[string]fragmentParam
	doc    map[string]any
	lines  *useLines
}

// fragmentParam is one [params.NAME] of a fragment: without a default, a
// use must give it.
type fragmentParam struct {
	doc        string
	def        any
	hasDefault bool
}

// expandFragments returns data with every `use` entry replaced by the
// fragment's entries, re-encoded as TOML; data without one is returned as
// it is. Errors name the playbook, the line of the `use` and the fragment.
func expandFragments(source string, data []byte, fsys fs.FS) ([]byte, error) {
	if !useKeyLine.Match(data) {
		return data, nil
	}
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return nil, fmt.Errorf("playbook %s: %w", source, err)
	}
	x := &expander{fsys: fsys}
	lines := newUseLines(data)
	if err := x.fillTables(doc, source, lines); err != nil {
		return nil, fmt.Errorf("playbook %s: %w", source, err)
	}
	if err := x.expandTable(doc, "", source, lines, 0); err != nil {
		return nil, fmt.Errorf("playbook %s: %w", source, err)
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(doc); err != nil {
		return nil, fmt.Errorf("playbook %s: encoding its expanded fragments: %w", source, err)
	}
	// Check the expanded document decodes here, where the error can say
	// that its line is not one of the playbook's.
	if _, err := toml.NewDecoder(bytes.NewReader(buf.Bytes())).Decode(&Playbook{}); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("playbook %s (with its fragments expanded): key %s: %s", source, pe.LastKey, pe.Message)
		}
		// Its line is one of the expanded document, not of the playbook.
		return nil, fmt.Errorf("playbook %s (with its fragments expanded): %s", source, expandedLine.ReplaceAllString(err.Error(), "toml: "))
	}
	return buf.Bytes(), nil
}

// expander expands the `use` entries of one playbook.
type expander struct {
	fsys fs.FS
}

// fillTables gives each top-level table of tableKinds that has a `use` the
// keys of the fragments' table of the same name that it lacks.
func (x *expander) fillTables(doc map[string]any, file string, lines *useLines) error {
	for _, kind := range tableKinds {
		table, ok := doc[kind].(map[string]any)
		if !ok || table["use"] == nil {
			continue
		}
		at := file
		if line := lines.next(kind); line > 0 {
			at = fmt.Sprintf("%s line %d", file, line)
		}
		names, err := useNames(table["use"])
		if err != nil {
			return fmt.Errorf("%s: [%s] use: %w", at, kind, err)
		}
		delete(table, "use")
		for _, n := range names {
			f, err := loadFragment(x.fsys, n)
			if err != nil {
				return fmt.Errorf("%s: [%s] use = %q: %w", at, kind, n, err)
			}
			from, ok := f.doc[kind].(map[string]any)
			if !ok {
				return fmt.Errorf("%s: [%s] use = %q: %s has no [%s] table (it holds %s)", at, kind, n, f.file, kind, strings.Join(f.kinds(), ", "))
			}
			for k, v := range from {
				if _, set := table[k]; !set {
					table[k] = v
				}
			}
		}
	}
	return nil
}

// useNames returns a table's `use`: one fragment name or a list of them.
func useNames(v any) ([]string, error) {
	if s, ok := v.(string); ok {
		return []string{s}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a fragment name or a list of them")
	}
	names := make([]string, len(list))
	for i, e := range list {
		if names[i], ok = e.(string); !ok {
			return nil, fmt.Errorf("want a fragment name or a list of them")
		}
	}
	return names, nil
}

// expandTable expands the arrays of table that may hold `use` entries: at
// the top (prefix "") [[step]], [[edit]] and [[database]] (the latter two
// in fragments only), inside a step its edits and databases. prefix is the
// table's header path ("step" inside a step), file the file it was read
// from, lines that file's `use` lines.
func (x *expander) expandTable(table map[string]any, prefix, file string, lines *useLines, depth int) error {
	keys := []string{"step", "edit", "database"}
	if prefix != "" {
		keys = entryArrays[prefix]
	}
	for _, key := range keys {
		entries, ok := tableArray(table[key])
		if !ok {
			continue
		}
		out, err := x.expandArray(entries, key, joinKey(prefix, key), file, lines, depth)
		if err != nil {
			return err
		}
		table[key] = out
	}
	return nil
}

// expandArray replaces the `use` entries of the array key (header path
// header in file) by the fragments' entries, and expands inside the others.
func (x *expander) expandArray(entries []map[string]any, key, header, file string, lines *useLines, depth int) ([]map[string]any, error) {
	var out []map[string]any
	for _, e := range entries {
		name, isUse := e["use"]
		if !isUse {
			if err := x.expandTable(e, key, file, lines, depth); err != nil {
				return nil, err
			}
			out = append(out, e)
			continue
		}
		at := file
		if line := lines.next(header); line > 0 {
			at = fmt.Sprintf("%s line %d", file, line)
		}
		got, err := x.use(name, e, key, depth)
		if err != nil {
			return nil, fmt.Errorf("%s: use = %q: %w", at, fmt.Sprint(name), err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// use returns the entries of kind key that the use entry e makes of its
// fragment, expanded in turn.
func (x *expander) use(name any, e map[string]any, key string, depth int) ([]map[string]any, error) {
	n, ok := name.(string)
	if !ok {
		return nil, fmt.Errorf("want the name of a fragment")
	}
	if depth >= maxFragmentDepth {
		return nil, fmt.Errorf("fragments use each other more than %d deep (a cycle?)", maxFragmentDepth)
	}
	f, err := loadFragment(x.fsys, n)
	if err != nil {
		return nil, err
	}
	args, err := f.bind(e)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.file, err)
	}
	entries, ok := tableArray(f.doc[key])
	if !ok {
		return nil, fmt.Errorf("%s has no [[%s]] entries to use here (it holds %s)", f.file, key, strings.Join(f.kinds(), ", "))
	}
	out := make([]map[string]any, len(entries))
	for i, fe := range entries {
		out[i] = substitute(fe, args).(map[string]any)
	}
	return x.expandArray(out, key, key, f.file, f.lines.fresh(), depth+1)
}

// loadFragment reads and checks fragments/NAME.toml.
func loadFragment(fsys fs.FS, name string) (*fragment, error) {
	if !fragmentName.MatchString(name) {
		return nil, fmt.Errorf("want the name of a fragment (lower-case letters, digits, -)")
	}
	file := "fragments/" + name + ".toml"
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("unknown fragment %q (built-in: %s)", name, strings.Join(FragmentNames(fsys), ", "))
	}
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	f := &fragment{file: file, doc: doc, lines: newUseLines(data), params: map[string]fragmentParam{}}
	if err := f.readParams(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return f, nil
}

// readParams takes the fragment's [params] out of its document and checks
// that every ${NAME} in its entries is one of them.
func (f *fragment) readParams() error {
	raw, _ := f.doc["params"].(map[string]any)
	delete(f.doc, "params")
	delete(f.doc, "description")
	for name, v := range raw {
		t, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("[params.%s] must be a table (doc, default)", name)
		}
		p := fragmentParam{}
		for k, val := range t {
			switch k {
			case "doc":
				p.doc, _ = val.(string)
			case "default":
				p.def, p.hasDefault = val, true
			default:
				return fmt.Errorf("[params.%s]: unknown key %q (want doc, default)", name, k)
			}
		}
		f.params[name] = p
	}
	for k := range f.doc {
		if !slices.Contains(fragmentKinds, k) {
			return fmt.Errorf("unknown key %q (a fragment holds description, [params.NAME], [[step]], [[edit]] or [[database]] entries, or [start], [vars] or [depsync] tables)", k)
		}
	}
	var bad error
	walkStrings(f.doc, func(s string) {
		for _, m := range paramRef.FindAllStringSubmatch(s, -1) {
			if _, ok := f.params[m[1]]; !ok && bad == nil {
				bad = fmt.Errorf("${%s} is not one of its [params]", m[1])
			}
		}
	})
	return bad
}

// bind returns the parameters' values for the use entry e: its keys other
// than use, then the defaults.
func (f *fragment) bind(e map[string]any) (map[string]any, error) {
	args := map[string]any{}
	for k, v := range e {
		if k == "use" {
			continue
		}
		if _, ok := f.params[k]; !ok {
			return nil, fmt.Errorf("unknown parameter %q (parameters: %s)", k, strings.Join(f.paramNames(), ", "))
		}
		args[k] = v
	}
	for _, name := range f.paramNames() {
		p := f.params[name]
		if _, ok := args[name]; ok {
			continue
		}
		if !p.hasDefault {
			return nil, fmt.Errorf("parameter %s is missing (%s)", name, p.doc)
		}
		args[name] = p.def
	}
	for name, v := range args {
		if _, isString := v.(string); !isString && !onlyWhole(f.doc, name) {
			return nil, fmt.Errorf("parameter %s = %v: want a string (it is used inside a string)", name, v)
		}
	}
	return args, nil
}

// paramNames lists the fragment's parameters in name order.
func (f *fragment) paramNames() []string {
	names := make([]string, 0, len(f.params))
	for k := range f.params {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// fragmentKinds are what a fragment may hold besides its description and
// params: entries of the arrays, then tables.
var fragmentKinds = []string{"step", "edit", "database", "start", "vars", "depsync"}

// kinds lists what the fragment holds, as [[KIND]] or [KIND].
func (f *fragment) kinds() []string {
	var out []string
	for i, k := range fragmentKinds {
		if _, ok := f.doc[k]; ok && i < 3 {
			out = append(out, "[["+k+"]]")
		} else if ok {
			out = append(out, "["+k+"]")
		}
	}
	if out == nil {
		return []string{"no entries"}
	}
	return out
}

// onlyWhole reports whether every string of doc that refers to ${name} is
// exactly "${name}", so that a value of any type can take its place.
func onlyWhole(doc any, name string) bool {
	whole := true
	walkStrings(doc, func(s string) {
		for _, m := range paramRef.FindAllStringSubmatch(s, -1) {
			if m[1] == name && s != m[0] {
				whole = false
			}
		}
	})
	return whole
}

// substitute returns a copy of v with ${NAME} replaced in its strings: a
// string that is exactly "${NAME}" takes the argument with its type.
func substitute(v any, args map[string]any) any {
	switch t := v.(type) {
	case string:
		if m := paramRef.FindStringSubmatch(t); m != nil && m[0] == t {
			return args[m[1]]
		}
		return paramRef.ReplaceAllStringFunc(t, func(ref string) string {
			return fmt.Sprint(args[ref[2:len(ref)-1]])
		})
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[k] = substitute(val, args)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(t))
		for i, val := range t {
			out[i] = substitute(val, args).(map[string]any)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = substitute(val, args)
		}
		return out
	}
	return v
}

// walkStrings calls fn with every string inside v.
func walkStrings(v any, fn func(string)) {
	switch t := v.(type) {
	case string:
		fn(t)
	case map[string]any:
		for _, val := range t {
			walkStrings(val, fn)
		}
	case []map[string]any:
		for _, val := range t {
			walkStrings(val, fn)
		}
	case []any:
		for _, val := range t {
			walkStrings(val, fn)
		}
	}
}

// tableArray returns v as an array of tables.
func tableArray(v any) ([]map[string]any, bool) {
	switch t := v.(type) {
	case []map[string]any:
		return t, true
	case []any:
		out := make([]map[string]any, 0, len(t))
		for _, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out = append(out, m)
		}
		return out, true
	}
	return nil, false
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// FragmentNames lists the built-in fragments.
func FragmentNames(fsys fs.FS) []string {
	matches, _ := fs.Glob(fsys, "fragments/*.toml")
	names := make([]string, 0, len(matches))
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(m, "fragments/"), ".toml"))
	}
	sort.Strings(names)
	return names
}

// useLines finds the line of each `use` key of a file: by the header of
// the table or array of tables it is in ([start], [[step]],
// [[step.edit]]...), in file order, which is the order the expansion meets
// them.
type useLines struct {
	byHeader map[string][]int
	taken    map[string]int
}

func newUseLines(data []byte) *useLines {
	u := &useLines{byHeader: map[string][]int{}, taken: map[string]int{}}
	header := ""
	for i, line := range strings.Split(string(data), "\n") {
		if m := tableHeader.FindStringSubmatch(line); m != nil {
			header = m[1]
		}
		if useKeyLine.MatchString(line) && header != "" {
			u.byHeader[header] = append(u.byHeader[header], i+1)
		}
	}
	return u
}

// next returns the line of the next `use` under header, 0 when unknown.
func (u *useLines) next(header string) int {
	i := u.taken[header]
	u.taken[header] = i + 1
	if i < len(u.byHeader[header]) {
		return u.byHeader[header][i]
	}
	return 0
}

// fresh returns the same lines with none taken: each use of a fragment
// walks its file from the start.
func (u *useLines) fresh() *useLines {
	return &useLines{byHeader: u.byHeader, taken: map[string]int{}}
}
