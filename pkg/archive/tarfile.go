package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// tarFile is the product as a tar on the control machine, written once per
// run for uploads that can resume (remote.Host.Upload).
type tarFile struct {
	dir, path, sha256 string
	err               error
}

// TarFile returns the path and sha256 of the product as a tar (WriteTar's
// bytes, the same for the same zip, so that an upload killed in one run
// resumes in the next), written on first use into a private temporary
// directory that Close removes.
func (a *Product) TarFile() (path, sum string, err error) {
	a.tarOnce.Do(func() { a.tar = a.writeTarFile() })
	return a.tar.path, a.tar.sha256, a.tar.err
}

// writeTarFile writes the tar and hashes it as it goes.
func (a *Product) writeTarFile() tarFile {
	dir, err := os.MkdirTemp("", "carbonctl-product-")
	if err != nil {
		return tarFile{err: fmt.Errorf("product archive %s as a tar: %w", a.Path, err)}
	}
	t := tarFile{dir: dir, path: filepath.Join(dir, filepath.Base(a.Path)+".tar")}
	f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.err = fmt.Errorf("product archive %s as a tar: %w", a.Path, err)
		return t
	}
	h := sha256.New()
	err = a.WriteTar(io.MultiWriter(f, h))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.err = fmt.Errorf("product archive %s as a tar in %s: %w", a.Path, dir, err)
		return t
	}
	t.sha256 = hex.EncodeToString(h.Sum(nil))
	return t
}
