package steps

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/archive"
	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// javaProbeName names the gather probe that runs `java -version` on a host.
const javaProbeName = "java-version"

// Exit statuses of the java probe.
const (
	javaMissing = 127 // JAVA_HOME/bin/java is not an executable file
	javaUnsafe  = 125 // a directory on the way to it may be changed by someone other than root
)

// Java is the "java" step kind: the node's JDK, checked against the
// versions the playbook supports, unpacked from [java] archive when given.
// It has no fields.
type Java struct{}

// Check has nothing to check.
func (*Java) Check() error { return nil }

// Prefetch reads the JDK's marker or probes its version.
func (*Java) Prefetch(e *engine.Engine, _ playbook.Step, n *engine.Node, req *remote.GatherRequest) {
	prefetchJava(e, n, req)
}

// RunNode makes the node's JDK right.
func (*Java) RunNode(ctx context.Context, e *engine.Engine, _ playbook.Step, n *engine.Node, res *engine.Result) error {
	return ensureJava(ctx, e, n, res)
}

func prefetchJava(e *engine.Engine, n *engine.Node, req *remote.GatherRequest) {
	home := n.JavaHome()
	if home == "" {
		return // no [java]: the java step says so
	}
	if e.JDK == nil {
		req.Probes[javaProbeName] = javaProbe(home)
		return
	}
	// A JDK carbonctl unpacked from the checksummed archive is known by the
	// archive's release file: its marker and an executable bin/java prove
	// it is there, without starting a JVM on every run.
	req.Contents = append(req.Contents, path.Join(home, markerName))
	req.Stats = append(req.Stats, home, path.Join(home, "bin", "java"))
}

// javaProbe prints `java -version` of the JDK at home, after checking that
// only root can change it (carbonctl runs it, maybe as root): every
// directory from / to bin/java, symbolic links followed, must be owned by
// root and not writable by group or others. Otherwise it prints the
// offending `ls` lines and exits javaUnsafe; without an executable
// bin/java it exits javaMissing. Forks: ls, and java itself.
func javaProbe(home string) string {
	java := path.Join(home, "bin", "java")
	var chain []string
	for p := java; p != "/" && p != "."; p = path.Dir(p) {
		chain = append([]string{remote.Quote(p)}, chain...)
	}
	return fmt.Sprintf(`[ -x %s ] || exit %d
bad=$(ls -ldnL -- / %s 2>&1 | while read -r m l u rest; do
  case "$u:$m" in 0:?????w*|0:????????w*) echo "$m $u $rest" ;; 0:*) ;; *) echo "$m $u $rest" ;; esac
done)
[ -z "$bad" ] || { printf '%%s\n' "$bad"; exit %d; }
%s -version 2>&1`, remote.Quote(java), javaMissing, strings.Join(chain, " "), javaUnsafe, remote.Quote(java))
}

// probeVersion turns the java probe's result into the JDK's version, or an
// error that says what is wrong with JAVA_HOME.
func probeVersion(home string, p remote.ProbeResult) (string, error) {
	out := strings.TrimSpace(p.Stdout)
	switch p.ExitCode {
	case 0:
		return engine.ParseJavaVersion(out)
	case javaMissing:
		return "", fmt.Errorf("there is no JDK at %s (no executable %s/bin/java)", home, home)
	case javaUnsafe:
		return "", fmt.Errorf("the JDK at %s can be changed by users other than root, so carbonctl will not run it (ls -ldnL: %s): make every directory from / to bin/java owned by root and not group- or world-writable", home, strings.ReplaceAll(out, "\n", "; "))
	}
	return "", fmt.Errorf("%s/bin/java -version failed (exit %d): %s", home, p.ExitCode, remote.LastLines(out, 5))
}

