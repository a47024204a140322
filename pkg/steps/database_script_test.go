package steps

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/archive"
)

// TestLoadScriptsFromArchive reads dbscripts from the product archive and
// refuses a statement a schema script has no business holding.
func TestLoadScriptsFromArchive(t *testing.T) {
	tests := []struct {
		name, script string
		want         string // "" = accepted, else a substring of the error
	}{
		{"stock statements", "CREATE TABLE IF NOT EXISTS A (ID INT);\nCREATE INDEX I ON A (ID);\nINSERT INTO A VALUES (1);\n", ""},
		{"grant appended", "CREATE TABLE X (ID INT);\n\nGRANT ALL ON *.* TO 'regadmin'@'%' WITH GRANT OPTION;\n",
			"wso2esb-4.9.0.zip:dbscripts/mysql.sql: line 3: refused statement GRANT ALL (a schema script may hold only CREATE TABLE, CREATE INDEX, ALTER TABLE, INSERT, DROP TABLE, COMMIT on its own database's tables): GRANT ALL ON *.* TO '***'@'***' WITH GRANT OPTION"},
		{"password masked", "CREATE TABLE X (ID INT);\nALTER USER root IDENTIFIED BY 'Sup3rS3cret';\n", "IDENTIFIED BY '***'"},
		{"other database", "CREATE TABLE X (ID INT);\nINSERT INTO mysql.db VALUES ('%');\n", "line 2: refused a table name qualified with a database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &engine.Engine{Arch: testArchive(t, map[string]string{"wso2esb-4.9.0/dbscripts/mysql.sql": tt.script})}
			w, err := loadScripts(e, "REGISTRY_DB", Database{Scripts: []string{"dbscripts/mysql.sql"}}, &dbState{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == "" && (len(w.statements) != 3 || w.scriptPath != "wso2esb-4.9.0.zip:dbscripts/mysql.sql"):
				t.Fatalf("got %d statements from %s", len(w.statements), w.scriptPath)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "Sup3r")):
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// testArchive writes a product zip holding files and opens it.
func testArchive(t *testing.T, files map[string]string) *archive.Product {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wso2esb-4.9.0.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, text := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(text))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	a, err := archive.OpenProduct(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// TestLoadScriptsPrefersMySQL57 picks mysql57_scripts on MySQL 5.7+ when the
// archive has them, mysql.sql otherwise.
func TestLoadScriptsPrefersMySQL57(t *testing.T) {
	both := map[string]string{"p/dbscripts/mysql.sql": "CREATE TABLE A (ID INT)", "p/dbscripts/mysql5.7.sql": "CREATE TABLE B (ID INT)"}
	plain := map[string]string{"p/dbscripts/mysql.sql": "CREATE TABLE A (ID INT)"}
	d := Database{Scripts: []string{"dbscripts/mysql.sql"}, MySQL57Script: []string{"dbscripts/mysql5.7.sql"}}
	tests := []struct {
		name    string
		files   map[string]string
		mysql57 bool
		want    string
	}{
		{"MySQL 8, shipped", both, true, "B"},
		{"MySQL 8, not shipped", plain, true, "A"},
		{"MariaDB", both, false, "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &engine.Engine{Arch: testArchive(t, tt.files)}
			w, err := loadScripts(e, "DB", d, &dbState{mysql57: tt.mysql57})
			if err != nil || len(w.tables) != 1 || w.tables[0] != tt.want {
				t.Fatalf("tables %v (%v), want [%s]", w.tables, err, tt.want)
			}
		})
	}
}
