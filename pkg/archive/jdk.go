package archive

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/inventory"
)

// jdkArchive is a [java] archive on the control machine: a JDK tarball
// with one top-level directory holding bin/java and a release file.
type JDK struct {
	Path    string
	SHA256  string
	Top     string // the top-level directory: the name of the install below inventory.JDKInstallDir
	Version string // JAVA_VERSION of its release file, e.g. "1.8.0_392"
}

// jdkTopDir is a top-level directory name carbonctl accepts for a JDK.
var jdkTopDir = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)

// home is JAVA_HOME on the nodes once the archive is unpacked.
func (j *JDK) Home() string { return path.Join(inventory.JDKInstallDir, j.Top) }

// markerContent is what the java step leaves in JAVA_HOME/.carbonctl-archive.
func (j *JDK) MarkerContent() string {
	return fmt.Sprintf("sha256 %s\narchive %s\n", j.SHA256, path.Base(j.Path))
}

// openJDK inspects the JDK archive at p, reusing what an earlier run found
// while the file is unchanged (see factsCacheFile): reading a JDK tarball
// means decompressing about 200 MB.
func OpenJDK(p string) (*JDK, error) {
	cacheFile, err := factsCacheFile(p, "jdk")
	if err != nil {
		return nil, fmt.Errorf("JDK archive %s: %w", p, err)
	}
	if data, err := os.ReadFile(cacheFile); cacheFile != "" && err == nil {
		if f := strings.Fields(string(data)); len(f) == 3 && len(f[0]) == 64 {
			return &JDK{Path: p, SHA256: f[0], Top: f[1], Version: f[2]}, nil
		}
	}
	j, err := InspectJDK(p)
	if err != nil {
		return nil, fmt.Errorf("JDK archive %s: %w", p, err)
	}
	saveFacts(cacheFile, []byte(fmt.Sprintf("%s %s %s\n", j.SHA256, j.Top, j.Version)))
	return j, nil
}

// inspectJDK reads the whole archive once: its sha256, its single top-level
// directory, its release file's version, and that it has bin/java.
func InspectJDK(p string) (*JDK, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	in := io.TeeReader(f, h)
	gz, err := gzip.NewReader(in)
	if err != nil {
		return nil, fmt.Errorf("not a gzip-compressed tar: %w", err)
	}
	j := &JDK{Path: p}
	hasJava, err := j.scan(tar.NewReader(gz))
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(io.Discard, in); err != nil {
		return nil, err
	}
	j.SHA256 = hex.EncodeToString(h.Sum(nil))
	switch {
	case j.Top == "":
		return nil, errors.New("the archive is empty")
	case !hasJava:
		return nil, fmt.Errorf("no %s/bin/java: point [java] archive at a JDK tarball", j.Top)
	case j.Version == "":
		return nil, fmt.Errorf("no %s/release file with JAVA_VERSION: carbonctl reads the JDK's version from it (every JDK since 1.7 ships one)", j.Top)
	}
	return j, nil
}

// scan walks the tar entries, setting top and version; it reports whether
// bin/java is there.
func (j *JDK) scan(tr *tar.Reader) (hasJava bool, err error) {
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return hasJava, nil
		}
		if err != nil {
			return false, fmt.Errorf("not a readable tar.gz: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // pax metadata (git archive writes one), not a file
		}
		top, rel, err := jdkEntry(hdr)
		if err != nil {
			return false, err
		}
		if j.Top != "" && top != j.Top {
			return false, fmt.Errorf("entries below both %s/ and %s/: a JDK archive has one top-level directory", j.Top, top)
		}
		j.Top = top
		switch rel {
		case "bin/java":
			hasJava = hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeSymlink
		case "release":
			data, err := io.ReadAll(io.LimitReader(tr, 1<<16))
			if err != nil {
				return false, fmt.Errorf("read %s: %w", hdr.Name, err)
			}
			if j.Version, err = parseReleaseVersion(data); err != nil {
				return false, fmt.Errorf("%s: %w", hdr.Name, err)
			}
		}
	}
}

// jdkEntry checks one tar entry and splits its name into the top-level
// directory and the path below it.
func jdkEntry(hdr *tar.Header) (top, rel string, err error) {
	name := strings.TrimPrefix(hdr.Name, "./")
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
	default:
		return "", "", fmt.Errorf("entry %q is a device, FIFO or other special file: a JDK archive holds only files, directories and links", hdr.Name)
	}
	if path.IsAbs(name) || slices.Contains(strings.Split(name, "/"), "..") {
		return "", "", fmt.Errorf("entry %q leaves the archive's directory", hdr.Name)
	}
	top, rel, _ = strings.Cut(strings.TrimSuffix(name, "/"), "/")
	if !jdkTopDir.MatchString(top) || top == "." || top == ".." {
		return "", "", fmt.Errorf("entry %q: the top-level directory must be a plain name such as jdk8u392-b08", hdr.Name)
	}
	return top, rel, nil
}

// releaseVersion finds JAVA_VERSION in a JDK's release file.
var releaseVersion = regexp.MustCompile(`(?m)^JAVA_VERSION="([^"]+)"\s*$`)

// parseReleaseVersion returns JAVA_VERSION of a JDK's release file.
func parseReleaseVersion(release []byte) (string, error) {
	m := releaseVersion.FindSubmatch(release)
	if m == nil {
		return "", errors.New(`its release file has no JAVA_VERSION="..." line`)
	}
	return string(m[1]), nil
}
