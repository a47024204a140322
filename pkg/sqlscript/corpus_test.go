package sqlscript

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// wso2Conf returns the directory holding the stock WSO2 files, skipping the
// test loudly when it is missing.
func wso2Conf(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CARBONCTL_WSO2_CONF")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "wso2-conf")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("SKIPPED: WSO2 conf corpus not found (%v): set CARBONCTL_WSO2_CONF to the wso2-conf directory to run this test", err)
	}
	return dir
}

// Independent comment stripping for the corpus count: the corpus has no
// comment markers inside string literals (shared/wso2-conf/NOTES.md §12).
var (
	blockComment = regexp.MustCompile(`(?s)/\*[^!+].*?\*/`)
	lineComment  = regexp.MustCompile(`(?m)(--[ \t\r]|--$|#).*$`)
	createTable  = regexp.MustCompile(`(?i)\bcreate\s+table\b`)
)

func countCreateTables(script string) int {
	script = blockComment.ReplaceAllString(script, " ")
	script = lineComment.ReplaceAllString(script, "")
	return len(createTable.FindAllString(script, -1))
}

func TestCorpus(t *testing.T) {
	dir := wso2Conf(t)
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".sql") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.sql files under %s", dir)
	}
	for _, path := range files {
		rel, _ := filepath.Rel(dir, path)
		t.Run(rel, func(t *testing.T) { checkCorpusFile(t, path) })
	}
}

func checkCorpusFile(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := Split(string(data))
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	creates := 0
	for _, s := range stmts {
		for _, l := range strings.Split(s.Text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "--") {
				t.Errorf("statement at line %d keeps a comment line %q", s.Line, l)
			}
		}
		if Kind(s) == KindCreateTable {
			creates++
		}
		if Kind(s) == KindCreateIndex {
			if _, _, ok := IndexTarget(s); !ok {
				t.Errorf("IndexTarget failed on the CREATE INDEX at line %d: %q", s.Line, s.Text)
			}
		}
	}
	if want := countCreateTables(string(data)); creates != want {
		t.Errorf("%d create-table statements, want %d (regex count outside comments)", creates, want)
	}
	if n := len(CreatedTables(stmts)); n != creates {
		t.Errorf("CreatedTables returned %d names for %d create-table statements", n, creates)
	}
	t.Logf("%d statements, %d create-table", len(stmts), creates)
}

// TestCorpusKnownCounts pins the table counts measured on MariaDB
// (shared/wso2-conf/NOTES.md §12).
func TestCorpusKnownCounts(t *testing.T) {
	dir := wso2Conf(t)
	known := map[string]int{
		"carbon-kernel-4.4.40/dbscripts/mysql.sql":               40,
		"carbon-kernel-4.4.40/dbscripts/mysql5.7.sql":            40,
		"bps-3.6.0/dbscripts/bps/bpel/create/mysql.sql":          41,
		"bps-3.6.0/dbscripts/bps/bpmn/metadata/create/mysql.sql": 1,
		"mb-3.2.0/dbscripts/mb-store/mysql-mb.sql":               26,
		"mb-3.1.0/dbscripts/mb-store/mysql-mb.sql":               17,
		"esb-4.9.0/dbscripts/mysql.sql":                          39,
	}
	for rel, want := range known {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		stmts, err := Split(string(data))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if got := len(CreatedTables(stmts)); got != want {
			t.Errorf("%s: %d tables, want %d", rel, got, want)
		}
	}
}
