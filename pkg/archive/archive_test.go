package archive

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/carbonctl/carbonctl/pkg/inventory"
)

func TestCachedSHA256(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	p := filepath.Join(t.TempDir(), "a.zip")
	os.WriteFile(p, []byte("one"), 0o644)
	first, err := CachedSHA256(p)
	if err != nil || first != "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed" {
		t.Fatalf("sha256 = %s, %v", first, err)
	}
	// Same size and mtime: the cached sum is used (documented trade-off, like make).
	again, _ := CachedSHA256(p)
	if again != first {
		t.Fatalf("cache miss: %s", again)
	}
	// New content with a new mtime: hashed again.
	os.WriteFile(p, []byte("two!"), 0o644)
	os.Chtimes(p, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	changed, _ := CachedSHA256(p)
	if changed == first {
		t.Fatalf("changed file not re-hashed: %s", changed)
	}
	if want, _ := inventory.FileSHA256(p); changed != want {
		t.Fatalf("got %s, want %s", changed, want)
	}
}
