package inventory

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// sshConfigFile is a parsed OpenSSH client configuration (ssh_config(5)),
// read with github.com/kevinburke/ssh_config: Host blocks with wildcard
// and negated patterns, the first value found wins (IdentityFile
// accumulates), Include.
type sshConfigFile struct {
	path            string
	cfg             *ssh_config.Config
	home, localUser string // for ~, %d and %u in values
}

// sshValue is the value of an ssh_config keyword for a host, and the line
// it is on (0 when it comes from an Included file).
type sshValue struct {
	value string
	line  int
}

// parseSSHConfig parses data read from path. A syntax error names the
// file and line.
func parseSSHConfig(path string, data []byte, home, localUser string) (*sshConfigFile, *Error) {
	cfg, err := ssh_config.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, sshConfigError(path, err)
	}
	return &sshConfigFile{path: path, cfg: cfg, home: home, localUser: localUser}, nil
}

// parserPos is how the parser's errors start: "(LINE, COL): ".
var parserPos = regexp.MustCompile(`^\((\d+), \d+\): `)

// sshConfigError turns a parser error into an Error at its line.
func sshConfigError(path string, err error) *Error {
	msg := err.Error()
	line := 0
	if m := parserPos.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	return &Error{File: path, Line: line, Msg: "cannot parse this ssh_config: " + msg + ": fix the line, or set config = \"none\" in [ssh] to ignore the file"}
}

// all returns every value of key for host alias, in file order: the
// first is the one OpenSSH uses (for IdentityFile, all of them are).
func (c *sshConfigFile) all(alias, key string) []sshValue {
	if c == nil {
		return nil
	}
	var out []sshValue
	for _, h := range c.cfg.Hosts {
		if !h.Matches(alias) {
			continue
		}
		for _, n := range h.Nodes {
			switch n := n.(type) {
			case *ssh_config.KV:
				if strings.EqualFold(n.Key, key) {
					out = append(out, sshValue{value: n.Value, line: n.Pos().Line})
				}
			case *ssh_config.Include:
				vals, _ := n.GetAll(alias, key)
				for _, v := range vals {
					out = append(out, sshValue{value: v})
				}
			}
		}
	}
	return out
}

// get returns the value of key for host alias that OpenSSH uses.
func (c *sshConfigFile) get(alias, key string) (sshValue, bool) {
	vals := c.all(alias, key)
	if len(vals) == 0 {
		return sshValue{}, false
	}
	return vals[0], true
}

// errorAt is a problem with the value v of the file.
func (c *sshConfigFile) errorAt(v sshValue, key, format string, args ...any) *Error {
	return &Error{File: c.path, Line: v.line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// expand expands ssh_config's ~ (at the start) and %h (the host's
// address), %r (remote user), %u (local user), %d (local home) and %% in
// s. Other tokens are left as written.
func (c *sshConfigFile) expand(s, host, remoteUser string) string {
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = c.home + s[1:]
	}
	if !strings.Contains(s, "%") {
		return s
	}
	r := strings.NewReplacer("%%", "%", "%h", host, "%r", remoteUser, "%u", c.localUser, "%d", c.home)
	return r.Replace(s)
}
