package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The load balancer of the e2e inventory.
const (
	serviceName = "esb.wso2.com"
	mgtName     = "mgt.esb.wso2.com"
	lbCert      = "/etc/nginx/ssl/" + serviceName + ".crt"
	lbKey       = "/etc/nginx/ssl/" + serviceName + ".key"
	truststore  = home + "/repository/resources/security/client-truststore.jks"
)

// lbFiles are the files carbonctl manages on the load balancer.
var lbFiles = []string{"/etc/nginx/conf.d/esb.http.conf", "/etc/nginx/conf.d/esb.https.conf", "/etc/nginx/conf.d/mgt.esb.https.conf", lbCert, lbKey}

// withLB adds a [loadbalancer] on the lab's lb host to the ESB inventory.
func (e *env) withLB(extra string) func(string) string {
	return func(s string) string {
		lb := fmt.Sprintf("[loadbalancer]\nhost = %q\nservice_host_name = %q\nmgt_host_name = %q\n%s\n",
			e.lab.Hosts["lb"], serviceName, mgtName, extra)
		return strings.Replace(s, "[[node]]", lb+"[[node]]", 1)
	}
}

func TestLoadBalancer(t *testing.T) {
	e := newEnv(t)
	generated := e.withLB(`cert_subject = "/C=LK/O=WSO2/OU=carbonctl e2e"`)
	inv := e.writeInventory("lb.toml", generated)

	t.Run("plan shows certificate, vhosts and start, changes nothing", func(t *testing.T) {
		r := e.carbonctl("plan", inv)
		if r.code != 0 {
			t.Fatalf("plan exit %d:\n%s", r.code, r.out)
		}
		for _, want := range []string{
			"create " + lbCert + " and " + lbKey + " with openssl: no certificate yet; new RSA 2048 key, CN=esb.wso2.com, subjectAltName=esb.wso2.com,mgt.esb.wso2.com",
			"create /etc/nginx/conf.d/esb.http.conf", "+    server " + e.lab.Hosts["n2"] + ":8280 max_fails=1", "+    server " + e.lab.Hosts["n1"] + ":9443 max_fails=1",
			"nginx -t, then start nginx (it is not running)",
			// The product is not unpacked yet: the plan reads the archive's trust store.
			"import the certificate lb-certs generates into " + truststore + ` as "carbonctl-lb"`,
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("plan output lacks %q", want)
			}
		}
		if t.Failed() {
			t.Logf("plan output:\n%s", r.out)
		}
		if out := e.exec("lb", "sh", "-c", "ls /etc/nginx/conf.d /etc/nginx/ssl 2>&1; test -e /run/nginx.pid && echo running || true"); strings.Contains(out, "esb") || strings.Contains(out, "running") {
			t.Errorf("plan touched the load balancer:\n%s", out)
		}
	})

	t.Run("up converges the cluster behind the load balancer", func(t *testing.T) {
		r := e.carbonctl("up", inv)
		if r.code != 0 {
			t.Fatalf("up exit %d:\n%s", r.code, r.out)
		}
		e.assertCluster(t)
	})

	pool, cert := e.lbCertPool(t)

	t.Run("certificate: names, key, validity, key mode", func(t *testing.T) {
		if cert.Subject.CommonName != serviceName || strings.Join(cert.DNSNames, ",") != serviceName+","+mgtName {
			t.Errorf("CN %q, SANs %v", cert.Subject.CommonName, cert.DNSNames)
		}
		if got := cert.Subject.String(); got != "CN=esb.wso2.com,OU=carbonctl e2e,O=WSO2,C=LK" {
			t.Errorf("subject %s, want the inventory's cert_subject with CN=%s", got, serviceName)
		}
		if k, ok := cert.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
			t.Errorf("key %T, want RSA 2048", cert.PublicKey)
		}
		if days := time.Until(cert.NotAfter).Hours() / 24; days < 363 || days > 366 {
			t.Errorf("valid for %.0f more days, want 365", days)
		}
		if got := strings.TrimSpace(e.exec("lb", "stat", "-c", "%a %U", lbKey)); got != "600 root" {
			t.Errorf("key mode and owner %q, want 600 root", got)
		}
		if out := e.exec("lb", "sh", "-c", "grep -c ENCRYPTED "+lbKey+" || true"); strings.TrimSpace(out) != "0" {
			t.Errorf("the key has a passphrase")
		}
	})

	t.Run("nginx accepts the configuration without warnings", func(t *testing.T) {
		out := e.exec("lb", "sh", "-c", "nginx -t 2>&1")
		if strings.Contains(out, "[warn]") || !strings.Contains(out, "test is successful") {
			t.Fatalf("nginx -t:\n%s", out)
		}
		conf := e.exec("lb", "cat", "/etc/nginx/conf.d/esb.https.conf")
		if strings.Contains(conf, "ssl on;") || !strings.Contains(conf, "ip_hash;") || strings.Contains(conf, "sticky learn") {
			t.Errorf("esb.https.conf: want ip_hash on the community build, no ssl on:\n%s", conf)
		}
	})

	client := e.lbClient(pool)

	t.Run("http service name spreads over both workers", func(t *testing.T) {
		seen := map[string]int{}
		for i := 0; i < 12; i++ {
			body := e.get(t, client, "http://"+serviceName+"/services/echo", 200)
			m := regexp.MustCompile(`^carbonsim (\S+) http port 8280 worker\n$`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("not a worker's pass-through HTTP port: %q", body)
			}
			seen[m[1]]++
		}
		if len(seen) != 2 || seen["n2"] == 0 || seen["n3"] == 0 {
			t.Fatalf("requests reached %v, want both workers n2 and n3", seen)
		}
	})

	t.Run("https verifies with the generated certificate and reaches a worker", func(t *testing.T) {
		body := e.get(t, client, "https://"+serviceName+"/", 200)
		if !regexp.MustCompile(`^carbonsim n[23] https port 8243 worker\n$`).MatchString(body) {
			t.Fatalf("not a worker's pass-through HTTPS port: %q", body)
		}
		// Without the generated certificate, verification fails: the client really checks it.
		strict := e.lbClient(x509.NewCertPool())
		if _, err := strict.Get("https://" + serviceName + "/"); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("an unknown certificate was accepted: %v", err)
		}
	})

	t.Run("management name reaches the manager only", func(t *testing.T) {
		for i := 0; i < 6; i++ {
			if body := e.get(t, client, "https://"+mgtName+"/carbon/", 200); !strings.Contains(body, "WSO2 Management Console") {
				t.Fatalf("mgt name: %q", body)
			}
		}
		resp, err := client.Get("http://" + mgtName + "/carbon/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://"+mgtName+"/carbon/" {
			t.Errorf("http mgt name: %d to %q, want a redirect to https", resp.StatusCode, resp.Header.Get("Location"))
		}
		// The service name does not lead to the console but to a worker's pass-through port.
		if body := e.get(t, client, "https://"+serviceName+"/carbon/", 200); !strings.Contains(body, "worker") {
			t.Errorf("service name, /carbon/: %q", body)
		}
	})

	t.Run("every node trusts the load balancer certificate", func(t *testing.T) {
		want := strings.TrimSpace(e.exec("lb", "cat", lbCert))
		for _, n := range labNodes {
			got := e.exec(n.host, "sh", "-c", "keytool -exportcert -rfc -alias carbonctl-lb -keystore "+truststore+" -storepass wso2carbon 2>/dev/null")
			if normalizePEM(got) != normalizePEM(want) {
				t.Errorf("%s: alias carbonctl-lb holds\n%s\nwant\n%s", n.name, got, want)
			}
			if list := e.exec(n.host, "sh", "-c", "keytool -list -keystore "+truststore+" -storepass wso2carbon 2>&1"); !strings.Contains(list, "wso2carbon,") {
				t.Errorf("%s: the stock entry is gone:\n%s", n.name, list)
			}
		}
	})

	t.Run("nodes name the load balancer", func(t *testing.T) {
		carbon := e.exec("n2", "cat", home+"/repository/conf/carbon.xml")
		axis2 := e.exec("n2", "cat", home+"/repository/conf/axis2/axis2.xml")
		catalina := e.exec("n1", "cat", home+"/repository/conf/tomcat/catalina-server.xml")
		mgrCarbon := e.exec("n1", "cat", home+"/repository/conf/carbon.xml")
		for what, ok := range map[string]bool{
			"worker HostName":        strings.Contains(carbon, "<HostName>"+serviceName+"</HostName>"),
			"manager MgtHostName":    strings.Contains(mgrCarbon, "<MgtHostName>"+mgtName+"</MgtHostName>"),
			"worker WSDLEPRPrefix":   strings.Contains(axis2, `<parameter name="WSDLEPRPrefix">http://`+serviceName+`:80</parameter>`),
			"worker https prefix":    strings.Contains(axis2, `<parameter name="WSDLEPRPrefix">https://`+serviceName+`:443</parameter>`),
			"manager 9443 proxyPort": regexp.MustCompile(`port="9443"[^>]*proxyPort="443"|proxyPort="443"[^>]*port="9443"`).MatchString(catalina),
			"manager 9763 proxyPort": regexp.MustCompile(`port="9763"[^>]*proxyPort="80"|proxyPort="80"[^>]*port="9763"`).MatchString(catalina),
		} {
			if !ok {
				t.Errorf("%s is not set for the load balancer", what)
			}
		}
	})

	t.Run("second up changes nothing on the load balancer nor in the trust stores", func(t *testing.T) {
		before := e.lbSnapshot()
		r := e.carbonctl("up", inv)
		if r.code != 0 || !strings.Contains(r.out, "\n0 changed, ok") || !strings.Contains(r.out, "certificate kept: esb.wso2.com, mgt.esb.wso2.com") {
			t.Fatalf("second up: exit %d:\n%s", r.code, r.out)
		}
		if after := e.lbSnapshot(); after != before {
			t.Fatalf("second up touched the load balancer or a trust store:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("files nginx has not loaded yet are reloaded (a run killed before the reload)", func(t *testing.T) {
		e.exec("lb", "rm", "/var/lib/carbonctl/nginx/esb.applied")
		before := e.lbSnapshot()
		r := e.carbonctl("up", inv)
		if r.code != 0 || !strings.Contains(r.out, "it has not loaded these files yet") {
			t.Fatalf("up: exit %d\n%s", r.code, r.out)
		}
		after := e.lbSnapshot()
		if contents(before) != contents(after) || masterOf(before) != masterOf(after) || pidsOf(before) == pidsOf(after) {
			t.Fatalf("want a reload and no file change:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if r := e.carbonctl("up", inv); !strings.Contains(r.out, "\n0 changed, ok") {
			t.Fatalf("the reload was not recorded:\n%s", r.out)
		}
	})

	t.Run("a vhost nginx rejects is rolled back and nginx keeps serving", func(t *testing.T) {
		before := e.lbSnapshot()
		broken := e.brokenPlaybook(t, "esb")
		r := e.carbonctl("up", e.writeInventory("broken.toml", func(s string) string {
			return strings.Replace(generated(s), `playbook = "esb-worker-manager"`, fmt.Sprintf("playbook = %q", broken), 1)
		}))
		if r.code != 1 || !strings.Contains(r.out, `unknown directive "carbonctl_no_such_directive"`) || !strings.Contains(r.out, "failed: [lb]") {
			t.Fatalf("want the step to fail with nginx's message: exit %d\n%s", r.code, r.out)
		}
		after := e.lbSnapshot()
		if contents(before) != contents(after) {
			t.Fatalf("the vhost files were not restored:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if leftovers := e.exec("lb", "ls", "-A", "/etc/nginx/conf.d"); strings.Contains(leftovers, "carbonctl-") {
			t.Errorf("temporary files left in conf.d:\n%s", leftovers)
		}
		e.get(t, client, "http://"+serviceName+"/", 200)
		e.get(t, client, "https://"+mgtName+"/carbon/", 200)
	})

	t.Run("new vhost files nginx rejects are removed again", func(t *testing.T) {
		before := e.lbSnapshot()
		broken := e.brokenPlaybook(t, "broken")
		r := e.carbonctl("up", e.writeInventory("broken2.toml", func(s string) string {
			return strings.Replace(generated(s), `playbook = "esb-worker-manager"`, fmt.Sprintf("playbook = %q", broken), 1)
		}))
		if r.code != 1 || !strings.Contains(r.out, "create /etc/nginx/conf.d/broken.http.conf") || !strings.Contains(r.out, "unknown directive") {
			t.Fatalf("want the step to fail: exit %d\n%s", r.code, r.out)
		}
		if out := e.exec("lb", "ls", "-A", "/etc/nginx/conf.d"); strings.Contains(out, "broken") {
			t.Fatalf("new files are still there:\n%s", out)
		}
		if after := e.lbSnapshot(); contents(before) != contents(after) || pidsOf(before) != pidsOf(after) {
			t.Fatalf("nginx or its files changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		e.get(t, client, "http://"+serviceName+"/", 200)
	})

	t.Run("an expiring certificate is replaced, re-imported and nginx reloaded", func(t *testing.T) {
		// A certificate with the right names and key but 10 days left.
		e.exec("lb", "sh", "-c", "openssl req -x509 -new -batch -key "+lbKey+" -days 10 -subj /CN="+serviceName+
			" -addext subjectAltName=DNS:"+serviceName+",DNS:"+mgtName+" -out "+lbCert)
		before := e.lbSnapshot()
		r := e.carbonctl("up", inv)
		if r.code != 0 || !strings.Contains(r.out, "replace "+lbCert+" and "+lbKey+" with openssl: it expires in 9 days") {
			t.Fatalf("up with an expiring certificate: exit %d\n%s", r.code, r.out)
		}
		after := e.lbSnapshot()
		if masterOf(before) != masterOf(after) || pidsOf(before) == pidsOf(after) {
			t.Errorf("want nginx reloaded (same master, new workers):\nbefore:\n%s\nafter:\n%s", before, after)
		}
		pool, cert := e.lbCertPool(t)
		if time.Until(cert.NotAfter) < 300*24*time.Hour {
			t.Errorf("the new certificate expires %v", cert.NotAfter)
		}
		body := e.get(t, e.lbClient(pool), "https://"+serviceName+"/", 200)
		if !strings.Contains(body, "worker") {
			t.Errorf("https after the new certificate: %q", body)
		}
		if n := strings.Count(r.out, "replace alias \"carbonctl-lb\""); n != 3 {
			t.Errorf("want the certificate replaced in 3 trust stores, got %d:\n%s", n, r.out)
		}
		if !strings.Contains(r.out, "(configuration changed)") {
			t.Errorf("nodes were not restarted to load the new trust store:\n%s", r.out)
		}
		e.assertCluster(t)
	})

	t.Run("an operator's certificate is checked, then installed instead", func(t *testing.T) {
		certFile, keyFile := writeOperatorPair(t, e.dir, "op")
		_, otherKey := writeOperatorPair(t, e.dir, "other")
		mismatched := e.writeInventory("mismatch.toml", e.withLB(fmt.Sprintf("cert_file = %q\nkey_file = %q\n", certFile, otherKey)))
		if r := e.carbonctl("plan", mismatched); r.code != 1 || !strings.Contains(r.out, "the private key does not belong to the certificate") {
			t.Fatalf("a key of another certificate: exit %d\n%s", r.code, r.out)
		}
		provided := e.writeInventory("provided.toml", e.withLB(fmt.Sprintf("cert_file = %q\nkey_file = %q\n", certFile, keyFile)))
		r := e.carbonctl("up", provided)
		if r.code != 0 || !strings.Contains(r.out, "install the certificate "+certFile) || strings.Count(r.out, "replace alias \"carbonctl-lb\"") != 3 {
			t.Fatalf("up with an operator's certificate: exit %d\n%s", r.code, r.out)
		}
		want, _ := os.ReadFile(certFile)
		if got := e.exec("lb", "cat", lbCert); got != string(want) {
			t.Fatalf("%s is not the operator's certificate", lbCert)
		}
		if got := strings.TrimSpace(e.exec("lb", "stat", "-c", "%a", lbKey)); got != "600" {
			t.Errorf("key mode %s", got)
		}
		pool, _ := e.lbCertPool(t)
		if body := e.get(t, e.lbClient(pool), "https://"+mgtName+"/carbon/", 200); !strings.Contains(body, "WSO2 Management Console") {
			t.Errorf("mgt name with the operator's certificate: %q", body)
		}
		before := e.lbSnapshot()
		if r := e.carbonctl("up", provided); r.code != 0 || !strings.Contains(r.out, "\n0 changed, ok") {
			t.Fatalf("second up with an operator's certificate: exit %d\n%s", r.code, r.out)
		}
		if after := e.lbSnapshot(); after != before {
			t.Fatalf("second up touched the load balancer:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("mgt_allow keeps every other network off the management console", func(t *testing.T) {
		certFile, keyFile := filepath.Join(e.dir, "op.crt"), filepath.Join(e.dir, "op.key")
		allow := func(name, nets string) string {
			return e.writeInventory(name, e.withLB(fmt.Sprintf("cert_file = %q\nkey_file = %q\nmgt_allow = %s\n", certFile, keyFile, nets)))
		}
		if r := e.carbonctl("validate", allow("allow-bad.toml", `["198.18.0.1/24"]`)); r.code != 2 || !strings.Contains(r.out, `loadbalancer.mgt_allow: "198.18.0.1/24" has host bits set`) {
			t.Fatalf("validate with host bits set: exit %d\n%s", r.code, r.out)
		}
		pool, _ := e.lbCertPool(t)
		client := e.lbClient(pool)
		r := e.carbonctl("up", allow("allow-other.toml", `["203.0.113.0/24"]`))
		if r.code != 0 || !strings.Contains(r.out, "mgt.esb.https.conf") {
			t.Fatalf("up with another network allowed: exit %d\n%s", r.code, r.out)
		}
		// From the control machine, 198.18.0.1. nginx -s reload returns
		// before the new workers take over: wait for them, boundedly.
		status := ""
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && status != "403 Forbidden"; time.Sleep(200 * time.Millisecond) {
			resp, err := client.Get("https://" + mgtName + "/carbon/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			status = resp.Status
		}
		if status != "403 Forbidden" {
			t.Fatalf("mgt name from outside mgt_allow: %s, want 403\nvhost:\n%s\nup:\n%s", status, e.exec("lb", "cat", "/etc/nginx/conf.d/mgt.esb.https.conf"), r.out)
		}
		if body := e.get(t, client, "https://"+serviceName+"/carbon/", 200); !strings.Contains(body, "worker") {
			t.Errorf("service name, with the console restricted: %q", body)
		}
		if r := e.carbonctl("up", allow("allow-control.toml", `["198.18.0.1"]`)); r.code != 0 {
			t.Fatalf("up with the control machine allowed: exit %d\n%s", r.code, r.out)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if resp, err := client.Get("https://" + mgtName + "/carbon/"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
		}
		if body := e.get(t, client, "https://"+mgtName+"/carbon/", 200); !strings.Contains(body, "WSO2 Management Console") {
			t.Errorf("allowed network, mgt name: %q", body)
		}
		if conf := e.exec("lb", "cat", "/etc/nginx/conf.d/mgt.esb.https.conf"); !strings.Contains(conf, "allow 198.18.0.1/32;\n    deny all;") {
			t.Errorf("mgt vhost:\n%s", conf)
		}
	})
}

// writeOperatorPair writes a certificate for both load balancer names and
// its key, as an operator's CA might issue them.
func writeOperatorPair(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: serviceName, Organization: []string{"Operator"}},
		DNSNames: []string{serviceName, mgtName}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// brokenPlaybook writes the ESB playbook with the vhost prefix and an nginx
// directive that does not exist.
func (e *env) brokenPlaybook(t *testing.T, prefix string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "playbooks", "esb-worker-manager.toml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), `prefix = "esb"`, fmt.Sprintf("prefix = %q\n  directives = [\"carbonctl_no_such_directive on;\"]", prefix), 1)
	if text == string(data) {
		t.Fatal("the playbook has no vhost prefix to break")
	}
	p := filepath.Join(e.dir, prefix+"-playbook.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lbCertPool reads the load balancer's certificate into a pool of roots.
func (e *env) lbCertPool(t *testing.T) (*x509.CertPool, *x509.Certificate) {
	t.Helper()
	return e.lbCertPoolAt(t, lbCert)
}

// lbCertPoolAt is lbCertPool for the certificate at lbCert on the lb host.
func (e *env) lbCertPoolAt(t *testing.T, lbCert string) (*x509.CertPool, *x509.Certificate) {
	t.Helper()
	pemData := e.exec("lb", "cat", lbCert)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(pemData)) {
		t.Fatalf("no certificate in %s:\n%s", lbCert, pemData)
	}
	block, _ := pem.Decode([]byte(pemData))
	if block == nil {
		t.Fatalf("no PEM block in %s", lbCert)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse %s: %v", lbCert, err)
	}
	return pool, cert
}

// lbClient talks to the load balancer whatever the URL's host name: the
// name goes into the Host header and the TLS SNI, the connection to the LB.
func (e *env) lbClient(roots *x509.CertPool) *http.Client {
	lbIP := e.lab.Hosts["lb"]
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				_, port, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				return dialer.DialContext(ctx, "tcp", net.JoinHostPort(lbIP, port))
			},
			TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// get fetches url and wants status code; it returns the body.
func (e *env) get(t *testing.T, c *http.Client, url string, code int) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code {
		t.Fatalf("GET %s: %s, want %d: %s", url, resp.Status, code, body)
	}
	return string(body)
}

// lbSnapshot records the load balancer's files (inode, size, mtime,
// checksum), nginx's master and worker pids, and the nodes' trust stores.
func (e *env) lbSnapshot() string {
	var b strings.Builder
	b.WriteString(e.exec("lb", append([]string{"stat", "-c", "file %n %i %s %Y"}, lbFiles...)...))
	b.WriteString(e.exec("lb", append([]string{"sha256sum"}, lbFiles...)...))
	b.WriteString("master " + e.exec("lb", "cat", "/run/nginx.pid"))
	b.WriteString("workers " + strings.Join(strings.Fields(e.exec("lb", "sh", "-c", "ps -o pid= --ppid $(cat /run/nginx.pid) | sort")), " ") + "\n")
	for _, n := range labNodes {
		b.WriteString(n.name + " " + e.exec(n.host, "stat", "-c", "file %n %i %s %Y", truststore))
	}
	return b.String()
}

// contents keeps the checksum lines of a snapshot.
func contents(snap string) string { return linesWith(snap, "  /") }

// pidsOf keeps the nginx pid lines of a snapshot.
func pidsOf(snap string) string { return linesWith(snap, "master ") + linesWith(snap, "workers ") }

// masterOf keeps the nginx master pid line of a snapshot.
func masterOf(snap string) string { return linesWith(snap, "master ") }

func linesWith(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// normalizePEM drops line breaks and blanks, for comparing PEM text.
func normalizePEM(s string) string { return strings.Join(strings.Fields(s), "") }
