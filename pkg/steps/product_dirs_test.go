package steps

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestProductDirsScript runs the product step's first command, as root, with
// nobody as the product user: in a parent only root can change, root makes
// both directories and gives them away; in a parent the product user can
// change, that user makes them itself (root chowns nothing there); a link at
// the upload directory is refused in both, its target untouched; an upload
// directory a killed run left is kept, its partial upload with it.
func TestProductDirsScript(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (the script is root's)")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("needs the user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	grp, err := user.LookupGroupId(nobody.Gid)
	if err != nil {
		t.Skip("needs nobody's group")
	}
	base := t.TempDir()
	// The test's own directories, made 0700 by the testing package.
	for _, p := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p := filepath.Dir(base); p != "/"; p = filepath.Dir(p) {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm()&0o001 == 0 {
			t.Skipf("nobody cannot reach %s", base)
		}
	}
	// chown, as the script finds it, logs its calls: which of the two
	// ways made the directories.
	realChown, err := exec.LookPath("chown")
	if err != nil {
		t.Skip("needs chown")
	}
	shims, chowns := filepath.Join(base, "bin"), filepath.Join(base, "chowns")
	if err := os.Mkdir(shims, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shims, "chown"), []byte("#!/bin/sh\necho \"$*\" >> "+chowns+"\nexec "+realChown+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(home string) (string, error) {
		os.Remove(chowns)
		cmd := exec.Command("sh", "-c", productDirsScript(home, "nobody", grp.Name))
		cmd.Env = append(os.Environ(), "PATH="+shims+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	owner := func(p string) int {
		t.Helper()
		info, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return int(info.Sys().(*syscall.Stat_t).Uid)
	}
	for _, parentOwner := range []string{"root", "nobody"} {
		t.Run("parent of "+parentOwner, func(t *testing.T) {
			parent := filepath.Join(base, parentOwner)
			if err := os.Mkdir(parent, 0o755); err != nil {
				t.Fatal(err)
			}
			if parentOwner == "nobody" {
				if err := os.Chown(parent, uid, -1); err != nil {
					t.Fatal(err)
				}
			}
			home := filepath.Join(parent, "wso2esb")
			tmp, up := home+".carbonctl-new", home+".carbonctl-upload"

			victim := filepath.Join(base, "victim-"+parentOwner)
			if err := os.Mkdir(victim, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, up); err != nil {
				t.Fatal(err)
			}
			if out, err := run(home); err == nil || !strings.Contains(out, up+" is not the directory carbonctl uploads into") {
				t.Errorf("a link at %s: %v, %s; want it refused", up, err, out)
			}
			if info, err := os.Stat(victim); err != nil || owner(victim) != 0 || info.Mode().Perm() != 0o700 {
				t.Errorf("the link's target changed: %v %v", info, err)
			}
			os.Remove(up)

			if out, err := run(home); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			logged, _ := os.ReadFile(chowns)
			if want := "-h nobody:" + grp.Name + " " + tmp + "\n-h nobody:" + grp.Name + " " + up + "\n"; parentOwner == "root" && string(logged) != want {
				t.Errorf("root chowned %q, want %q", logged, want)
			} else if parentOwner == "nobody" && len(logged) != 0 {
				t.Errorf("root chowned %q in a directory the product user can change", logged)
			}
			for p, mode := range map[string]os.FileMode{tmp: 0o755, up: 0o700} {
				info, err := os.Lstat(p)
				if err != nil || !info.IsDir() || info.Mode().Perm() != mode || owner(p) != uid {
					t.Errorf("%s: %v %v, want a directory %v of nobody's", p, info, err, mode)
				}
			}
			part := filepath.Join(up, "a.tar.part")
			if err := os.WriteFile(part, []byte("partial"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tmp, "half"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := run(home); err != nil {
				t.Fatalf("again: %v: %s", err, out)
			}
			if _, err := os.Stat(part); err != nil {
				t.Errorf("the partial upload is gone: %v", err)
			}
			if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
				t.Errorf("%s was not emptied: %v", tmp, entries)
			}
		})
	}
}
