package remote

import (
	"bytes"
	"context"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestSplitRanges(t *testing.T) {
	const B = UploadBlock
	tests := []struct {
		name   string
		ranges []byteRange
		k      int
		want   [][]byteRange
	}{
		{"nothing", nil, 4, nil},
		{"one short range", []byteRange{{0, 100}}, 4, [][]byteRange{{{0, 100}}}},
		{"four blocks, four streams", []byteRange{{0, 4 * B}}, 4,
			[][]byteRange{{{0, B}}, {{B, B}}, {{2 * B, B}}, {{3 * B, B}}}},
		{"five blocks and a tail, two streams", []byteRange{{0, 5*B + 7}}, 2,
			[][]byteRange{{{0, 3 * B}}, {{3 * B, 2*B + 7}}}},
		{"gaps stay gaps", []byteRange{{0, B}, {3 * B, 2 * B}}, 3,
			[][]byteRange{{{0, B}}, {{3 * B, B}}, {{4 * B, B}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitRanges(tt.ranges, tt.k); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitRanges(%v, %d) = %v, want %v", tt.ranges, tt.k, got, tt.want)
			}
		})
	}
}

// TestUpload: a fresh upload, a resumed one (a good first block kept, a
// corrupt one and the missing rest sent), one that finds the file there, a
// symbolic link refused, and an upload as another user.
func TestUpload(t *testing.T) {
	env := needSSHD(t)
	ctx := context.Background()
	c := env.dial(t, env.user)
	dir := env.openDir(t, "upload-")
	data := randomBytes(t, 2*UploadBlock+12345)
	src := filepath.Join(t.TempDir(), "archive.bin")
	writeFile(t, src, data, 0o644)
	dst := filepath.Join(dir, "archive.bin")

	st, err := c.Upload(ctx, src, dst, UploadOptions{As: "root", Streams: 3})
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != int64(len(data)) || st.Kept != 0 || st.Done {
		t.Errorf("fresh upload: %+v, want all %d bytes sent", st, len(data))
	}
	assertFile(t, dst, data, 0o600, 0, 0)

	// A killed run left the first block intact, the second corrupt and no tail.
	os.Remove(dst)
	partial := append(append([]byte{}, data[:UploadBlock]...), bytes.Repeat([]byte{'x'}, UploadBlock/2)...)
	writeFile(t, dst+".part", partial, 0o600)
	st, err = c.Upload(ctx, src, dst, UploadOptions{As: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Kept != UploadBlock || st.Sent != int64(len(data))-UploadBlock {
		t.Errorf("resumed upload: %+v, want the first block (%d bytes) kept", st, UploadBlock)
	}
	assertFile(t, dst, data, 0o600, 0, 0)

	st, err = c.Upload(ctx, src, dst, UploadOptions{As: "root"})
	if err != nil || !st.Done || st.Sent != 0 {
		t.Errorf("upload of a file already there: %+v, %v; want done, nothing sent", st, err)
	}

	os.Remove(dst)
	if err := os.Symlink("/etc/passwd", dst+".part"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Upload(ctx, src, dst, UploadOptions{As: "root"})
	mustContain(t, err, "symbolic link")
	os.Remove(dst + ".part")

	u, err := user.Lookup(env.user)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if _, err := c.Upload(ctx, src, dst, UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dst, data, 0o600, uid, gid)
}

// TestDefer: a deferred command runs on Run, with its result, and never
// after Cancel.
func TestDefer(t *testing.T) {
	env := needSSHD(t)
	ctx := context.Background()
	c := env.dial(t, env.user)
	dir := env.openDir(t, "defer-")
	ran, skipped := filepath.Join(dir, "ran"), filepath.Join(dir, "skipped")
	d := c.Defer(ctx, "", "touch "+Quote(ran)+"; echo done; exit 3")
	cancelled := c.Defer(ctx, "", "touch "+Quote(skipped))
	cancelled.Cancel()
	res, err := d.Run(ctx)
	if err != nil || res.ExitCode != 3 || string(res.Stdout) != "done\n" {
		t.Fatalf("Run: %+v, %v; want exit 3 and done", res, err)
	}
	if _, err := os.Stat(ran); err != nil {
		t.Errorf("the deferred command did not run: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(skipped); err == nil {
		t.Errorf("a cancelled deferred command ran")
	}
}

// openDir makes a directory every test user may write in, removed when the
// test ends.
func (e *sshEnv) openDir(tb testing.TB, prefix string) string {
	tb.Helper()
	dir, err := os.MkdirTemp(e.dir, prefix)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// TestUploadResumesAfterCancel: an upload stopped halfway (its context
// cancelled, as when carbonctl is killed) leaves dst.part; the next upload
// keeps the blocks that arrived, sends only the rest and ends with the
// whole file.
func TestUploadResumesAfterCancel(t *testing.T) {
	env := needSSHD(t)
	c := env.dialThrough(t, env.user, 50*time.Millisecond)
	dir := env.openDir(t, "resume-")
	data := randomBytes(t, 24*UploadBlock)
	src := filepath.Join(t.TempDir(), "archive.bin")
	writeFile(t, src, data, 0o644)
	dst := filepath.Join(dir, "archive.bin")

	ctx, cancel := context.WithCancel(context.Background())
	go func() { // stop once 6 blocks have reached the (sparse) dst.part
		defer cancel()
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			var st syscall.Stat_t
			if syscall.Stat(dst+".part", &st) == nil && st.Blocks*512 >= 6*UploadBlock {
				return
			}
		}
	}()
	if _, err := c.Upload(ctx, src, dst, UploadOptions{Streams: 2}); err == nil {
		t.Fatal("the upload finished before it was stopped; nothing to resume")
	}
	if _, err := os.Stat(dst); err == nil {
		t.Fatal("a stopped upload left the destination in place")
	}
	st, err := c.Upload(context.Background(), src, dst, UploadOptions{Streams: 2})
	if err != nil {
		t.Fatal(err)
	}
	if st.Kept < 4*UploadBlock || st.Sent+st.Kept != st.Size {
		t.Errorf("resumed upload: %+v; want at least 4 blocks kept and the rest sent", st)
	}
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the resumed file differs from the source (%v)", err)
	}
	t.Logf("resumed: kept %d of %d bytes, sent %d", st.Kept, st.Size, st.Sent)
}
