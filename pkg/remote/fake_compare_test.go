package remote_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/pkg/remote/remotetest"
)

// TestFakeMatchesSSH runs the same GatherRequests and WriteFiles against
// the test sshd (this machine's files) and against a remotetest.Host
// holding a copy of those files, and compares the Facts and errors: the
// fake is only worth the step tests built on it while it answers as the
// real thing does.
func TestFakeMatchesSSH(t *testing.T) {
	for name, login := range map[string]string{"root": "root", "sudo user": ""} {
		t.Run(name, func(t *testing.T) {
			c, dir, sudoUser := remote.SSHDForTest(t, login)
			fx := newCompareFixture(t, dir, sudoUser)
			fake := fx.mirror(t, c.User())
			ctx := context.Background()
			compareGather(t, ctx, c, fake, fx.request())
			for _, w := range fx.writes() {
				errReal := c.WriteFile(ctx, w.path, []byte(w.data), w.opts)
				errFake := fake.WriteFile(ctx, w.path, []byte(w.data), w.opts)
				if got, want := writeMessage(errFake), writeMessage(errReal); got != want {
					t.Errorf("WriteFile %s %+v:\n fake: %s\n  ssh: %s", w.path, w.opts, got, want)
				}
			}
			after := fx.request()
			for _, w := range fx.writes() {
				if filepath.IsAbs(w.path) && !strings.Contains(w.path, "rootlink/new") {
					after.Stats = append(after.Stats, w.path, filepath.Dir(w.path), w.path+".carbonctl.orig")
				}
			}
			compareGather(t, ctx, c, fake, after)
			below := filepath.Join(fx.dir, "etc/new/file")
			_, errReal := c.Gather(ctx, remote.GatherRequest{Stats: []string{below}})
			_, errFake := fake.Gather(ctx, remote.GatherRequest{Stats: []string{below}})
			if got, want := gatherMessage(errFake), gatherMessage(errReal); got != want || errReal == nil {
				t.Errorf("Gather below a file:\n fake: %s\n  ssh: %s", got, want)
			}
		})
	}
}

// compareFixture is a directory of files of every kind the fake models.
type compareFixture struct {
	dir, user string
	paths     []string // every path the requests name
}

