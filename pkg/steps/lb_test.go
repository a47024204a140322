package steps

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/certs"
	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/nginx"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/playbooks"
)

const lbInventory = `[cluster]
name = "esb-unit"
playbook = "esb-worker-manager"
[product]
archive = "a.zip"
home = "/opt/esb"
[ssh]
identity_file = "id"
known_hosts = "kh"
[database]
host = "198.18.0.10"
admin_password_env = "PW"
user = "regadmin"
password_env = "PW"
jdbc_driver = "d.jar"
LB
[java]
home = "/usr/lib/jvm/java-8-openjdk-amd64"

[[node]]
name = "mgr1"
host = "198.18.0.21"
role = "manager"
wka = true
[[node]]
name = "wrk1"
host = "198.18.0.22"
role = "worker"
[[node]]
name = "wrk2"
host = "198.18.0.23"
role = "worker"
port_offset = 1
`

const lbTable = `[loadbalancer]
host = "198.18.0.11"
service_host_name = "esb.wso2.com"
mgt_host_name = "mgt.esb.wso2.com"
`

// lbEngine builds a planning engine for the stock ESB playbook; lb is the
// [loadbalancer] table ("" for none). Nothing connects: tests fill the
// hosts' gathered state.
func lbEngine(t *testing.T, lb string) *engine.Engine {
	t.Helper()
	doc := strings.Replace(lbInventory, "LB\n", lb, 1)
	env := func(k string) (string, bool) { return "pw", k == "PW" }
	inv, err := inventory.Parse("inv.toml", t.TempDir(), []byte(doc), env, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := playbook.Load(playbooks.FS, "esb-worker-manager", Kinds())
	if err != nil {
		t.Fatal(err)
	}
	e := &engine.Engine{Inv: inv, PB: pb, Opts: engine.Options{Forks: 2, Out: io.Discard}, Hosts: map[string]*engine.Host{}, Local: engine.LocalFiles{Files: map[string][]byte{}}}
	e.Out = &engine.Printer{W: io.Discard, Mask: engine.NewMasker(nil)}
	e.Vars = engine.NewVars(inv, pb)
	if err := e.Build(); err != nil {
		t.Fatal(err)
	}
	for _, h := range e.Hosts {
		h.Client = nil
	}
	return e
}

func stepOf(t *testing.T, e *engine.Engine, typ string) playbook.Step {
	t.Helper()
	for _, s := range e.PB.Steps {
		if s.Type == typ {
			return s
		}
	}
	t.Fatalf("no %s step in the playbook", typ)
	return playbook.Step{}
}

// setFile puts a gathered file on a host.
func setFile(h *engine.Host, p string, data []byte) {
	if data == nil {
		h.Files[p] = &remote.File{Path: p}
		return
	}
	h.Files[p] = &remote.File{Path: p, Exists: true, Content: data, Size: int64(len(data)), Mode: 0o644}
}

// lbPair returns a self-signed RSA 2048 certificate for both names, valid
// for the given time from an hour ago, and its key.
func lbPair(t *testing.T, valid time.Duration) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "esb.wso2.com"},
		DNSNames: []string{"esb.wso2.com", "mgt.esb.wso2.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(valid)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return certs.EncodePEM(der), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

const nginxV = "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.11\nconfigure arguments: --with-http_ssl_module\n"

// lbState describes the load balancer host before a run.
type lbHostState struct {
	cert, key []byte
	vhosts    bool   // the rendered vhost files are in place
	applied   bool   // nginx loaded them (and the certificate) through carbonctl
	pid       string // nginx master pid, "" = not running
	nginxV    *remote.ProbeResult
}

func setLBHost(t *testing.T, e *engine.Engine, st lbHostState) {
	t.Helper()
	h := e.LB.Host
	setFile(h, e.LB.CertPath(), st.cert)
	setFile(h, e.LB.KeyPath(), st.key)
	v := remote.ProbeResult{Stdout: nginxV}
	if st.nginxV != nil {
		v = *st.nginxV
	}
	h.Probes[probeNginxV] = v
	h.Probes[probeNginxAlive] = remote.ProbeResult{Stdout: st.pid + "\n"}
	if st.pid == "" {
		h.Probes[probeNginxAlive] = remote.ProbeResult{ExitCode: 1}
	}
	build, _ := nginx.ParseV(nginxV)
	files, err := nginx.Render(vhostConfig(e, stepOf(t, e, "lb-vhosts").Kind.(*LBVHosts).VHosts, build))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if st.vhosts {
			setFile(h, path.Join(engine.NginxConfDir, f.Name), f.Content)
		} else {
			setFile(h, path.Join(engine.NginxConfDir, f.Name), nil)
		}
	}
	setFile(h, e.LB.AppliedPath("esb"), nil)
	if st.applied {
		sum, err := appliedHash(context.Background(), e, files)
		if err != nil {
			t.Fatal(err)
		}
		setFile(h, e.LB.AppliedPath("esb"), []byte(sum+"\n"))
	}
}

