package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/carbonctl/carbonctl/fixtures/latency"
)

// uploadBenchMB is the size of BenchmarkUpload's file: 32 MB, or
// $CARBONCTL_BENCH_UPLOAD_MB (e.g. 250 for the product-archive figure in
// docs/performance.md; that takes minutes at 100 ms).
func uploadBenchMB(b *testing.B) int {
	if s := os.Getenv("CARBONCTL_BENCH_UPLOAD_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("CARBONCTL_BENCH_UPLOAD_MB=%q: want a number of MB", s)
		}
		return n
	}
	return 32
}

// BenchmarkUpload moves one file to the test sshd, directly and through a
// relay that adds 100 ms per round trip (fixtures/latency), by each method:
// "stream" (Run with the file on stdin: one SSH channel, today's product
// and JDK upload), "sftp" (github.com/pkg/sftp with 64 concurrent writes
// in one channel) and "upload-N" (Upload: N channels in parallel). MB/s is
// the figure to read. One SSH channel moves at most sshd's window (2 MiB)
// per round trip, however the writes inside it are pipelined.
func BenchmarkUpload(b *testing.B) {
	env := needSSHD(b)
	size := uploadBenchMB(b) << 20
	src := filepath.Join(b.TempDir(), "archive.bin")
	data := randomBytes(b, size)
	writeFile(b, src, data, 0o644)
	sum := sha256.Sum256(data) // known beforehand, as the product archive's is
	hexSum := hex.EncodeToString(sum[:])
	dir := env.openDir(b, "bench-upload-")
	methods := []struct {
		name string
		up   func(c *Client, dst string) error
	}{
		{"stream", func(c *Client, dst string) error { return streamUpload(c, src, dst) }},
		{"sftp", func(c *Client, dst string) error { return sftpUpload(c, src, dst) }},
		{"upload-4", func(c *Client, dst string) error { return channelsUpload(c, src, dst, hexSum, 4) }},
		{"upload-8", func(c *Client, dst string) error { return channelsUpload(c, src, dst, hexSum, 8) }},
	}
	for _, delay := range []time.Duration{0, 100 * time.Millisecond} {
		c := env.dialThrough(b, env.user, delay) // root's login would source this machine's ~/.bashrc (pyenv)
		for _, m := range methods {
			b.Run(fmt.Sprintf("rtt+%dms/%s", delay.Milliseconds(), m.name), func(b *testing.B) {
				b.SetBytes(int64(size))
				for i := 0; i < b.N; i++ {
					dst := filepath.Join(dir, fmt.Sprintf("%s-%d", m.name, i))
					if err := m.up(c, dst); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					os.Remove(dst)
					b.StartTimer()
				}
			})
		}
	}
}

// streamUpload is the one-channel way: the file on a command's stdin.
func streamUpload(c *Client, src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := c.Run(context.Background(), "", "cat > "+Quote(dst), f)
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("cat: status %d: %s", res.ExitCode, res.Stderr)
	}
	return err
}

// sftpUpload writes the file with pkg/sftp's concurrent writes (one
// channel), to an sftp-server run as a command, as carbonctl would have to
// run it to write as the product user (sudo -u USER sftp-server).
func sftpUpload(c *Client, src, dst string) error {
	sess, err := c.conn.NewSession()
	if err != nil {
		return err
	}
	defer sess.Close()
	w, err := sess.StdinPipe()
	if err != nil {
		return err
	}
	r, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	if err := sess.Start("exec /usr/lib/openssh/sftp-server"); err != nil {
		return err
	}
	client, err := sftp.NewClientPipe(r, w, sftp.UseConcurrentWrites(true), sftp.MaxConcurrentRequestsPerFile(64))
	if err != nil {
		return err
	}
	defer client.Close()
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := client.Create(dst)
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// channelsUpload is Upload with n channels.
func channelsUpload(c *Client, src, dst, sum string, n int) error {
	_, err := c.Upload(context.Background(), src, dst, UploadOptions{Streams: n, SHA256: sum})
	return err
}

// dialThrough connects as user through a relay that adds delay to every
// round trip (none: directly).
func (e *sshEnv) dialThrough(tb testing.TB, user string, delay time.Duration) *Client {
	tb.Helper()
	if delay == 0 {
		return e.dial(tb, user)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() { _ = (&latency.Relay{To: e.addr(), Delay: delay}).Serve(ln) }()
	file := filepath.Join(tb.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{ln.Addr().String()}, e.hostKeys[ssh.KeyAlgoED25519])
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	keys, err := NewHostKeys(file, false)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := e.config(user, file)
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	c, err := Dial(context.Background(), "127.0.0.1", cfg, keys)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}
