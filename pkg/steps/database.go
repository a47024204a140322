package steps

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/go-sql-driver/mysql"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/pkg/sqlscript"
)

var identRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// wantDB is one database the playbook asks for, with the script that fills it.
type wantDB struct {
	name       string
	scriptPath string // "archive.zip:rel/path.sql", for messages
	statements []sqlscript.Statement
	tables     []string
}

// dbState is what the server holds now.
type dbState struct {
	version    string
	server     string // flavour and version, e.g. "MariaDB 10.11.19"
	mysql57    bool   // MySQL (not MariaDB) 5.7 or newer
	databases  map[string]bool
	tables     map[string]map[string]bool
	userExists bool
	passwordOK bool
	grants     map[string]bool
}

// Databases is the "databases" step kind: the product's databases, the
// application user and its grants, each database's scripts sourced once.
type Databases struct {
	Databases []Database `toml:"database"`
}

// Database is one database of a databases step.
type Database struct {
	Name          string   `toml:"name"`            // template
	PerNode       bool     `toml:"per_node"`        // one database per node (Name uses .Node)
	Scripts       []string `toml:"scripts"`         // relative to the manager's CARBON_HOME
	MySQL57Script []string `toml:"mysql57_scripts"` // used instead on MySQL >= 5.7 when present
}

// Check wants at least one database.
func (k *Databases) Check() error {
	if len(k.Databases) == 0 {
		return fmt.Errorf("databases needs at least one [[step.database]]")
	}
	return nil
}

// Prefetch reads the scripts on the manager (its dbscripts are compared
// with the archive's).
func (k *Databases) Prefetch(e *engine.Engine, _ playbook.Step, n *engine.Node, req *remote.GatherRequest) {
	if n.Vars.Node.Name != e.Vars.Manager.Name {
		return
	}
	for _, db := range k.Databases {
		for _, sc := range append(append([]string{}, db.Scripts...), db.MySQL57Script...) {
			req.Contents = append(req.Contents, n.Home(sc))
		}
	}
}

// Run makes the database server right: one result, for the database.
func (k *Databases) Run(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	return []*engine.Result{runDatabases(ctx, e, s, k)}
}

// runDatabases creates the databases, the application user and its grants,
// and sources each database's scripts exactly once.
func runDatabases(ctx context.Context, e *engine.Engine, s playbook.Step, k *Databases) *engine.Result {
	res := &engine.Result{Step: s.Name, Target: engine.DBTarget}
	mgr := e.ManagerNode()
	if mgr == nil || mgr.IsFailed() {
		res.Status, res.Note = engine.Skipped, "(the manager's earlier steps failed: no node could start)"
		failAll(e)
		return res
	}
	if err := databases(ctx, e, s, k, res); err != nil {
		failAll(e)
		return engine.Fail(res, fmt.Errorf("database %s:%d: %w", e.Inv.Database.Host, e.Inv.Database.Port, err))
	}
	return res
}

// failAll stops every node: nothing can start without its databases.
func failAll(e *engine.Engine) {
	for _, n := range e.Nodes {
		n.MarkFailed()
	}
}

func databases(ctx context.Context, e *engine.Engine, s playbook.Step, k *Databases, res *engine.Result) error {
	admin, err := openDB(e, e.Inv.Database.AdminUser, e.Inv.Database.AdminPassword.Value)
	if err != nil {
		return err
	}
	defer admin.Close()
	st, err := readDBState(ctx, e, admin)
	if err != nil {
		return err
	}
	res.Note = "(" + st.server + ")"
	want, err := wantedDatabases(e, s, k, st)
	if err != nil {
		return err
	}
	if err := checkDBState(ctx, e, admin, st, want); err != nil {
		return err
	}
	for _, step := range []func(context.Context, *engine.Engine, *sql.DB, *dbState, []wantDB, *engine.Result) error{
		createDatabases, ensureUser, ensureGrants, importScripts,
	} {
		if err := step(ctx, e, admin, st, want, res); err != nil {
			return err
		}
	}
	return nil
}

// openDB opens a connection pool to the server as user, directly or through
// the SSH connection of the inventory's `via` node.
func openDB(e *engine.Engine, user, password string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = user, password
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(e.Inv.Database.Host, strconv.Itoa(e.Inv.Database.Port))
	cfg.InterpolateParams = true
	cfg.Timeout = 10 * time.Second
	cfg.MultiStatements = false
	tlsCfg, err := e.Inv.Database.TLSConfig() // set on this connector only: no driver-wide registration
	if err != nil {
		return nil, err
	}
	cfg.TLS = tlsCfg
	if via := e.DBViaHost(); via != nil {
		if via.Client == nil {
			return nil, fmt.Errorf("tunnel through %s: %v", via.Addr, via.Err)
		}
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return via.Client.DialTCP(ctx, addr)
		}
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(2)
	return db, nil
}

