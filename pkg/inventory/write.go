package inventory

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Replace replaces the inventory file at p with data, atomically (a
// temporary file renamed over it), after keeping the current version as
// p.bak. It refuses when the file no longer holds raw, the bytes read when
// the command began.
func Replace(p string, raw, data []byte) error {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	info, err := os.Stat(target)
	if err != nil {
		return err
	}
	now, err := os.ReadFile(target)
	if err != nil {
		return err
	}
	if !bytes.Equal(now, raw) {
		return fmt.Errorf("%s changed while carbonctl was working: nothing written; run the command again", p)
	}
	if err := writeAtomic(p+".bak", raw, info.Mode().Perm()); err != nil {
		return fmt.Errorf("keep the previous inventory: %w", err)
	}
	return writeAtomic(target, data, info.Mode().Perm())
}

// writeAtomic writes data to a temporary file next to p, syncs it and
// renames it over p.
func writeAtomic(p string, data []byte, mode fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
