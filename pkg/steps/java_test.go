package steps

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/archive"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Real `java -version` outputs (stderr), by vendor and release.
func TestParseJavaVersion(t *testing.T) {
	tests := []struct {
		name, out, version, feature string
	}{
		{"OpenJDK 7 (Debian IcedTea)", "java version \"1.7.0_221\"\nOpenJDK Runtime Environment (IcedTea 2.6.18) (7u221-2.6.18-1~deb8u1)\nOpenJDK 64-Bit Server VM (build 24.221-b02, mixed mode)\n", "1.7.0_221", "1.7"},
		{"OpenJDK 8 (Debian)", "openjdk version \"1.8.0_392\"\nOpenJDK Runtime Environment (build 1.8.0_392-8u392-ga-1~deb10u1-b08)\nOpenJDK 64-Bit Server VM (build 25.392-b08, mixed mode)\n", "1.8.0_392", "1.8"},
		{"Temurin 8", "openjdk version \"1.8.0_392\"\nOpenJDK Runtime Environment (Temurin)(build 1.8.0_392-b08)\nOpenJDK 64-Bit Server VM (Temurin)(build 25.392-b08, mixed mode)\n", "1.8.0_392", "1.8"},
		{"Oracle JDK 7", "java version \"1.7.0_80\"\nJava(TM) SE Runtime Environment (build 1.7.0_80-b15)\nJava HotSpot(TM) 64-Bit Server VM (build 24.80-b11, mixed mode)\n", "1.7.0_80", "1.7"},
		{"Oracle JDK 8", "java version \"1.8.0_202\"\nJava(TM) SE Runtime Environment (build 1.8.0_202-b08)\nJava HotSpot(TM) 64-Bit Server VM (build 25.202-b08, mixed mode)\n", "1.8.0_202", "1.8"},
		{"OpenJDK 11 (Debian)", "openjdk version \"11.0.21\" 2023-10-17\nOpenJDK Runtime Environment (build 11.0.21+9-post-Debian-1deb11u1)\nOpenJDK 64-Bit Server VM (build 11.0.21+9-post-Debian-1deb11u1, mixed mode, sharing)\n", "11.0.21", "11"},
		{"OpenJDK 17 (Debian 12)", "openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)\nOpenJDK 64-Bit Server VM (build 17.0.15+6-Debian-1deb12u1, mixed mode, sharing)\n", "17.0.15", "17"},
		{"Oracle JDK 17", "java version \"17.0.9\" 2023-10-17 LTS\nJava(TM) SE Runtime Environment (build 17.0.9+11-LTS-201)\nJava HotSpot(TM) 64-Bit Server VM (build 17.0.9+11-LTS-201, mixed mode, sharing)\n", "17.0.9", "17"},
		{"Temurin 25", "openjdk version \"25.0.3\" 2026-04-21 LTS\nOpenJDK Runtime Environment Temurin-25.0.3+9 (build 25.0.3+9-LTS)\nOpenJDK 64-Bit Server VM Temurin-25.0.3+9 (build 25.0.3+9-LTS, mixed mode, sharing)\n", "25.0.3", "25"},
		{"JDK 9 GA", "java version \"9\"\nJava(TM) SE Runtime Environment (build 9+181)\nJava HotSpot(TM) 64-Bit Server VM (build 9+181, mixed mode)\n", "9", "9"},
		{"early access", "openjdk version \"22-ea\" 2024-03-19\nOpenJDK Runtime Environment (build 22-ea+27-2262)\n", "22-ea", "22"},
		{"after _JAVA_OPTIONS", "Picked up _JAVA_OPTIONS: -Xmx512m\nopenjdk version \"1.8.0_392\"\nOpenJDK Runtime Environment (build 1.8.0_392-b08)\n", "1.8.0_392", "1.8"},
		{"not java", "sh: 1: /usr/lib/jvm/x/bin/java: Exec format error\n", "", ""},
		{"version on a later line only in text", "Error: could not find libjava.so\nError: Could not find Java SE Runtime Environment. (java version \"1.8\")\n", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := engine.ParseJavaVersion(tt.out)
			if tt.version == "" {
				if err == nil {
					t.Fatalf("parsed %q, want an error", v)
				}
				return
			}
			if err != nil || v != tt.version {
				t.Fatalf("parseJavaVersion = %q, %v; want %q", v, err, tt.version)
			}
			if f := engine.JavaFeature(v); f != tt.feature {
				t.Errorf("javaFeature(%q) = %q, want %q", v, f, tt.feature)
			}
		})
	}
}

