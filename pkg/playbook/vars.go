package playbook

import (
	"fmt"
	"regexp"
	"sort"
)

// Var is one product setting a playbook declares ([vars.NAME]): its
// default, and the pattern that the default and every value an inventory
// gives it must match. Values end up in files and scripts on the nodes
// (bin/wso2server.sh among them), so the pattern is what keeps a value
// such as "256m $(id)" from reaching a shell.
type Var struct {
	Default any    `toml:"default"`
	Pattern string `toml:"pattern"` // a Go regexp matched against the whole value
	re      *regexp.Regexp
}

// Check reports whether v may be the variable's value: it must match the
// pattern, whole. Non-string values are matched as Go prints them (42, true).
func (v *Var) Check(val any) error {
	if v.re == nil {
		return fmt.Errorf("has no pattern")
	}
	if s := fmt.Sprint(val); !v.re.MatchString(s) {
		return fmt.Errorf("%q does not match the pattern %s", s, v.Pattern)
	}
	return nil
}

// Defaults returns every variable's default value by name.
func (pb *Playbook) Defaults() map[string]any {
	out := make(map[string]any, len(pb.Vars))
	for k, v := range pb.Vars {
		out[k] = v.Default
	}
	return out
}

// checkVars compiles the patterns and checks each default against its own.
func checkVars(vars map[string]*Var) error {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := vars[k]
		switch v.Default.(type) {
		case string, int64, float64, bool:
		case nil:
			return fmt.Errorf("[vars.%s]: default is missing", k)
		default:
			return fmt.Errorf("[vars.%s]: want a string, number or boolean default, not %T", k, v.Default)
		}
		if v.Pattern == "" {
			return fmt.Errorf("[vars.%s]: pattern is missing: every variable declares the values it accepts, e.g. pattern = '[0-9]+[mg]'", k)
		}
		re, err := regexp.Compile(`^(?:` + v.Pattern + `)$`)
		if err != nil {
			return fmt.Errorf("[vars.%s]: pattern: %w", k, err)
		}
		v.re = re
		if err := v.Check(v.Default); err != nil {
			return fmt.Errorf("[vars.%s]: default %w", k, err)
		}
	}
	return nil
}
