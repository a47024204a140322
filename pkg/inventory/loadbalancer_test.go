package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// lbTable is a valid [loadbalancer] table plus extra lines.
func lbTable(extra string) string {
	return "[loadbalancer] # lb\nhost = \"198.18.0.11\"\nservice_host_name = \"esb.wso2.com\"\nmgt_host_name = \"mgt.esb.wso2.com\"\n" + extra
}

func TestLoadBalancerDefaults(t *testing.T) {
	p := defaultParts()
	p.lb = lbTable("")
	inv := mustParse(t, fixtureDir(t), p.doc())
	want := LoadBalancer{Host: "198.18.0.11", ServiceHostName: "esb.wso2.com", MgtHostName: "mgt.esb.wso2.com",
		HTTPPort: 80, HTTPSPort: 443, SessionAffinity: true, CertDays: 365, CertKeyType: "rsa2048",
		TruststorePassword: Secret{Value: "wso2carbon", Source: "default"}, TruststoreAlias: "carbonctl-lb"}
	if !reflect.DeepEqual(*inv.LoadBalancer, want) {
		t.Fatalf("got %#v\nwant %#v", *inv.LoadBalancer, want)
	}
	if len(inv.Warnings) != 0 {
		t.Errorf("warnings: %v", inv.Warnings)
	}
	for _, s := range inv.Secrets() {
		if s == "wso2carbon" {
			t.Errorf("the stock trust store password is masked: it would garble wso2carbon.log in output")
		}
	}
}