// readDBState reads databases, tables, the application user and its grants.
func readDBState(ctx context.Context, e *engine.Engine, db *sql.DB) (*dbState, error) {
	st := &dbState{databases: map[string]bool{}, tables: map[string]map[string]bool{}, grants: map[string]bool{}}
	var comment string
	if err := db.QueryRowContext(ctx, "SELECT VERSION(), @@version_comment").Scan(&st.version, &comment); err != nil {
		return nil, fmt.Errorf("connect as %s%s: %w", e.Inv.Database.AdminUser, tlsHint(e, err), err)
	}
	st.server = serverName(st.version, comment)
	st.mysql57 = isMySQL57(st.server)
	rows, err := db.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES")
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var schema, table string
		if err := rows.Scan(&schema, &table); err != nil {
			return nil, err
		}
		if st.tables[schema] == nil {
			st.tables[schema] = map[string]bool{}
		}
		st.tables[schema][table] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	names, err := queryStrings(ctx, db, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	for _, n := range names {
		st.databases[n] = true
	}
	return st, readUserState(ctx, e, db, st)
}

// tlsHint explains a connection error caused by the server's certificate.
func tlsHint(e *engine.Engine, err error) string {
	var unknownCA x509.UnknownAuthorityError
	var badName x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Sprintf(" (the server's TLS certificate is not signed by database.tls_ca %s)", e.Inv.Database.TLSCA)
	case errors.As(err, &badName):
		return fmt.Sprintf(" (the server's TLS certificate does not name %q: set database.tls_server_name to a name it carries)", badName.Host)
	case errors.As(err, &invalid):
		return " (the server's TLS certificate is not valid: expired, not yet valid or not for servers)"
	}
	return ""
}

func readUserState(ctx context.Context, e *engine.Engine, db *sql.DB, st *dbState) error {
	d := e.Inv.Database
	var count int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?", d.User, d.UserHost).Scan(&count); err != nil {
		return fmt.Errorf("look up user %s: %w", d.User, err)
	}
	st.userExists = count > 0
	if !st.userExists {
		return nil
	}
	grants, err := queryStrings(ctx, db, "SHOW GRANTS FOR ?@?", d.User, d.UserHost)
	if err != nil {
		return fmt.Errorf("read grants of %s: %w", d.User, err)
	}
	for _, g := range grants {
		if m := grantRE.FindStringSubmatch(g); m != nil {
			st.grants[m[1]] = true
		}
	}
	st.passwordOK, err = passwordWorks(ctx, e)
	return err
}

var grantRE = regexp.MustCompile("^GRANT ALL PRIVILEGES ON `([^`]+)`\\.\\* TO ")

// passwordWorks logs in as the application user to see whether the server
// accepts the inventory's password.
func passwordWorks(ctx context.Context, e *engine.Engine) (bool, error) {
	app, err := openDB(e, e.Inv.Database.User, e.Inv.Database.Password.Value)
	if err != nil {
		return false, err
	}
	defer app.Close()
	err = app.PingContext(ctx)
	var me *mysql.MySQLError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &me) && me.Number == 1045:
		return false, nil
	default:
		return false, fmt.Errorf("log in as %s: %w", e.Inv.Database.User, err)
	}
}

