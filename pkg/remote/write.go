package remote

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"strings"
)

// WriteOptions says how WriteFile sets up the file.
type WriteOptions struct {
	// Mode is the permission bits (os.ModeSetuid, os.ModeSetgid and
	// os.ModeSticky allowed); 0 keeps the existing file's mode, or 0644 for
	// a new file.
	Mode os.FileMode
	// Owner and Group are names or numeric ids; "" keeps the existing
	// file's, or leaves a new file root's (root:root, or the group of a
	// setgid directory).
	Owner, Group string
	// Backup, if the file exists and PATH.carbonctl.orig does not, keeps
	// the original as PATH.carbonctl.orig (same inode, so mode, owner and
	// times are preserved). An existing backup is never overwritten: it
	// stays the pristine original. The backup is never more readable than
	// the file: its permission bits are narrowed to the file's (an old
	// 0644 backup of a file now written 0600 becomes 0600).
	Backup bool
	// MkdirParents creates missing parent directories (mode 0755), owned
	// by the user who writes (root, or As).
	MkdirParents bool
	// As writes the file as this user instead of root, so that the kernel
	// checks every directory on the way with that user's rights: the way to
	// write below paths an unprivileged user owns (CARBON_HOME, its home).
	// The file gets As's uid and primary group; Owner and Group must be "".
	As string
}

