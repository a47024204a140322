package steps

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/fixtures/mariadbtest"
	"github.com/carbonctl/carbonctl/pkg/sqlscript"
)

func TestCheckCollectionPath(t *testing.T) {
	tests := []struct {
		path, err string
	}{
		{"/_system/asConfig", ""},
		{"/", ""},
		{"/_system/governance", ""},
		{"_system/asConfig", "not absolute"},
		{"/_system/asConfig/", "not clean"},
		{"/_system//asConfig", "not clean"},
		{"/_system/../asConfig", "not clean"},
		{"/_system/\tx", "control character"},
		{"/" + strings.Repeat("a", 800), "longer than"},
	}
	for _, tt := range tests {
		err := checkCollectionPath(tt.path)
		if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("checkCollectionPath(%q) = %v, want error containing %q", tt.path, err, tt.err)
		}
	}
}

func TestCollectionChain(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		{"/", []string{"/"}},
		{"/_system", []string{"/", "/_system"}},
		{"/_system/asConfig", []string{"/", "/_system", "/_system/asConfig"}},
	}
	for _, tt := range tests {
		if got := collectionChain(tt.path); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("collectionChain(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestNewUUID(t *testing.T) {
	a, err := newUUID()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newUUID()
	if len(a) != 36 || a[14] != '4' || a == b {
		t.Errorf("newUUID() = %q, %q", a, b)
	}
}

// TestRegStoreOnMariaDB creates collections in a real registry schema (the
// simulated GREG's dbscripts/mysql.sql) and reads them back the way
// Carbon's JDBCResourceDAO does.
func TestRegStoreOnMariaDB(t *testing.T) {
	root := privateMariaDB(t)
	ctx := context.Background()
	for _, q := range []string{"CREATE DATABASE REGISTRY_DB", "CREATE DATABASE EMPTY_DB"} {
		if _, err := root.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile(filepath.Join(fixtureHome(t, "greg-5.4.0"), "dbscripts", "mysql.sql"))
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := sqlscript.Split(string(script))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := root.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range append([]string{"USE REGISTRY_DB"}, texts(stmts)...) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close()

	if err := (regStore{db: root, schema: "EMPTY_DB"}).checkSchema(ctx); err == nil || !strings.Contains(err.Error(), "EMPTY_DB has no REG_PATH, REG_RESOURCE table") {
		t.Errorf("checkSchema on an empty database: %v", err)
	}
	reg := regStore{db: root, schema: "REGISTRY_DB"}
	if err := reg.checkSchema(ctx); err != nil {
		t.Fatal(err)
	}
	missing, err := reg.missing(ctx, "/_system/asConfig")
	if err != nil || !reflect.DeepEqual(missing, []string{"/", "/_system", "/_system/asConfig"}) {
		t.Fatalf("missing on a fresh registry = %v, %v", missing, err)
	}
	if err := reg.create(ctx, missing, "test"); err != nil {
		t.Fatal(err)
	}
	if missing, err := reg.missing(ctx, "/_system/asConfig"); err != nil || missing != nil {
		t.Errorf("after create: missing = %v, %v", missing, err)
	}
	missing, err = reg.missing(ctx, "/_system/governance")
	if err != nil || !reflect.DeepEqual(missing, []string{"/_system/governance"}) {
		t.Fatalf("missing sibling = %v, %v", missing, err)
	}
	if err := reg.create(ctx, missing, "test"); err != nil {
		t.Fatal(err)
	}

	// The rows are what Carbon reads: one path per collection, linked to
	// its parent, and one unnamed REG_RESOURCE row per path.
	rows := map[string]string{}
	q := `SELECT p.REG_PATH_VALUE, IFNULL(pp.REG_PATH_VALUE, '-'), r.REG_CREATOR
	      FROM REGISTRY_DB.REG_PATH p LEFT JOIN REGISTRY_DB.REG_PATH pp ON pp.REG_PATH_ID = p.REG_PATH_PARENT_ID
	      JOIN REGISTRY_DB.REG_RESOURCE r ON r.REG_PATH_ID = p.REG_PATH_ID AND r.REG_NAME IS NULL AND r.REG_TENANT_ID = -1234
	      WHERE p.REG_TENANT_ID = -1234`
	res, err := root.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	for res.Next() {
		var p, parent, creator string
		if err := res.Scan(&p, &parent, &creator); err != nil {
			t.Fatal(err)
		}
		rows[p] = parent + " " + creator
	}
	res.Close()
	want := map[string]string{"/": "- wso2.system.user", "/_system": "/ wso2.system.user",
		"/_system/asConfig": "/_system wso2.system.user", "/_system/governance": "/_system wso2.system.user"}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("registry rows = %v, want %v", rows, want)
	}

	// A resource (not a collection) in the way is refused.
	var sysID int64
	if err := root.QueryRow("SELECT REG_PATH_ID FROM REGISTRY_DB.REG_PATH WHERE REG_PATH_VALUE = '/_system'").Scan(&sysID); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Exec(`INSERT INTO REGISTRY_DB.REG_RESOURCE (REG_PATH_ID, REG_NAME, REG_MEDIA_TYPE, REG_CREATOR, REG_CREATED_TIME, REG_LAST_UPDATED_TIME, REG_TENANT_ID, REG_UUID)
		VALUES (?, 'asConfig2', 'text/plain', 'admin', NOW(), NOW(), -1234, 'x')`, sysID); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.missing(ctx, "/_system/asConfig2/sub"); err == nil || !strings.Contains(err.Error(), "holds a resource, not a collection, at /_system/asConfig2") {
		t.Errorf("resource in the way: %v", err)
	}
}

func texts(stmts []sqlscript.Statement) []string {
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = s.Text
	}
	return out
}

// privateMariaDB starts a throw-away MariaDB (see fixtures/mariadbtest) and
// returns a root connection; it skips without root or MariaDB.
func privateMariaDB(t *testing.T) *sql.DB {
	t.Helper()
	return mariadbtest.Start(t).Root
}