func actions(r *engine.Result) string {
	var out []string
	for _, a := range r.Actions {
		out = append(out, a.Desc)
	}
	return strings.Join(out, "\n")
}

func TestLBPlanDecisions(t *testing.T) {
	ctx := context.Background()
	good, goodKey := lbPair(t, 365*24*time.Hour)
	expiring, expiringKey := lbPair(t, 10*24*time.Hour)
	tests := []struct {
		name                string
		state               lbHostState
		certs, vhosts       engine.Status
		certWant, vhostWant []string // substrings of the actions
		vhostNot            []string
	}{
		{"fresh host", lbHostState{}, engine.Changed, engine.Changed,
			[]string{"create /etc/nginx/ssl/esb.wso2.com.crt and /etc/nginx/ssl/esb.wso2.com.key with openssl: no certificate yet; new RSA 2048 key"},
			[]string{"create /etc/nginx/conf.d/esb.http.conf", "create /etc/nginx/conf.d/mgt.esb.https.conf", "then start nginx"}, nil},
		{"converged", lbHostState{cert: good, key: goodKey, vhosts: true, applied: true, pid: "42"}, engine.OK, engine.OK, nil, nil, []string{"nginx"}},
		{"files in place but never loaded (a run killed before the reload)", lbHostState{cert: good, key: goodKey, vhosts: true, pid: "42"}, engine.OK, engine.Changed,
			nil, []string{"then reload nginx (pid 42): it has not loaded these files yet"}, []string{"conf.d"}},
		{"converged but nginx stopped", lbHostState{cert: good, key: goodKey, vhosts: true, applied: true}, engine.OK, engine.Changed,
			nil, []string{"then start nginx"}, []string{"conf.d"}},
		{"certificate expiring: replaced and nginx reloaded, vhosts untouched", lbHostState{cert: expiring, key: expiringKey, vhosts: true, applied: true, pid: "42"}, engine.Changed, engine.Changed,
			[]string{"replace", "it expires in 9 days"}, []string{"then reload nginx (pid 42)"}, []string{"conf.d"}},
		{"key lost", lbHostState{cert: good, vhosts: true, applied: true, pid: "42"}, engine.Changed, engine.Changed,
			[]string{"the private key is missing"}, []string{"reload"}, []string{"conf.d"}},
		{"vhosts missing, nginx running", lbHostState{cert: good, key: goodKey, applied: true, pid: "42"}, engine.OK, engine.Changed,
			nil, []string{"create /etc/nginx/conf.d/esb.https.conf", "then reload nginx (pid 42)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := lbEngine(t, lbTable)
			setLBHost(t, e, tt.state)
			rc := runLBTarget(ctx, e, stepOf(t, e, "lb-certs"), true, lbCerts)
			rv := e.RunStep(ctx, stepOf(t, e, "lb-vhosts"))[0]
			if rc.Status != tt.certs || rv.Status != tt.vhosts {
				t.Fatalf("lb-certs %s (%v), lb-vhosts %s (%v); want %s, %s\n%s\n%s", rc.Status, rc.Err, rv.Status, rv.Err, tt.certs, tt.vhosts, actions(rc), actions(rv))
			}
			for _, w := range tt.certWant {
				if !strings.Contains(actions(rc), w) {
					t.Errorf("lb-certs actions lack %q:\n%s", w, actions(rc))
				}
			}
			for _, w := range tt.vhostWant {
				if !strings.Contains(actions(rv), w) {
					t.Errorf("lb-vhosts actions lack %q:\n%s", w, actions(rv))
				}
			}
			for _, w := range tt.vhostNot {
				if strings.Contains(actions(rv), w) {
					t.Errorf("lb-vhosts actions have %q:\n%s", w, actions(rv))
				}
			}
		})
	}
}

