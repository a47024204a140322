package certs

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestJKSRoundTrip(t *testing.T) {
	a, _ := pair(t, "p256", names, now, 365*day)
	b, _ := pair(t, "rsa2048", names, now, 365*day)
	ca, _ := ParseCert(a)
	cb, _ := ParseCert(b)
	in := []Entry{{Alias: "wso2carbon", Created: now, Cert: ca.Raw}, {Alias: "Carbonctl-LB", Created: now, Cert: cb.Raw}}
	data, err := WriteJKS(in, "wso2carbon")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := WriteJKS([]Entry{in[1], in[0]}, "wso2carbon")
	if !bytes.Equal(data, again) {
		t.Fatal("WriteJKS depends on the entry order")
	}
	entries, err := ReadJKS(data, "wso2carbon")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Alias != "carbonctl-lb" || !entries[1].Created.Equal(now) {
		t.Fatalf("entries %+v", entries)
	}
	e := FindAlias(entries, "CARBONCTL-LB")
	if e == nil || !bytes.Equal(e.Cert, cb.Raw) {
		t.Fatal("alias lookup failed")
	}
	if FindAlias(entries, "nope") != nil {
		t.Fatal("found a missing alias")
	}
	if _, err := ReadJKS(data, "wrong"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	tampered := append([]byte(nil), data...)
	tampered[40] ^= 1
	if _, err := ReadJKS(tampered, "wso2carbon"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("tampered: %v", err)
	}
}

// testdata/keytool.jks was written by OpenJDK 17's keytool: -genkeypair
// (alias wso2carbon, EC key) then -importcert of testdata/keytool-lb.pem
// (alias carbonctl-lb), store password wso2carbon.
func TestReadKeytoolJKS(t *testing.T) {
	data, err := os.ReadFile("testdata/keytool.jks")
	if err != nil {
		t.Fatal(err)
	}
	lb, err := os.ReadFile("testdata/keytool-lb.pem")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCert(lb)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ReadJKS(data, "wso2carbon")
	if err != nil {
		t.Fatal(err)
	}
	e := FindAlias(entries, "carbonctl-lb")
	if e == nil || e.PrivateKey || Fingerprint(e.Cert) != Fingerprint(cert.Raw) {
		t.Fatalf("carbonctl-lb entry: %+v", e)
	}
	k := FindAlias(entries, "wso2carbon")
	if k == nil || !k.PrivateKey || len(k.Cert) == 0 {
		t.Fatalf("wso2carbon entry: %+v", k)
	}
	if _, err := ReadJKS(data, "wso2carbon2"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestReadJKSRejects(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":     nil,
		"pkcs12":    {0x30, 0x82, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"jceks":     mustHex("cececece0000000200000000"),
		"truncated": mustHex("feedfeed00000002"),
	} {
		if _, err := ReadJKS(data, "wso2carbon"); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name == "jceks" && !strings.Contains(err.Error(), "JCEKS") {
			t.Errorf("jceks: %v", err)
		}
	}
	// A store whose entry count promises more than it holds, with a valid digest.
	body := mustHex("feedfeed0000000200000001")
	data := append(body, jksDigest("pw", body)...)
	if _, err := ReadJKS(data, "pw"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("short store: %v", err)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
