package remote

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
)

// UploadBlock is the unit in which Upload compares a partial upload with
// the local file: blocks whose sha256 match are kept, the others are sent.
const UploadBlock = 1 << 20

// defaultStreams is how many SSH channels carry an upload at once. Each
// channel moves at most sshd's window (2 MiB) per round trip, so across a
// WAN the throughput grows with the channels (see docs/performance.md).
const defaultStreams = 4

// UploadOptions say how Upload writes the file.
type UploadOptions struct {
	// As writes the file as this user ("" = the login user, "root" =
	// root through sudo unless logged in as root). The directory must be
	// one only that user (or root) can change: Upload refuses symbolic
	// links at the destination but trusts the directory.
	As string
	// Streams is how many SSH channels carry the data at once; 0 means 4.
	Streams int
	// SHA256 is the local file's sha256 in hex; "" computes it.
	SHA256 string
}

// UploadStats says what an upload moved.
type UploadStats struct {
	Size int64 // the file's size
	Sent int64 // bytes sent this time
	Kept int64 // bytes of an earlier partial upload that were verified and kept
	Done bool  // the destination already held the file: nothing was sent
}

// Upload copies the local file src to dst on the host, as opts.As, in
// opts.Streams SSH channels at once, and resumes what an earlier, killed
// upload left: the data goes into dst.part, whose existing blocks are
// compared by sha256 with the local file's (UploadBlock each) and kept when
// equal; only the rest is sent. When complete, dst.part's sha256 is checked
// against the local file's and it is renamed over dst (mode 0600), so dst is
// either absent or whole. A dst that already has the right sha256 is left
// as it is. Symbolic links at dst or dst.part are refused, not followed.
func (c *Client) Upload(ctx context.Context, src, dst string, opts UploadOptions) (UploadStats, error) {
	st, err := c.upload(ctx, src, dst, opts)
	if err != nil {
		return st, fmt.Errorf("uploading %s to %s:%s: %w", path.Base(src), c.host, dst, err)
	}
	return st, nil
}

func (c *Client) upload(ctx context.Context, src, dst string, opts UploadOptions) (UploadStats, error) {
	if !path.IsAbs(dst) || strings.ContainsAny(dst, "\n\x00") || strings.HasSuffix(dst, "/") {
		return UploadStats{}, fmt.Errorf("the destination must be an absolute file path without newlines")
	}
	f, err := os.Open(src)
	if err != nil {
		return UploadStats{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return UploadStats{}, err
	}
	st := UploadStats{Size: info.Size()}
	sum := opts.SHA256
	if sum == "" {
		if sum, err = fileSHA256(io.NewSectionReader(f, 0, st.Size)); err != nil {
			return st, err
		}
	}
	out, err := c.uploadStep(ctx, opts.As, uploadProbeScript(dst, sum, st.Size), nil)
	if err != nil {
		return st, err
	}
	if strings.HasPrefix(out, "done") {
		st.Done = true
		return st, nil
	}
	missing, err := missingBlocks(f, st.Size, strings.Fields(out))
	if err != nil {
		return st, err
	}
	for _, r := range missing {
		st.Sent += r.n
	}
	st.Kept = st.Size - st.Sent
	if err := c.sendRanges(ctx, f, dst+".part", missing, opts); err != nil {
		return st, err
	}
	_, err = c.uploadStep(ctx, opts.As, uploadFinishScript(dst, sum), nil)
	return st, err
}

// uploadStep runs one script of the upload and returns its stdout; a
// non-zero exit is an error with the script's message.
func (c *Client) uploadStep(ctx context.Context, as, script string, stdin io.Reader) (string, error) {
	res, err := c.Run(ctx, as, script, stdin)
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("failed (status %d): %s", res.ExitCode, scriptMessage(res.Stderr))
	}
	return string(res.Stdout), nil
}

// byteRange is a part of the file: n bytes from offset off.
type byteRange struct{ off, n int64 }

// missingBlocks compares the partial upload's block hashes (probe output
// "part" followed by one sha256 per block) with the local file and returns
// the ranges to send, adjacent blocks merged.
func missingBlocks(f io.ReaderAt, size int64, probe []string) ([]byteRange, error) {
	var have []string
	if len(probe) > 0 && probe[0] == "part" {
		have = probe[1:]
	}
	var todo []byteRange
	for off := int64(0); off < size; off += UploadBlock {
		n := min(UploadBlock, size-off)
		i := int(off / UploadBlock)
		if i < len(have) {
			sum, err := fileSHA256(io.NewSectionReader(f, off, n))
			if err != nil {
				return nil, err
			}
			if sum == have[i] {
				continue
			}
		}
		if k := len(todo) - 1; k >= 0 && todo[k].off+todo[k].n == off {
			todo[k].n += n
			continue
		}
		todo = append(todo, byteRange{off, n})
	}
	return todo, nil
}

