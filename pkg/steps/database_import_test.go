package steps

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/carbonctl/carbonctl/fixtures/mariadbtest"
	"github.com/carbonctl/carbonctl/pkg/sqlscript"
)

// TestImportUnderMySQL8Mode proves the import session on a MariaDB with
// MySQL 8's global sql_mode: the ESB script fails there with Error 1067 on
// a plain connection (what `up` did before the session settings) and is
// imported with importSession, which leaves the server's global mode and
// every other connection strict.
func TestImportUnderMySQL8Mode(t *testing.T) {
	srv := mariadbtest.Start(t, mariadbtest.MySQL8Mode...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	esb := filepath.Join("..", "..", "fixtures", "product", "carbon-4.4-dbscripts", "dbscripts", "mysql.sql")

	conn := newDBConn(t, ctx, srv.Root, "PLAIN")
	err := runScript(ctx, conn, esb)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1067 || !strings.Contains(err.Error(), "REG_CREATED_TIME") {
		t.Fatalf("plain import: got %v, want Error 1067 on REG_CREATED_TIME", err)
	}

	scripts := map[string]string{"ESB": esb}
	if dir := os.Getenv("CARBONCTL_WSO2_CONF"); dir != "" || dirExists(filepath.Join("..", "..", "..", "shared", "wso2-conf")) {
		if dir == "" {
			dir = filepath.Join("..", "..", "..", "shared", "wso2-conf")
		}
		for name, rel := range map[string]string{
			"ESB_4_9_0": "esb-4.9.0/dbscripts/mysql.sql", "AS_5_3_0": "as-5.3.0/dbscripts/mysql.sql",
			"BPS_3_5_1": "bps-3.5.1/dbscripts/mysql.sql", "MB_3_1_0": "mb-3.1.0/dbscripts/mysql.sql",
			"BPEL_3_5_1": "bps-3.5.1/dbscripts/bps/bpel/create/mysql.sql", "MB_STORE_3_1_0": "mb-3.1.0/dbscripts/mb-store/mysql-mb.sql",
		} {
			scripts[name] = filepath.Join(dir, rel)
		}
	} else {
		t.Log("the stock WSO2 scripts (shared/wso2-conf, $CARBONCTL_WSO2_CONF) are missing: importing the fixture's ESB script only")
	}
	for name, script := range scripts {
		conn := newDBConn(t, ctx, srv.Root, name)
		start := time.Now()
		if err := importSession(ctx, conn); err != nil {
			t.Fatal(err)
		}
		if err := runScript(ctx, conn, script); err != nil {
			t.Errorf("import %s with the import session: %v", script, err)
		}
		t.Logf("%s imported in %v", script, time.Since(start).Round(time.Millisecond))
	}

	var global, session string
	if err := srv.Root.QueryRowContext(ctx, "SELECT @@GLOBAL.sql_mode, @@SESSION.sql_mode").Scan(&global, &session); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{global, session} {
		if !strings.Contains(mode, "NO_ZERO_DATE") || !strings.Contains(mode, "STRICT_TRANS_TABLES") {
			t.Errorf("the server's mode changed: global %q, a new session %q", global, session)
		}
	}
}

// newDBConn creates database name and returns one connection using it.
func newDBConn(t *testing.T, ctx context.Context, db *sql.DB, name string) *sql.Conn {
	t.Helper()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(ctx, "USE `"+name+"`"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// runScript runs every statement of a script file on conn.
func runScript(ctx context.Context, conn *sql.Conn, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	stmts, err := sqlscript.Split(string(data))
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s.Text); err != nil {
			return fmt.Errorf("line %d: %w", s.Line, err)
		}
	}
	return nil
}

func dirExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}
