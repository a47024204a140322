package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var names = []string{"esb.wso2.com", "mgt.esb.wso2.com"}

// keys are generated once per test binary: RSA generation is slow.
var keys = struct {
	sync.Mutex
	m map[string]crypto.Signer
}{m: map[string]crypto.Signer{}}

func key(t *testing.T, kind string) crypto.Signer {
	t.Helper()
	keys.Lock()
	defer keys.Unlock()
	if k := keys.m[kind]; k != nil {
		return k
	}
	var k crypto.Signer
	var err error
	switch kind {
	case "rsa2048", "rsa2048-other":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa1024":
		k, err = rsa.GenerateKey(rand.Reader, 1024)
	case "p256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	keys.m[kind] = k
	return k
}

// pair makes a self-signed certificate (PEM) for key kind, valid from
// notBefore for the given time, naming dnsNames, and the PEM of its key.
func pair(t *testing.T, kind string, dnsNames []string, notBefore time.Time, valid time.Duration) (certPEM, keyPEM []byte) {
	t.Helper()
	k := key(t, kind)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: dnsNames[0]}, DNSNames: dnsNames,
		NotBefore: notBefore, NotAfter: notBefore.Add(valid),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

const day = 24 * time.Hour

func TestDecide(t *testing.T) {
	good, goodKey := pair(t, "rsa2048", names, now.Add(-day), 365*day)
	_, otherKey := pair(t, "rsa2048-other", names, now.Add(-day), 365*day)
	expiring, expiringKey := pair(t, "rsa2048", names, now.Add(-300*day), 320*day)
	justOK, justOKKey := pair(t, "rsa2048", names, now.Add(-300*day), 331*day)
	expired, expiredKey := pair(t, "rsa2048", names, now.Add(-400*day), 365*day)
	oneName, oneNameKey := pair(t, "rsa2048", names[:1], now.Add(-day), 365*day)
	wildcard, wildcardKey := pair(t, "rsa2048", []string{"*.wso2.com", "*.esb.wso2.com"}, now.Add(-day), 365*day)
	weak, weakKey := pair(t, "rsa1024", names, now.Add(-day), 365*day)
	ec, ecKey := pair(t, "p256", names, now.Add(-day), 365*day)
	p384, p384Key := pair(t, "p384", names, now.Add(-day), 365*day)
	future, futureKey := pair(t, "rsa2048", names, now.Add(day), 365*day)
	tests := []struct {
		name      string
		cert, key []byte
		keyType   KeyType
		want      Action
		reason    string
	}{
		{"nothing there", nil, nil, RSA2048, Create, "no certificate yet"},
		{"valid, right names", good, goodKey, RSA2048, Keep, ""},
		{"valid, any key type", good, goodKey, "", Keep, ""},
		{"31 days left", justOK, justOKKey, RSA2048, Keep, ""},
		{"expiring within 30 days", expiring, expiringKey, RSA2048, Replace, "expires in 20 days"},
		{"expired", expired, expiredKey, RSA2048, Replace, "expired on"},
		{"not yet valid", future, futureKey, RSA2048, Replace, "not valid before"},
		{"missing a name", oneName, oneNameKey, RSA2048, Replace, "does not cover mgt.esb.wso2.com"},
		{"wildcards cover both", wildcard, wildcardKey, RSA2048, Keep, ""},
		{"key of another certificate", good, otherKey, RSA2048, Replace, "does not belong"},
		{"key missing", good, nil, RSA2048, Replace, "private key is missing"},
		{"certificate missing", nil, goodKey, RSA2048, Replace, "certificate is missing"},
		{"garbage certificate", []byte("junk"), goodKey, RSA2048, Replace, "no PEM CERTIFICATE"},
		{"1024-bit key", weak, weakKey, "", Replace, "too weak"},
		{"1024-bit key, rsa2048 asked", weak, weakKey, RSA2048, Replace, "RSA 1024"},
		{"ECDSA asked, RSA there", good, goodKey, ECDSAP256, Replace, "asks for ECDSA P-256"},
		{"ECDSA P-256 kept", ec, ecKey, ECDSAP256, Keep, ""},
		{"RSA 3072 asked, 2048 there", good, goodKey, RSA3072, Replace, "asks for RSA 3072"},
		{"P-384 with no type asked", p384, p384Key, "", Keep, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.cert, tt.key, Want{Names: names, KeyType: tt.keyType, Now: now})
			if d.Action != tt.want || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("got %s (%s), want %s (%s)", d.Action, d.Reason, tt.want, tt.reason)
			}
			if d.Action == Keep && d.Cert == nil {
				t.Fatal("kept without the certificate")
			}
		})
	}
}

func TestCheckProvided(t *testing.T) {
	good, goodKey := pair(t, "p256", names, now.Add(-day), 365*day)
	_, otherKey := pair(t, "rsa2048-other", names, now.Add(-day), 365*day)
	soon, soonKey := pair(t, "p256", names, now.Add(-day), 11*day)
	expired, expiredKey := pair(t, "p256", names, now.Add(-20*day), 10*day)
	oneName, oneNameKey := pair(t, "p256", names[1:], now.Add(-day), 365*day)
	weak, weakKey := pair(t, "rsa1024", names, now.Add(-day), 365*day)
	encrypted := []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n")
	tests := []struct {
		name           string
		cert, key      []byte
		err, warning   string
		wantCertParsed bool
	}{
		{"good", good, goodKey, "", "", true},
		{"expiring soon: installed, with a warning", soon, soonKey, "", "expires in 10 days", true},
		{"expired", expired, expiredKey, "expired on", "", false},
		{"wrong key", good, otherKey, "does not belong", "", false},
		{"encrypted key", good, encrypted, "encrypted", "", false},
		{"names", oneName, oneNameKey, "does not cover esb.wso2.com", "", false},
		{"weak", weak, weakKey, "too weak", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, warning, err := CheckProvided(tt.cert, tt.key, names, now)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || cert == nil {
				t.Fatalf("err = %v", err)
			}
			if !strings.Contains(warning, tt.warning) || (tt.warning == "") != (warning == "") {
				t.Fatalf("warning %q, want %q", warning, tt.warning)
			}
		})
	}
}

func TestKeyTypes(t *testing.T) {
	for _, s := range []string{"rsa2048", "rsa3072", "rsa4096", "ecdsa-p256"} {
		k, err := ParseKeyType(s)
		if err != nil || string(k) != s {
			t.Errorf("%s: %v", s, err)
		}
		if args := strings.Join(k.NewKeyArgs(), " "); !strings.Contains(args, strings.TrimPrefix(s, "rsa")) && !strings.Contains(args, "P-256") {
			t.Errorf("%s: openssl arguments %s", s, args)
		}
	}
	for _, s := range []string{"rsa1024", "RSA2048", "ed25519", ""} {
		if _, err := ParseKeyType(s); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}

func TestFingerprint(t *testing.T) {
	fp := Fingerprint([]byte("x"))
	if len(fp) != 32*3-1 || strings.ToUpper(fp) != fp || strings.Count(fp, ":") != 31 {
		t.Fatalf("fingerprint %s", fp)
	}
}