func newCompareFixture(t *testing.T, dir, sudoUser string) *compareFixture {
	fx := &compareFixture{dir: dir, user: sudoUser}
	p := func(name string) string { return filepath.Join(dir, name) }
	write := func(name, data string, mode os.FileMode, owner string) {
		if err := os.WriteFile(p(name), []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p(name), mode); err != nil {
			t.Fatal(err)
		}
		chown(t, p(name), owner)
	}
	mkdir := func(name string, mode os.FileMode, owner string) {
		if err := os.Mkdir(p(name), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p(name), mode); err != nil {
			t.Fatal(err)
		}
		chown(t, p(name), owner)
	}
	mkdir("etc", 0o755, "root")
	write("etc/hosts", "127.0.0.1 localhost\n", 0o644, "root")
	write("etc/empty", "", 0o644, "root")
	write("etc/setuid", "#!/bin/sh\n", 0o755|os.ModeSetuid, "root")
	write("etc/shadowish", "secret\n", 0o600, "root")
	mkdir("home", 0o750, sudoUser)
	write("home/app.conf", "<password>s3cret</password>\n", 0o600, sudoUser)
	write("home/public.xml", "<Server/>\n", 0o644, sudoUser)
	mkdir("private", 0o700, "root")
	write("private/inner", "behind a root-only directory\n", 0o644, "root")
	mkdir("shared", 0o777|os.ModeSticky, "root")
	mkdir("loose", 0o777, "root")
	for link, target := range map[string]string{"link-file": "etc/hosts", "link-dir": p("home"), "dangling": "nowhere", "etc/up": "../etc/empty", "rootlink": "etc"} {
		if err := os.Symlink(target, p(link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"etc", "etc/hosts", "etc/empty", "etc/setuid", "etc/shadowish", "etc/up", "home", "home/public.xml",
		"private/inner", "private/none", "shared", "loose", "link-file", "link-dir", "link-dir/public.xml", "dangling", "missing", "missing/deeper"} {
		fx.paths = append(fx.paths, p(name))
	}
	return fx
}

// request reads every fixture path twice over (content and stat), and the
// user's private file as that user.
func (fx *compareFixture) request() remote.GatherRequest {
	app := filepath.Join(fx.dir, "home/app.conf")
	return remote.GatherRequest{
		Contents: fx.paths,
		Stats:    append([]string{"/", fx.dir}, fx.paths[:4]...),
		As:       map[string]remote.GatherRequest{fx.user: {Contents: []string{app}, Stats: []string{app + ".carbonctl.orig"}}},
	}
}

// write is one WriteFile both hosts get.
type write struct {
	path, data string
	opts       remote.WriteOptions
}

func (fx *compareFixture) writes() []write {
	p := func(name string) string { return filepath.Join(fx.dir, name) }
	return []write{
		{p("etc/new"), "new\n", remote.WriteOptions{Mode: 0o640, Owner: fx.user, Group: "root"}},
		{p("etc/hosts"), "127.0.0.1 localhost\n10.0.0.1 db\n", remote.WriteOptions{Backup: true}},
		{p("etc/shadowish"), "new secret\n", remote.WriteOptions{Backup: true, Mode: 0o600}},
		{p("etc/deep/er/file"), "x", remote.WriteOptions{MkdirParents: true}},
		{p("etc/missing-dir/file"), "x", remote.WriteOptions{}},
		{p("link-file"), "x", remote.WriteOptions{}},
		{p("etc"), "x", remote.WriteOptions{}},
		{p("home/app.conf"), "<password>n3w</password>\n", remote.WriteOptions{As: fx.user, Backup: true, Mode: 0o600}},
		{p("home/new/sub/x.xml"), "<x/>\n", remote.WriteOptions{As: fx.user, MkdirParents: true}},
		{p("home/root-written"), "x", remote.WriteOptions{}},
		{p("link-dir/through-link"), "x", remote.WriteOptions{}},
		{p("link-dir/new/sub/file"), "x", remote.WriteOptions{MkdirParents: true}},
		{p("rootlink/via-root-link"), "x", remote.WriteOptions{Mode: 0o600}},
		{p("rootlink/fresh/file"), "x", remote.WriteOptions{MkdirParents: true}},
		// etc/new is a file by now: a path below it is refused, and then
		// Gather cannot tell what it is, even as root.
		{p("rootlink/new/file"), "x", remote.WriteOptions{MkdirParents: true}},
		{p("loose/file"), "x", remote.WriteOptions{}},
		{p("shared/file"), "x", remote.WriteOptions{Mode: 0o644}},
		{p("private/as-user"), "x", remote.WriteOptions{As: fx.user}},
		{"relative", "x", remote.WriteOptions{}},
		{p("etc/bad-owner"), "x", remote.WriteOptions{As: fx.user, Owner: "root"}},
	}
}

// writeMessage is what a WriteFile error says, without the host name.
func writeMessage(err error) string {
	if err == nil {
		return "ok"
	}
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, "failed (status 1): "); ok {
		return strings.TrimSuffix(after, " ;") // the script's last newline
	}
	_, after, _ := strings.Cut(msg, ": ")
	return after
}

// gatherMessage is what a Gather error says, without the host name.
func gatherMessage(err error) string {
	if err == nil {
		return "ok"
	}
	_, after, _ := strings.Cut(err.Error(), ": ")
	return after
}

// mirror builds a fake host holding the fixture (and the directories above
// it, and /etc/passwd and /etc/group) as this machine holds them.
func (fx *compareFixture) mirror(t *testing.T, login string) *remotetest.Host {
	h := remotetest.NewHost(t, "fake")
	for _, name := range []string{"/etc/passwd", "/etc/group"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		h.File(name, string(data), 0o644, "root", "root")
	}
	for d := filepath.Dir(fx.dir); d != "/"; d = filepath.Dir(d) {
		mirrorPath(t, h, d)
	}
	err := filepath.WalkDir(fx.dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			mirrorPath(t, h, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h.SetLogin(login)
	return h
}

// mirrorPath copies one local path (not following a link) into h.
func mirrorPath(t *testing.T, h *remotetest.Host, p string) {
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	e := &remotetest.Entry{Mode: st.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky),
		Owner: remote.UserName(sys.Uid), Group: remote.GroupName(sys.Gid)}
	switch {
	case st.IsDir():
		e.Kind = remotetest.Directory
	case st.Mode()&os.ModeSymlink != 0:
		e.Kind = remotetest.Symlink
		if e.Target, err = os.Readlink(p); err != nil {
			t.Fatal(err)
		}
	default:
		if e.Data, err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	h.Put(p, e)
}

// compareGather compares the facts both hosts return for req.
func compareGather(t *testing.T, ctx context.Context, c *remote.Client, fake *remotetest.Host, req remote.GatherRequest) {
	t.Helper()
	want, err := c.Gather(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fake.Gather(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != len(want.Files) {
		t.Errorf("fake reports %d files, ssh %d", len(got.Files), len(want.Files))
	}
	for p, w := range want.Files {
		g := got.Files[p]
		if g == nil {
			t.Errorf("%s: missing from the fake's facts", p)
			continue
		}
		if w.IsDir {
			w.Size = g.Size // a directory's size depends on the file system
		}
		if gs, ws := fmt.Sprintf("%+v", *g), fmt.Sprintf("%+v", *w); gs != ws {
			t.Errorf("%s:\nfake %s\n ssh %s", p, gs, ws)
		}
		if (g.Content == nil) != (w.Content == nil) {
			t.Errorf("%s: content nil: fake %v, ssh %v", p, g.Content == nil, w.Content == nil)
		}
	}
}

func chown(t *testing.T, p, owner string) {
	t.Helper()
	if out, err := exec.Command("chown", "-h", owner+":"+owner, p).CombinedOutput(); err != nil {
		t.Fatalf("chown %s: %v: %s", p, err, out)
	}
}
