// Package archive reads the distributions carbonctl installs from the
// control machine: the product zip (Product) and a [java] JDK tarball (JDK),
// each checksummed.
package archive

import (
	"archive/tar"
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/carbonctl/carbonctl/pkg/inventory"
)

// Product is the product zip on the control machine.
type Product struct {
	Path   string
	SHA256 string
	zr     *zip.ReadCloser
	root   string // the single top-level directory stripped on unpack ("" if none)
	byPath map[string]*zip.File

	mu    sync.Mutex
	cache map[string][]byte

	tarOnce sync.Once
	tar     tarFile // TarFile's
}

// OpenProduct opens and hashes the product zip.
func OpenProduct(p string) (*Product, error) {
	sum, err := CachedSHA256(p)
	if err != nil {
		return nil, fmt.Errorf("product archive %s: %w", p, err)
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, fmt.Errorf("product archive %s: not a readable zip: %w", p, err)
	}
	a := &Product{Path: p, SHA256: sum, zr: zr, byPath: map[string]*zip.File{}, cache: map[string][]byte{}}
	a.root = commonRoot(zr.File)
	for _, f := range zr.File {
		a.byPath[a.rel(f.Name)] = f
	}
	return a, nil
}

// Close closes the zip and removes the tar TarFile wrote, if any.
func (a *Product) Close() {
	if a == nil {
		return
	}
	if a.zr != nil {
		a.zr.Close()
	}
	if a.tar.dir != "" {
		os.RemoveAll(a.tar.dir)
	}
}

// rel maps a zip entry name to a path relative to CARBON_HOME.
func (a *Product) rel(name string) string {
	name = strings.TrimPrefix(name, a.root)
	return strings.TrimSuffix(strings.TrimPrefix(name, "/"), "/")
}

// commonRoot returns "dir/" when every entry sits below one top-level directory.
func commonRoot(files []*zip.File) string {
	root := ""
	for _, f := range files {
		first, _, _ := strings.Cut(f.Name, "/")
		if !strings.Contains(f.Name, "/") {
			return ""
		}
		if root == "" {
			root = first
		} else if first != root {
			return ""
		}
	}
	if root == "" {
		return ""
	}
	return root + "/"
}

// read returns the content of a regular file at rel (relative to CARBON_HOME).
func (a *Product) Read(rel string) ([]byte, os.FileMode, bool, error) {
	f, ok := a.byPath[rel]
	if !ok || f.FileInfo().IsDir() {
		return nil, 0, false, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if data, ok := a.cache[rel]; ok {
		return data, f.Mode().Perm(), true, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, 0, false, fmt.Errorf("read %s from %s: %w", f.Name, a.Path, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, 0, false, fmt.Errorf("read %s from %s: %w", f.Name, a.Path, err)
	}
	a.cache[rel] = data
	return data, f.Mode().Perm(), true, nil
}

// writeTar streams the archive as a tar (top-level directory stripped) to w.
func (a *Product) WriteTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, f := range a.zr.File {
		rel := a.rel(f.Name)
		if rel == "" {
			continue
		}
		if err := addTarEntry(tw, f, rel); err != nil {
			return fmt.Errorf("%s: %s: %w", a.Path, f.Name, err)
		}
	}
	return tw.Close()
}

func addTarEntry(tw *tar.Writer, f *zip.File, rel string) error {
	mode := f.Mode()
	hdr := &tar.Header{Name: rel, Mode: int64(mode.Perm()), ModTime: f.Modified, Format: tar.FormatPAX}
	switch {
	case mode.IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
		if hdr.Mode == 0 {
			hdr.Mode = 0o755
		}
		return tw.WriteHeader(hdr)
	case mode&os.ModeSymlink != 0:
		target, err := readZipFile(f)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(target)
		return tw.WriteHeader(hdr)
	}
	if hdr.Mode == 0 {
		hdr.Mode = 0o644
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, int64(f.UncompressedSize64)
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(tw, rc)
	return err
}

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// cachedSHA256 returns the archive's sha256, reusing the sum computed by an
// earlier run while the file's path, size and modification time are the same
// (a product zip is hundreds of MB: hashing it would dominate a no-op run).
// The cache lives in the user's cache directory; any problem with it just
// means hashing again.
func CachedSHA256(p string) (string, error) {
	cacheFile, err := factsCacheFile(p, "sha256")
	if err != nil {
		return "", err
	}
	if data, err := os.ReadFile(cacheFile); cacheFile != "" && err == nil && len(data) == 64 {
		return string(data), nil
	}
	sum, err := inventory.FileSHA256(p)
	if err == nil {
		saveFacts(cacheFile, []byte(sum))
	}
	return sum, err
}

// factsCacheFile returns where facts of kind about the file at p are cached
// while its path, size and modification time stay the same; "" when the user
// has no cache directory. The error is for a file that cannot be found.
func factsCacheFile(p, kind string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", nil
	}
	key := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d", abs, st.Size(), st.ModTime().UnixNano())))
	return filepath.Join(dir, "carbonctl", kind+"-"+hex.EncodeToString(key[:16])), nil
}

// saveFacts writes a cache file, ignoring failures (the facts are computed
// again next time).
func saveFacts(cacheFile string, data []byte) {
	if cacheFile != "" && os.MkdirAll(filepath.Dir(cacheFile), 0o700) == nil {
		_ = os.WriteFile(cacheFile, data, 0o600)
	}
}

// markerContent is what the product step leaves in CARBON_HOME/.carbonctl-archive.
func (a *Product) MarkerContent() string {
	return fmt.Sprintf("sha256 %s\narchive %s\n", a.SHA256, path.Base(a.Path))
}

// HasDir reports whether the archive holds directory rel (relative to CARBON_HOME).
func (a *Product) HasDir(rel string) bool {
	for p := range a.byPath {
		if p == rel || strings.HasPrefix(p, rel+"/") {
			return true
		}
	}
	return false
}
