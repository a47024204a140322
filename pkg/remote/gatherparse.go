package remote

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// errChanged reports output that does not match what the script promised,
// which happens when files change while Gather reads them.
var errChanged = errors.New("files changed while being read (or unexpected ls/cat output); retry")

// parse decodes the output of p.script(). It also returns the paths the
// script's user could not see or read (type "x"); they are left out of Facts.
func (p *gatherPlan) parse(out []byte) (*Facts, []string, error) {
	r := &outputReader{buf: out}
	facts, denied, err := p.parseSection(r)
	if err != nil {
		return nil, nil, err
	}
	for _, user := range p.users {
		if line, err := r.line(); err != nil || line != gatherAsMarker+user {
			return nil, nil, fmt.Errorf("no %q line in the output", gatherAsMarker+user)
		}
		if bytes.HasPrefix(r.buf[r.off:], []byte(knownAll+"\n")) {
			r.off += len(knownAll) + 1
			if err := p.as[user].fromKnown(facts); err != nil {
				return nil, nil, err
			}
			continue
		}
		denied = append(denied, p.as[user].parseNested(r, facts)...)
	}
	if !r.done() {
		return nil, nil, fmt.Errorf("%d bytes of unexpected output at the end", len(r.buf)-r.off)
	}
	return facts, denied, nil
}

// fromKnown fills facts with the paths of a nested plan that the known
// section vouched for: all of them, or the output is wrong.
func (p *gatherPlan) fromKnown(facts *Facts) error {
	for _, name := range p.paths {
		f := facts.known[name]
		if f == nil {
			return errChanged
		}
		facts.Files[name] = f
	}
	return nil
}

// parseNested reads a nested plan's output, if its sudo ran, into facts
// and returns the paths it did not read: all of them when sudo refused.
func (p *gatherPlan) parseNested(r *outputReader, facts *Facts) []string {
	if !bytes.HasPrefix(r.buf[r.off:], []byte(gatherStart+"\n")) {
		return p.paths
	}
	more, denied, err := p.parseSection(r)
	if err != nil {
		r.off = len(r.buf)
		return p.paths
	}
	for name, f := range more.Files {
		facts.Files[name] = f
	}
	return denied
}

// parseSection decodes one plan's own output at r.
func (p *gatherPlan) parseSection(r *outputReader) (*Facts, []string, error) {
	if err := r.skipTo(gatherStart); err != nil {
		return nil, nil, err
	}
	facts := &Facts{Files: make(map[string]*File, len(p.paths)), Probes: make(map[string]ProbeResult, len(p.probes))}
	if len(p.known.Specs) > 0 {
		var err error
		if facts.known, err = parseKnown(r); err != nil {
			return nil, nil, err
		}
	}
	types, err := r.typeLine(len(p.paths))
	if err != nil {
		return nil, nil, err
	}
	var existing []*File
	var denied []string
	for i, name := range p.paths {
		switch types[i] {
		case 'x':
			denied = append(denied, name)
			continue
		case 'k':
			if facts.Files[name] = facts.known[name]; facts.Files[name] == nil {
				return nil, nil, errChanged
			}
			continue
		}
		f := &File{Path: name, Exists: types[i] != '-'}
		facts.Files[name] = f
		if f.Exists {
			existing = append(existing, f)
		}
	}
	if len(existing) > 0 {
		if err := parseListings(r, existing); err != nil {
			return nil, nil, err
		}
	}
	if err := p.parseContents(r, facts.Files); err != nil {
		return nil, nil, err
	}
	if err := p.parseProbes(r, facts.Probes); err != nil {
		return nil, nil, err
	}
	return facts, denied, nil
}

// parseListings reads the three ls sections: numeric ids, owner names,
// group names. The files are in ls order.
func parseListings(r *outputReader, files []*File) error {
	sizeTokens := make([]string, len(files))
	for section := 0; section < 3; section++ {
		for i, f := range files {
			fields, err := r.lsLine(f.Path)
			if err != nil {
				return err
			}
			switch section {
			case 0:
				sizeTokens[i], err = f.setNumeric(fields)
			case 1:
				f.Owner, err = nameBefore(fields, sizeTokens[i])
			case 2:
				f.Group, err = nameBefore(fields, sizeTokens[i])
			}
			if err != nil {
				return fmt.Errorf("ls output for %s: %w", f.Path, err)
			}
		}
		if line, err := r.line(); err != nil || line != "--" {
			return errChanged
		}
	}
	return nil
}

// setNumeric fills f from the fields of an `ls -ldLn` line and returns the
// size field, which locates the names in the other listings.
func (f *File) setNumeric(fields []string) (string, error) {
	if len(fields) < 5 {
		return "", errors.New("too few fields")
	}
	mode, isDir, regular, err := parseLsMode(fields[0])
	if err != nil {
		return "", err
	}
	uid, err1 := strconv.Atoi(fields[2])
	gid, err2 := strconv.Atoi(fields[3])
	if err := errors.Join(err1, err2); err != nil {
		return "", err
	}
	f.Mode, f.IsDir, f.UID, f.GID = mode, isDir, uid, gid
	if regular || isDir {
		if f.Size, err = strconv.ParseInt(fields[4], 10, 64); err != nil {
			return "", err
		}
	}
	return fields[4], nil
}

