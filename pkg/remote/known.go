package remote

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Known lets Gather skip files whose state a record on the host vouches
// for. The record (see RecordHeader) is a file only the login user (or
// root) can read and write, listing for each file carbonctl last wrote:
// the spec (a fingerprint of what produced it), its lstat identity and the
// sha256 of its content. A path of Specs whose record entry has the same
// spec and whose lstat identity (device, inode, size, mtime, ctime, mode,
// uid, gid; never following a link) is still the recorded one is "known":
// Gather neither lists nor reads it and, when every path of an As plan is
// known, does not run that plan's sudo at all. Its File then has Known set,
// Sum and the stat fields filled, and no Content. Anything else (no
// record, another version's, a changed ctime, a symbolic link now in the
// file's place, another spec) reads the path as usual. A root login, which
// reads the 0600 files without sudo anyway, ignores Known.
type Known struct {
	Record string            // absolute path of the record on the host
	Specs  map[string]string // path → spec; paths must not contain a tab
}

// RecordHeader is the first line of a record; a record with another first
// line (another format version) vouches for nothing.
const RecordHeader = "carbonctl-record 1"

// RecordEntry is one line of a record: PATH, SPEC, ID and SUM separated by
// tabs. ID is StatFormat's output without the path; SUM is the sha256 of
// the content in hex, or "-" for a path that is only stat'ed.
type RecordEntry struct {
	Path, Spec, ID, Sum string
}

// String is the entry as a record line, without the newline.
func (e RecordEntry) String() string {
	return e.Path + "\t" + e.Spec + "\t" + e.ID + "\t" + e.Sum
}

// StatFormat is the GNU stat --printf format of a path's identity: the
// path, a tab, then device, inode, size, mtime and ctime (nanoseconds), raw
// mode (hex, file type included), uid and gid. stat without -L describes a
// symbolic link itself, so a link put in a file's place never matches.
// The product user cannot set a file's ctime: any change it makes to the
// file, its mode or its owner shows there.
const StatFormat = `%n\t%d %i %s %.9Y %.9Z %f %u %g\n`

// knownAwk is the awk program that prints, for each path whose record
// entry matches both its spec and its current stat line, "PATH\tSUM\tID".
// It reads the record itself (no cat), after the BEGIN block that
// knownScript puts first (rec and the sp array of specs), and the stat
// lines on stdin.
const knownAwk = `
BEGIN {
	FS = "\t"
	if ((getline line < rec) > 0 && line == "` + RecordHeader + `")
		while ((getline line < rec) > 0)
			if (split(line, f, "\t") == 4) { rs[f[1]] = f[2]; ri[f[1]] = f[3]; rh[f[1]] = f[4] }
}
($1 in sp) && ($1 in rs) && sp[$1] != "" && rs[$1] == sp[$1] && ri[$1] == $2 { print $1 "\t" rh[$1] "\t" $2 }`

// awkString is s as an awk string literal.
func awkString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// knownFunc defines known PATH: true when K holds a line for PATH.
const knownFunc = `known() { case $K in *"
$1	"*) return 0;; esac; return 1; }
`

// knownMarker starts the known section of the script's output.
const knownMarker = "carbonctl-known"

// knownScript returns the part of the login user's script that finds the
// known paths: it sets K (a newline, then the awk's lines, then a newline),
// defines the shell function known PATH, and prints the section
// knownMarker, the awk's lines, "--". With no specs it only defines known,
// false for every path. Forks: the command substitution, stat and awk.
func knownScript(k Known) string {
	if len(k.Specs) == 0 {
		return "K=\n" + knownFunc
	}
	paths := make([]string, 0, len(k.Specs))
	for p := range k.Specs {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var begin, quoted strings.Builder
	begin.WriteString("BEGIN { rec = " + awkString(k.Record) + "\n")
	for _, p := range paths {
		begin.WriteString("sp[" + awkString(p) + "] = " + awkString(k.Specs[p]) + "\n")
		quoted.WriteString(" " + Quote(p))
	}
	begin.WriteString("}")
	return fmt.Sprintf(`K=$(stat --printf %s --%s 2>/dev/null | awk %s)
K="
$K
"
%secho %s
printf %%s "${K#?}"
echo --
`, Quote(StatFormat), quoted.String(), Quote(begin.String()+knownAwk), knownFunc, knownMarker)
}

// validKnown checks k's paths.
func validKnown(k Known) error {
	for p := range k.Specs {
		if strings.ContainsAny(p, "\t\n\x00") || !strings.HasPrefix(p, "/") {
			return fmt.Errorf("known path %q must be absolute and must not contain tabs or newlines", p)
		}
	}
	return nil
}

// parseKnown reads the known section into a File per known path.
func parseKnown(r *outputReader) (map[string]*File, error) {
	if line, err := r.line(); err != nil || line != knownMarker {
		return nil, fmt.Errorf("no %q line in the output", knownMarker)
	}
	files := map[string]*File{}
	for {
		line, err := r.line()
		if err != nil {
			return nil, err
		}
		switch {
		case line == "--":
			return files, nil
		case line == "":
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			return nil, fmt.Errorf("bad known line %q", clip(line, 200))
		}
		f, err := knownFile(fields[0], fields[1], fields[2])
		if err != nil {
			return nil, err
		}
		files[f.Path] = f
	}
}

// knownFile makes the File of a known path from its record sum and stat
// identity.
func knownFile(p, sum, id string) (*File, error) {
	fields := strings.Fields(id)
	if len(fields) != 8 {
		return nil, fmt.Errorf("bad stat identity %q of %s", id, p)
	}
	size, err1 := strconv.ParseInt(fields[2], 10, 64)
	raw, err2 := strconv.ParseUint(fields[5], 16, 32)
	uid, err3 := strconv.Atoi(fields[6])
	gid, err4 := strconv.Atoi(fields[7])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return nil, fmt.Errorf("bad stat identity %q of %s", id, p)
	}
	f := &File{Path: p, Exists: true, Size: size, UID: uid, GID: gid, Known: true, ID: id,
		Mode: unixMode(uint32(raw)), IsDir: raw&0o170000 == 0o040000}
	if sum != "-" {
		f.Sum = sum
	}
	return f, nil
}