// splitRanges divides ranges into at most k groups of about the same number
// of bytes, cutting ranges at block boundaries.
func splitRanges(ranges []byteRange, k int) [][]byteRange {
	var total int64
	for _, r := range ranges {
		total += r.n
	}
	if total == 0 {
		return nil
	}
	share := (total/int64(k) + UploadBlock - 1) / UploadBlock * UploadBlock
	var groups [][]byteRange
	var cur []byteRange
	var curN int64
	for _, r := range ranges {
		for r.n > 0 {
			n := min(r.n, share-curN)
			cur = append(cur, byteRange{r.off, n})
			curN += n
			r.off, r.n = r.off+n, r.n-n
			if curN == share {
				groups, cur, curN = append(groups, cur), nil, 0
			}
		}
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}

// sendRanges writes the ranges of f into part on the host, the groups of
// splitRanges in parallel, one SSH session each.
func (c *Client) sendRanges(ctx context.Context, f io.ReaderAt, part string, ranges []byteRange, opts UploadOptions) error {
	streams := opts.Streams
	if streams <= 0 {
		streams = defaultStreams
	}
	groups := splitRanges(ranges, streams)
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			readers := make([]io.Reader, len(g))
			for j, r := range g {
				readers[j] = io.NewSectionReader(f, r.off, r.n)
			}
			in := bufio.NewReaderSize(io.MultiReader(readers...), 256<<10)
			_, errs[i] = c.uploadStep(ctx, opts.As, uploadWriteScript(part, g), in)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// uploadFunctions are shared by the upload scripts.
const uploadFunctions = `set -f
fail() { echo "carbonctl: $*" >&2; exit 1; }
`

// uploadProbeScript prints "done" when dst already has sum; otherwise it
// prints "part" and the sha256 of each UploadBlock of dst.part, if any,
// then makes dst.part a regular file of size bytes (created 0600).
func uploadProbeScript(dst, sum string, size int64) string {
	return fmt.Sprintf(`%sp=%s part=%s.part
[ -d "${p%%/*}/" ] || fail "directory ${p%%/*} does not exist"
for f in "$p" "$part"; do
	[ ! -L "$f" ] || fail "$f is a symbolic link; refusing to write through it"
	[ ! -e "$f" ] || [ -f "$f" ] || fail "$f exists and is not a regular file"
done
if [ -f "$p" ] && [ "$(sha256sum < "$p" | cut -c1-64)" = %s ]; then echo done; exit 0; fi
echo part
if [ -f "$part" ]; then
	[ ! -s "$part" ] || split -b %d --filter='sha256sum | cut -c1-64' -- "$part" || fail "cannot read $part"
else
	(umask 077; : > "$part") || fail "cannot create $part"
fi
truncate -s %d -- "$part" || fail "cannot size $part"
`, uploadFunctions, Quote(dst), Quote(dst), Quote(sum), UploadBlock, size)
}

// uploadWriteScript writes each range from stdin at its offset in part.
func uploadWriteScript(part string, ranges []byteRange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%spart=%s\n[ -f \"$part\" ] && [ ! -L \"$part\" ] || fail \"$part is not a regular file\"\n", uploadFunctions, Quote(part))
	for _, r := range ranges {
		fmt.Fprintf(&b, `dd of="$part" bs=65536 seek=%d count=%d oflag=seek_bytes iflag=count_bytes,fullblock conv=notrunc status=none || fail "cannot write $part"
`, r.off, r.n)
	}
	return b.String()
}

// uploadFinishScript checks dst.part's sha256, flushes it to disk and
// renames it over dst; a
// complete file with another sum is removed, so the next run starts afresh.
func uploadFinishScript(dst, sum string) string {
	return fmt.Sprintf(`%sp=%s part=%s.part
[ -f "$part" ] && [ ! -L "$part" ] || fail "$part is not a regular file"
got=$(sha256sum < "$part" | cut -c1-64)
if [ "$got" != %s ]; then rm -f -- "$part"; fail "$part has sha256 $got after the upload, want %s; removed it"; fi
dd if=/dev/null of="$part" conv=notrunc,fsync status=none || fail "cannot flush $part to disk"
chmod 0600 -- "$part" && mv -f -- "$part" "$p" || fail "cannot rename $part to $p"
`, uploadFunctions, Quote(dst), Quote(dst), Quote(sum), sum)
}

// fileSHA256 hashes r.
func fileSHA256(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
