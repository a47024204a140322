package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carbonctl/carbonctl/fixtures/product"
)

// jdkHome is where the java step unpacks the JDK stand-in on the nodes.
const jdkHome = "/opt/carbonctl/jdk/" + product.JDKTop

// TestJava proves the [java] table on the lab, in one lab:
//   - validate refuses an inventory without [java] and a JDK archive of an
//     unsupported version, without connecting anywhere;
//   - a fresh converge with [java] archive unpacks the JDK stand-in once per
//     host (root-owned) and starts every node with JAVA_HOME; a node whose
//     JDK vanished before its start fails with wso2server.sh's own message
//     in carbonctl's output; the re-run reinstalls it and converges; the
//     next run changes nothing;
//   - [java] home (logged in as root) switches the nodes to a JDK already
//     on the hosts, restarting them; plan names the node, host and key of
//     a JDK that is missing or unsupported (the machine's real OpenJDK 17).
func TestJava(t *testing.T) {
	e := newEnv(t)

	t.Run("validate", func(t *testing.T) {
		noJava := e.writeInventory("nojava.toml", func(s string) string {
			return regexp.MustCompile(`(?s)\[java\]\narchive = "[^"]*"\n`).ReplaceAllString(s, "")
		})
		r := e.carbonctl("validate", noJava)
		if r.code != 2 || !strings.Contains(r.out, "java: missing: the products' start script refuses to start without JAVA_HOME") {
			t.Fatalf("validate without [java]: exit %d\n%s", r.code, r.out)
		}
		jdk17 := writeJDKArchive(t, filepath.Join(e.dir, "jdk-17.tar.gz"), "jdk-17.0.15", "17.0.15")
		bad := e.writeInventory("jdk17.toml", func(s string) string {
			return strings.Replace(s, filepath.Join(e.dist, product.JDKArchive), jdk17, 1)
		})
		r = e.carbonctl("validate", bad)
		if r.code != 2 || !strings.Contains(r.out, "java.archive: jdk-17.tar.gz holds Java 17.0.15 (JAVA_VERSION in its release file), but playbook esb-worker-manager supports Java 1.7, 1.8 only") {
			t.Fatalf("validate with a JDK 17 archive: exit %d\n%s", r.code, r.out)
		}
		r = e.carbonctl("validate", e.inventory)
		if r.code != 0 || !strings.Contains(r.out, "Java 1.8.0_392 from "+product.JDKArchive+" (JAVA_HOME "+jdkHome+")") {
			t.Fatalf("validate: exit %d\n%s", r.code, r.out)
		}
	})

	t.Run("archive", func(t *testing.T) {
		// The JDK of wrk2's host vanishes after the batch read and the
		// java step, before the start step: its start script must say so.
		bg := e.background("STEP [jdbc-driver]", "up", "--verbose", "--join-timeout", "5s", e.inventory)
		<-bg.seen
		e.exec("n3", "mv", jdkHome, jdkHome+".moved")
		r := bg.wait()
		t.Logf("fresh converge:\n%s", r.out)
		if r.code == 0 {
			t.Fatalf("up succeeded although wrk2 has no JDK")
		}
		for _, want := range []string{
			"unpack " + product.JDKArchive + " (sha256 ",
			"Java 1.8.0_392) into " + jdkHome + ", owned by root",
			"wrk2 stopped during start-up",
			"bin/wso2server.sh printed (last lines of /opt/wso2esb-4.9.0/repository/logs/carbonctl-start.out):\n",
			"    Error: JAVA_HOME is not defined correctly.\n     CARBON cannot execute " + jdkHome + "/bin/java\n",
			"failed: [mgr1] started in", // but it cannot see wrk2
			"failed: [wrk1] started in",
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if m := regexp.MustCompile(`\(java took ([^)]+)\)`).FindStringSubmatch(r.out); m != nil {
			t.Logf("FIGURE: the java step took %s on a fresh converge (3 hosts, JDK stand-in archive)", m[1])
		}

		r = e.carbonctl("up", e.inventory)
		if r.code != 0 || !regexp.MustCompile(`changed: \[wrk2\][^\n]*\n    - unpack `+regexp.QuoteMeta(product.JDKArchive)).MatchString(r.out) {
			t.Fatalf("re-run: exit %d, want wrk2's JDK unpacked again\n%s", r.code, r.out)
		}
		r = e.carbonctl("up", e.inventory)
		if r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
			t.Fatalf("second run: exit %d, want 0 changed\n%s", r.code, r.out)
		}
		for _, n := range labNodes {
			if got := e.exec(n.host, "stat", "-c", "%U:%G %a", jdkHome, jdkHome+"/bin/java", jdkHome+"/release"); got != "root:root 755\nroot:root 755\nroot:root 644\n" {
				t.Errorf("%s: JDK owners and modes:\n%s", n.name, got)
			}
			if got := e.exec(n.host, "cat", jdkHome+"/.carbonctl-archive"); !strings.Contains(got, "archive "+product.JDKArchive+"\n") {
				t.Errorf("%s: marker %q", n.name, got)
			}
			e.checkJavaHome(n.host, jdkHome)
		}
	})

	t.Run("home", func(t *testing.T) {
		const standIn = "/usr/lib/jvm/jdk8-standin"
		for _, n := range labNodes {
			e.execIn(n.host, filepath.Join(e.dist, product.JDKArchive), "sh", "-c", "mkdir -p "+standIn+" && tar -xzf - -C "+standIn+" --strip-components=1 --no-same-owner")
		}
		asRoot := func(home string) func(string) string {
			return func(s string) string {
				s = strings.Replace(s, "user = \"ops\"", "user = \"root\"", 1)
				return strings.Replace(s, "archive = \""+filepath.Join(e.dist, product.JDKArchive)+"\"", "home = \""+home+"\"", 1)
			}
		}
		for _, c := range []struct{ home, want string }{
			{"/usr/lib/jvm/none", "mgr1 (" + e.lab.Hosts["n1"] + "), [java] home: there is no JDK at /usr/lib/jvm/none (no executable /usr/lib/jvm/none/bin/java)"},
			{"/usr/lib/jvm/default-java", "but playbook esb-worker-manager supports Java 1.7, 1.8 only: point [java] at a JDK 1.7 or 1.8"},
		} {
			r := e.carbonctl("plan", e.writeInventory("home-bad.toml", asRoot(c.home)))
			if r.code == 0 || !strings.Contains(r.out, c.want) {
				t.Errorf("plan with home %s: exit %d, want %q\n%s", c.home, r.code, c.want, r.out)
			}
		}
		inv := e.writeInventory("home.toml", asRoot(standIn))
		r := e.carbonctl("up", inv)
		if r.code != 0 || strings.Count(r.out, "(configuration changed; rolling") != 3 {
			t.Fatalf("up with [java] home: exit %d, want the 3 nodes restarted\n%s", r.code, r.out)
		}
		r = e.carbonctl("up", inv)
		if r.code != 0 || !strings.Contains(r.out, "\n0 changed") {
			t.Fatalf("second run with [java] home: exit %d\n%s", r.code, r.out)
		}
		for _, n := range labNodes {
			e.checkJavaHome(n.host, standIn)
		}
	})
}

