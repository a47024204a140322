package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeZip makes a product zip with one top-level directory.
func writeZip(t *testing.T, files map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wso2esb-4.9.0.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, content := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "wso2esb-4.9.0/" + name, Method: zip.Deflate, Modified: time.Date(2015, 6, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// TestTarFile: the tar an upload sends holds the product without its
// top-level directory, has the sha256 TarFile says, is the same bytes in
// the next run (so that a killed upload resumes) and is gone after Close.
func TestTarFile(t *testing.T) {
	p := writeZip(t, map[string]string{"bin/wso2server.sh": "#!/bin/sh\n", "repository/conf/carbon.xml": "<Server/>\n"})
	tarOf := func() (string, string, []byte) {
		t.Helper()
		a, err := OpenProduct(p)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		path, sum, err := a.TarFile()
		if err != nil {
			t.Fatal(err)
		}
		again, _, _ := a.TarFile()
		if again != path {
			t.Errorf("TarFile wrote a second tar: %s, then %s", path, again)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return path, sum, data
	}
	path, sum, data := tarOf()
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
		t.Errorf("sha256 %s, but the file's is %x", sum, got)
	}
	if info, err := os.Stat(filepath.Dir(path)); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the tar's directory outlived Close: %v", info)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	names := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
	if !names["bin/wso2server.sh"] || !names["repository/conf/carbon.xml"] {
		t.Errorf("tar entries %v, want the product's files relative to CARBON_HOME", names)
	}
	if _, sum2, data2 := tarOf(); sum2 != sum || string(data2) != string(data) {
		t.Errorf("a second run's tar differs (sha256 %s, then %s): a killed upload could not resume", sum, sum2)
	}
}
