package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
)

// File is what Gather learned about one path. Symbolic links are followed.
type File struct {
	Path   string
	Exists bool
	IsDir  bool
	// Mode holds the permission bits, plus os.ModeSetuid, os.ModeSetgid
	// and os.ModeSticky when set.
	Mode         os.FileMode
	UID, GID     int
	Owner, Group string // names; the numeric id as a string if it has none
	Size         int64
	Content      []byte // regular files listed in GatherRequest.Contents only
	// Known is set when a record vouched for the file (GatherRequest.Known):
	// it was neither listed nor read; Sum is the sha256 (hex) of its
	// content ("" for a path recorded as stat only), ID its stat identity,
	// Owner and Group are empty.
	Known   bool
	Sum, ID string
}

// ProbeResult is what a probe printed and its exit status.
type ProbeResult struct {
	Stdout   string
	ExitCode int
}

// GatherRequest lists what Gather reads. Paths must be absolute and must not
// contain newlines.
type GatherRequest struct {
	Contents []string // files whose content (and stat) to read
	Stats    []string // paths to stat only
	// Probes maps a name to a sh snippet, run in a subshell with stdin
	// from /dev/null and stderr discarded; Gather captures its stdout (NUL
	// bytes are lost) and exit status. Snippets run as the LOGIN user (not
	// root) in the C locale: write them so they work unprivileged.
	Probes map[string]string
	// As lists, per user, paths (Contents and Stats; no Probes) to read as
	// that user through sudo -n -u in the same round trip instead of as the
	// login user: files the user owns and keeps private, such as the 0600
	// files that carry a secret. Reading them as their owner needs no root
	// and follows no link the owner could not. A root login, or a login as
	// that user, reads them with everything else.
	As map[string]GatherRequest
	// Known names the record and the specs that let Gather skip files
	// carbonctl last wrote and nobody changed since (see Known).
	Known Known
	// Untrusted maps a user to the directories it controls: nothing below
	// them is read as root (see untrusted.go).
	Untrusted map[string][]string
}

// Facts is what Gather found, keyed by path and by probe name.
type Facts struct {
	Files  map[string]*File
	Probes map[string]ProbeResult
	known  map[string]*File // what the known section vouched for
}

