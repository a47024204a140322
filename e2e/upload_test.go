package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The product step's upload on the lab's ESB inventory (see unpack in
// pkg/steps/product.go).
const (
	uploadDir  = home + ".carbonctl-upload"
	uploadPart = uploadDir + "/wso2esb-4.9.0.zip.tar.part"
)

// TestProductUploadResumes: the product step uploads the archive as a tar
// into HOME.carbonctl-upload (the product user's, 0700) with the product
// user's rights; a link put at that directory is refused before anything is
// written; an upload that a killed run left half done is continued by the
// next run, which keeps the blocks already on the host (up -v says how
// many bytes it sent and kept); the converged hosts keep no upload.
func TestProductUploadResumes(t *testing.T) {
	e := newEnv(t)

	t.Run("a link at the upload directory is refused, its target untouched", func(t *testing.T) {
		e.exec("n2", "sh", "-c", "mkdir -m 0700 "+victimDir+" && echo 'root-only-key' > "+victimFile+" && chmod 0600 "+victimFile+
			" && mkdir -p /opt && ln -s "+victimDir+" "+uploadDir)
		defer e.exec("n2", "rm", "-f", uploadDir)
		r := e.carbonctl("up", "--limit", "wrk1", e.inventory)
		want := uploadDir + " is not the directory carbonctl uploads into"
		if r.code == 0 || !strings.Contains(r.out, want) {
			t.Fatalf("up: exit %d, want a failure naming %q:\n%s", r.code, want, r.out)
		}
		t.Logf("refused: %s", lineWith(r.out, want))
		if out := e.exec("n2", "sh", "-c", "ls -A "+victimDir+"; cat "+victimFile+"; stat -c '%a %U:%G' "+victimDir+" "+victimFile); out != "authorized_keys\nroot-only-key\n700 root:root\n600 root:root\n" {
			t.Errorf("n2: the link's target changed:\n%s", out)
		}
	})

	var stopped string // the dd process of the upload to mgr1 that was stopped
	t.Run("a run killed during the upload leaves the product user's partial upload", func(t *testing.T) {
		// Each round trip to mgr1 costs 300 ms, so that the upload's dd
		// processes start well before their data arrives; the watcher
		// stops the first one (SIGSTOP) before it has written anything;
		// the other channels finish their share.
		e.setLatency(t, 300*time.Millisecond)
		defer e.setLatency(t, 0)
		found := make(chan string, 1)
		go func() {
			out, err := e.try("n1", "sh", "-c", `for i in $(seq 6000); do p=$(pgrep -u wso2 -o -x dd) && { kill -STOP "$p"; echo "$p"; exit 0; }; sleep 0.005; done; exit 1`)
			if err != nil {
				out = ""
			}
			found <- strings.TrimSpace(out)
		}()
		bg := e.background("STEP [product]", "up", e.inventory)
		var pid string
		select {
		case pid = <-found:
		case <-time.After(2 * time.Minute):
		}
		if pid == "" {
			bg.kill()
			t.Fatalf("no dd of the product user's upload appeared on mgr1's host:\n%s", bg.wait().out)
		}
		stopped = pid
		// Wait for the other channels to finish their share.
		deadline := time.Now().Add(time.Minute)
		for {
			out, _ := e.try("n1", "pgrep", "-u", "wso2", "-x", "dd")
			if strings.TrimSpace(out) == pid {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the other channels' dd never finished: %q", out)
			}
			time.Sleep(100 * time.Millisecond)
		}
		bg.kill() // like an operator's lost session
		out := bg.wait().out
		e.exec("n1", "kill", "-KILL", pid)
		t.Logf("killed the run during the upload to mgr1:\n%s", out)
		st := e.exec("n1", "stat", "-c", "%a %U:%G %F %s %b %B", uploadDir, uploadPart)
		lines := strings.Split(strings.TrimSpace(st), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "700 wso2:wso2 directory ") || !strings.HasPrefix(lines[1], "600 wso2:wso2 regular file ") {
			t.Fatalf("the partial upload is not the product user's own (dir 0700, file 0600):\n%s", st)
		}
		if out, err := e.try("n1", "test", "-e", home); err == nil {
			t.Errorf("%s exists after a run killed during its upload: %s", home, out)
		}
		t.Logf("left on mgr1: %s", strings.Join(lines, "; "))
	})
	if stopped == "" {
		t.FailNow()
	}

	t.Run("the next run sends only the rest and converges", func(t *testing.T) {
		r := e.carbonctl("up", "-v", e.inventory)
		if r.code != 0 {
			t.Fatalf("up: exit %d:\n%s", r.code, r.out)
		}
		m := regexp.MustCompile(`uploaded wso2esb-4\.9\.0\.zip\.tar to ` + regexp.QuoteMeta(e.lab.Hosts["n1"]) + `:` + regexp.QuoteMeta(uploadDir) + `/wso2esb-4\.9\.0\.zip\.tar: (\d+) bytes, (\d+) sent, (\d+) kept from an earlier upload`).FindStringSubmatch(r.out)
		if m == nil {
			t.Fatalf("no upload to mgr1 in the output:\n%s", r.out)
		}
		size, _ := strconv.Atoi(m[1])
		sent, _ := strconv.Atoi(m[2])
		kept, _ := strconv.Atoi(m[3])
		t.Logf("resumed: %s", m[0])
		if kept <= 0 || sent <= 0 || sent+kept != size {
			t.Errorf("the resumed upload sent %d and kept %d of %d bytes; want part kept and the rest sent", sent, kept, size)
		}
		for _, n := range labNodes {
			if out, err := e.try(n.host, "test", "-e", uploadDir); err == nil {
				t.Errorf("%s: %s is left after the product was unpacked: %s", n.name, uploadDir, out)
			}
			if out := e.exec(n.host, "stat", "-c", "%U:%G", home, home+"/.carbonctl-archive"); out != "wso2:wso2\nwso2:wso2\n" {
				t.Errorf("%s: CARBON_HOME and its marker are not the product user's:\n%s", n.name, out)
			}
		}
	})

	t.Run("then up changes nothing", func(t *testing.T) {
		if r := e.carbonctl("up", e.inventory); r.code != 0 || !strings.Contains(r.out, "\n0 changed, ok") {
			t.Fatalf("second up: exit %d:\n%s", r.code, r.out)
		}
	})
}

// TestProductInUsersHome: with CARBON_HOME in the product user's home (a
// parent directory that user can change), the product user makes the
// upload and new-home directories itself and the cluster converges; no
// upload is left, and a second up changes nothing.
func TestProductInUsersHome(t *testing.T) {
	e := newEnv(t)
	const userHome = "/home/wso2/wso2esb-4.9.0"
	inv := e.writeInventory("esb-user-home.toml", func(s string) string {
		return strings.Replace(s, `home = "`+home+`"`, `home = "`+userHome+`"`, 1)
	})
	r := e.carbonctl("up", "-v", inv)
	if r.code != 0 {
		t.Fatalf("up: exit %d:\n%s", r.code, r.out)
	}
	if n := strings.Count(r.out, "kept from an earlier upload"); n != len(labNodes) {
		t.Errorf("%d uploads, want %d:\n%s", n, len(labNodes), r.out)
	}
	for _, n := range labNodes {
		if out := e.exec(n.host, "stat", "-c", "%U:%G %a", "/home/wso2", userHome, userHome+"/.carbonctl-archive"); !strings.HasPrefix(out, "wso2:wso2 ") || strings.Count(out, "wso2:wso2") != 3 {
			t.Errorf("%s: the product user's home, CARBON_HOME and the marker:\n%s", n.name, out)
		}
		for _, p := range []string{userHome + ".carbonctl-upload", userHome + ".carbonctl-new"} {
			if out, err := e.try(n.host, "test", "-e", p); err == nil {
				t.Errorf("%s: %s is left: %s", n.name, p, out)
			}
		}
	}
	if r := e.carbonctl("up", inv); r.code != 0 || !strings.Contains(r.out, "\n0 changed, ok") {
		t.Fatalf("second up: exit %d:\n%s", r.code, r.out)
	}
}
