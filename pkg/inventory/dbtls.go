package inventory

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// databaseTLS decodes tls_ca and tls_server_name of [database].
func (d *decoder) databaseTLS(t *table, db *Database) {
	db.TLSCA = t.str("tls_ca", "")
	db.TLSServerName = t.str("tls_server_name", "")
	if db.TLSServerName != "" && db.TLSCA == "" {
		t.errorf("tls_server_name", "is set but tls_ca is not: add tls_ca = \"ca.pem\" (the CA that signed the server's certificate) or remove tls_server_name")
	}
	if db.TLSServerName != "" {
		t.checkDNSName("tls_server_name", db.TLSServerName, "db.example.com")
	}
	if db.TLSCA == "" {
		return
	}
	before := len(d.errs)
	db.TLSCA = d.localFile(t, "tls_ca", db.TLSCA, "database CA certificate")
	if len(d.errs) > before || !d.opts.CheckFiles {
		return
	}
	if _, err := caPool(db.TLSCA); err != nil {
		t.errorf("tls_ca", "%v", err)
	}
}

// caPool reads a PEM file of CA certificates.
func caPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the database CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate (-----BEGIN CERTIFICATE-----): point tls_ca at the CA certificate that signed the database server's certificate", path)
	}
	return pool, nil
}

// TLSConfig returns the TLS settings of the database connection, or nil
// when tls_ca is not set. The server's certificate must chain to tls_ca and
// name tls_server_name, else Host (an IP then needs an IP SAN).
func (db Database) TLSConfig() (*tls.Config, error) {
	if db.TLSCA == "" {
		return nil, nil
	}
	pool, err := caPool(db.TLSCA)
	if err != nil {
		return nil, fmt.Errorf("database.tls_ca: %w", err)
	}
	name := db.TLSServerName
	if name == "" {
		name = db.Host
	}
	return &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12}, nil
}
