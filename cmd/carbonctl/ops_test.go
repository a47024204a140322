package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleInventory writes the lab's sample inventory with every file it names
// (archive, JDBC driver, SSH key, known_hosts) pointed at stand-ins in a
// temporary directory, so the test passes on a fresh checkout.
func sampleInventory(t *testing.T) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "inventories", "esb-lab.toml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	replace := map[string]string{
		"../../dist/wso2esb-4.9.0.zip":               "wso2esb-4.9.0.zip",
		"../../dist/mysql-connector-java-5.1.49.jar": "mysql-connector-java-5.1.49.jar",
		"../../dist/jdk8u392-b08-standin.tar.gz":     "jdk.tar.gz",
		"/tmp/carbonctl-lab/id_ed25519":              "id_ed25519",
		"/tmp/carbonctl-lab/known_hosts":             "known_hosts",
	}
	s := string(text)
	for from, to := range replace {
		if !strings.Contains(s, from) {
			t.Fatalf("the sample inventory no longer names %s", from)
		}
		s = strings.ReplaceAll(s, from, filepath.Join(dir, to))
		content := []byte("stand-in")
		if to == "jdk.tar.gz" {
			content = jdkTarGz(t)
		}
		if err := os.WriteFile(filepath.Join(dir, to), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "esb-lab.toml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpsArguments(t *testing.T) {
	inv := sampleInventory(t)
	t.Setenv("CARBONCTL_DB_ADMIN_PASSWORD", "x")
	t.Setenv("CARBONCTL_DB_PASSWORD", "y")
	tests := []cliRun{
		{[]string{"carbonctl", "status"}, 2, "usage: carbonctl status INVENTORY"},
		{[]string{"carbonctl", "status", "--output", "xml", inv}, 2, `--output: "xml" is neither table nor json`},
		{[]string{"carbonctl", "status", "--limit", "nobody", inv}, 2, `no node named "nobody"`},
		{[]string{"carbonctl", "logs", inv}, 2, "usage: carbonctl logs INVENTORY NODE"},
		{[]string{"carbonctl", "logs", inv, "nobody"}, 2, `no node named "nobody"`},
		{[]string{"carbonctl", "logs", inv, "mgr1", "-n", "-3"}, 2, "cannot be negative"},
		{[]string{"carbonctl", "restart"}, 2, "usage: carbonctl restart INVENTORY"},
		{[]string{"carbonctl", "stop", "--limit", "nobody", inv}, 2, `no node named "nobody"`},
		{[]string{"carbonctl", "start", "--no-such-flag", inv}, 2, "no-such-flag"},
	}
	checkRuns(t, tests)
}

// jdkTarGz is a minimal JDK 1.8 tarball: jdk/bin/java and jdk/release.
func jdkTarGz(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, data := range map[string]string{"jdk/bin/java": "#!/bin/sh\n", "jdk/release": "JAVA_VERSION=\"1.8.0_392\"\n"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(data))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}