// wantedDatabases renders the playbook's databases and reads their scripts
// from the product archive on this machine.
func wantedDatabases(e *engine.Engine, s playbook.Step, k *Databases, st *dbState) ([]wantDB, error) {
	var want []wantDB
	seen := map[string]bool{}
	for _, d := range k.Databases {
		varsList := []engine.Vars{e.Vars}
		if d.PerNode {
			varsList = nil
			for _, n := range e.Nodes {
				varsList = append(varsList, n.Vars)
			}
		}
		for _, v := range varsList {
			name, err := v.Render(s.Name+".database", d.Name)
			if err != nil {
				return nil, err
			}
			if !identRE.MatchString(name) {
				return nil, fmt.Errorf("database name %q is not a plain identifier (letters, digits, _)", name)
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			w, err := loadScripts(e, name, d, st)
			if err != nil {
				return nil, err
			}
			want = append(want, w)
		}
	}
	return want, nil
}

// loadScripts reads a database's scripts from the checksummed product
// archive on the control machine, never from a node: CARBON_HOME belongs to
// the product user, and these statements run as the database admin. Every
// statement must pass sqlscript.Check. mysql57_scripts are used instead on
// MySQL 5.7+ when the archive has them.
func loadScripts(e *engine.Engine, name string, d Database, st *dbState) (wantDB, error) {
	w := wantDB{name: name}
	scripts := d.Scripts
	if st.mysql57 && len(d.MySQL57Script) > 0 {
		if _, _, found, err := e.Arch.Read(path.Clean(d.MySQL57Script[0])); err == nil && found {
			scripts = d.MySQL57Script
		}
	}
	for _, sc := range scripts {
		rel := path.Clean(sc)
		w.scriptPath = path.Base(e.Arch.Path) + ":" + rel
		data, _, found, err := e.Arch.Read(rel)
		if err != nil {
			return w, err
		}
		if !found {
			return w, fmt.Errorf("script %s not found in the product archive %s", rel, e.Arch.Path)
		}
		stmts, err := sqlscript.Split(string(data))
		if err != nil {
			return w, fmt.Errorf("%s: %w", w.scriptPath, err)
		}
		for _, st := range stmts {
			if err := sqlscript.Check(st); err != nil {
				return w, fmt.Errorf("%s: %w", w.scriptPath, err)
			}
		}
		w.statements = append(w.statements, stmts...)
	}
	w.tables = sqlscript.CreatedTables(w.statements)
	return w, nil
}

// checkDBState finds half-imported databases: some of a script's tables but
// not all. If every such table is empty (an import that was interrupted),
// the run resumes by dropping them; otherwise it refuses.
func checkDBState(ctx context.Context, e *engine.Engine, db *sql.DB, st *dbState, want []wantDB) error {
	for _, w := range want {
		present := presentTables(st, w)
		if len(present) == 0 || len(present) == len(w.tables) {
			continue
		}
		for _, t := range present {
			var one int
			err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT 1 FROM `%s`.`%s` LIMIT 1", w.name, t)).Scan(&one)
			if err == nil {
				return fmt.Errorf("%s holds %d of the %d tables of %s and table %s has rows: refusing to re-import over data; restore or drop the database by hand",
					w.name, len(present), len(w.tables), w.scriptPath, t)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("inspect %s.%s: %w", w.name, t, err)
			}
		}
	}
	return nil
}

func presentTables(st *dbState, w wantDB) []string {
	var present []string
	for _, t := range w.tables {
		if st.tables[w.name][t] {
			present = append(present, t)
		}
	}
	return present
}

func createDatabases(ctx context.Context, e *engine.Engine, db *sql.DB, st *dbState, want []wantDB, res *engine.Result) error {
	for _, w := range want {
		if st.databases[w.name] {
			continue
		}
		stmt := fmt.Sprintf("CREATE DATABASE IF NOT EXISTS `%s`", w.name)
		if cs := e.Inv.Database.CharacterSet; cs != "" {
			if !identRE.MatchString(cs) {
				return fmt.Errorf("character set %q is not a plain identifier", cs)
			}
			stmt += " CHARACTER SET " + cs
		}
		if err := execSQL(ctx, e, db, res, stmt, stmt); err != nil {
			return err
		}
	}
	return nil
}

func ensureUser(ctx context.Context, e *engine.Engine, db *sql.DB, st *dbState, _ []wantDB, res *engine.Result) error {
	d := e.Inv.Database
	shown := fmt.Sprintf("'%s'@'%s'", d.User, d.UserHost)
	switch {
	case !st.userExists:
		return execSQL(ctx, e, db, res, "CREATE USER IF NOT EXISTS "+shown+" IDENTIFIED BY '"+engine.Mask+"'",
			"CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?", d.User, d.UserHost, d.Password.Value)
	case !st.passwordOK:
		return execSQL(ctx, e, db, res, "ALTER USER "+shown+" IDENTIFIED BY '"+engine.Mask+"' (the password did not match)",
			"ALTER USER ?@? IDENTIFIED BY ?", d.User, d.UserHost, d.Password.Value)
	}
	return nil
}

func ensureGrants(ctx context.Context, e *engine.Engine, db *sql.DB, st *dbState, want []wantDB, res *engine.Result) error {
	d := e.Inv.Database
	for _, w := range want {
		if st.grants[w.name] {
			continue
		}
		shown := fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%s'", w.name, d.User, d.UserHost)
		if err := execSQL(ctx, e, db, res, shown, fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s`.* TO ?@?", w.name), d.User, d.UserHost); err != nil {
			return err
		}
	}
	return nil
}

// importScripts sources each database's scripts unless all their tables exist.
func importScripts(ctx context.Context, e *engine.Engine, db *sql.DB, st *dbState, want []wantDB, res *engine.Result) error {
	for _, w := range want {
		present := presentTables(st, w)
		if len(w.tables) > 0 && len(present) == len(w.tables) {
			continue
		}
		desc := fmt.Sprintf("source %s into %s (%d statements, %d tables)", w.scriptPath, w.name, len(w.statements), len(w.tables))
		if len(present) > 0 {
			desc += fmt.Sprintf("; first drop the %d empty tables an interrupted import left", len(present))
		}
		listing := ""
		if e.Opts.Verbose {
			listing = statementList(w.statements)
		}
		if err := e.Change(res, desc, listing, func() error { return importInto(ctx, e, db, w, present) }); err != nil {
			return err
		}
	}
	return nil
}

func importInto(ctx context.Context, e *engine.Engine, db *sql.DB, w wantDB, drop []string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := importSession(ctx, conn); err != nil {
		return err
	}
	setup := []string{fmt.Sprintf("USE `%s`", w.name)}
	for _, t := range drop {
		setup = append(setup, fmt.Sprintf("DROP TABLE IF EXISTS `%s`", t))
	}
	for _, q := range setup {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	for _, s := range w.statements {
		if _, err := conn.ExecContext(ctx, s.Text); err != nil {
			return fmt.Errorf("source %s into %s: statement at line %d: %w", w.scriptPath, w.name, s.Line, err)
		}
	}
	_, err = conn.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 1")
	return err
}

// importSettings are the session settings of an import connection. The
// stock scripts were written for MySQL 5.5/5.6: `TIMESTAMP NOT NULL DEFAULT
// 0` needs a sql_mode without NO_ZERO_DATE, NO_ZERO_IN_DATE and strict mode
// (MySQL 5.7/8 defaults: Error 1067), and the implicit TIMESTAMP defaults
// they rely on need explicit_defaults_for_timestamp OFF. Only this session
// changes: the server's global settings stay as they are.
var importSettings = []struct {
	stmt     string
	optional bool // servers where the variable is global-only or absent keep theirs
}{
	{"SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'", false},
	{"SET SESSION explicit_defaults_for_timestamp = OFF", true},
	{"SET SESSION FOREIGN_KEY_CHECKS = 0", false},
}

// importSession applies importSettings to conn, the connection that then
// runs the script's statements.
func importSession(ctx context.Context, conn *sql.Conn) error {
	for _, s := range importSettings {
		_, err := conn.ExecContext(ctx, s.stmt)
		var me *mysql.MySQLError
		if err != nil && !(s.optional && errors.As(err, &me) && settingUnavailable[me.Number]) {
			return fmt.Errorf("%s: %w", s.stmt, err)
		}
	}
	return nil
}

// settingUnavailable are the errors of a SET SESSION the server cannot do:
// unknown variable (1193), a global-only variable (1229), a read-only one
// (1238), or one the admin lacks the privilege for (1227: MySQL 8.0.18+
// wants SESSION_VARIABLES_ADMIN for explicit_defaults_for_timestamp). The
// scripts import with it ON too, once sql_mode allows their zero defaults.
var settingUnavailable = map[uint16]bool{1193: true, 1227: true, 1229: true, 1238: true}

// execSQL records an SQL action (shown masked) and runs it when applying.
func execSQL(ctx context.Context, e *engine.Engine, db *sql.DB, res *engine.Result, shown, query string, args ...any) error {
	return e.Change(res, shown, "", func() error {
		if _, err := db.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("%s: %w", shown, err)
		}
		return nil
	})
}

// statementList shows each statement's first line with its script line.
func statementList(stmts []sqlscript.Statement) string {
	var b strings.Builder
	for _, s := range stmts {
		first, _, more := strings.Cut(s.Text, "\n")
		if more {
			first += " …"
		}
		fmt.Fprintf(&b, "%5d: %s\n", s.Line, first)
	}
	return b.String()
}

func queryStrings(ctx context.Context, db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// serverName names the server's flavour and version from VERSION() and
// @@version_comment: "MariaDB 10.11.19", "MySQL 8.0.36".
func serverName(version, comment string) string {
	flavour := "MySQL"
	if strings.Contains(strings.ToLower(version+" "+comment), "mariadb") {
		flavour = "MariaDB"
		version = strings.TrimPrefix(version, "5.5.5-") // the prefix old replication clients need
	}
	v, _, _ := strings.Cut(version, "-")
	return flavour + " " + v
}

// isMySQL57 reports whether a serverName is MySQL (not MariaDB) 5.7 or newer.
func isMySQL57(server string) bool {
	version, ok := strings.CutPrefix(server, "MySQL ")
	if !ok {
		return false
	}
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, _ := strconv.Atoi(engine.LeadingDigits(parts[0]))
	minor, _ := strconv.Atoi(engine.LeadingDigits(parts[1]))
	return major > 5 || (major == 5 && minor >= 7)
}
