package sqlscript

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   []Statement
	}{
		{
			name:   "two statements",
			script: "CREATE TABLE a (x INT);\nCREATE TABLE b (y INT);\n",
			want:   []Statement{{"CREATE TABLE a (x INT)", 1}, {"CREATE TABLE b (y INT)", 2}},
		},
		{
			name:   "semicolons inside quotes",
			script: "INSERT INTO t VALUES ('a;b', \"c;d\");\nSELECT `we;ird` FROM t;",
			want:   []Statement{{"INSERT INTO t VALUES ('a;b', \"c;d\")", 1}, {"SELECT `we;ird` FROM t", 2}},
		},
		{
			name:   "backslash escapes and doubled quotes",
			script: "INSERT INTO t VALUES ('it\\'s;', 'it''s;', \"say \"\"hi;\"\"\");\nSELECT 1;",
			want:   []Statement{{"INSERT INTO t VALUES ('it\\'s;', 'it''s;', \"say \"\"hi;\"\"\")", 1}, {"SELECT 1", 2}},
		},
		{
			name:   "escaped backslash before closing quote",
			script: "SELECT 'a\\\\';\nSELECT 2;",
			want:   []Statement{{"SELECT 'a\\\\'", 1}, {"SELECT 2", 2}},
		},
		{
			name:   "comment lines holding DDL ending in a semicolon",
			script: "-- CREATE TABLE old (x INT);\n# DROP TABLE t;\nCREATE TABLE t (x INT);\n--\n-- \n",
			want:   []Statement{{"CREATE TABLE t (x INT)", 3}},
		},
		{
			name:   "dash-dash without space inside a statement is SQL",
			script: "SELECT 1 --x\n;\nSELECT 5--2;",
			want:   []Statement{{"SELECT 1 --x", 1}, {"SELECT 5--2", 3}},
		},
		{
			name:   "dash-dash at the start of a statement is a comment (mysql client)",
			script: "--x;\nSELECT 1;",
			want:   []Statement{{"SELECT 1", 2}},
		},
		{
			name:   "trailing comments inside a statement",
			script: "CREATE TABLE t (\n  a INT, -- first; column\n  -- a whole comment line;\n  b INT # second\n);",
			want:   []Statement{{"CREATE TABLE t (\n  a INT,\n  b INT\n)", 1}},
		},
		{
			name:   "licence block",
			script: "/*\n * Copyright;\n * Licence\n */\n\nCREATE TABLE t (x INT);\n",
			want:   []Statement{{"CREATE TABLE t (x INT)", 6}},
		},
		{
			name:   "inline block comment becomes a space",
			script: "SELECT/* c; */1;",
			want:   []Statement{{"SELECT 1", 1}},
		},
		{
			name:   "executable comments are kept",
			script: "/*!40101 SET NAMES utf8 */;\nSELECT /*+ MAX_EXECUTION_TIME(1) */ 1;",
			want:   []Statement{{"/*!40101 SET NAMES utf8 */", 1}, {"SELECT /*+ MAX_EXECUTION_TIME(1) */ 1", 2}},
		},
		{
			name: "delimiter block with a procedure body",
			script: "DROP PROCEDURE IF EXISTS p;\ndelimiter //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT ';//';\nEND //\n" +
				"DELIMITER ;\nCALL p();\n",
			want: []Statement{
				{"DROP PROCEDURE IF EXISTS p", 1},
				{"CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT ';//';\nEND", 3},
				{"CALL p()", 9},
			},
		},
		{
			name:   "multi-character delimiter and indented command",
			script: "  DELIMITER $$\nSELECT 1; SELECT 2$$ SELECT 3$$\n DELIMITER ;\nSELECT 4;",
			want:   []Statement{{"SELECT 1; SELECT 2", 2}, {"SELECT 3", 2}, {"SELECT 4", 4}},
		},
		{
			name:   "delimiter word inside a statement is SQL",
			script: "CREATE TABLE t (\ndelimiter INT);\n",
			want:   []Statement{{"CREATE TABLE t (\ndelimiter INT)", 1}},
		},
		{
			name:   "CRLF line endings",
			script: "-- header\r\nCREATE TABLE a (\r\n  x INT -- c\r\n);\r\nCREATE TABLE b (y INT);\r\n",
			want:   []Statement{{"CREATE TABLE a (\n  x INT\n)", 2}, {"CREATE TABLE b (y INT)", 5}},
		},
		{
			name:   "no final newline and no final delimiter",
			script: "SELECT 1;\nSELECT 2",
			want:   []Statement{{"SELECT 1", 1}, {"SELECT 2", 2}},
		},
		{
			name:   "empty statements and blank script parts",
			script: ";;\n\n  ;SELECT 1;;",
			want:   []Statement{{"SELECT 1", 3}},
		},
		{
			name:   "multi-line string keeps its lines",
			script: "INSERT INTO t VALUES ('a\n\n-- not a comment;\nb');\nSELECT 1;",
			want:   []Statement{{"INSERT INTO t VALUES ('a\n\n-- not a comment;\nb')", 1}, {"SELECT 1", 5}},
		},
		{
			name:   "comment only",
			script: "-- nothing\n/* here */\n",
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.script)
			if err != nil {
				t.Fatalf("Split: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Split:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name   string
		script string
		line   int
		msg    string
	}{
		{"unterminated string", "SELECT 1;\nINSERT INTO t VALUES ('abc);\nSELECT 2;\n", 2, "unterminated string"},
		{"unterminated escaped quote", "SELECT 'abc\\';", 1, "unterminated string"},
		{"unterminated double-quoted string", "\n\nSELECT \"x", 3, "unterminated string"},
		{"unterminated identifier", "SELECT `x FROM t;", 1, "unterminated quoted identifier"},
		{"unterminated comment", "SELECT 1;\n/* licence\n", 2, "unterminated /* comment"},
		{"delimiter without argument", "SELECT 1;\nDELIMITER\nSELECT 2;", 2, "DELIMITER must be followed"},
		{"delimiter with backslash", "DELIMITER \\\\\n", 1, "backslash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Split(tt.script)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Split error = %v, want *SyntaxError", err)
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("Split error = %v, want line %d containing %q", err, tt.line, tt.msg)
			}
		})
	}
}