// ensureJava makes sure the node's JDK is there and is one its playbook supports:
// with [java] archive, it unpacks the archive once per host, owned by root.
func ensureJava(ctx context.Context, e *engine.Engine, n *engine.Node, res *engine.Result) error {
	n.Host.JavaMu.Lock()
	defer n.Host.JavaMu.Unlock()
	if e.JDK != nil {
		installed, err := jdkInstalled(ctx, e, n)
		if err != nil {
			return err
		}
		if !installed {
			return installJDK(ctx, e, n, res)
		}
	}
	if n.JavaHome() == "" {
		return fmt.Errorf("%s: no JAVA_HOME: add a [java] table to the inventory", n.Name())
	}
	if e.JDK != nil {
		return checkInstalledJDK(ctx, e, n)
	}
	p, ok := n.Host.Probe(javaProbeName)
	if !ok {
		return fmt.Errorf("java: no java -version result for %s", n.Host.Addr)
	}
	version, err := probeVersion(n.JavaHome(), p)
	if err != nil {
		return javaError(e, n, err)
	}
	return checkJavaVersion(e, n, version, "java -version")
}

// checkInstalledJDK checks the archive's JDK that carbonctl unpacked on
// n's host (its marker matched): bin/java must still be an executable file,
// and the archive's version one the playbook supports.
func checkInstalledJDK(ctx context.Context, e *engine.Engine, n *engine.Node) error {
	java := path.Join(n.JavaHome(), "bin", "java")
	f, err := n.Host.Read(ctx, java)
	if err != nil {
		return err
	}
	if !f.Exists || f.IsDir || f.Mode&0o111 == 0 {
		return javaError(e, n, fmt.Errorf("%s is missing or not executable: move %s aside and run up again to unpack %s anew", java, n.JavaHome(), path.Base(e.JDK.Path)))
	}
	return checkJavaVersion(e, n, e.JDK.Version, "the release file of "+path.Base(e.JDK.Path))
}

// javaError says which node, host and inventory key a JDK problem is about.
func javaError(e *engine.Engine, n *engine.Node, err error) error {
	key := "[java] home"
	if e.JDK != nil {
		key = "[java] archive"
	}
	return fmt.Errorf("%s (%s), %s: %w", n.Name(), n.Host.Addr, key, err)
}

// checkJavaVersion fails unless version is one the playbook supports.
func checkJavaVersion(e *engine.Engine, n *engine.Node, version, source string) error {
	supported := e.PB.Java.Versions
	if engine.JavaSupported(supported, version) {
		return nil
	}
	return javaError(e, n, fmt.Errorf("%s at %s says Java %s, but playbook %s supports Java %s only: point [java] at a JDK %s",
		source, n.JavaHome(), version, e.PB.Name, strings.Join(supported, ", "), strings.Join(supported, " or ")))
}

// jdkInstalled reports whether the archive's JDK is unpacked on n's host,
// refusing a directory that carbonctl did not unpack from this archive.
func jdkInstalled(ctx context.Context, e *engine.Engine, n *engine.Node) (bool, error) {
	home := n.JavaHome()
	dir, err := n.Host.Read(ctx, home)
	if err != nil || !dir.Exists {
		return false, err
	}
	m, err := n.Host.Read(ctx, path.Join(home, markerName))
	if err != nil {
		return false, err
	}
	switch {
	case !m.Exists:
		return false, javaError(e, n, fmt.Errorf("%s exists but was not unpacked by carbonctl (no %s): move it aside, or set [java] home = %q to run that JDK", home, markerName, home))
	case string(m.Content) != e.JDK.MarkerContent():
		return false, javaError(e, n, fmt.Errorf("%s was unpacked from another archive (%s); carbonctl never overwrites a JDK: move %s aside to install %s",
			home, strings.ReplaceAll(strings.TrimSpace(string(m.Content)), "\n", ", "), home, path.Base(e.JDK.Path)))
	}
	return true, nil
}

