package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.toml")
	big := filepath.Join(dir, "big.toml")
	os.WriteFile(small, []byte("a = 1\n"), 0o600)
	os.WriteFile(big, make([]byte, 101), 0o600)
	tests := []struct{ name, path, want string }{
		{"regular file", small, ""},
		{"named pipe: refused without blocking", fifo, "not a regular file (a named pipe)"},
		{"endless device", "/dev/zero", "not a regular file (a character device)"},
		{"directory", dir, "not a regular file (a directory)"},
		{"too large", big, "101 bytes is more than the 100 bytes allowed"},
		{"missing", filepath.Join(dir, "nope"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := ReadRegular(tt.path, 100)
			if tt.want == "" {
				if err != nil || string(data) != "a = 1\n" {
					t.Fatalf("got %q, %v", data, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestLoadRefusesFIFO is `validate FIFO`: an error naming the file, at
// once, instead of a read that blocks (and swallows Ctrl-C) for good.
func TestLoadRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "inventory.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(fifo, testEnv)
	if err == nil || !strings.Contains(err.Error(), fifo+": cannot read the inventory: not a regular file (a named pipe)") {
		t.Fatalf("err = %v", err)
	}
}
