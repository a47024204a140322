package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// knownFixture is a file and a record that vouches for it, in a temporary
// directory, checked with the gather script run by the local sh.
type knownFixture struct {
	dir, file, backup, record string
	content                   []byte
	id, backupID              string // StatFormat output without the path
}

func newKnownFixture(t *testing.T) *knownFixture {
	t.Helper()
	k := &knownFixture{dir: t.TempDir(), content: []byte("<Server><Port>9443</Port></Server>\n")}
	k.file, k.backup, k.record = filepath.Join(k.dir, "carbon.xml"), filepath.Join(k.dir, "carbon.xml.carbonctl.orig"), filepath.Join(k.dir, "test.record")
	writeFile(t, k.file, k.content, 0o600)
	writeFile(t, k.backup, []byte("<Server/>\n"), 0o600)
	k.id, k.backupID = statID(t, k.file), statID(t, k.backup)
	return k
}

// statID is path's identity as the record keeps it.
func statID(t *testing.T, p string) string {
	t.Helper()
	out, err := exec.Command("stat", "--printf", StatFormat, "--", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	_, id, _ := strings.Cut(strings.TrimSuffix(string(out), "\n"), "\t")
	return id
}

func sumHex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// gather runs the plan of a login as login (not the As paths' user: they
// are nested) for req in the local sh and parses its output.
func (k *knownFixture) gather(t *testing.T, login string, req GatherRequest) (*Facts, []string) {
	t.Helper()
	c := &Client{host: "local", user: login}
	plan, err := c.newGatherPlans("", req)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", plan.script()).Output()
	if err != nil {
		t.Fatal(err)
	}
	facts, denied, err := plan.parse(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return facts, denied
}

// TestKnownRecord: the record vouches for a file only when its spec and
// every field of its lstat identity match; anything else (another spec, a
// missing or corrupt record, a symbolic link in the file's place) reads it.
func TestKnownRecord(t *testing.T) {
	fields := []string{"dev", "ino", "size", "mtime", "ctime", "mode", "uid", "gid"}
	type tc struct {
		name   string
		record func(k *knownFixture) string // "" = no record file
		spec   string
		before func(t *testing.T, k *knownFixture)
		known  bool
	}
	entry := func(k *knownFixture, id string) string {
		return RecordEntry{Path: k.file, Spec: "S", ID: id, Sum: sumHex(k.content)}.String() + "\n"
	}
	cases := []tc{
		{name: "match", spec: "S", known: true, record: func(k *knownFixture) string { return RecordHeader + "\n" + entry(k, k.id) }},
		{name: "spec differs", spec: "T", record: func(k *knownFixture) string { return RecordHeader + "\n" + entry(k, k.id) }},
		{name: "empty spec", spec: "", record: func(k *knownFixture) string {
			return RecordHeader + "\n" + strings.Replace(entry(k, k.id), "\tS\t", "\t\t", 1)
		}},
		{name: "missing record", spec: "S", record: func(*knownFixture) string { return "" }},
		{name: "record of another version", spec: "S", record: func(k *knownFixture) string { return "carbonctl-record 0\n" + entry(k, k.id) }},
		{name: "corrupt line", spec: "S", record: func(k *knownFixture) string { return RecordHeader + "\n" + k.file + "\tS\t" + k.id + "\n" }},
		{name: "symlink in place", spec: "S", record: func(k *knownFixture) string { return RecordHeader + "\n" + entry(k, k.id) },
			before: func(t *testing.T, k *knownFixture) {
				other := filepath.Join(k.dir, "elsewhere")
				writeFile(t, other, k.content, 0o600)
				os.Remove(k.file)
				if err := os.Symlink(other, k.file); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "edited by hand", spec: "S", record: func(k *knownFixture) string { return RecordHeader + "\n" + entry(k, k.id) },
			before: func(t *testing.T, k *knownFixture) {
				writeFile(t, k.file, []byte("<Server><Port>1</Port></Server>\n"), 0o600)
			}},
	}
	for i, f := range fields {
		i := i
		cases = append(cases, tc{name: f + " differs", spec: "S", record: func(k *knownFixture) string {
			id := strings.Fields(k.id)
			id[i] += "1"
			return RecordHeader + "\n" + entry(k, strings.Join(id, " "))
		}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newKnownFixture(t)
			if rec := c.record(k); rec != "" {
				writeFile(t, k.record, []byte(rec), 0o600)
			}
			if c.before != nil {
				c.before(t, k)
			}
			facts, denied := k.gather(t, "carbonctl-login", GatherRequest{Contents: []string{k.file}, Known: Known{Record: k.record, Specs: map[string]string{k.file: c.spec}}})
			f := facts.Files[k.file]
			if len(denied) > 0 || f == nil || !f.Exists {
				t.Fatalf("file %+v, denied %v", f, denied)
			}
			if f.Known != c.known {
				t.Fatalf("known = %v, want %v (%+v)", f.Known, c.known, f)
			}
			if c.known {
				if f.Content != nil || f.Sum != sumHex(k.content) || f.Size != int64(len(k.content)) || f.Mode.Perm() != 0o600 || f.ID != k.id {
					t.Errorf("known file %+v", f)
				}
			} else if f.Content == nil {
				t.Errorf("an unknown file was not read: %+v", f)
			}
		})
	}
}

// TestKnownSkipsSudo: a nested plan (read as the files' owner through
// sudo) whose paths are all known is not run at all; with one path not
// known it runs (here sudo fails for a user that does not exist, and its
// paths come back denied).
func TestKnownSkipsSudo(t *testing.T) {
	k := newKnownFixture(t)
	rec := RecordHeader + "\n" +
		RecordEntry{Path: k.file, Spec: "S", ID: k.id, Sum: sumHex(k.content)}.String() + "\n" +
		RecordEntry{Path: k.backup, Spec: "B", ID: k.backupID, Sum: "-"}.String() + "\n"
	writeFile(t, k.record, []byte(rec), 0o600)
	req := GatherRequest{
		As:    map[string]GatherRequest{"carbonctl-no-such-user": {Contents: []string{k.file}, Stats: []string{k.backup}}},
		Known: Known{Record: k.record, Specs: map[string]string{k.file: "S", k.backup: "B"}},
	}
	facts, denied := k.gather(t, "carbonctl-login", req)
	if len(denied) > 0 || !facts.Files[k.file].Known || !facts.Files[k.backup].Known || facts.Files[k.backup].Sum != "" {
		t.Fatalf("all known: denied %v, files %+v %+v", denied, facts.Files[k.file], facts.Files[k.backup])
	}
	req.Known.Specs[k.backup] = "other"
	if _, denied := k.gather(t, "carbonctl-login", req); len(denied) != 2 {
		t.Errorf("one path not known: the nested plan should have run (and been denied), denied %v", denied)
	}
}

// TestRecordScript writes a record with RecordScript in the local sh (as
// root, the files read as root through sudo -n -u root) and reads it back:
// only regular files with the expected content are kept.
func TestRecordScript(t *testing.T) {
	if os.Geteuid() != 0 || exec.Command("sudo", "-n", "-u", "root", "true").Run() != nil {
		t.Skip("needs root and sudo")
	}
	k := newKnownFixture(t)
	wrong, link := filepath.Join(k.dir, "wrong.xml"), filepath.Join(k.dir, "link.xml")
	writeFile(t, wrong, []byte("not what was written\n"), 0o644)
	if err := os.Symlink(k.file, link); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(k.dir, "missing.xml")
	entries := []RecordEntry{
		{Path: k.file, Spec: "S", Sum: sumHex(k.content)},
		{Path: k.backup, Spec: "B", Sum: "-"},
		{Path: wrong, Spec: "W", Sum: sumHex(k.content)},
		{Path: link, Spec: "L", Sum: sumHex(k.content)},
		{Path: missing, Spec: "M", Sum: "-"},
	}
	script := RecordScript(k.record, "root", map[string][]string{"root": {k.file, k.backup, wrong, link, missing}})
	cmd := exec.Command("sh", "-c", script)
	cmd.Stdin = strings.NewReader(string(RecordStdin(entries)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got, err := os.ReadFile(k.record)
	if err != nil {
		t.Fatal(err)
	}
	want := RecordHeader + "\n" + RecordEntry{Path: k.file, Spec: "S", ID: k.id, Sum: sumHex(k.content)}.String() + "\n" +
		RecordEntry{Path: k.backup, Spec: "B", ID: k.backupID, Sum: "-"}.String() + "\n"
	if lines := strings.SplitAfter(string(got), "\n"); len(lines) != 4 || !strings.Contains(want, lines[1]) || !strings.Contains(want, lines[2]) || lines[0] != RecordHeader+"\n" {
		t.Errorf("record:\n%s\nwant (any order):\n%s", got, want)
	}
	if st, err := os.Stat(k.record); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("record mode: %v %v", st.Mode(), err)
	}
	facts, _ := k.gather(t, "carbonctl-login", GatherRequest{Contents: []string{k.file}, Known: Known{Record: k.record, Specs: map[string]string{k.file: "S"}}})
	if !facts.Files[k.file].Known {
		t.Errorf("the written record does not vouch for %s", k.file)
	}
}

// TestUntrustedLinks: below a directory the product user controls, a path
// that goes through a symbolic link (the file itself, or a directory on
// the way) is not read by the login user, root included: it comes back
// denied, to be read again as the product user. Known paths stay known
// for a sudo login.
func TestUntrustedLinks(t *testing.T) {
	k := newKnownFixture(t)
	conf := filepath.Join(k.dir, "conf")
	os.Mkdir(conf, 0o755)
	plain, linked, viaDir := filepath.Join(conf, "axis2.xml"), filepath.Join(conf, "linked.xml"), filepath.Join(k.dir, "confdir", "axis2.xml")
	writeFile(t, plain, []byte("<axisconfig/>\n"), 0o644)
	if err := os.Symlink(k.file, linked); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(conf, filepath.Join(k.dir, "confdir")); err != nil {
		t.Fatal(err)
	}
	rec := RecordHeader + "\n" + RecordEntry{Path: k.file, Spec: "S", ID: k.id, Sum: sumHex(k.content)}.String() + "\n"
	writeFile(t, k.record, []byte(rec), 0o600)
	req := GatherRequest{
		Contents:  []string{plain, linked, viaDir, k.file},
		Untrusted: map[string][]string{"wso2": {k.dir}},
		Known:     Known{Record: k.record, Specs: map[string]string{k.file: "S"}},
	}
	for _, login := range []string{"root", "carbonctl-login"} {
		t.Run(login, func(t *testing.T) {
			facts, denied := k.gather(t, login, req)
			if strings.Join(denied, " ") != linked+" "+viaDir && strings.Join(denied, " ") != viaDir+" "+linked {
				t.Errorf("denied %v, want %s and %s", denied, linked, viaDir)
			}
			if f := facts.Files[plain]; f == nil || string(f.Content) != "<axisconfig/>\n" {
				t.Errorf("%s: %+v", plain, f)
			}
			// A root login ignores the record (it would save no sudo).
			if f := facts.Files[k.file]; f == nil || f.Known != (login != "root") || f.Known == (f.Content != nil) {
				t.Errorf("%s: %+v, want known only for a sudo login", k.file, f)
			}
			if again := rereadUsers(req.Untrusted, denied, req.Contents); len(again) != 1 || len(again["wso2"].Contents) != 2 {
				t.Errorf("read again as %v, want both as wso2", again)
			}
		})
	}
}

// TestAsOwnerScript: paths below a product user's directories are read
// again as that user when it exists, and as root before it is created.
func TestAsOwnerScript(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (setpriv)")
	}
	for user, want := range map[string]string{"nobody": "nobody", "carbonctl-no-such-user": "root"} {
		out, err := exec.Command("sh", "-c", asOwnerScript(user, "id -un")).Output()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("as %s: ran as %q (%v), want %s", user, out, err, want)
		}
	}
}
