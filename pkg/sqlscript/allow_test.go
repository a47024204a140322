package sqlscript

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		stmt string
		want string // "" = accepted, else a substring of the error
	}{
		{"CREATE TABLE IF NOT EXISTS REG_LOG (ID INTEGER)", ""},
		{"create table `T` (a int) ENGINE=InnoDB", ""},
		{"CREATE UNIQUE INDEX I USING HASH ON T (A)", ""},
		{"ALTER TABLE T ADD CONSTRAINT FK FOREIGN KEY (A) REFERENCES U (B)", ""},
		{"INSERT INTO ODE_SCHEMA_VERSION values (6)", ""},
		{"insert into ACT_GE_PROPERTY values ('schema.version', '5.15', 1)", ""},
		{"DROP TABLE IF EXISTS ODE_JOB", ""},
		{"COMMIT", ""},
		{"GRANT ALL ON *.* TO 'regadmin'@'%' WITH GRANT OPTION", "line 7: refused statement GRANT ALL"},
		{"CREATE USER 'x'@'%' IDENTIFIED BY 's3cret'", "refused statement CREATE USER"},
		{"SET GLOBAL sql_mode = ''", "refused statement SET GLOBAL"},
		{"DROP DATABASE mysql", "refused statement DROP DATABASE"},
		{"UPDATE mysql.user SET Super_priv = 'Y'", "refused statement UPDATE"},
		{"CREATE TABLE mysql.evil (a int)", "qualified with a database"},
		{"CREATE TABLE `mysql` . `evil` (a int)", "qualified with a database"},
		{"ALTER TABLE mysql.user ADD COLUMN x int", "qualified with a database"},
		{"INSERT INTO other.T VALUES (1)", "qualified with a database"},
		{"DROP TABLE IF EXISTS mysql.user", "qualified with a database"},
		{"CREATE INDEX I ON mysql.user (User)", "qualified with a database"},
		{"CREATE TABLE X AS SELECT * FROM mysql.user", "reads other tables"},
		{"INSERT INTO T SELECT authentication_string FROM mysql.user", "reads other tables"},
		{"INSERT INTO T VALUES ('select')", ""},
		{"CREATE TRIGGER t BEFORE INSERT ON T FOR EACH ROW SET @x = 1", "refused statement CREATE TRIGGER"},
		{"COMMIT; GRANT", "refused statement COMMIT"},
	}
	for _, tt := range tests {
		t.Run(tt.stmt, func(t *testing.T) {
			err := Check(Statement{Text: tt.stmt, Line: 7})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a *RefusedError containing %q", err, tt.want)
			}
		})
	}
}

func TestShownMasksStrings(t *testing.T) {
	got := Shown("CREATE USER 'x'@'%' IDENTIFIED BY 'it''s \\'secret'\nmore")
	if strings.Contains(got, "secret") || got != "CREATE USER '***'@'***' IDENTIFIED BY '***' …" {
		t.Errorf("Shown = %q", got)
	}
}

// TestCheckCorpus accepts every statement of every stock WSO2 script.
func TestCheckCorpus(t *testing.T) {
	dir := wso2Conf(t)
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sql") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		stmts, err := Split(string(data))
		if err != nil {
			return err
		}
		for _, s := range stmts {
			n++
			if err := Check(s); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Errorf("only %d statements checked", n)
	}
	t.Logf("%d statements accepted", n)
}
