package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// secretFiles are the ESB playbook's files that carry a password.
var secretFiles = []string{
	home + "/repository/conf/carbon.xml",
	home + "/repository/conf/datasources/master-datasources.xml",
	home + "/repository/conf/registry.xml",
	home + "/repository/conf/user-mgt.xml",
}

// victimDir is a root-owned directory the attacks point the product
// user's paths at; victimFile is root's file in it.
const (
	victimDir  = "/etc/carbonctl-e2e-victim"
	victimFile = victimDir + "/authorized_keys"
)

// TestPrivilegeBoundaries logs in as root (the other e2e tests log in as
// the sudo user ops) with the rsync deployment sync, then mounts the
// product user's attacks on root's writes on the converged cluster.
func TestPrivilegeBoundaries(t *testing.T) {
	e := newEnv(t)
	inv := e.writeInventory("root-login.toml", func(s string) string {
		s = strings.Replace(s, "[ssh]\nuser = \"ops\"", "[ssh]\nuser = \"root\"", 1)
		return withDepSync("[depsync]\nmethod = \"rsync\"\n")(s)
	})

	t.Run("a root login converges the ESB cluster with the rsync sync", func(t *testing.T) {
		r := e.carbonctl("up", inv)
		if r.code != 0 || !regexp.MustCompile(`first sync from mgr1: repository/deployment/server: ok`).MatchString(r.out) {
			t.Fatalf("up as root: exit %d:\n%s", r.code, r.out)
		}
		e.assertSyncSetup(t)
	})

	t.Run("files that carry a secret and their backups are 0600, the product user's", func(t *testing.T) {
		for _, n := range labNodes {
			var paths []string
			for _, f := range secretFiles {
				paths = append(paths, f, f+".carbonctl.orig")
			}
			out := e.exec(n.host, append([]string{"stat", "-c", "%a %U %n"}, paths...)...)
			for _, p := range paths {
				if !strings.Contains(out, "600 wso2 "+p+"\n") {
					t.Errorf("%s: %s is not 600 wso2:\n%s", n.name, p, out)
				}
			}
		}
	})

	t.Run("second up as root changes nothing", func(t *testing.T) {
		if r := e.carbonctl("up", inv); r.code != 0 || !strings.Contains(r.out, "\n0 changed, ok") {
			t.Fatalf("second up: exit %d:\n%s", r.code, r.out)
		}
	})

	for _, h := range []string{"n1", "n2"} {
		e.exec(h, "sh", "-c", "mkdir -m 0700 "+victimDir+" && echo 'root-only-key' > "+victimFile+" && chmod 0600 "+victimFile)
	}
	victim := func(t *testing.T, host string) {
		t.Helper()
		if out := e.exec(host, "sh", "-c", "ls -A "+victimDir+"; cat "+victimFile+"; stat -c '%a %U' "+victimFile); out != "authorized_keys\nroot-only-key\n600 root\n" {
			t.Errorf("%s: root's directory changed:\n%s", host, out)
		}
	}

	t.Run("~wso2/.ssh linked to a root directory: root's authorized_keys untouched", func(t *testing.T) {
		e.exec("n2", "sh", "-c", "mv /home/wso2/.ssh /home/wso2/.ssh.saved && ln -s "+victimDir+" /home/wso2/.ssh && chown -h wso2:wso2 /home/wso2/.ssh")
		defer e.exec("n2", "sh", "-c", "rm /home/wso2/.ssh && mv /home/wso2/.ssh.saved /home/wso2/.ssh")
		r := e.carbonctl("up", inv)
		// Refused as early as the batch read: nothing below the product
		// user's home is read through its link (as root or at all).
		want := "gathering facts on " + e.lab.Hosts["n2"] + ": wso2 cannot read " + authKeys
		if r.code == 0 || !strings.Contains(r.out, want) || strings.Contains(r.out, "root-only-key") {
			t.Errorf("up: exit %d, want a failure naming %q:\n%s", r.code, want, r.out)
		}
		t.Logf("refused: %s", lineWith(r.out, want))
		victim(t, "n2")
	})

	t.Run(".carbonctl/depsync linked to a root directory: nothing is created there", func(t *testing.T) {
		e.exec("n1", "sh", "-c", "mv "+syncDir+" "+syncDir+".saved && ln -s "+victimDir+" "+syncDir+" && chown -h wso2:wso2 "+syncDir)
		defer e.exec("n1", "sh", "-c", "rm "+syncDir+" && mv "+syncDir+".saved "+syncDir)
		r := e.carbonctl("up", inv)
		want := "gathering facts on " + e.lab.Hosts["n1"] + ": wso2 cannot read"
		if r.code == 0 || !strings.Contains(lineWith(r.out, want), syncDir+"/") {
			t.Errorf("up: exit %d, want a failure on n1 naming %s:\n%s", r.code, syncDir, r.out)
		}
		t.Logf("refused: %s", lineWith(r.out, want))
		victim(t, "n1")
	})

	t.Run("the receiver refuses root and munges links", func(t *testing.T) {
		out, err := e.try("n2", "env", "SSH_ORIGINAL_COMMAND=rsync --server -ltre.iLsfxCIvu --delete . "+deployDir+"/", receiver, deployDir)
		if err == nil || !strings.Contains(out, "refused: runs as root") {
			t.Errorf("receiver as root: %v\n%s", err, out)
		}
		out, err = e.try("n2", "runuser", "-u", "wso2", "--", "env", "SSH_ORIGINAL_COMMAND=rsync --server -logDtpre.iLsfxCIvu --delete . "+deployDir+"/", receiver, deployDir)
		if err == nil || !strings.Contains(out, "refused: option -logDtpre") {
			t.Errorf("receiver with -o -g -p -D: %v\n%s", err, out)
		}
		link := deployDir + "/carbonapps/e2e-link"
		e.asWso2("n1", "ln -s /etc/shadow "+link)
		defer e.asWso2("n1", "rm -f "+link)
		e.awayFromMinuteStart(t)
		if r := e.carbonctl("sync", inv); r.code != 0 {
			t.Fatalf("sync: exit %d:\n%s", r.code, r.out)
		}
		for _, h := range []string{"n2", "n3"} {
			if got := e.exec(h, "readlink", link); !strings.HasPrefix(got, "/rsyncd-munged/") {
				t.Errorf("%s: the synced link points to %q, want it munged", h, got)
			}
		}
	})

	t.Run("with the attacks removed, up converges again", func(t *testing.T) {
		if r := e.carbonctl("up", inv); r.code != 0 {
			t.Fatalf("up: exit %d:\n%s", r.code, r.out)
		}
		e.assertSyncSetup(t)
	})
}

// lineWith returns the first line of out that contains s, or "".
func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