// checkJavaHome asserts that the product server on host runs with JAVA_HOME
// set to want, and that its start script's output went to the bounded file
// beside its log, owned by the product user.
func (e *env) checkJavaHome(host, want string) {
	e.t.Helper()
	pid := strings.TrimSpace(strings.TrimRight(e.exec(host, "cat", home+"/wso2carbon.pid"), "\x00"))
	env := e.exec(host, "sh", "-c", "tr '\\000' '\\n' < /proc/"+pid+"/environ")
	if !strings.Contains(env, "\nJAVA_HOME="+want+"\n") && !strings.HasPrefix(env, "JAVA_HOME="+want+"\n") {
		e.t.Errorf("%s: the server (pid %s) runs without JAVA_HOME=%s", host, pid, want)
	}
	if got := e.exec(host, "stat", "-c", "%U", home+"/repository/logs/carbonctl-start.out"); got != "wso2\n" {
		e.t.Errorf("%s: start output owned by %q", host, got)
	}
}

// writeJDKArchive writes a minimal JDK tarball (top/bin/java and
// top/release with JAVA_VERSION=version) at p and returns p.
func writeJDKArchive(t *testing.T, p, top, version string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, data := range map[string]string{top + "/bin/java": "#!/bin/sh\n", top + "/release": "JAVA_VERSION=\"" + version + "\"\n"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), ModTime: time.Unix(0, 0)})
		tw.Write([]byte(data))
	}
	tw.Close()
	gz.Close()
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// execIn runs cmd inside a lab host with the file at stdinFile as its input.
func (e *env) execIn(host, stdinFile string, cmd ...string) {
	e.t.Helper()
	data, err := os.ReadFile(stdinFile)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := e.lab.Exec(ctx, host, data, cmd...); err != nil {
		e.t.Fatalf("%s: %v: %v\n%s", host, cmd, err, out)
	}
}