func TestLBFailuresAndSkips(t *testing.T) {
	ctx := context.Background()
	good, goodKey := lbPair(t, 365*24*time.Hour)

	e := lbEngine(t, lbTable)
	setLBHost(t, e, lbHostState{cert: good, key: goodKey, nginxV: &remote.ProbeResult{ExitCode: 127, Stdout: "sh: 1: nginx: not found\n"}})
	if r := e.RunStep(ctx, stepOf(t, e, "lb-vhosts"))[0]; r.Status != engine.Failed || !strings.Contains(r.Err.Error(), "is nginx installed?") {
		t.Errorf("nginx missing: %s %v", r.Status, r.Err)
	}
	if r := e.RunStep(ctx, stepOf(t, e, "lb-vhosts"))[0]; r.Status != engine.Skipped {
		t.Errorf("after a failure on the load balancer: %s", r.Status)
	}
	if r := e.RunNodeStep(ctx, stepOf(t, e, "truststore"), e.Targets[0]); r.Status == engine.Skipped {
		t.Errorf("a vhost failure must not stop the trust stores: %s %s", r.Status, r.Note)
	}

	e = lbEngine(t, lbTable)
	setLBHost(t, e, lbHostState{cert: []byte("junk"), key: goodKey, nginxV: &remote.ProbeResult{Stdout: "nginx version: nginx/1.18.0\nconfigure arguments: --prefix=/x\n"}})
	if r := e.RunStep(ctx, stepOf(t, e, "lb-vhosts"))[0]; r.Status != engine.Failed || !strings.Contains(r.Err.Error(), "without the SSL module") {
		t.Errorf("nginx without SSL: %s %v", r.Status, r.Err)
	}

	none := lbEngine(t, "")
	if none.LB != nil {
		t.Fatal("a load balancer without [loadbalancer]")
	}
	var out strings.Builder
	none.Out.W = &out
	for _, typ := range []string{"lb-certs", "lb-vhosts"} {
		// No [loadbalancer]: no lb target at all (no recap row), one line saying why.
		if rs := none.RunStep(ctx, stepOf(t, none, typ)); len(rs) != 0 {
			t.Errorf("%s without a load balancer gave results: %+v", typ, rs)
		}
	}
	if strings.Count(out.String(), "skipping: no [loadbalancer]") != 2 {
		t.Errorf("want a skipping line per load balancer step, got %q", out.String())
	}
	if r := none.RunNodeStep(ctx, stepOf(t, none, "truststore"), none.Targets[1]); r.Status != engine.Skipped {
		t.Errorf("truststore without a load balancer: %s %v", r.Status, r.Err)
	}
	if len(none.Prefetch()[none.Targets[0].Host].Contents) == 0 {
		t.Fatal("no prefetch for the nodes")
	}
}

