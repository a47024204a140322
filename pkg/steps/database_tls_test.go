package steps

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/fixtures/mariadbtest"
	"github.com/carbonctl/carbonctl/pkg/inventory"
)

// TestDatabaseTLS connects to a MariaDB serving TLS with a test CA: the
// connection verifies against tls_ca and is encrypted; another CA or a name
// the certificate lacks fails with an error that says so.
func TestDatabaseTLS(t *testing.T) {
	files := mariadbtest.NewTLSFiles(t)
	srv := mariadbtest.Start(t, files.Args()...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, q := range []string{
		"CREATE USER 'tlsadmin'@'%' IDENTIFIED BY 'tls-Secret-1' REQUIRE SSL",
		"GRANT ALL ON *.* TO 'tlsadmin'@'%' WITH GRANT OPTION",
	} {
		if _, err := srv.Root.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, ca, serverName string
		want                 string // "" = connects over TLS, else a substring of the error
	}{
		{name: "IP in the certificate", ca: files.CA},
		{name: "server name", ca: files.CA, serverName: "localhost"},
		{name: "wrong CA", ca: mariadbtest.OtherCA(t), want: "is not signed by database.tls_ca"},
		{name: "name not in the certificate", ca: files.CA, serverName: "db.example.com", want: `does not name "db.example.com"`},
		{name: "no TLS: the account requires it", want: "Access denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &engine.Engine{Inv: &inventory.Inventory{Database: inventory.Database{
				Host: "127.0.0.1", Port: srv.Port, AdminUser: "tlsadmin", TLSCA: tt.ca, TLSServerName: tt.serverName,
			}}, Hosts: map[string]*engine.Host{}}
			db, err := openDB(e, "tlsadmin", "tls-Secret-1")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			st, err := readDBState(ctx, e, db)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, want an error containing %q", err, tt.want)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var name, cipher string
			if err := db.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil || cipher == "" {
				t.Fatalf("session not encrypted (cipher %q, %v)", cipher, err)
			}
			if !strings.HasPrefix(st.server, "MariaDB ") {
				t.Errorf("server %q", st.server)
			}
		})
	}
}