// Gather reads everything in req with one command (one round trip) run as
// the login user, without sudo: on a converged host nearly everything
// carbonctl reads is world-readable, and sudo costs a PAM session per call.
// Paths the login user cannot see or read (an unsearchable directory on the
// way, an unreadable file) are then read again as root through sudo -n, in
// a second round trip made only when needed; a root login needs one.
// A missing path gives Exists=false, not an error. Contents are framed by
// length, so binary files of tens of MB come back intact; a file that
// changes size while being read makes Gather fail, and a retry normally
// succeeds. The remote side costs a constant handful of processes (three
// ls, one cat) plus one subshell per probe, however many files are asked for.
func (c *Client) Gather(ctx context.Context, req GatherRequest) (*Facts, error) {
	facts, denied, err := c.gatherAs(ctx, "", req)
	if err != nil || len(denied) == 0 {
		return facts, err
	}
	contents := slices.Clone(req.Contents)
	for _, r := range req.As {
		contents = append(contents, r.Contents...)
	}
	again := rereadUsers(req.Untrusted, denied, contents)
	if r, ok := again["root"]; ok && c.isRoot() {
		return nil, fmt.Errorf("gathering facts on %s: root cannot read %s", c.host, strings.Join(append(r.Contents, r.Stats...), ", "))
	}
	users := make([]string, 0, len(again))
	for u := range again {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, user := range users {
		more, stillDenied, err := c.gatherAs(ctx, user, again[user])
		if err != nil {
			return nil, err
		}
		if len(stillDenied) > 0 {
			return nil, fmt.Errorf("gathering facts on %s: %s cannot read %s", c.host, user, strings.Join(stillDenied, ", "))
		}
		for p, f := range more.Files {
			facts.Files[p] = f
		}
	}
	return facts, nil
}

// gatherAs runs one gather script as user as ("" = the login user) and
// returns the facts and the paths that user could not read.
func (c *Client) gatherAs(ctx context.Context, as string, req GatherRequest) (*Facts, []string, error) {
	plan, err := c.newGatherPlans(as, req)
	if err != nil {
		return nil, nil, fmt.Errorf("gathering facts on %s: %w", c.host, err)
	}
	invUser, script, stdin, check := as, plan.script(), io.Reader(nil), false
	switch {
	case as != "" && as != "root":
		// Read as the owner through root (asOwnerScript): never through a
		// sudo rule the owner's own files could steer.
		invUser, script = c.rootUser(), asOwnerScript(as, script)
	case as == "" && c.become != "" && !c.isRoot():
		// The login user's script reads the become password (one line on
		// stdin) for its nested sudo, and checks it on the first Gather.
		check = !c.becomeChecked.Load()
		script = becomeRead + becomeCheck(check) + script
		stdin = strings.NewReader(string(c.become) + "\n")
	}
	inv, err := c.invocation(invUser, script)
	if err != nil {
		return nil, nil, fmt.Errorf("gathering facts on %s: %w", c.host, err)
	}
	res, err := c.run(ctx, inv, stdin)
	if err != nil {
		return nil, nil, fmt.Errorf("gathering facts on %s: %w", c.host, err)
	}
	if check {
		if err := c.becomeVerdict(res.Stdout); err != nil {
			return nil, nil, err
		}
		c.becomeChecked.Store(true)
	}
	if res.ExitCode != 0 {
		return nil, nil, fmt.Errorf("gathering facts on %s: script exited with status %d: %s",
			c.host, res.ExitCode, clip(strings.TrimSpace(string(res.Stderr)), 1000))
	}
	facts, denied, err := plan.parse(res.Stdout)
	if err != nil {
		return nil, nil, fmt.Errorf("gathering facts on %s: %w (stderr: %s)",
			c.host, err, clip(strings.TrimSpace(string(res.Stderr)), 500))
	}
	return facts, denied, nil
}

// rootUser is the user to run root work as: "" (no sudo) if the login user
// is root.
func (c *Client) rootUser() string {
	if c.isRoot() {
		return ""
	}
	return "root"
}

// gatherPlan is a GatherRequest put in the order the script works in.
type gatherPlan struct {
	paths    []string // every path, sorted bytewise (as ls sorts in the C locale), unique
	contents []string // the paths whose content to read, sorted, unique
	probes   []string // probe names, sorted
	snippets map[string]string
	// as are the plans of req.As that run as another user after this one,
	// by user, in the order of users.
	as    map[string]*gatherPlan
	users []string
	// become makes the nested plans go through root with the become
	// password (read by becomeRead) instead of sudo -n.
	become bool
	known  Known // the login user's plan only
	// untrusted are the directories below which a path that goes through
	// a symbolic link counts as unreadable (a login user's plan only).
	untrusted []string
}

// newGatherPlans plans req for a script run as user as ("" = the login
// user): req.As's paths become nested plans where as is neither root nor
// their user, and are read with the rest otherwise.
func (c *Client) newGatherPlans(as string, req GatherRequest) (*gatherPlan, error) {
	runAs := as
	if runAs == "" {
		runAs = c.user
	}
	var untrusted []string
	if as == "" {
		untrusted = untrustedDirs(req.Untrusted)
	}
	nested := map[string]*gatherPlan{}
	for user, r := range req.As {
		if runAs == "root" || runAs == user || c.isRoot() {
			req.Contents = append(slices.Clone(req.Contents), r.Contents...)
			req.Stats = append(slices.Clone(req.Stats), r.Stats...)
			continue
		}
		if !validUser(user) {
			return nil, fmt.Errorf("invalid user name %q", user)
		}
		p, err := newGatherPlan(GatherRequest{Contents: r.Contents, Stats: r.Stats})
		if err != nil {
			return nil, err
		}
		nested[user] = p
	}
	plan, err := newGatherPlan(req)
	if err != nil {
		return nil, err
	}
	if err := validKnown(req.Known); err != nil {
		return nil, err
	}
	if c.isRoot() {
		// A root login saves no sudo with the record, and its check costs
		// a stat and an awk per host: not worth it there.
		req.Known = Known{}
	}
	plan.as, plan.known, plan.untrusted = nested, req.Known, untrusted
	plan.become = c.become != ""
	for user := range nested {
		plan.users = append(plan.users, user)
	}
	slices.Sort(plan.users)
	return plan, nil
}

// newGatherPlan validates and orders req.
func newGatherPlan(req GatherRequest) (*gatherPlan, error) {
	p := &gatherPlan{snippets: req.Probes}
	p.contents = sortedUnique(req.Contents)
	p.paths = sortedUnique(append(slices.Clone(req.Contents), req.Stats...))
	for _, name := range p.paths {
		if !path.IsAbs(name) || strings.ContainsAny(name, "\n\x00") {
			return nil, fmt.Errorf("path %q must be absolute and must not contain newlines", name)
		}
	}
	for name := range req.Probes {
		p.probes = append(p.probes, name)
	}
	slices.Sort(p.probes)
	return p, nil
}

// sortedUnique returns a sorted copy of list without duplicates.
func sortedUnique(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// gatherStart is the first line of the script's output; anything before it
// was printed by the login shell's startup files and is skipped.
const gatherStart = "carbonctl-gather"

// gatherHeader makes ls sort bytewise (like slices.Sort) and print names
// as they are, and marks the start of the output.
const gatherHeader = `LC_ALL=C QUOTING_STYLE=literal
export LC_ALL QUOTING_STYLE
echo ` + gatherStart + `
`

// script builds the remote script. Its output, in order:
//
//	the gatherStart line;
//	a line of path types (see typeLoop), one character per plan.paths entry;
//	if any path exists: three sections of `ls -ldL` lines for the existing
//	paths (numeric ids, owner names, group names), each ended by a "--" line;
//	a line of content types, one character per plan.contents entry;
//	the concatenated contents of the regular ones, then "carbonctl-end\n";
//	per probe: "EXITCODE LENGTH\n" and LENGTH bytes of output.
func (p *gatherPlan) script() string {
	var b strings.Builder
	b.WriteString(gatherHeader)
	b.WriteString(knownScript(p.known))
	b.WriteString(untrustedScript(p.untrusted))
	b.WriteString(typeLoop(p.paths, `[ "$t" = - ] || [ "$t" = x ] || [ "$t" = k ]`))
	b.WriteString(`if [ $# -gt 0 ]; then
for f in -ldLn -ldLo -ldLg; do ls "$f" -- "$@"; echo --; done
fi
`)
	b.WriteString(typeLoop(p.contents, `[ "$t" != f ]`))
	b.WriteString("[ $# -eq 0 ] || cat -- \"$@\"\necho carbonctl-end\n")
	for i, name := range p.probes {
		fmt.Fprintf(&b, "carbonctl_probe_%d() (\n%s\n)\n", i, p.snippets[name])
		fmt.Fprintf(&b, `o=$(carbonctl_probe_%d </dev/null 2>/dev/null; r=$?; printf .; exit "$r"); r=$?
printf '%%s %%s\n%%s' "$r" "$((${#o} - 1))" "${o%%.}"
`, i)
	}
	for _, user := range p.users {
		// A sudo that refuses prints nothing after the marker: those paths
		// then count as denied. A plan whose paths are all known needs no
		// sudo.
		fmt.Fprintf(&b, "echo %s\n", Quote(gatherAsMarker+user))
		nested := "sudo -n -u " + Quote(user) + " -- sh -c " + Quote(sudoShell) + " carbonctl " + Quote(p.as[user].script()) + " </dev/null"
		if p.become {
			// sudo to root with the password, which root's sudo -n -u
			// then needs no more: the password goes only to root's
			// stdin, never to a process of the user, who may be the
			// untrusted product user.
			nested = `printf '%s\n' "$carbonctl_pw" | sudo -S -p '' -- sh -c ` + Quote("exec "+nested)
		}
		sudo := nested + " 2>/dev/null || :"
		if cond := p.allKnown(p.as[user]); cond != "" {
			sudo = "if " + cond + "; then echo " + knownAll + "; else " + sudo + "; fi"
		}
		b.WriteString(sudo + "\n")
	}
	return b.String()
}

// becomeRead reads the become password from the first line of stdin into a
// variable of the login user's shell, for the sudo calls of a Gather.
const becomeRead = "IFS= read -r carbonctl_pw || carbonctl_pw=\n"

// becomeMarker starts the line that reports the become password check.
const becomeMarker = "carbonctl-become "

// becomeCheck checks the become password with sudo -k (which ignores a
// cached sudo login, so that the password itself is tried), as root
// running true, and prints becomeMarker, sudo's status and its message on
// one line. It is empty when !check.
func becomeCheck(check bool) string {
	if !check {
		return ""
	}
	return `carbonctl_m=$(printf '%s\n' "$carbonctl_pw" | LC_ALL=C sudo -S -k -p '' true 2>&1)
echo "` + becomeMarker + `$? $(printf %s "$carbonctl_m" | tr '\n' ' ')"
`
}

// becomeVerdict reads becomeCheck's line from a Gather's output: an error
// naming the host and the login user if sudo refused the password.
func (c *Client) becomeVerdict(out []byte) error {
	i := bytes.Index(out, []byte("\n"+becomeMarker))
	if !bytes.HasPrefix(out, []byte(becomeMarker)) && i < 0 {
		return fmt.Errorf("checking the become password on %s: the check printed no result", c.host)
	}
	line := string(out[i+1:])
	line, _, _ = strings.Cut(strings.TrimPrefix(line, becomeMarker), "\n")
	status, msg, _ := strings.Cut(line, " ")
	if status == "0" {
		return nil
	}
	return &BecomeError{Host: c.host, User: c.user, Msg: clip(strings.TrimSpace(msg), 300)}
}

// BecomeError is sudo refusing the become password (or failing with it)
// when a connection checks it, before anything ran on the host.
type BecomeError struct {
	Host, User string
	Msg        string // what sudo said
}

func (e *BecomeError) Error() string {
	if strings.Contains(e.Msg, "incorrect password") || strings.Contains(e.Msg, "Sorry, try again") {
		return fmt.Sprintf("sudo on %s refused the become password of login user %s (ssh.become_password_env / become_password_file): check the password; nothing was changed", e.Host, e.User)
	}
	return fmt.Sprintf("sudo on %s failed for login user %s with the become password: %s; nothing was changed", e.Host, e.User, e.Msg)
}

// gatherAsMarker, followed by the user's name, starts the output of a
// nested plan.
const gatherAsMarker = "carbonctl-as "

// knownAll replaces the output of a nested plan whose paths are all known.
const knownAll = "carbonctl-known-all"

// allKnown returns the shell condition under which every path of nested is
// known, or "" when some path has no spec (the plan must run).
func (p *gatherPlan) allKnown(nested *gatherPlan) string {
	var tests []string
	for _, name := range nested.paths {
		if _, ok := p.known.Specs[name]; !ok {
			return ""
		}
		tests = append(tests, "known "+Quote(name))
	}
	return strings.Join(tests, " && ")
}

// typeLoop returns a loop that prints a line with one type character per
// path (k known from the record, d directory, f readable regular file,
// o other, - missing, x cannot tell or read as this user) and leaves in "$@" the paths for which the
// shell test skip fails. A path that does not seem to exist is "-" only
// when its deepest existing ancestor is searchable: otherwise it may exist
// behind a directory this user cannot enter, and it is "x".
func typeLoop(paths []string, skip string) string {
	if len(paths) == 0 {
		return "set --\necho\n"
	}
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = Quote(p)
	}
	return "set --\nfor p in " + strings.Join(quoted, " ") + `; do
if known "$p"; then t=k
elif untrusted "$p"; then t=x
elif [ -d "$p" ]; then t=d
elif [ -f "$p" ]; then if [ -r "$p" ]; then t=f; else t=x; fi
elif [ -e "$p" ]; then t=o
else a=${p%/*}; while [ -n "$a" ] && [ ! -e "$a" ]; do a=${a%/*}; done
  if [ -x "${a:-/}" ]; then t=-; else t=x; fi
fi
printf %s "$t"
` + skip + ` || set -- "$@" "$p"
done
echo
`
}