func TestJavaSupported(t *testing.T) {
	carbon44 := []string{"1.7", "1.8"}
	tests := []struct {
		versions []string
		version  string
		want     bool
	}{
		{carbon44, "1.8.0_392", true},
		{carbon44, "1.7.0_80", true},
		{carbon44, "1.6.0_45", false},
		{carbon44, "11.0.21", false},
		{carbon44, "17.0.15", false},
		{carbon44, "1.80", false}, // not 1.8
		{[]string{"1.8"}, "1.7.0_80", false},
		{[]string{"1.8", "11"}, "11.0.2", true},
		{[]string{"11"}, "1.1", false},
	}
	for _, tt := range tests {
		if got := engine.JavaSupported(tt.versions, tt.version); got != tt.want {
			t.Errorf("javaSupported(%v, %q) = %v, want %v", tt.versions, tt.version, got, tt.want)
		}
	}
}

// TestProbeVersion covers the java probe's outcomes as the step reads them.
func TestProbeVersion(t *testing.T) {
	const home = "/usr/lib/jvm/jdk"
	tests := []struct {
		name    string
		probe   remote.ProbeResult
		version string
		errs    []string
	}{
		{"a JDK", remote.ProbeResult{Stdout: "openjdk version \"1.8.0_392\"\n"}, "1.8.0_392", nil},
		{"missing", remote.ProbeResult{ExitCode: javaMissing}, "", []string{"there is no JDK at /usr/lib/jvm/jdk (no executable /usr/lib/jvm/jdk/bin/java)"}},
		{"unsafe", remote.ProbeResult{ExitCode: javaUnsafe, Stdout: "drwxrwxr-x 1001 2 1001 4096 Dec 4 10:00 /usr/lib/jvm/jdk\n"},
			"", []string{"can be changed by users other than root", "drwxrwxr-x 1001"}},
		{"cannot run", remote.ProbeResult{ExitCode: 126, Stdout: "/usr/lib/jvm/jdk/bin/java: cannot execute binary file: Exec format error\n"},
			"", []string{"-version failed (exit 126)", "Exec format error"}},
		{"no version line", remote.ProbeResult{Stdout: "hello\n"}, "", []string{"printed no version line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := probeVersion(home, tt.probe)
			if v != tt.version {
				t.Errorf("version %q, want %q", v, tt.version)
			}
			for _, want := range tt.errs {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want it to contain %q", err, want)
				}
			}
			if len(tt.errs) == 0 && err != nil {
				t.Errorf("error %v", err)
			}
		})
	}
}

// tarEntry is one entry of a test tarball.
type tarEntry struct {
	name string
	typ  byte
	data string
}