// nameBefore returns the owner or group name in the fields of an
// `ls -ldLo` or `ls -ldLg` line: everything between the link count and the
// size field (names may contain spaces).
func nameBefore(fields []string, size string) (string, error) {
	for k := 3; k < len(fields); k++ {
		if fields[k] == size {
			return strings.Join(fields[2:k], " "), nil
		}
	}
	return "", errors.New("cannot find the name")
}

// parseLsMode decodes an ls -l mode string such as "-rwsr-x---" or
// "drwxrwxrwt." into permission bits (with setuid, setgid and sticky).
func parseLsMode(s string) (mode os.FileMode, isDir, regular bool, err error) {
	if len(s) < 10 {
		return 0, false, false, fmt.Errorf("bad mode %q", s)
	}
	const perms = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		c := s[1+i]
		switch {
		case c == perms[i], c == 's' || c == 't':
			mode |= 1 << (8 - i)
		case c == '-', c == 'S', c == 'T':
		default:
			return 0, false, false, fmt.Errorf("bad mode %q", s)
		}
		if c == 's' || c == 'S' || c == 't' || c == 'T' {
			mode |= []os.FileMode{os.ModeSetuid, os.ModeSetgid, os.ModeSticky}[i/3]
		}
	}
	return mode, s[0] == 'd', s[0] == '-', nil
}

// parseContents reads the content section: which of p.contents were regular
// files, then their concatenated bytes, sized by the ls listing.
func (p *gatherPlan) parseContents(r *outputReader, files map[string]*File) error {
	types, err := r.typeLine(len(p.contents))
	if err != nil {
		return err
	}
	var read []*File
	var total int64
	for i, name := range p.contents {
		f := files[name]
		if types[i] != 'f' {
			continue
		}
		if f == nil {
			return errChanged
		}
		if !f.Exists || f.IsDir {
			return errChanged
		}
		read = append(read, f)
		total += f.Size
	}
	data, err := r.bytes(total)
	if err != nil {
		return errChanged
	}
	if line, err := r.line(); err != nil || line != "carbonctl-end" {
		return errChanged
	}
	for _, f := range read {
		f.Content, data = data[:f.Size:f.Size], data[f.Size:]
	}
	return nil
}

// parseProbes reads "EXITCODE LENGTH\n" and LENGTH bytes per probe.
func (p *gatherPlan) parseProbes(r *outputReader, results map[string]ProbeResult) error {
	for _, name := range p.probes {
		line, err := r.line()
		if err != nil {
			return fmt.Errorf("probe %q: %w", name, err)
		}
		var code int
		var n int64
		if _, err := fmt.Sscanf(line, "%d %d", &code, &n); err != nil {
			return fmt.Errorf("probe %q: bad header %q", name, line)
		}
		out, err := r.bytes(n)
		if err != nil {
			return fmt.Errorf("probe %q: %w", name, err)
		}
		results[name] = ProbeResult{Stdout: string(out), ExitCode: code}
	}
	return nil
}

// outputReader walks a command's output.
type outputReader struct {
	buf []byte
	off int
}

// line returns the next line without its newline.
func (r *outputReader) line() (string, error) {
	i := bytes.IndexByte(r.buf[r.off:], '\n')
	if i < 0 {
		return "", errors.New("output ended early")
	}
	line := string(r.buf[r.off : r.off+i])
	r.off += i + 1
	return line, nil
}

// skipTo moves past the first line that is exactly line.
func (r *outputReader) skipTo(line string) error {
	for {
		got, err := r.line()
		if err != nil {
			return fmt.Errorf("no %q line in the output", line)
		}
		if got == line {
			return nil
		}
	}
}

// bytes returns the next n bytes.
func (r *outputReader) bytes(n int64) ([]byte, error) {
	if n < 0 || n > int64(len(r.buf)-r.off) {
		return nil, errors.New("output ended early")
	}
	b := r.buf[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// typeLine reads a line of n type characters.
func (r *outputReader) typeLine(n int) (string, error) {
	line, err := r.line()
	if err != nil {
		return "", err
	}
	if len(line) != n {
		return "", fmt.Errorf("expected %d path types, got %q", n, clip(line, 100))
	}
	return line, nil
}

// lsLine reads an ls -l line about name and returns its fields before the
// name.
func (r *outputReader) lsLine(name string) ([]string, error) {
	line, err := r.line()
	if err != nil {
		return nil, err
	}
	rest, ok := strings.CutSuffix(line, " "+name)
	if !ok {
		return nil, errChanged
	}
	return strings.Fields(rest), nil
}

// done reports whether all output was consumed.
func (r *outputReader) done() bool { return r.off == len(r.buf) }
