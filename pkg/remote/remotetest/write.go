package remotetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Write is one WriteFile call that succeeded.
type Write struct {
	Path string
	Data []byte
	Opts remote.WriteOptions
}

// Writes lists the files written so far.
func (h *Host) Writes() []Write {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.writes)
}

// WriteFile implements remote.Host with the checks and effects of the SSH
// implementation: see write.
func (h *Host) WriteFile(ctx context.Context, p string, data []byte, opts remote.WriteOptions) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.usable(ctx); err != nil {
		return fmt.Errorf("writing %s on %s: %w", p, h.addr, err)
	}
	if opts.As == "root" {
		opts.As = ""
	}
	if err := checkWrite(p, opts); err != nil {
		return fmt.Errorf("writing %s on %s: %w", p, h.addr, err)
	}
	writer := opts.As
	if writer == "" {
		writer = "root"
	}
	if writer != h.login && h.noSudo {
		return fmt.Errorf("sudo on %s needs a password for %s: configure NOPASSWD sudo or log in as root", h.addr, h.login)
	}
	if err := h.write(p, data, opts, writer); err != nil {
		return fmt.Errorf("writing %s on %s failed (status 1): %v", p, h.addr, err)
	}
	h.writes = append(h.writes, Write{Path: p, Data: slices.Clone(data), Opts: opts})
	return nil
}

