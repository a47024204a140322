package inventory

import (
	"os"
	"path/filepath"
	"testing"
)

// testCA is a real CA certificate (PEM), as tls_ca would name it.
const testCA = `-----BEGIN CERTIFICATE-----
MIIBkDCCATWgAwIBAgIUel6sFwcKvG9nGZddaM8LyZ7/VfQwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRY2FyYm9uY3RsIHRlc3QgQ0EwIBcNMjYxMjA0MTUxMTE1WhgP
MjEyNjExMTAxNTExMTVaMBwxGjAYBgNVBAMMEWNhcmJvbmN0bCB0ZXN0IENBMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEy4cO5tWX/W/6ki3vhx29n0qljQIA/tFI
aV59ySYVGNJL+f/uiJNGbXG4o3aKh4kC6NI4ldRZypmddHTJFFXoKaNTMFEwHQYD
VR0OBBYEFNPSG4XTJeGG2AVWw3xUaKkiOLx1MB8GA1UdIwQYMBaAFNPSG4XTJeGG
2AVWw3xUaKkiOLx1MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIh
AK8ZOXAi70zi+ikmZg3eX43s8/X05imxBQkCWBbSYb1RAiEA3rq3fYO5gQLb8sWt
jIUcr2rVEOc/Nkz7S8HoyGOy1PM=
-----END CERTIFICATE-----
`

func TestDatabaseTLS(t *testing.T) {
	tests := []struct {
		name, keys string
		wants      []want
		server     string // TLSConfig().ServerName when accepted
	}{
		{name: "no TLS", keys: ""},
		{name: "CA, server name from host", keys: "tls_ca = \"ca.pem\"\n", server: "198.18.0.10"},
		{name: "CA and server name", keys: "tls_ca = \"ca.pem\"\ntls_server_name = \"db.example.com\"\n", server: "db.example.com"},
		{name: "missing CA file", keys: "tls_ca = \"nope.pem\" # here\n",
			wants: []want{{"# here", "database.tls_ca", "database CA certificate"}}},
		{name: "CA file without a certificate", keys: "tls_ca = \"pw\" # here\n",
			wants: []want{{"# here", "database.tls_ca", "pw holds no PEM certificate"}}},
		{name: "server name without CA", keys: "tls_server_name = \"db.example.com\" # here\n",
			wants: []want{{"# here", "database.tls_server_name", "is set but tls_ca is not"}}},
		{name: "server name not a name", keys: "tls_ca = \"ca.pem\"\ntls_server_name = \"db example\" # here\n",
			wants: []want{{"# here", "database.tls_server_name", "is not a DNS name"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := fixtureDir(t)
			if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte(testCA), 0o644); err != nil {
				t.Fatal(err)
			}
			p := defaultParts()
			p.database += tt.keys
			doc := p.doc()
			inv, errs := parse(t, dir, doc)
			if len(tt.wants) > 0 {
				checkProblems(t, doc, errs, tt.wants)
				return
			}
			if errs != nil {
				t.Fatalf("Parse: %v", errs)
			}
			cfg, err := inv.Database.TLSConfig()
			switch {
			case err != nil:
				t.Fatal(err)
			case tt.server == "" && cfg != nil:
				t.Fatalf("TLS config without tls_ca")
			case tt.server != "" && (cfg == nil || cfg.ServerName != tt.server || cfg.RootCAs == nil || cfg.InsecureSkipVerify):
				t.Fatalf("TLS config %+v, want server name %s and the CA pool", cfg, tt.server)
			}
		})
	}
}