// WriteFile replaces path with data atomically, as root (through sudo -n
// unless the login user is root) or as opts.As, in one round trip. As
// root, it first checks every directory from / down to path's: each must
// be owned by root and writable by nobody else (unless sticky, like /tmp);
// a symbolic link on the way must be owned by root, and then the resolved
// directory is checked the same way. Only root can change what passed that
// check, so nothing can swap a directory between the check and the write:
// root never writes through a directory another user controls. Then the data goes on stdin
// into a temporary file in the same directory (mktemp PATH.carbonctl-XXXXXX),
// is flushed to disk (dd conv=fsync where dd supports it, else sync), gets
// its mode and owner, and is renamed over path with mv -f, so readers see
// either the old or the new file, never a partial one. The temporary file
// (and a backup made by this call) is removed on any failure. A path that is
// a symbolic link is refused rather than replaced.
func (c *Client) WriteFile(ctx context.Context, path string, data []byte, opts WriteOptions) error {
	if opts.As == "root" {
		opts.As = ""
	}
	script, err := writeScript(path, opts)
	if err != nil {
		return fmt.Errorf("writing %s on %s: %w", path, c.host, err)
	}
	as := opts.As
	if as == "" {
		as = c.rootUser()
	}
	inv, err := c.invocation(as, script)
	if err != nil {
		return fmt.Errorf("writing %s on %s: %w", path, c.host, err)
	}
	res, err := c.run(ctx, inv, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("writing %s on %s: %w", path, c.host, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("writing %s on %s failed (status %d): %s", path, c.host, res.ExitCode, scriptMessage(res.Stderr))
	}
	return nil
}

// scriptMessage picks the explanation out of a failed script's stderr: from
// its first "carbonctl: " line on, else all of it; clipped, on one line.
func scriptMessage(stderr []byte) string {
	msg := string(stderr)
	if i := strings.Index(msg, "carbonctl: "); i >= 0 {
		msg = msg[i+len("carbonctl: "):]
	}
	return clip(strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ; ")), " "), 1000)
}

// writeScript builds the script WriteFile runs.
func writeScript(file string, opts WriteOptions) (string, error) {
	if !path.IsAbs(file) || strings.ContainsAny(file, "\n\x00") || strings.HasSuffix(file, "/") {
		return "", fmt.Errorf("path must be absolute, name a file and contain no newline")
	}
	mode, err := octalMode(opts.Mode)
	if err != nil {
		return "", err
	}
	for _, name := range []string{opts.Owner, opts.Group, opts.As} {
		if name != "" && !validUser(name) {
			return "", fmt.Errorf("invalid owner, group or user %q", name)
		}
	}
	if opts.As != "" && opts.Owner+opts.Group != "" {
		return "", fmt.Errorf("a file written as %s gets its owner: Owner and Group must be empty", opts.As)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "p=%s d=%s mode=%s own=%s grp=%s backup=%t keep_owner=%t\n",
		Quote(file), Quote(path.Dir(file)), Quote(mode), Quote(opts.Owner), Quote(opts.Group), opts.Backup, opts.As == "")
	b.WriteString(writeFunctions)
	if opts.As == "" {
		b.WriteString(rootPathCheck)
	}
	if opts.MkdirParents {
		fmt.Fprintf(&b, "make_parents %s\n", quoteAll(ancestors(file)))
	}
	b.WriteString(writeBody)
	return b.String(), nil
}

// octalMode renders m for chmod; "" for 0 (keep or default).
func octalMode(m os.FileMode) (string, error) {
	if m&^(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0 {
		return "", fmt.Errorf("mode %v has bits other than permissions", m)
	}
	if m == 0 {
		return "", nil
	}
	v := uint32(m.Perm())
	for bit, flag := range map[uint32]os.FileMode{0o4000: os.ModeSetuid, 0o2000: os.ModeSetgid, 0o1000: os.ModeSticky} {
		if m&flag != 0 {
			v |= bit
		}
	}
	return fmt.Sprintf("%04o", v), nil
}

// ancestors lists the directories above file, outermost first, excluding /.
func ancestors(file string) []string {
	var dirs []string
	for d := path.Dir(file); d != "/" && d != "."; d = path.Dir(d) {
		dirs = append([]string{d}, dirs...)
	}
	return dirs
}

// quoteAll quotes each word for sh and joins them with spaces.
func quoteAll(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = Quote(w)
	}
	return strings.Join(quoted, " ")
}

// writeFunctions are the helpers of the WriteFile script. Its variables:
// p (the file), d (its directory), mode/own/grp (requested, may be empty),
// backup and keep_owner (true/false: whether a replaced file's owner and
// group stay; false when writing as a user, whose the file becomes).
const writeFunctions = `set -f
fail() { echo "carbonctl: $*" >&2; exit 1; }
chown_spec() { s=$1; [ -z "$2" ] || s=$s:$2; echo "$s"; }
# make_parents DIR...: create the missing ones.
make_parents() {
	for a; do
		[ -d "$a" ] && continue
		mkdir -m 0755 -- "$a" || fail "cannot create directory $a"
	done
}
# perm_octal MODESTRING: set m to the octal permissions of an ls -l mode.
perm_octal() {
	s=${1#?} m=0 sp=0 i=0
	for b in 256 128 64 32 16 8 4 2 1; do
		c=${s%"${s#?}"}
		s=${s#?}
		i=$((i + 1))
		case $c in r|w|x|s|t) m=$((m + b)) ;; esac
		case $c in s|S|t|T) sp=$((sp + (i == 3 ? 4 : i == 6 ? 2 : 1))) ;; esac
	done
	m=$sp$((m >> 6 & 7))$((m >> 3 & 7))$((m & 7))
}
cleanup() {
	[ -z "$tmp" ] || rm -f -- "$tmp"
	[ -z "$orig" ] || rm -f -- "$orig"
}
`

// writeBody is the main part of the WriteFile script.
const writeBody = `[ -d "$d" ] || fail "directory $d does not exist"
[ ! -L "$p" ] || fail "$p is a symbolic link; refusing to replace it"
[ ! -e "$p" ] || [ -f "$p" ] || fail "$p exists and is not a regular file"
uid= gid=
if [ -e "$p" ]; then
	out=$(LC_ALL=C ls -ldn -- "$p") || fail "cannot stat $p"
	set -- $out
	perm_octal "$1"
	uid=$3 gid=$4
	[ -n "$mode" ] || mode=$m
fi
[ -n "$mode" ] || mode=0644
if $keep_owner; then
	[ -n "$own" ] || own=$uid
	[ -n "$grp" ] || grp=$gid
fi
tmp= orig=
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
tmp=$(mktemp "$p.carbonctl-XXXXXX") || fail "cannot create a temporary file next to $p"
if dd if=/dev/null of="$tmp" conv=fsync 2>/dev/null; then
	out=$(dd of="$tmp" bs=65536 conv=fsync 2>&1 >/dev/null) || fail "cannot write $tmp: $out"
else
	cat >"$tmp" && sync || fail "cannot write $tmp"
fi
[ -z "$own$grp" ] || chown -- "$(chown_spec "$own" "$grp")" "$tmp" || fail "cannot set the owner of $p"
chmod -- "$mode" "$tmp" || fail "cannot set the mode of $p"
if $backup && [ -f "$p" ] && [ ! -e "$p.carbonctl.orig" ] && [ ! -L "$p.carbonctl.orig" ]; then
	if ln -- "$p" "$p.carbonctl.orig"; then
		orig=$p.carbonctl.orig
	else
		[ -e "$p.carbonctl.orig" ] || fail "cannot back up $p"
	fi
fi
mv -f -- "$tmp" "$p" || fail "cannot rename the temporary file over $p"
tmp= orig=
bk=$p.carbonctl.orig
if $backup && [ -f "$bk" ] && [ ! -L "$bk" ]; then
	out=$(LC_ALL=C ls -ldn -- "$bk") || fail "cannot stat $bk"
	set -- $out
	perm_octal "$1"
	narrow=$(printf '%04o' $((0$m & 0$mode)))
	[ "$narrow" = "$m" ] || chmod -- "$narrow" "$bk" || fail "cannot set the mode of $bk"
fi
`

// rootPathCheck refuses a root write below a directory someone other than
// root controls (see WriteFile), before anything is created. It uses the
// variables and fail of writeFunctions.
const rootPathCheck = `# check_dir DIR: if DIR exists, it must be owned by root and be a symbolic
# link (linked=1) or a directory no one else may write to (sticky is fine).
check_dir() {
	[ -e "$1" ] || [ -L "$1" ] || return 0
	last=$1
	out=$(LC_ALL=C ls -ldn -- "$1") || fail "cannot stat $1"
	set -- "$1" $out
	[ "$4" = 0 ] || fail "$1 is owned by uid $4, not root: refusing to write $p as root below it"
	case $2 in
	l*) linked=1 ;;
	d????????[tT]*) ;;
	d???????w*) fail "$1 is writable by every user: refusing to write $p as root below it" ;;
	d????w*) [ "$5" = 0 ] || fail "$1 is writable by group $5: refusing to write $p as root below it" ;;
	d*) ;;
	*) fail "$1 is not a directory" ;;
	esac
}
# check_path DIR: check / and each component of DIR.
check_path() {
	linked= last=/ c= rest=${1#/}
	check_dir /
	while [ -n "$rest" ]; do
		c=$c/${rest%%/*}
		case $rest in */*) rest=${rest#*/} ;; *) rest= ;; esac
		check_dir "$c"
	done
}
check_path "$d"
if [ -n "$linked" ]; then
	real=$(cd -P -- "$last" && pwd -P) || fail "cannot resolve $last"
	check_path "$real"
	[ -z "$linked" ] || fail "cannot resolve $last"
fi
`
