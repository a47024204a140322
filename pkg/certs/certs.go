// Package certs holds carbonctl's certificate knowledge: whether a load
// balancer's certificate and key can be kept or must be (re)generated, how
// to check an operator-provided pair, and how to read and write the Java
// keystores (JKS) that Carbon's client-truststore.jks uses.
//
// Everything here is pure Go on bytes already read; nothing runs openssl or
// keytool.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Renewal is how long before it expires a certificate is replaced.
const Renewal = 30 * 24 * time.Hour

// KeyType is a key algorithm and size carbonctl generates.
type KeyType string

// The key types carbonctl generates. Never RSA 1024, whatever the guides say.
const (
	RSA2048   KeyType = "rsa2048"
	RSA3072   KeyType = "rsa3072"
	RSA4096   KeyType = "rsa4096"
	ECDSAP256 KeyType = "ecdsa-p256"
)

// KeyTypes lists the accepted key types, default first.
func KeyTypes() []KeyType {
	return []KeyType{RSA2048, RSA3072, RSA4096, ECDSAP256}
}

// ParseKeyType validates a key type name.
func ParseKeyType(s string) (KeyType, error) {
	all := KeyTypes()
	for _, k := range all {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(all))
	for i, k := range all {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown key type %q (want one of %s)", s, strings.Join(names, ", "))
}

// NewKeyArgs are the openssl req arguments that generate a key of this type.
func (k KeyType) NewKeyArgs() []string {
	switch k {
	case ECDSAP256:
		return []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"}
	case RSA3072:
		return []string{"-newkey", "rsa:3072"}
	case RSA4096:
		return []string{"-newkey", "rsa:4096"}
	}
	return []string{"-newkey", "rsa:2048"}
}

// IsRSA reports whether the key type is an RSA one.
func (k KeyType) IsRSA() bool { return strings.HasPrefix(string(k), "rsa") }

// Describe names the type for people, e.g. "RSA 2048".
func (k KeyType) Describe() string {
	if k == ECDSAP256 {
		return "ECDSA P-256"
	}
	return "RSA " + strings.TrimPrefix(string(k), "rsa")
}

// keyTypeOf returns the KeyType of a public key ("" if carbonctl would not
// generate it) and a description.
func keyTypeOf(pub crypto.PublicKey) (KeyType, string) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		kt := KeyType(fmt.Sprintf("rsa%d", bits))
		if _, err := ParseKeyType(string(kt)); err != nil {
			kt = ""
		}
		return kt, fmt.Sprintf("RSA %d", bits)
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ECDSAP256, "ECDSA P-256"
		}
		return "", "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "", "Ed25519"
	}
	return "", fmt.Sprintf("%T", pub)
}

// strongEnough rejects RSA keys under 2048 bits and elliptic curves under
// 256 bits.
func strongEnough(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA %d key is too weak (at least 2048 bits)", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return fmt.Errorf("ECDSA %s key is too weak (at least P-256)", k.Curve.Params().Name)
		}
	}
	return nil
}

// ParseCert returns the first certificate of a PEM file.
func ParseCert(data []byte) (*x509.Certificate, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// ParseKey returns the first private key of a PEM file (PKCS#8, PKCS#1 or
// SEC 1). Encrypted keys are refused: nginx could not load them unattended.
func ParseKey(data []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM private key block")
		}
		if strings.Contains(block.Type, "ENCRYPTED") || block.Headers["Proc-Type"] != "" {
			return nil, errors.New("the private key is encrypted: nginx needs it without a passphrase")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key %T", key)
		}
		return signer, nil
	}
}

// ParsePair parses a certificate and its private key and checks that the
// key belongs to the certificate.
func ParsePair(certPEM, keyPEM []byte) (*x509.Certificate, error) {
	cert, err := ParseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	key, err := ParseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("the private key does not belong to the certificate")
	}
	return cert, nil
}

// Want is the certificate a load balancer needs.
type Want struct {
	Names   []string  // DNS names it must cover; the first is the CN
	KeyType KeyType   // the key type asked for ("" = any strong key)
	Now     time.Time // zero = time.Now()
}

func (w Want) now() time.Time {
	if w.Now.IsZero() {
		return time.Now()
	}
	return w.Now
}

// Action is what to do with the load balancer's certificate.
type Action int

// Actions of a Decision.
const (
	Keep Action = iota
	Create
	Replace
)

// String names the action.
func (a Action) String() string { return [...]string{"keep", "create", "replace"}[a] }