// installJDK unpacks the archive into its JAVA_HOME as root and checks the
// version the unpacked java reports.
func installJDK(ctx context.Context, e *engine.Engine, n *engine.Node, res *engine.Result) error {
	home := n.JavaHome()
	// A plan predicts what java -version will say from the release file.
	out := fmt.Sprintf("java version %q\n", e.JDK.Version)
	if err := e.Change(res, fmt.Sprintf("unpack %s (sha256 %.12s, Java %s) into %s, owned by root", path.Base(e.JDK.Path), e.JDK.SHA256, e.JDK.Version, home), "", func() error {
		f, err := os.Open(e.JDK.Path)
		if err != nil {
			return fmt.Errorf("JDK archive %s: %w", e.JDK.Path, err)
		}
		defer f.Close()
		if out, err = engine.RunScriptOut(ctx, n.Host, "root", jdkInstallScript(e), f, "unpack the JDK into "+home); err != nil {
			return javaError(e, n, err)
		}
		return nil
	}); err != nil {
		return err
	}
	// The next node on this host finds the JDK installed.
	n.Host.Remember(home, nil)
	n.Host.Remember(path.Join(home, markerName), []byte(e.JDK.MarkerContent()))
	n.Host.RememberFile(&remote.File{Path: path.Join(home, "bin", "java"), Exists: true, Mode: 0o755})
	n.Host.SetProbe(javaProbeName, remote.ProbeResult{Stdout: out})
	version, err := engine.ParseJavaVersion(out)
	if err != nil {
		return javaError(e, n, fmt.Errorf("the JDK unpacked into %s: %w", home, err))
	}
	return checkJavaVersion(e, n, version, "java -version")
}

// jdkInstallScript unpacks the archive from stdin into a fresh directory
// next to JAVA_HOME, owned by root and readable by everyone, and renames it
// into place; then it prints `java -version`. It creates the directories
// of inventory.JDKInstallDir that are missing and refuses to work below a
// symbolic link or a directory someone other than root could change.
func jdkInstallScript(e *engine.Engine) string {
	home := e.JDK.Home()
	tmp := path.Join(inventory.JDKInstallDir, ".carbonctl-new-"+e.JDK.Top)
	var dirs []string
	for d := inventory.JDKInstallDir; d != "/"; d = path.Dir(d) {
		dirs = append([]string{remote.Quote(d)}, dirs...)
	}
	return fmt.Sprintf(`set -e
umask 022
for d in %s; do
  if [ -L "$d" ]; then echo "$d is a symbolic link: carbonctl installs JDKs only below real directories owned by root" >&2; exit 1; fi
  [ -e "$d" ] || mkdir -m 755 "$d"
  set -- $(ls -ldn "$d")
  if [ "$3" != 0 ]; then echo "$d is owned by uid $3, not root: carbonctl installs JDKs only below directories owned by root" >&2; exit 1; fi
  case "$1" in d????w*|d???????w*) echo "$d is writable by group or others ($1): carbonctl installs JDKs only below directories only root can change" >&2; exit 1 ;; d*) ;; *) echo "$d is not a directory" >&2; exit 1 ;; esac
done
if [ -e %[2]s ]; then echo "%[2]s appeared during the run: re-run carbonctl" >&2; exit 1; fi
rm -rf %[3]s
mkdir -m 700 %[3]s
tar -xzf - -C %[3]s --no-same-owner --no-same-permissions
chown -R -h 0:0 %[3]s/%[4]s
chmod -R a+rX,go-w %[3]s/%[4]s
printf '%%s' %[5]s > %[3]s/%[4]s/%[6]s
mv %[3]s/%[4]s %[2]s
rmdir %[3]s
%[2]s/bin/java -version 2>&1`, strings.Join(dirs, " "), remote.Quote(home), remote.Quote(tmp), remote.Quote(e.JDK.Top),
		remote.Quote(e.JDK.MarkerContent()), markerName)
}

// JavaSummary describes the inventory's JDK for `validate`.
func JavaSummary(inv *inventory.Inventory) string {
	if inv.Java.Archive == "" {
		return fmt.Sprintf("JAVA_HOME %s (its version is checked on the nodes by plan and up)", inv.Java.Home)
	}
	jdk, err := archive.OpenJDK(inv.Java.Archive)
	if err != nil {
		return "JDK " + path.Base(inv.Java.Archive)
	}
	return fmt.Sprintf("Java %s from %s (JAVA_HOME %s)", jdk.Version, path.Base(jdk.Path), jdk.Home())
}