func TestTruststoreDecisions(t *testing.T) {
	ctx := context.Background()
	good, goodKey := lbPair(t, 365*24*time.Hour)
	other, _ := lbPair(t, 365*24*time.Hour)
	leaf, _ := certs.ParseCert(good)
	stale, _ := certs.ParseCert(other)
	store := func(der []byte, password string) []byte {
		entries := []certs.Entry{{Alias: "wso2carbon", Cert: stale.Raw}}
		if der != nil {
			entries = append(entries, certs.Entry{Alias: "carbonctl-lb", Cert: der})
		}
		data, err := certs.WriteJKS(entries, password)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tests := []struct {
		name     string
		lb       string
		store    []byte
		want     engine.Status
		desc     string
		errorMsg string
	}{
		{"alias holds the certificate", lbTable, store(leaf.Raw, "wso2carbon"), engine.OK, "", ""},
		{"alias missing", lbTable, store(nil, "wso2carbon"), engine.Changed, `into /opt/esb/repository/resources/security/client-truststore.jks as "carbonctl-lb" with keytool`, ""},
		{"alias holds another certificate", lbTable, store(stale.Raw, "wso2carbon"), engine.Changed, `replace alias "carbonctl-lb" (SHA-256 ` + certs.Fingerprint(stale.Raw)[:23], ""},
		{"no store yet", lbTable, nil, engine.Changed, "create /opt/esb/repository/resources/security/client-truststore.jks with keytool", ""},
		{"wrong password", lbTable, store(leaf.Raw, "changeit"), engine.Failed, "", "check truststore_password"},
		{"password from the inventory", lbTable + "truststore_password_env = \"PW\"\n", store(leaf.Raw, "pw"), engine.OK, "", ""},
		{"another alias", lbTable + "truststore_alias = \"esb-lb\"\n", store(leaf.Raw, "wso2carbon"), engine.Changed, `as "esb-lb"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := lbEngine(t, tt.lb)
			setLBHost(t, e, lbHostState{cert: good, key: goodKey, vhosts: true, pid: "1"})
			n := e.Targets[2]
			p := n.Home("repository/resources/security/client-truststore.jks")
			setFile(n.Host, p, tt.store)
			r := e.RunNodeStep(ctx, stepOf(t, e, "truststore"), n)
			if r.Status != tt.want || !strings.Contains(actions(r), tt.desc) || tt.errorMsg != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tt.errorMsg)) {
				t.Fatalf("got %s %v\n%s", r.Status, r.Err, actions(r))
			}
			if !n.Managed[p] {
				t.Errorf("the trust store is not part of the node's start fingerprint")
			}
			if tt.want == engine.Changed {
				after, _ := n.Host.Read(ctx, p)
				if string(after.Content) == string(tt.store) {
					t.Errorf("a planned import leaves the fingerprint unchanged: the node would not restart")
				}
			}
		})
	}
	t.Run("certificate still to be generated", func(t *testing.T) {
		e := lbEngine(t, lbTable)
		setLBHost(t, e, lbHostState{})
		runLBTarget(ctx, e, stepOf(t, e, "lb-certs"), true, lbCerts)
		n := e.Targets[0]
		setFile(n.Host, n.Home("repository/resources/security/client-truststore.jks"), store(leaf.Raw, "wso2carbon"))
		r := e.RunNodeStep(ctx, stepOf(t, e, "truststore"), n)
		if r.Status != engine.Changed || !strings.Contains(actions(r), "the certificate lb-certs generates") {
			t.Fatalf("got %s %v %s", r.Status, r.Err, actions(r))
		}
	})
}

func TestVHostBackends(t *testing.T) {
	e := lbEngine(t, lbTable)
	v := stepOf(t, e, "lb-vhosts").Kind.(*LBVHosts).VHosts
	c := vhostConfig(e, v, nginx.Build{SSL: true})
	got := func(bs []nginx.Backend) string {
		var out []string
		for _, b := range bs {
			out = append(out, b.String())
		}
		return strings.Join(out, " ")
	}
	for what, pair := range map[string][2]string{
		"http":  {got(c.HTTPBackends), "198.18.0.22:8280 198.18.0.23:8281"},
		"https": {got(c.HTTPSBackends), "198.18.0.22:8243 198.18.0.23:8244"},
		"mgt":   {got(c.MgtBackends), "198.18.0.21:9443"},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s backends %q, want %q", what, pair[0], pair[1])
		}
	}
	if c.Affinity != nginx.IPHash {
		t.Errorf("affinity %v, want ip_hash on community nginx", c.Affinity)
	}
	if c = vhostConfig(e, v, nginx.Build{SSL: true, Plus: true}); c.Affinity != nginx.StickyLearn {
		t.Errorf("affinity %v, want sticky learn on NGINX Plus", c.Affinity)
	}
	if len(c.MgtAllow) != 0 {
		t.Errorf("management allow-list %v without mgt_allow", c.MgtAllow)
	}
	e.LB.Conf.MgtAllow = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/24"), netip.MustParsePrefix("203.0.113.7/32")}
	if c = vhostConfig(e, v, nginx.Build{SSL: true}); strings.Join(c.MgtAllow, " ") != "198.18.0.0/24 203.0.113.7/32" {
		t.Errorf("management allow-list %v, want mgt_allow's networks", c.MgtAllow)
	}
	v.ServiceBackends = "all"
	if c = vhostConfig(e, v, nginx.Build{}); got(c.HTTPBackends) != "198.18.0.21:8280 198.18.0.22:8280 198.18.0.23:8281" {
		t.Errorf("no worker/manager split: %s", got(c.HTTPBackends))
	}
	managerOnly := []engine.NodeVars{{Name: "m", IsManager: true}}
	if n := serviceNodes(managerOnly, "workers"); len(n) != 1 {
		t.Errorf("without workers the manager serves: %v", n)
	}
	noAff := lbEngine(t, lbTable+"session_affinity = false\n")
	if c = vhostConfig(noAff, v, nginx.Build{Plus: true}); c.Affinity != nginx.NoAffinity {
		t.Errorf("session_affinity = false: %v", c.Affinity)
	}
}

func TestOurWarnings(t *testing.T) {
	out := "nginx: [warn] the \"ssl\" directive is deprecated in /etc/nginx/conf.d/esb.https.conf:12\n" +
		"nginx: [warn] conflicting server name \"x\" on 0.0.0.0:80, ignored\n" +
		"nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
	got := ourWarnings(out, []string{"/etc/nginx/conf.d/esb.https.conf"})
	if !strings.Contains(got, "deprecated") || strings.Contains(got, "conflicting") {
		t.Fatalf("got %q", got)
	}
	if ourWarnings("nginx: configuration file /etc/nginx/nginx.conf test is successful\n", []string{"/etc/nginx/conf.d/esb.https.conf"}) != "" {
		t.Fatal("warning found in a clean test")
	}
}

func TestImportScriptKeepsThePasswordOff(t *testing.T) {
	s := importScript("/opt/esb/repository/resources/security/client-truststore.jks", "carbonctl-lb", true)
	if !strings.Contains(s, "-storepass:env CARBONCTL_STOREPASS") || strings.Contains(s, "wso2carbon") || strings.Contains(s, "-storepass ") {
		t.Fatalf("the keytool password must come from the environment:\n%s", s)
	}
	if !strings.Contains(s, "-storetype JKS") || !strings.Contains(s, "-delete -alias") || !strings.Contains(s, `mv -f "$t/store.jks" "$f"`) {
		t.Fatalf("import script:\n%s", s)
	}
}

// TestGeneratedCertificateIsKept runs the openssl request carbonctl sends
// (locally, in a temporary directory) and checks that the decision logic
// keeps what it made: a generated certificate must not be replaced on the
// next run.
func TestGeneratedCertificateIsKept(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("SKIPPED: openssl is not installed; the request configuration was not tried")
	}
	for _, kt := range []string{"rsa2048", "ecdsa-p256"} {
		t.Run(kt, func(t *testing.T) {
			e := lbEngine(t, lbTable+"cert_key_type = \""+kt+"\"\ncert_subject = \"/C=LK/ST=Western/O=WSO2 Inc./OU=Integration\"\n")
			dir := t.TempDir()
			cnf := filepath.Join(dir, "req.cnf")
			if err := os.WriteFile(cnf, []byte(opensslConfig(e.LB)), 0o600); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"req", "-x509", "-new", "-batch", "-nodes", "-sha256", "-days", "365"}, e.LB.Conf.CertKeyType.NewKeyArgs()...)
			args = append(args, "-config", cnf, "-keyout", filepath.Join(dir, "key"), "-out", filepath.Join(dir, "crt"))
			if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			crt, _ := os.ReadFile(filepath.Join(dir, "crt"))
			key, _ := os.ReadFile(filepath.Join(dir, "key"))
			if strings.Contains(string(key), "ENCRYPTED") {
				t.Fatal("the key has a passphrase")
			}
			d := certs.Decide(crt, key, certs.Want{Names: e.LB.Names(), KeyType: e.LB.Conf.CertKeyType})
			if d.Action != certs.Keep {
				t.Fatalf("the generated certificate would be replaced: %s", d.Reason)
			}
			if got := d.Cert.Subject.String(); got != "CN=esb.wso2.com,OU=Integration,O=WSO2 Inc.,ST=Western,C=LK" {
				t.Errorf("subject %s", got)
			}
			if !d.Cert.IsCA || d.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
				t.Errorf("want a self-signed CA certificate for TLS servers")
			}
			if !strings.Contains(certScript(e.LB), strings.Join(e.LB.Conf.CertKeyType.NewKeyArgs(), " ")) {
				t.Errorf("the script does not generate a %s key", kt)
			}
		})
	}
}