// writeTarGz writes a .tar.gz of entries into dir and returns its path.
func writeTarGz(t *testing.T, dir string, entries []tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o755, Size: int64(len(e.data))}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if e.typ == tar.TypeSymlink {
			hdr.Linkname = e.data
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.data))
		}
	}
	tw.Close()
	gz.Close()
	p := filepath.Join(dir, "jdk.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInspectJDK(t *testing.T) {
	release := tarEntry{"jdk8u392-b08/release", tar.TypeReg, "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"1.8.0_392\"\n"}
	java := tarEntry{"jdk8u392-b08/bin/java", tar.TypeReg, "ELF"}
	dir := tarEntry{"jdk8u392-b08/", tar.TypeDir, ""}
	tests := []struct {
		name    string
		entries []tarEntry
		top     string
		err     string
	}{
		{"a JDK", []tarEntry{dir, java, release}, "jdk8u392-b08", ""},
		{"leading ./", []tarEntry{{"./jdk-11/bin/java", tar.TypeReg, "ELF"}, {"./jdk-11/release", tar.TypeReg, "JAVA_VERSION=\"11.0.21\"\n"}}, "jdk-11", ""},
		{"java is a symlink", []tarEntry{{"jdk/bin/java", tar.TypeSymlink, "../jre/bin/java"}, {"jdk/release", tar.TypeReg, "JAVA_VERSION=\"1.7.0_80\"\n"}}, "jdk", ""},
		{"two top directories", []tarEntry{java, release, {"other/x", tar.TypeReg, ""}}, "", "entries below both jdk8u392-b08/ and other/"},
		{"no release file", []tarEntry{dir, java}, "", "no jdk8u392-b08/release file with JAVA_VERSION"},
		{"release without JAVA_VERSION", []tarEntry{java, {"jdk8u392-b08/release", tar.TypeReg, "OS_NAME=\"Linux\"\n"}}, "", `has no JAVA_VERSION="..." line`},
		{"no bin/java", []tarEntry{dir, release}, "", "no jdk8u392-b08/bin/java"},
		{"escaping entry", []tarEntry{java, release, {"jdk8u392-b08/../../etc/cron.d/x", tar.TypeReg, ""}}, "", "leaves the archive's directory"},
		{"absolute entry", []tarEntry{{"/etc/passwd", tar.TypeReg, ""}}, "", "leaves the archive's directory"},
		{"device", []tarEntry{java, release, {"jdk8u392-b08/dev", tar.TypeChar, ""}}, "", "is a device, FIFO or other special file"},
		{"file at the top", []tarEntry{{"java", tar.TypeReg, ""}}, "", ""},
		{"empty", nil, "", "the archive is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := archive.InspectJDK(writeTarGz(t, t.TempDir(), tt.entries))
			if tt.top == "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("inspectJDK = %+v, %v; want an error containing %q", j, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if j.Top != tt.top || len(j.SHA256) != 64 || j.Home() != "/opt/carbonctl/jdk/"+tt.top {
				t.Errorf("got %+v", j)
			}
		})
	}
}

func TestInspectJDKNotGzip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "jdk.tar.gz")
	os.WriteFile(p, []byte("PK\x03\x04 a zip"), 0o644)
	if _, err := archive.InspectJDK(p); err == nil || !strings.Contains(err.Error(), "not a gzip-compressed tar") {
		t.Fatalf("err = %v", err)
	}
}

// TestJavaProbeScript runs the probe against JDK trees on this machine:
// the ownership rule only passes trees owned by root, so as another user
// the probe must refuse.
func TestJavaProbeScript(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "jdk")
	os.MkdirAll(filepath.Join(home, "bin"), 0o755)
	os.WriteFile(filepath.Join(home, "bin", "java"), []byte("#!/bin/sh\necho 'openjdk version \"1.8.0_392\"' >&2\n"), 0o755)
	run := func(h string) remote.ProbeResult {
		out, code := runSh(t, javaProbe(h))
		return remote.ProbeResult{Stdout: out, ExitCode: code}
	}
	if r := run(filepath.Join(dir, "none")); r.ExitCode != javaMissing {
		t.Errorf("missing JDK: %+v", r)
	}
	os.Chmod(filepath.Join(home, "bin"), 0o777)
	r := run(home)
	if r.ExitCode != javaUnsafe || !strings.Contains(r.Stdout, "drwxrwxrwx") {
		t.Errorf("world-writable bin: %+v", r)
	}
	os.Chmod(filepath.Join(home, "bin"), 0o755)
	r = run(home)
	if os.Geteuid() != 0 {
		if r.ExitCode != javaUnsafe {
			t.Errorf("a JDK owned by uid %d ran: %+v", os.Geteuid(), r)
		}
		return
	}
	// As root the temporary directory (sticky, world-writable /tmp) is on the way.
	if r.ExitCode != javaUnsafe || !strings.Contains(r.Stdout, "rwt") {
		t.Errorf("JDK below /tmp: %+v", r)
	}
}

// TestJavaProbeRealJDK runs the probe on the machine's own JDK, when it has
// one (scripts/install-deps.sh installs default-jre-headless).
func TestJavaProbeRealJDK(t *testing.T) {
	const home = "/usr/lib/jvm/default-java"
	if _, err := os.Stat(home + "/bin/java"); err != nil {
		t.Skip("no " + home + " on this machine")
	}
	out, code := runSh(t, javaProbe(home))
	v, err := probeVersion(home, remote.ProbeResult{Stdout: out, ExitCode: code})
	if err != nil || v == "" {
		t.Fatalf("probe: %q (exit %d): %v", out, code, err)
	}
	if engine.JavaSupported([]string{"1.7", "1.8"}, v) {
		t.Errorf("this machine's JDK %s counts as Carbon 4.4's 1.7/1.8", v)
	}
}

