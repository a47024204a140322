// Package depsync holds the pure logic of carbonctl's deployment
// synchronisation over rsync: the cron schedule check, the carbonctl-managed
// blocks of a crontab and of authorized_keys, and the files carbonctl writes
// (the sync script and its nodes list and known_hosts on the source node,
// the rsync-only receiver on every other node). Nothing here touches a host.
package depsync

import (
	"fmt"
	"path"
	"strings"
)

// Methods of [depsync].
const (
	MethodNone  = "none"
	MethodRsync = "rsync"
	MethodSVN   = "svn"
	// MethodRegistry is Carbon's registry-based Deployment Synchronizer
	// (carbon.xml RepositoryType registry): the master commits the
	// deployment repository into the shared config registry, the others
	// check it out. The playbook configures it; nothing else runs.
	MethodRegistry = "registry"
)

// DefaultSchedule runs the sync every minute, as the EI clustering guide does.
const DefaultSchedule = "* * * * *"

// Files below the source node's CARBON_HOME, and on every node.
const (
	// Dir holds the sync script, its nodes list, pinned host keys, key
	// pair, log and lock, relative to the source node's CARBON_HOME.
	Dir = ".carbonctl/depsync"
	// ScriptName is the sync script in Dir.
	ScriptName = "sync.sh"
	// NodesName lists the nodes the script pushes to.
	NodesName = "nodes"
	// KnownHostsName pins the receiving nodes' host keys.
	KnownHostsName = "known_hosts"
	// KeyName is the dedicated private key; KeyName+".pub" its public half.
	KeyName = "id_ed25519"
	// LogName is the script's log; it is moved to LogName+".1" past MaxLog bytes.
	LogName = "sync.log"
	// LockName is the file the script holds an flock on while it runs.
	LockName = "sync.lock"
	// SeededMarker, relative to a receiving node's CARBON_HOME, records
	// that its deployment directories were emptied before the first sync.
	SeededMarker = ".carbonctl/depsync-seeded"
	// SVNSeededMarker, relative to a non-manager node's CARBON_HOME,
	// records that its deployment directory was emptied before the svn
	// method's first checkout.
	SVNSeededMarker = ".carbonctl/depsync-svn-seeded"
	// Receiver is the forced command of the key on the receiving nodes.
	Receiver = "/usr/local/libexec/carbonctl/depsync-receive"
	// MaxLog bounds the log: past it the log is rotated once.
	MaxLog = 1 << 20
)

// DefaultDirectories are the directories synchronised when neither the
// inventory nor the playbook names any: the deployment directory and the
// tenants' one (each only where the source node has it).
func DefaultDirectories() []string {
	return []string{"repository/deployment/server", "repository/tenants"}
}

// CheckDirectory validates one directory of [depsync] directories and
// returns it cleaned, without a trailing slash.
func CheckDirectory(d string) (string, error) {
	switch {
	case d == "":
		return "", fmt.Errorf("is empty")
	case strings.HasPrefix(d, "/"):
		return "", fmt.Errorf("%q is absolute: write it relative to CARBON_HOME, e.g. \"repository/deployment/server/\"", d)
	case strings.ContainsFunc(d, func(r rune) bool { return !safePathRune(r) }):
		return "", fmt.Errorf("%q has characters other than letters, digits and . _ + @ / -", d)
	}
	for _, part := range strings.Split(strings.TrimSuffix(d, "/"), "/") {
		if part == ".." {
			return "", fmt.Errorf("%q contains \"..\": name a directory below CARBON_HOME", d)
		}
	}
	clean := path.Clean(d)
	if clean == "." || clean == ".carbonctl" || strings.HasPrefix(clean, ".carbonctl/") {
		return "", fmt.Errorf("%q is not a deployment directory: name one below CARBON_HOME such as repository/deployment/server/", d)
	}
	return clean, nil
}

// Overlap returns a pair of directories of which one contains the other.
func Overlap(dirs []string) (outer, inner string, found bool) {
	for i, a := range dirs {
		for j, b := range dirs {
			if i != j && (a == b || strings.HasPrefix(b, a+"/")) {
				return a, b, true
			}
		}
	}
	return "", "", false
}

// safePathRune reports whether r may appear in a path carbonctl puts on a
// command line or in a forced command unquoted.
func safePathRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._+@/-", r)
}

// SafePath reports whether p is made only of characters that need no
// quoting in sh, rsync's -e option or an authorized_keys command.
func SafePath(p string) bool {
	return p != "" && !strings.ContainsFunc(p, func(r rune) bool { return !safePathRune(r) })
}

// quote single-quotes s for POSIX sh.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