func TestLoadBalancerSettings(t *testing.T) {
	dir := fixtureDir(t)
	for _, f := range []string{"lb.crt", "lb.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("pem"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	generated := lbTable(`session_affinity = false
cert_subject = "/C=LK/ST=Western/L=Colombo/O=WSO2 Inc./OU=Integration/emailAddress=ops@wso2.com"
cert_days = 825
cert_key_type = "ecdsa-p256"
truststore_password_env = "APP_PW"
truststore_alias = "esb-lb.2026"
`)
	p := defaultParts()
	p.lb = generated
	inv := mustParse(t, dir, p.doc())
	lb := inv.LoadBalancer
	got := []any{lb.SessionAffinity, lb.CertDays, string(lb.CertKeyType), lb.TruststorePassword, lb.TruststoreAlias, lb.SubjectFields()}
	want := []any{false, 825, "ecdsa-p256", Secret{Value: "app-secret", Source: "env:APP_PW"}, "esb-lb.2026",
		[][2]string{{"C", "LK"}, {"ST", "Western"}, {"L", "Colombo"}, {"O", "WSO2 Inc."}, {"OU", "Integration"}, {"emailAddress", "ops@wso2.com"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}

	p.lb = lbTable("cert_file = \"lb.crt\"\nkey_file = \"lb.key\"\ntruststore_password_file = \"pw\"\n")
	inv = mustParse(t, dir, p.doc())
	if inv.LoadBalancer.CertFile != filepath.Join(dir, "lb.crt") || inv.LoadBalancer.KeyFile != filepath.Join(dir, "lb.key") {
		t.Errorf("cert_file/key_file not resolved: %q %q", inv.LoadBalancer.CertFile, inv.LoadBalancer.KeyFile)
	}
	if !contains(inv.Secrets(), "file-secret") {
		t.Errorf("a trust store password from a file is not masked")
	}

	p.lb = lbTable("truststore_password = \"changeit\"\n")
	inv = mustParse(t, dir, p.doc())
	if len(inv.Warnings) != 1 || !contains(inv.Secrets(), "changeit") {
		t.Errorf("plain trust store password: warnings %v", inv.Warnings)
	}
}

func TestMgtAllow(t *testing.T) {
	p := defaultParts()
	p.lb = lbTable("mgt_allow = [\"198.18.0.0/24\", \"203.0.113.7\", \"2001:db8::/48\"]\n")
	inv := mustParse(t, fixtureDir(t), p.doc())
	var got []string
	for _, n := range inv.LoadBalancer.MgtAllow {
		got = append(got, n.String())
	}
	if want := []string{"198.18.0.0/24", "203.0.113.7/32", "2001:db8::/48"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("mgt_allow = %v, want %v", got, want)
	}
}

func TestLoadBalancerProblems(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		wants []want
	}{
		{"1024-bit key", "cert_key_type = \"rsa1024\" # here\n",
			[]want{{"# here", "loadbalancer.cert_key_type", `unknown key type "rsa1024"`}}},
		{"key type of the wrong type", "cert_key_type = 2048 # here\n",
			[]want{{"# here", "loadbalancer.cert_key_type", "want a string"}}},
		{"validity too short to renew", "cert_days = 30 # here\n",
			[]want{{"# here", "loadbalancer.cert_days", "out of range: use a value from 60 to 3650"}}},
		{"CN in the subject", "cert_subject = \"/CN=esb.wso2.com/O=WSO2\" # here\n",
			[]want{{"# here", "loadbalancer.cert_subject", "is not valid: write /ATTR=value pairs"}}},
		{"shell characters in the subject", "cert_subject = \"/O=$(reboot)\" # here\n",
			[]want{{"# here", "loadbalancer.cert_subject", "is not valid"}}},
		{"bad country", "cert_subject = \"/C=Sri Lanka\" # here\n",
			[]want{{"# here", "loadbalancer.cert_subject", "not a two-letter country code"}}},
		{"cert without key", "cert_file = \"lb.crt\" # here\n",
			[]want{{"# here", "loadbalancer.cert_file", "is set without key_file"}}},
		{"key without cert", "key_file = \"lb.key\" # here\n",
			[]want{{"# here", "loadbalancer.key_file", "is set without cert_file"}}},
		{"missing cert file", "cert_file = \"nope.crt\" # here\nkey_file = \"pw\"\n",
			[]want{{"# here", "loadbalancer.cert_file", "certificate file"}}},
		{"provided and generated", "cert_file = \"pw\"\nkey_file = \"pw\"\ncert_days = 90 # here\n",
			[]want{{"# here", "loadbalancer.cert_days", "is set together with cert_file"}}},
		{"two password sources", "truststore_password_env = \"APP_PW\"\ntruststore_password_file = \"pw\" # here\n",
			[]want{{"# here", "loadbalancer.truststore_password_file", "is set together with truststore_password_env"}}},
		{"unset password variable", "truststore_password_env = \"NOPE\" # here\n",
			[]want{{"# here", "loadbalancer.truststore_password_env", "environment variable NOPE is not set"}}},
		{"upper-case alias", "truststore_alias = \"Carbon LB\" # here\n",
			[]want{{"# here", "loadbalancer.truststore_alias", "is not valid"}}},
		{"affinity as a string", "session_affinity = \"true\" # here\n",
			[]want{{"# here", "loadbalancer.session_affinity", "write session_affinity = true without quotes"}}},
		{"management allow-list: not a network", "mgt_allow = [\"198.18.0.0/24\", \"office\"] # here\n",
			[]want{{"# here", "loadbalancer.mgt_allow", `"office" is not a network: write CIDR notation`}}},
		{"management allow-list: host bits set", "mgt_allow = [\"198.18.0.9/24\"] # here\n",
			[]want{{"# here", "loadbalancer.mgt_allow", `"198.18.0.9/24" has host bits set: write the network, 198.18.0.0/24`}}},
		{"management allow-list: empty", "mgt_allow = [] # here\n",
			[]want{{"# here", "loadbalancer.mgt_allow", "is empty, which would lock everyone out"}}},
		{"management allow-list: a string", "mgt_allow = \"198.18.0.0/24\" # here\n",
			[]want{{"# here", "loadbalancer.mgt_allow", "want an array of strings"}}},
		{"typo", "sesion_affinity = true # here\n",
			[]want{{"# here", "loadbalancer.sesion_affinity", `did you mean "session_affinity"?`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultParts()
			p.lb = lbTable(tt.extra)
			doc := p.doc()
			_, errs := parse(t, fixtureDir(t), doc)
			checkProblems(t, doc, errs, tt.wants)
		})
	}
}