// unixMode turns st_mode's permission and set-id bits into an os.FileMode.
func unixMode(raw uint32) os.FileMode {
	m := os.FileMode(raw & 0o777)
	for bit, flag := range map[uint32]os.FileMode{0o4000: os.ModeSetuid, 0o2000: os.ModeSetgid, 0o1000: os.ModeSticky} {
		if raw&bit != 0 {
			m |= flag
		}
	}
	return m
}

// recordAwk writes a record: its input is the expected entries (RecordEntry
// lines with ID "-"), then per user the "\tcarbonctl-before" stat lines, the
// "\tcarbonctl-sum" sha256sum lines and the "\tcarbonctl-after" stat lines
// of recordHash. An entry is kept only for a regular file whose two stat
// lines agree (nobody changed it meanwhile) and whose content has the
// expected sum ("-": stat only).
const recordAwk = `BEGIN { FS = "\t"; print "` + RecordHeader + `" }
$0 == "\tcarbonctl-before" { sec = 1; next }
$0 == "\tcarbonctl-sum" { sec = 2; next }
$0 == "\tcarbonctl-after" { sec = 3; next }
sec == 0 { if (NF == 4) { spec[$1] = $2; want[$1] = $4 }; next }
sec == 1 { before[$1] = $2; next }
sec == 2 { i = index($0, "  "); if (i > 0) sum[substr($0, i + 2)] = substr($0, 1, i - 1); next }
sec == 3 && ($1 in spec) && before[$1] == $2 {
	split($2, f, " ")
	if (f[6] !~ /^8[0-9a-f][0-9a-f][0-9a-f]$/) next
	if (want[$1] != "-" && want[$1] != sum[$1]) next
	print $1 "\t" spec[$1] "\t" $2 "\t" want[$1]
}`

// recordHash runs as the files' owner: stat, sha256sum, stat again.
const recordHash = `a=$(stat --printf '` + StatFormat + `' -- "$@" 2>/dev/null)
s=$(sha256sum -- "$@" 2>/dev/null)
b=$(stat --printf '` + StatFormat + `' -- "$@" 2>/dev/null)
printf '\tcarbonctl-before\n%s\n\tcarbonctl-sum\n%s\n\tcarbonctl-after\n%s\n' "$a" "$s" "$b"`

// RecordScript returns the script, to run as root with entries on stdin
// (RecordStdin), that replaces the record at record (a file directly in a
// directory below /var/lib that only root writes) with the entries that
// still hold: each user's files are stat'ed and hashed as that user (never
// as root: root follows no link the product user made), and an entry is
// kept only when the file is a regular file, unchanged between two stats
// and with the expected sum. The record is written atomically, mode 0600,
// owned by owner (the login user, who reads it in the batch read).
func RecordScript(record, owner string, users map[string][]string) string {
	var hash strings.Builder
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	slices.Sort(names)
	for _, u := range names {
		fmt.Fprintf(&hash, "sudo -n -u %s -- sh -c %s carbonctl", Quote(u), Quote(recordHash))
		for _, p := range users[u] {
			hash.WriteString(" " + Quote(p))
		}
		hash.WriteString(" </dev/null 2>/dev/null || :\n")
	}
	dir := record[:strings.LastIndex(record, "/")]
	return fmt.Sprintf(`set -e
umask 077
d=%s
[ -d "$d" ] && [ ! -L "$d" ] || mkdir -m 0755 -p -- "$d"
exp=$(cat)
tmp=$(mktemp "$d/.record.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
{ printf '%%s\n' "$exp"
%s} | awk %s > "$tmp"
chown %s -- "$tmp"
mv -f -- "$tmp" %s
trap - EXIT
`, Quote(dir), hash.String(), Quote(recordAwk), Quote(owner), Quote(record))
}

// RecordStdin is the stdin of RecordScript: the expected entries.
func RecordStdin(entries []RecordEntry) []byte {
	var b strings.Builder
	for _, e := range entries {
		e.ID = "-"
		b.WriteString(e.String() + "\n")
	}
	return []byte(b.String())
}