func TestKind(t *testing.T) {
	tests := []struct{ text, want string }{
		{"CREATE TABLE IF NOT EXISTS REG_PATH (x INT)", KindCreateTable},
		{"create temporary table t (x int)", KindCreateTable},
		{"CREATE INDEX REG_LOG_IND USING HASH ON REG_LOG(REG_LOGGED_TIME)", KindCreateIndex},
		{"create unique index i on t(x)", KindCreateIndex},
		{"ALTER TABLE REG_RESOURCE ADD CONSTRAINT fk FOREIGN KEY (x) REFERENCES y (z)", KindAlterTable},
		{"insert into ODE_SCHEMA_VERSION values (6)", KindInsert},
		{"DROP TABLE IF EXISTS ODE_JOB", KindDropTable},
		{"COMMIT", KindOther},
		{"CREATE TABLESPACE ts ADD DATAFILE 'x'", KindOther},
		{"CREATE VIEW v AS SELECT 1", KindOther},
		{"/*!40101 SET NAMES utf8 */", KindOther},
		{"", KindOther},
	}
	for _, tt := range tests {
		if got := Kind(Statement{Text: tt.text}); got != tt.want {
			t.Errorf("Kind(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestCreatedTables(t *testing.T) {
	stmts, err := Split("CREATE TABLE IF NOT EXISTS REG_CLUSTER_LOCK (x INT)ENGINE INNODB;\n" +
		"create table `ODE_JOB` (x int);\n" +
		"CREATE TABLE wso2db.`REG_PATH`(x INT);\n" +
		"CREATE TABLE `we``ird` (x INT);\n" +
		"CREATE TEMPORARY TABLE tmp (x INT);\n" +
		"CREATE INDEX i ON REG_PATH(x);\n" +
		"INSERT INTO t VALUES ('CREATE TABLE nope (x INT)');\n")
	if err != nil {
		t.Fatal(err)
	}
	got := CreatedTables(stmts)
	want := []string{"REG_CLUSTER_LOCK", "ODE_JOB", "REG_PATH", "we`ird"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CreatedTables = %q, want %q", got, want)
	}
}

func TestIndexTarget(t *testing.T) {
	tests := []struct {
		text         string
		index, table string
		ok           bool
	}{
		{"CREATE INDEX REG_LOG_IND_BY_REG_LOGTIME USING HASH ON REG_LOG(REG_LOGGED_TIME, REG_TENANT_ID)", "REG_LOG_IND_BY_REG_LOGTIME", "REG_LOG", true},
		{"create unique index I_ODE_JOB on ODE_JOB(jobid)", "I_ODE_JOB", "ODE_JOB", true},
		{"CREATE INDEX `idx` ON `db`.`tbl` (x)", "idx", "tbl", true},
		{"CREATE INDEX IF NOT EXISTS i ON t (x)", "i", "t", true},
		{"CREATE TABLE t (x INT)", "", "", false},
		{"CREATE INDEX i t (x)", "", "", false},
	}
	for _, tt := range tests {
		index, table, ok := IndexTarget(Statement{Text: tt.text})
		if index != tt.index || table != tt.table || ok != tt.ok {
			t.Errorf("IndexTarget(%q) = %q, %q, %v; want %q, %q, %v", tt.text, index, table, ok, tt.index, tt.table, tt.ok)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, seed := range []string{
		"SELECT 1;", "-- c\nSELECT 'a;b'; # x", "/* x */ /*! y */", "DELIMITER //\nBEGIN; END //\nDELIMITER ;\n",
		"'unterminated", "`a``b`", "SELECT 1 --x\r\n;", "\\", "DELIMITER '", "CREATE TABLE `a`.`b` (x INT);",
		"CREATE INDEX i USING HASH ON t(x)",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script string) {
		stmts, err := Split(script)
		if err != nil {
			return
		}
		lines := strings.Count(script, "\n") + 1
		for _, s := range stmts {
			if s.Text == "" || s.Text != strings.TrimSpace(s.Text) {
				t.Errorf("statement %q is empty or untrimmed", s.Text)
			}
			if s.Line < 1 || s.Line > lines {
				t.Errorf("statement %q at line %d, script has %d lines", s.Text, s.Line, lines)
			}
			Kind(s)
			IndexTarget(s)
		}
		CreatedTables(stmts)
	})
}
