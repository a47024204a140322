package nginx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// esbConfig is the lab's worker/manager cluster behind one load balancer.
func esbConfig() Config {
	return Config{
		Cluster: "esb-e2e", Prefix: "esb", ServiceName: "esb.wso2.com", MgtName: "mgt.esb.wso2.com",
		HTTPPort: 80, HTTPSPort: 443,
		CertFile: "/etc/nginx/ssl/esb.wso2.com.crt", KeyFile: "/etc/nginx/ssl/esb.wso2.com.key",
		Affinity:      IPHash,
		HTTPBackends:  []Backend{{"198.18.0.22", 8280}, {"198.18.0.23", 8281}},
		HTTPSBackends: []Backend{{"198.18.0.22", 8243}, {"198.18.0.23", 8244}},
		MgtBackends:   []Backend{{"198.18.0.21", 9443}},
	}
}

func TestRenderGolden(t *testing.T) {
	plus := esbConfig()
	plus.Affinity, plus.IPv6, plus.HTTPSPort = StickyLearn, true, 8443
	plus.HTTPSBackends = append(plus.HTTPSBackends, Backend{"2001:db8::5", 8243})
	plus.Directives = []string{"client_max_body_size 20m;"}
	plus.MgtAllow = []string{"198.18.0.0/24", "2001:db8::/64"}
	for name, c := range map[string]Config{"community": esbConfig(), "plus": plus} {
		files, err := Render(c)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range files {
			names = append(names, f.Name)
			golden := filepath.Join("testdata", name, f.Name)
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, f.Content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/nginx -update)", err)
			}
			if string(want) != string(f.Content) {
				t.Errorf("%s/%s differs from the golden file:\n%s", name, f.Name, f.Content)
			}
		}
		if got := strings.Join(names, " "); got != "esb.http.conf esb.https.conf mgt.esb.https.conf" {
			t.Errorf("file names %s", got)
		}
	}
}

func TestRenderRules(t *testing.T) {
	files, err := Render(esbConfig())
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, f := range files {
		all += string(f.Content)
	}
	for _, bad := range []string{"ssl on;", "sticky learn", "{{", "<no value>"} {
		if strings.Contains(all, bad) {
			t.Errorf("rendered configuration contains %q", bad)
		}
	}
	if !strings.Contains(string(files[1].Content), "ip_hash;") || strings.Contains(string(files[0].Content), "ip_hash;") {
		t.Errorf("ip_hash belongs to the HTTPS upstream only")
	}
	if strings.Count(all, "{") != strings.Count(all, "}") {
		t.Errorf("unbalanced braces")
	}
	noAff := esbConfig()
	noAff.Affinity = NoAffinity
	files, _ = Render(noAff)
	if strings.Contains(string(files[1].Content), "ip_hash") {
		t.Errorf("ip_hash without session affinity")
	}
}

func TestRenderRefuses(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"prefix with a slash": func(c *Config) { c.Prefix = "../esb" },
		"no workers":          func(c *Config) { c.HTTPBackends = nil },
		"no manager":          func(c *Config) { c.MgtBackends = nil },
		"same ports":          func(c *Config) { c.HTTPSPort = 80 },
		"bad name":            func(c *Config) { c.ServiceName = "esb;wso2" },
		"multi-line directive": func(c *Config) {
			c.Directives = []string{"a 1;\n}"}
		},
		"allow-list entry that is no network": func(c *Config) { c.MgtAllow = []string{"all; allow 0.0.0.0/0"} },
	} {
		c := esbConfig()
		edit(&c)
		if _, err := Render(c); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}

func TestParseV(t *testing.T) {
	community := "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.11\nTLS SNI support enabled\nconfigure arguments: --with-cc-opt='-g' --with-http_ssl_module --with-http_v2_module\n"
	plus := "nginx version: nginx/1.25.3 (nginx-plus-r31)\nbuilt by gcc\nconfigure arguments: --with-http_ssl_module\n"
	tests := []struct {
		name, out string
		want      Build
		affinity  Affinity
		err       bool
	}{
		{"debian 12", community, Build{Version: "1.22.1", SSL: true}, IPHash, false},
		{"plus", plus, Build{Version: "1.25.3", Plus: true, SSL: true}, StickyLearn, false},
		{"no ssl", "nginx version: nginx/1.18.0\nconfigure arguments: --prefix=/x\n", Build{Version: "1.18.0"}, IPHash, false},
		{"not nginx", "sh: nginx: not found\n", Build{}, 0, true},
	}
	for _, tt := range tests {
		got, err := ParseV(tt.out)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
		if err == nil && got.Affinity(true) != tt.affinity {
			t.Errorf("%s: affinity %v, want %v", tt.name, got.Affinity(true), tt.affinity)
		}
		if err == nil && got.Affinity(false) != NoAffinity {
			t.Errorf("%s: affinity without session affinity", tt.name)
		}
	}
}

// TestNginxAccepts runs the installed nginx's configuration test on the
// rendered files, inside an http block like Debian's nginx.conf, and wants
// no warnings (for example about the obsolete "ssl on;").
func TestNginxAccepts(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		t.Skip("SKIPPED: nginx is not installed; the rendered configuration was not tested by nginx")
	}
	dir := t.TempDir()
	c := esbConfig()
	c.CertFile, c.KeyFile = filepath.Join(dir, "lb.crt"), filepath.Join(dir, "lb.key")
	writeTestPair(t, c.CertFile, c.KeyFile)
	c.HTTPPort, c.HTTPSPort = 18080, 18443
	c.MgtAllow = []string{"198.18.0.0/24", "127.0.0.1/32"}
	files, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	var includes strings.Builder
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&includes, "    include %s;\n", p)
	}
	conf := filepath.Join(dir, "nginx.conf")
	main := fmt.Sprintf("pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n    access_log off;\n%s}\n", dir, dir, includes.String())
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-q", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "[warn]") || strings.Contains(string(out), "[emerg]") {
		t.Fatalf("nginx -t complains:\n%s", out)
	}
}

// writeTestPair writes a self-signed ECDSA certificate and its key.
func writeTestPair(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "esb.wso2.com"},
		DNSNames: []string{"esb.wso2.com", "mgt.esb.wso2.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}