// runSh runs script with sh as Gather runs a probe (stderr discarded) and
// returns its output and exit status.
func runSh(t *testing.T, script string) (string, int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestJavaStepSharedHost: two nodes on one host share one JDK: the second
// finds what the first unpacked (here in a plan) instead of unpacking again.
func TestJavaStepSharedHost(t *testing.T) {
	j := writeTarGz(t, t.TempDir(), []tarEntry{{"jdk8u392-b08/bin/java", tar.TypeReg, "x"}, {"jdk8u392-b08/release", tar.TypeReg, "JAVA_VERSION=\"1.8.0_392\"\n"}})
	jdk, err := archive.InspectJDK(j)
	if err != nil {
		t.Fatal(err)
	}
	h := engine.NewHost("198.18.0.21")
	h.Files[jdk.Home()] = &remote.File{Path: jdk.Home()}
	h.Probes[javaProbeName] = remote.ProbeResult{ExitCode: javaMissing}
	e := &engine.Engine{JDK: jdk, PB: &playbook.Playbook{Name: "mb-cluster", Java: playbook.Java{Versions: []string{"1.8"}}}}
	var changed int
	for _, name := range []string{"mb1", "mb2"} {
		n := &engine.Node{Host: h, Vars: engine.Vars{Node: engine.NodeVars{Name: name}, JavaHome: jdk.Home()}}
		res := &engine.Result{}
		if err := ensureJava(context.Background(), e, n, res); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Status == engine.Changed {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d nodes unpacked the JDK, want 1", changed)
	}
}

// TestInstalledJDKNeedsNoJVM: an archive's JDK that carbonctl unpacked is
// checked by its marker, an executable bin/java and the archive's release
// version, without a java -version probe (no JVM start on a no-op run).
func TestInstalledJDKNeedsNoJVM(t *testing.T) {
	j := writeTarGz(t, t.TempDir(), []tarEntry{{"jdk8u392-b08/bin/java", tar.TypeReg, "x"}, {"jdk8u392-b08/release", tar.TypeReg, "JAVA_VERSION=\"1.8.0_392\"\n"}})
	jdk, err := archive.InspectJDK(j)
	if err != nil {
		t.Fatal(err)
	}
	java := jdk.Home() + "/bin/java"
	tests := []struct {
		name     string
		java     *remote.File
		versions []string
		wantErr  string
	}{
		{"installed and supported", &remote.File{Path: java, Exists: true, Mode: 0o755}, []string{"1.7", "1.8"}, ""},
		{"bin/java gone", &remote.File{Path: java}, []string{"1.8"}, "missing or not executable"},
		{"bin/java not executable", &remote.File{Path: java, Exists: true, Mode: 0o644}, []string{"1.8"}, "missing or not executable"},
		{"archive version unsupported", &remote.File{Path: java, Exists: true, Mode: 0o755}, []string{"1.7"}, "supports Java 1.7 only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := engine.NewHost("198.18.0.21")
			h.Files[jdk.Home()] = &remote.File{Path: jdk.Home(), Exists: true, IsDir: true}
			h.Files[jdk.Home()+"/"+markerName] = &remote.File{Path: jdk.Home() + "/" + markerName, Exists: true, Content: []byte(jdk.MarkerContent())}
			h.Files[java] = tt.java
			e := &engine.Engine{JDK: jdk, PB: &playbook.Playbook{Name: "esb-worker-manager", Java: playbook.Java{Versions: tt.versions}}}
			n := &engine.Node{Host: h, Vars: engine.Vars{Node: engine.NodeVars{Name: "mgr1"}, JavaHome: jdk.Home()}}
			res := &engine.Result{}
			err := ensureJava(context.Background(), e, n, res)
			if tt.wantErr == "" {
				if err != nil || res.Status == engine.Changed {
					t.Fatalf("err %v, status %v: want ok, unchanged", err, res.Status)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
