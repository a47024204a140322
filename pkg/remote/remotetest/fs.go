package remotetest

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Kind is what a path of the fake file system is.
type Kind int

// The kinds of entries the fake file system holds.
const (
	Regular Kind = iota
	Directory
	Symlink
)

// Entry is one path of a fake host's file system, as a test sets it up or
// reads it back. Several paths may share one *Entry, like hard links do.
type Entry struct {
	Kind Kind
	Data []byte // regular files
	// Mode holds the permission bits, plus os.ModeSetuid, os.ModeSetgid
	// and os.ModeSticky.
	Mode         os.FileMode
	Owner, Group string // names, or numeric ids written as numbers
	Target       string // symbolic links
}

// maxLinks bounds symbolic links followed in one lookup, like Linux's 40.
const maxLinks = 40

// fsys is a file system in memory: entries by absolute, clean path whose
// directories are real (no symbolic link among them).
type fsys struct {
	entries map[string]*Entry
	// ids are the uids and gids handed out to names that /etc/passwd and
	// /etc/group do not list, so that ls-style numbers stay stable.
	ids map[string]int
}

func newFS() *fsys {
	return &fsys{entries: map[string]*Entry{"/": {Kind: Directory, Mode: 0o755, Owner: "root", Group: "root"}}, ids: map[string]int{}}
}

// resolve walks p, following symbolic links in the directories on the way
// and, with follow, in the last component. It returns the real path and
// its entry (nil when it does not exist, or the walk fails: a loop, a
// file used as a directory).
func (f *fsys) resolve(p string, follow bool) (string, *Entry) {
	return f.walk(path.Clean(p), follow, 0)
}

func (f *fsys) walk(p string, follow bool, hops int) (string, *Entry) {
	if p == "/" {
		return p, f.entries[p]
	}
	parts := strings.Split(p[1:], "/")
	cur := "/"
	for i, part := range parts {
		next := path.Join(cur, part)
		e := f.entries[next]
		last := i == len(parts)-1
		switch {
		case e == nil:
			return path.Join(append([]string{next}, parts[i+1:]...)...), nil
		case e.Kind == Symlink && (follow || !last):
			if hops >= maxLinks {
				return next, nil
			}
			target := e.Target
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			return f.walk(path.Clean(path.Join(append([]string{target}, parts[i+1:]...)...)), follow, hops+1)
		case !last && e.Kind != Directory:
			return next, nil
		}
		cur = next
	}
	return cur, f.entries[cur]
}

// ancestors lists the directories above p, "/" first.
func ancestors(p string) []string {
	var dirs []string
	for d := path.Dir(p); ; d = path.Dir(d) {
		dirs = append([]string{d}, dirs...)
		if d == "/" {
			return dirs
		}
	}
}

// set puts e at p (whose directories must be real), creating missing
// directories above it owned by root, mode 0755.
func (f *fsys) set(p string, e *Entry) {
	p = path.Clean(p)
	for _, d := range ancestors(p) {
		if f.entries[d] == nil {
			f.entries[d] = &Entry{Kind: Directory, Mode: 0o755, Owner: "root", Group: "root"}
		}
	}
	f.entries[p] = e
}

// paths lists every path, sorted.
func (f *fsys) paths() []string {
	out := make([]string, 0, len(f.entries))
	for p := range f.entries {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// remove deletes p and, for a directory, everything below it.
func (f *fsys) remove(p string) {
	p = path.Clean(p)
	for q := range f.entries {
		if q == p || strings.HasPrefix(q, p+"/") {
			delete(f.entries, q)
		}
	}
}

// accountField returns field i of the line of name in an /etc/passwd- or
// /etc/group-style file of this file system.
func (f *fsys) accountField(file, name string, i int) (string, bool) {
	_, e := f.resolve(file, true)
	if e == nil || e.Kind != Regular {
		return "", false
	}
	for _, line := range strings.Split(string(e.Data), "\n") {
		fields := strings.Split(line, ":")
		if len(fields) > i && fields[0] == name {
			return fields[i], true
		}
	}
	return "", false
}

// id returns the number of a user (file /etc/passwd) or group
// (/etc/group) name: a number stands for itself, a listed name has its
// entry's, root is 0, and any other name gets a stable made-up one.
func (f *fsys) id(file, name string) int {
	if n, err := strconv.Atoi(name); err == nil {
		return n
	}
	if v, ok := f.accountField(file, name, 2); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	if name == "root" {
		return 0
	}
	key := file + ":" + name
	if n, ok := f.ids[key]; ok {
		return n
	}
	n := 2000 + len(f.ids)
	f.ids[key] = n
	return n
}

// primaryGroup is user's group: its /etc/passwd gid's name, else the
// group named like the user.
func (f *fsys) primaryGroup(user string) string {
	if user == "root" {
		return "root"
	}
	gid, ok := f.accountField("/etc/passwd", user, 3)
	if !ok || gid == "" {
		return user
	}
	_, e := f.resolve("/etc/group", true)
	if e != nil {
		for _, line := range strings.Split(string(e.Data), "\n") {
			if fields := strings.Split(line, ":"); len(fields) > 2 && fields[2] == gid {
				return fields[0]
			}
		}
	}
	return gid
}

// inGroup reports whether user belongs to group (primary or listed in
// /etc/group).
func (f *fsys) inGroup(user, group string) bool {
	if f.primaryGroup(user) == group {
		return true
	}
	members, ok := f.accountField("/etc/group", group, 3)
	return ok && slices.Contains(strings.Split(members, ","), user)
}

// Permission bits for may.
const (
	read    = 4
	write   = 2
	execute = 1
)

// may reports whether user has every permission of bits on e, as the
// kernel decides it (root may do anything but run a file nobody may run).
func (f *fsys) may(user string, e *Entry, bits os.FileMode) bool {
	perm := e.Mode.Perm()
	if user == "root" {
		return bits&execute == 0 || e.Kind == Directory || perm&0o111 != 0
	}
	switch {
	case f.id("/etc/passwd", e.Owner) == f.id("/etc/passwd", user):
		return perm>>6&bits == bits
	case f.inGroup(user, e.Group):
		return perm>>3&bits == bits
	}
	return perm&bits == bits
}

// reachable reports whether user may search every directory on the way to
// the entry at real path p.
func (f *fsys) reachable(user, p string) bool {
	if p == "/" {
		return true
	}
	for _, d := range ancestors(p) {
		e := f.entries[d]
		if e == nil || !f.may(user, e, execute) {
			return false
		}
	}
	return true
}

// describe renders an entry for messages.
func (e *Entry) describe() string {
	switch e.Kind {
	case Directory:
		return fmt.Sprintf("directory %04o %s:%s", e.Mode.Perm(), e.Owner, e.Group)
	case Symlink:
		return "symbolic link to " + e.Target
	}
	return fmt.Sprintf("file %04o %s:%s, %d bytes", e.Mode.Perm(), e.Owner, e.Group, len(e.Data))
}