// Decision says whether an existing certificate is kept, and why not.
type Decision struct {
	Action Action
	Reason string            // why it is created or replaced
	Cert   *x509.Certificate // the certificate kept (Action Keep)
}

// Decide looks at the certificate and key found on the load balancer (nil
// when missing) and decides whether they can stay: they must parse, belong
// together, cover every wanted name, have the wanted key type and stay
// valid for more than Renewal.
func Decide(certPEM, keyPEM []byte, w Want) Decision {
	if certPEM == nil && keyPEM == nil {
		return Decision{Action: Create, Reason: "no certificate yet"}
	}
	if certPEM == nil {
		return Decision{Action: Replace, Reason: "the certificate is missing"}
	}
	if keyPEM == nil {
		return Decision{Action: Replace, Reason: "the private key is missing"}
	}
	cert, err := ParsePair(certPEM, keyPEM)
	if err != nil {
		return Decision{Action: Replace, Reason: err.Error()}
	}
	if reason := problem(cert, w); reason != "" {
		return Decision{Action: Replace, Reason: reason}
	}
	return Decision{Action: Keep, Cert: cert}
}

// problem returns why cert does not do, or "".
func problem(cert *x509.Certificate, w Want) string {
	if reason := validity(cert, w.now()); reason != "" {
		return reason
	}
	if missing := Uncovered(cert, w.Names); len(missing) > 0 {
		return fmt.Sprintf("it does not cover %s", strings.Join(missing, ", "))
	}
	kt, desc := keyTypeOf(cert.PublicKey)
	if w.KeyType != "" && kt != w.KeyType {
		return fmt.Sprintf("its key is %s, the inventory asks for %s", desc, w.KeyType.Describe())
	}
	if err := strongEnough(cert.PublicKey); err != nil {
		return err.Error()
	}
	return ""
}

// validity returns why cert is (nearly) out of date at now, or "".
func validity(cert *x509.Certificate, now time.Time) string {
	day := "2006-01-02"
	switch left := cert.NotAfter.Sub(now); {
	case left <= 0:
		return fmt.Sprintf("it expired on %s", cert.NotAfter.UTC().Format(day))
	case left <= Renewal:
		return fmt.Sprintf("it expires in %d days (%s)", int(left.Hours()/24), cert.NotAfter.UTC().Format(day))
	case cert.NotBefore.After(now):
		return fmt.Sprintf("it is not valid before %s", cert.NotBefore.UTC().Format(time.RFC3339))
	}
	return ""
}

// Uncovered lists the names cert is not valid for.
func Uncovered(cert *x509.Certificate, names []string) []string {
	var missing []string
	for _, n := range names {
		if cert.VerifyHostname(n) != nil {
			missing = append(missing, n)
		}
	}
	return missing
}

// CheckProvided checks an operator's certificate and key before carbonctl
// installs them: the key must match, the names must be covered, the key
// must be strong and the certificate not expired. A certificate that
// expires within Renewal is accepted with a warning.
func CheckProvided(certPEM, keyPEM []byte, names []string, now time.Time) (cert *x509.Certificate, warning string, err error) {
	cert, err = ParsePair(certPEM, keyPEM)
	if err != nil {
		return nil, "", err
	}
	if missing := Uncovered(cert, names); len(missing) > 0 {
		return nil, "", fmt.Errorf("the certificate does not cover %s (it names %s)", strings.Join(missing, ", "), describeNames(cert))
	}
	if err := strongEnough(cert.PublicKey); err != nil {
		return nil, "", err
	}
	if reason := validity(cert, now); reason != "" {
		if !now.Before(cert.NotAfter) || cert.NotBefore.After(now) {
			return nil, "", fmt.Errorf("the certificate cannot be used: %s", reason)
		}
		warning = "the provided certificate " + strings.TrimPrefix(reason, "it ") + ": renew it"
	}
	return cert, warning, nil
}

// describeNames lists a certificate's DNS names (or its CN).
func describeNames(cert *x509.Certificate) string {
	if len(cert.DNSNames) > 0 {
		return strings.Join(cert.DNSNames, ", ")
	}
	return "CN=" + cert.Subject.CommonName
}

// Describe summarises a certificate for people: names, key, expiry.
func Describe(cert *x509.Certificate) string {
	_, key := keyTypeOf(cert.PublicKey)
	return fmt.Sprintf("%s, %s, valid until %s", describeNames(cert), key, cert.NotAfter.UTC().Format("2006-01-02"))
}

// Fingerprint is the SHA-256 of a DER certificate, as keytool prints it
// (upper-case hex pairs joined by colons).
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// EncodePEM returns the PEM form of a DER certificate.
func EncodePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