// checkWrite refuses what writeScript refuses.
func checkWrite(p string, opts remote.WriteOptions) error {
	if !path.IsAbs(p) || strings.ContainsAny(p, "\n\x00") || strings.HasSuffix(p, "/") {
		return errors.New("path must be absolute, name a file and contain no newline")
	}
	if opts.Mode&^(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0 {
		return fmt.Errorf("mode %v has bits other than permissions", opts.Mode)
	}
	for _, name := range []string{opts.Owner, opts.Group, opts.As} {
		if name != "" && !validUser(name) {
			return fmt.Errorf("invalid owner, group or user %q", name)
		}
	}
	if opts.As != "" && opts.Owner+opts.Group != "" {
		return fmt.Errorf("a file written as %s gets its owner: Owner and Group must be empty", opts.As)
	}
	return nil
}

// write does what the WriteFile script does, as writer: root checks the
// directories on the way, parents are made, symbolic links and non-files
// are refused, the old file is kept as a backup (same entry: a hard link),
// the new one replaces it whole, the backup is narrowed to its mode.
func (h *Host) write(p string, data []byte, opts remote.WriteOptions, writer string) error {
	dir := path.Dir(p)
	if opts.As == "" {
		if err := h.rootPathCheck(p, dir); err != nil {
			return err
		}
	}
	if opts.MkdirParents {
		if err := h.makeParents(p, writer); err != nil {
			return err
		}
	}
	realDir, d := h.fs.resolve(dir, true)
	if d == nil || d.Kind != Directory {
		return fmt.Errorf("directory %s does not exist", dir)
	}
	if !h.fs.reachable(writer, realDir) || !h.fs.may(writer, d, write|execute) {
		return fmt.Errorf("cannot create a temporary file next to %s", p)
	}
	target := path.Join(realDir, path.Base(p))
	cur := h.fs.entries[target]
	switch {
	case cur != nil && cur.Kind == Symlink:
		return fmt.Errorf("%s is a symbolic link; refusing to replace it", p)
	case cur != nil && cur.Kind != Regular:
		return fmt.Errorf("%s exists and is not a regular file", p)
	case cur != nil && d.Mode&os.ModeSticky != 0 && writer != "root" && h.fs.id("/etc/passwd", cur.Owner) != h.fs.id("/etc/passwd", writer) &&
		h.fs.id("/etc/passwd", d.Owner) != h.fs.id("/etc/passwd", writer):
		return fmt.Errorf("cannot rename the temporary file over %s", p)
	}
	e := h.newFile(data, opts, writer, cur, d)
	if opts.Backup {
		h.backup(target, cur, e.Mode)
	}
	h.fs.entries[target] = e
	return nil
}

// newFile is the entry that replaces cur: mode as asked, else cur's, else
// 0644; owner as asked, else (as root) cur's, else the writer's (with a
// setgid directory's group).
func (h *Host) newFile(data []byte, opts remote.WriteOptions, writer string, cur, dir *Entry) *Entry {
	e := &Entry{Kind: Regular, Data: slices.Clone(data), Mode: opts.Mode, Owner: writer, Group: h.fs.primaryGroup(writer)}
	if dir.Mode&os.ModeSetgid != 0 {
		e.Group = dir.Group
	}
	if e.Mode == 0 && cur != nil {
		e.Mode = cur.Mode
	}
	if e.Mode == 0 {
		e.Mode = 0o644
	}
	if opts.As == "" {
		if cur != nil {
			e.Owner, e.Group = cur.Owner, cur.Group
		}
		if opts.Owner != "" {
			e.Owner = opts.Owner
		}
		if opts.Group != "" {
			e.Group = opts.Group
		}
	}
	return e
}

// backup keeps cur (the same entry) as PATH.carbonctl.orig unless a backup
// exists, then narrows the backup's permissions to mode.
func (h *Host) backup(target string, cur *Entry, mode os.FileMode) {
	bk := target + ".carbonctl.orig"
	if cur != nil && h.fs.entries[bk] == nil {
		h.fs.entries[bk] = cur
	}
	b := h.fs.entries[bk]
	if b == nil || b.Kind != Regular {
		return
	}
	special := os.ModeSetuid | os.ModeSetgid | os.ModeSticky
	narrowed := (b.Mode & mode) & (os.ModePerm | special)
	if narrowed != b.Mode {
		c := *b // a chmod of the backup's inode, which the old file no longer is
		c.Mode = narrowed
		h.fs.entries[bk] = &c
	}
}

// rootPathCheck refuses a root write below a directory someone other than
// root controls, as the WriteFile script's check_path does.
func (h *Host) rootPathCheck(p, dir string) error {
	linked, last, err := h.checkPath(p, dir)
	if err != nil || !linked {
		return err
	}
	real, e := h.fs.resolve(last, true)
	if e == nil {
		return fmt.Errorf("cannot resolve %s", last)
	}
	if linked, _, err = h.checkPath(p, real); err == nil && linked {
		err = fmt.Errorf("cannot resolve %s", last)
	}
	return err
}

// checkPath checks / and every existing component of dir (as ls -ldn sees
// it: links on the way followed, the component itself not) for
// rootPathCheck. It reports whether one is a symbolic link, and the
// deepest existing component.
func (h *Host) checkPath(p, dir string) (linked bool, last string, err error) {
	last, cur := "/", "/"
	for _, c := range append([]string{""}, strings.Split(strings.Trim(dir, "/"), "/")...) {
		cur = path.Join(cur, c)
		_, e := h.fs.resolve(cur, false)
		if e == nil {
			continue
		}
		last = cur
		if uid := h.fs.id("/etc/passwd", e.Owner); uid != 0 {
			return linked, last, fmt.Errorf("%s is owned by uid %d, not root: refusing to write %s as root below it", cur, uid, p)
		}
		perm := e.Mode.Perm()
		switch {
		case e.Kind == Symlink:
			linked = true
		case e.Kind != Directory:
			return linked, last, fmt.Errorf("%s is not a directory", cur)
		case e.Mode&os.ModeSticky != 0:
		case perm&0o002 != 0:
			return linked, last, fmt.Errorf("%s is writable by every user: refusing to write %s as root below it", cur, p)
		case perm&0o020 != 0 && h.fs.id("/etc/group", e.Group) != 0:
			return linked, last, fmt.Errorf("%s is writable by group %d: refusing to write %s as root below it", cur, h.fs.id("/etc/group", e.Group), p)
		}
	}
	return linked, last, nil
}

// makeParents creates the missing directories above p as writer, mode
// 0755, as mkdir would (in a directory writer may write to).
func (h *Host) makeParents(p, writer string) error {
	for _, d := range ancestors(p)[1:] {
		real, e := h.fs.resolve(d, true)
		if e != nil {
			if e.Kind != Directory {
				return fmt.Errorf("cannot create directory %s", d)
			}
			continue
		}
		parentReal, parent := h.fs.resolve(path.Dir(real), true)
		if parent == nil || parent.Kind != Directory || !h.fs.reachable(writer, parentReal) || !h.fs.may(writer, parent, write|execute) {
			return fmt.Errorf("cannot create directory %s", d)
		}
		group := h.fs.primaryGroup(writer)
		if parent.Mode&os.ModeSetgid != 0 {
			group = parent.Group
		}
		h.fs.entries[real] = &Entry{Kind: Directory, Mode: 0o755, Owner: writer, Group: group}
	}
	return nil
}

// Upload implements remote.Host: the local file src is written to dst as
// opts.As, mode 0600, with WriteFile's checks and effects, and recorded as a
// write; a dst that already holds the same bytes is left alone (Done), as
// the SSH implementation leaves a file whose sha256 matches.
func (h *Host) Upload(ctx context.Context, src, dst string, opts remote.UploadOptions) (remote.UploadStats, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return remote.UploadStats{}, fmt.Errorf("uploading %s to %s:%s: %w", path.Base(src), h.addr, dst, err)
	}
	st := remote.UploadStats{Size: int64(len(data))}
	h.mu.Lock()
	_, cur := h.fs.resolve(dst, false)
	same := cur != nil && cur.Kind == Regular && slices.Equal(cur.Data, data)
	h.mu.Unlock()
	if same {
		st.Done = true
		return st, nil
	}
	if err := h.WriteFile(ctx, dst, data, remote.WriteOptions{As: opts.As, Mode: 0o600}); err != nil {
		return st, fmt.Errorf("uploading %s to %s:%s: %w", path.Base(src), h.addr, dst, err)
	}
	st.Sent = st.Size
	return st, nil
}
