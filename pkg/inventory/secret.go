package inventory

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"unicode"
)

// Secret is a password read from the environment, a file or (discouraged)
// the inventory itself. It never prints its value: String, and every fmt
// verb, give "********".
type Secret struct {
	Value  string // the secret
	Source string // "env:NAME", "file:/abs/path" or "inline"
}

const masked = "********"

// String returns "********".
func (s Secret) String() string { return masked }

// GoString returns "********", so %#v does not leak the value either.
func (s Secret) GoString() string { return masked }

// Format prints "********" for every verb.
func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, masked) }

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secret reads the secret named key from exactly one of key_env, key_file
// and key.
func (t *table) secret(key string) Secret {
	var set []string
	values := map[string]string{}
	for _, k := range []string{key + "_env", key + "_file", key} {
		v, ok := t.get(k)
		if !ok {
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			// The value may be the secret itself: name the type only.
			t.errorf(k, "is %s, want a string: put the value in double quotes", typeName(v))
			return Secret{}
		}
		set = append(set, k)
		values[k] = s
	}
	switch {
	case len(set) == 0 && t.broken:
	case len(set) > 1:
		first, second := set[0], set[1]
		if t.lineOf(first) > t.lineOf(second) {
			first, second = second, first
		}
		t.errorf(second, "is set together with %s: keep only one of %s_env, %s_file and %s", first, key, key, key)
	case len(set) == 0 && !t.exists:
		t.errorf(key, "missing: add a %s table with %s_env = \"VAR\" (an environment variable holding it) or %s_file = \"path\"", t.header, key, key)
	case len(set) == 0:
		t.errorf(key, "missing: add %s_env = \"VAR\" (an environment variable holding it) or %s_file = \"path\" to %s", key, key, t.header)
	case set[0] == key+"_env":
		return t.printable(set[0], t.envSecret(set[0], values[set[0]]))
	case set[0] == key+"_file":
		return t.printable(set[0], t.fileSecret(set[0], values[set[0]]))
	default:
		return t.printable(key, t.inlineSecret(key, values[key]))
	}
	return Secret{}
}

// printable refuses a secret holding a control character (a newline, a
// tab, an escape, DEL or a C1 control): it would break the XML, SQL and
// shell it is written into, and could split a line of output where
// masking does not see it whole. The message names the key and the
// character's position, never the value.
func (t *table) printable(key string, s Secret) Secret {
	for i, r := range []rune(s.Value) {
		if unicode.IsControl(r) {
			t.errorf(key, "the secret holds a control character (%U at character %d): secrets must be printable; remove newlines, tabs and other control characters", r, i+1)
			return Secret{}
		}
	}
	return s
}

// optionalSecret is secret, but with def (Source "default") when none of
// key_env, key_file and key is set.
func (t *table) optionalSecret(key, def string) Secret {
	for _, k := range []string{key + "_env", key + "_file", key} {
		if _, set := t.m[k]; set {
			return t.secret(key)
		}
	}
	t.known = append(t.known, key+"_env", key+"_file", key)
	return Secret{Value: def, Source: "default"}
}

// envSecret reads a secret from the environment variable name.
func (t *table) envSecret(key, name string) Secret {
	if !envName.MatchString(name) {
		t.errorf(key, "%q is not an environment variable name: write the variable's name (letters, digits, _), e.g. %s = \"DB_PASSWORD\"", name, key)
		return Secret{}
	}
	v, ok := t.d.lookupEnv(name)
	switch {
	case !ok:
		t.errorf(key, "environment variable %s is not set: export %s before running carbonctl", name, name)
	case v == "":
		t.errorf(key, "environment variable %s is empty: export %s with the password", name, name)
	default:
		return Secret{Value: v, Source: "env:" + name}
	}
	return Secret{}
}

// fileSecret reads a secret from a file, dropping one trailing newline.
func (t *table) fileSecret(key, path string) Secret {
	p, ok := t.d.resolvePath(t, key, path)
	if !ok {
		return Secret{}
	}
	data, err := ReadRegular(p, maxSecretSize)
	if err != nil {
		t.errorf(key, "cannot read secret file %s: %v: fix the path or the file's permissions", p, cause(err))
		return Secret{}
	}
	v := string(data)
	if strings.HasSuffix(v, "\r\n") {
		v = v[:len(v)-2]
	} else {
		v = strings.TrimSuffix(v, "\n")
	}
	if v == "" {
		t.errorf(key, "secret file %s is empty: write the password into it", p)
		return Secret{}
	}
	if info, err := os.Stat(p); err == nil && info.Mode().Perm()&0o004 != 0 {
		t.warnf(key, "secret file %s is readable by every user (mode %04o): chmod 600 %s", p, info.Mode().Perm(), p)
	}
	return Secret{Value: v, Source: "file:" + p}
}

// inlineSecret accepts a plain-text secret, with a warning.
func (t *table) inlineSecret(key, v string) Secret {
	if v == "" {
		t.errorf(key, "is empty: set %s_env = \"VAR\" (an environment variable holding the password) or %s_file = \"path\"", key, key)
		return Secret{}
	}
	t.warnf(key, "plain-text secret in the inventory: move it to an environment variable (%s_env = \"VAR\") or a file (%s_file = \"path\")", key, key)
	return Secret{Value: v, Source: "inline"}
}
