package inventory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parts are the sections of a test inventory; "" leaves a section out.
type parts struct {
	cluster, product, ssh, database, lb, java, nodes string
}

// defaultParts is a minimal valid inventory.
func defaultParts() parts {
	return parts{
		cluster: "[cluster]\nname = \"esb-lab\"\n",
		product: "[product]\narchive = \"archive.zip\"\nhome = \"/opt/wso2esb-4.9.0\"\n",
		database: "[database]\nhost = \"198.18.0.10\"\nadmin_password_env = \"ADMIN_PW\"\nuser = \"regadmin\"\n" +
			"password_env = \"APP_PW\"\njdbc_driver = \"driver.jar\"\n",
		java:  "[java]\nhome = \"/usr/lib/jvm/java-8-openjdk-amd64\"\n",
		nodes: node("mgr1", "198.18.0.21", "manager", "wka = true") + node("wkr1", "198.18.0.22", "worker"),
	}
}

// doc renders the inventory.
func (p parts) doc() string {
	var b strings.Builder
	for _, s := range []string{p.cluster, p.product, p.ssh, p.database, p.lb, p.java, p.nodes} {
		if s != "" {
			b.WriteString(s)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// node renders a [[node]] table.
func node(name, host, role string, extra ...string) string {
	s := "[[node]] # " + name + "\nname = \"" + name + "\"\nhost = \"" + host + "\"\nrole = \"" + role + "\"\n"
	for _, e := range extra {
		s += e + "\n"
	}
	return s
}

// testEnv is the environment seen by the tests.
func testEnv(k string) (string, bool) {
	v, ok := map[string]string{
		"HOME":         "/home/op",
		"ADMIN_PW":     "adm-secret",
		"APP_PW":       "app-secret",
		"EMPTY_PW":     "",
		"ESC_PW":       "ab\x1b[2Jcd",
		"APP_PW_SHORT": "adm",
		"CONSOLE_PW":   "Console-Pw-1",
	}[k]
	return v, ok
}

// fixtureDir returns a directory holding the files the default inventory
// names (archive.zip, driver.jar) and a secret file.
func fixtureDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"archive.zip": "zip", "driver.jar": "jar", "jdk.tar.gz": "tgz", "id_test": "key", "playbook.toml": "",
		"pw": "file-secret\n", "pw2": "two\n\n", "pw-crlf": "crlf\r\n", "empty": "", "newline-only": "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "world"), []byte("w"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// parse parses doc in dir with the test environment, checking files.
func parse(t *testing.T, dir, doc string) (*Inventory, Errors) {
	t.Helper()
	inv, err := Parse("inventory.toml", dir, []byte(doc), testEnv, Options{CheckFiles: true})
	if err == nil {
		return inv, nil
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse error %T %v, want Errors", err, err)
	}
	if inv != nil {
		t.Errorf("Parse returned an inventory with errors")
	}
	return nil, errs
}

// mustParse parses doc and fails the test on errors.
func mustParse(t *testing.T, dir, doc string) *Inventory {
	t.Helper()
	inv, errs := parse(t, dir, doc)
	if errs != nil {
		t.Fatalf("Parse:\n%v\ninventory:\n%s", errs, numbered(doc))
	}
	return inv
}

// lineOf returns the 1-based line of the first line of doc containing
// marker, or 0 for an empty marker.
func lineOf(t *testing.T, doc, marker string) int {
	t.Helper()
	if marker == "" {
		return 0
	}
	for i, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("marker %q not in the inventory:\n%s", marker, numbered(doc))
	return 0
}

// numbered prefixes the lines of doc with their numbers.
func numbered(doc string) string {
	lines := strings.Split(doc, "\n")
	for i := range lines {
		lines[i] = fmt.Sprintf("%3d  %s", i+1, lines[i])
	}
	return strings.Join(lines, "\n")
}
