package steps

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/certs"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// LBCerts is the "lb-certs" step kind: the load balancer's certificate and
// key. It has no fields: the inventory's [loadbalancer] names them.
type LBCerts struct{}

// Check has nothing to check.
func (*LBCerts) Check() error { return nil }

// UsesLoadBalancer marks a load balancer kind.
func (*LBCerts) UsesLoadBalancer() {}

// Run makes the certificate right: one result, for the load balancer.
func (*LBCerts) Run(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	return runLB(ctx, e, s, true, lbCerts)
}

// lbCerts makes sure the load balancer has a certificate and key nginx can
// serve for the service and management names: the operator's, or one
// generated there with openssl. A valid one is kept.
func lbCerts(ctx context.Context, e *engine.Engine, res *engine.Result) error {
	l := e.LB
	crt, err := l.Host.Read(ctx, l.CertPath())
	if err != nil {
		return err
	}
	key, err := l.Host.Read(ctx, l.KeyPath())
	if err != nil {
		return err
	}
	if l.Conf.CertFile != "" {
		return installProvidedCert(ctx, e, crt, key, res)
	}
	d := certs.Decide(existing(crt), existing(key), certs.Want{Names: l.Names(), KeyType: l.Conf.CertKeyType})
	if d.Action == certs.Keep {
		l.SetCert(crt.Content, false, false)
		res.Note = "certificate kept: " + certs.Describe(d.Cert)
		return nil
	}
	desc := fmt.Sprintf("%s %s and %s with openssl: %s; new %s key, CN=%s, subjectAltName=%s, %d days, key mode 0600",
		d.Action, l.CertPath(), l.KeyPath(), d.Reason, l.Conf.CertKeyType.Describe(), l.Conf.ServiceHostName,
		strings.Join(l.Names(), ","), l.Conf.CertDays)
	res.AddChange(desc, "")
	if e.Planning() {
		l.SetCert(nil, true, true)
		return nil
	}
	pem, err := engine.RunScriptOut(ctx, l.Host, "root", certScript(l), nil, "generate the load balancer certificate")
	if err != nil {
		return err
	}
	if err := checkGenerated([]byte(pem), l.Names()); err != nil {
		return err
	}
	forget(l.Host, l.KeyPath())
	if err := l.Host.Write(ctx, false, l.CertPath(), []byte(pem), remote.WriteOptions{Mode: 0o644, Owner: "root", Group: "root"}); err != nil {
		return err
	}
	l.SetCert([]byte(pem), false, true)
	return nil
}

// existing returns a file's content, or nil when it does not exist.
func existing(f *remote.File) []byte {
	if f == nil || !f.Exists {
		return nil
	}
	if f.Content == nil {
		return []byte{}
	}
	return f.Content
}

// checkGenerated verifies what openssl made before anything relies on it.
func checkGenerated(pem []byte, names []string) error {
	cert, err := certs.ParseCert(pem)
	if err != nil {
		return fmt.Errorf("openssl printed no usable certificate: %w", err)
	}
	if missing := certs.Uncovered(cert, names); len(missing) > 0 {
		return fmt.Errorf("the generated certificate does not cover %s", strings.Join(missing, ", "))
	}
	return nil
}

// installProvidedCert installs the inventory's cert_file and key_file,
// after checking that they belong together and cover the names.
func installProvidedCert(ctx context.Context, e *engine.Engine, crt, key *remote.File, res *engine.Result) error {
	l := e.LB
	certPEM, err := e.Local.Read(l.Conf.CertFile)
	if err != nil {
		return fmt.Errorf("read cert_file on the control machine: %w", err)
	}
	keyPEM, err := e.Local.Read(l.Conf.KeyFile)
	if err != nil {
		return fmt.Errorf("read key_file on the control machine: %w", err)
	}
	cert, warning, err := certs.CheckProvided(certPEM, keyPEM, l.Names(), time.Now())
	if err != nil {
		return fmt.Errorf("%s and %s: %w", l.Conf.CertFile, l.Conf.KeyFile, err)
	}
	res.Note = warning
	changed := false
	for _, f := range []struct {
		cur  *remote.File
		data []byte
		mode os.FileMode
		what string
	}{{key, keyPEM, 0o600, "private key " + l.Conf.KeyFile}, {crt, certPEM, 0o644, "certificate " + l.Conf.CertFile + " (" + certs.Describe(cert) + ")"}} {
		if f.cur.Exists && bytes.Equal(f.cur.Content, f.data) {
			continue
		}
		opts := remote.WriteOptions{Mode: f.mode, Owner: "root", Group: "root", Backup: true, MkdirParents: true}
		if err := e.WriteFile(ctx, l.Host, f.cur.Path, f.data, opts); err != nil {
			return fmt.Errorf("install %s: %w", f.cur.Path, err)
		}
		res.AddChange(fmt.Sprintf("install the %s as %s (mode %04o)", f.what, f.cur.Path, f.mode), "")
		changed = true
	}
	l.SetCert(certPEM, false, changed)
	return nil
}

// certScript generates a self-signed certificate and its key with openssl,
// non-interactively and without a passphrase, moves them into place (key
// mode 0600, the originals kept once as FILE.carbonctl.orig) and prints the
// certificate.
func certScript(l *engine.LBState) string {
	args := append([]string{"-x509", "-new", "-batch", "-nodes", "-sha256", "-days", fmt.Sprint(l.Conf.CertDays)}, l.Conf.CertKeyType.NewKeyArgs()...)
	return fmt.Sprintf(`fail() { echo "carbonctl: $*" >&2; exit 1; }
umask 077
dir=%s crt=%s key=%s
command -v openssl >/dev/null 2>&1 || fail "openssl is not installed on this host: install it (apt-get install openssl)"
[ -d "$dir" ] || mkdir -p -m 0755 "$dir" || fail "cannot create $dir"
t=$(mktemp -d "$dir/.carbonctl-XXXXXX") || fail "cannot create a temporary directory in $dir"
trap 'rm -rf "$t"' EXIT
cat >"$t/req.cnf" <<'CARBONCTL_EOF'
%sCARBONCTL_EOF
openssl req %s -config "$t/req.cnf" -keyout "$t/key" -out "$t/crt" >"$t/log" 2>&1 || fail "openssl req: $(cat "$t/log")"
chmod 0600 "$t/key" && chmod 0644 "$t/crt" || fail "cannot set the modes of the new files"
for f in "$key" "$crt"; do
	[ ! -f "$f" ] || [ -e "$f.carbonctl.orig" ] || ln "$f" "$f.carbonctl.orig" || fail "cannot back up $f"
done
mv -f "$t/key" "$key" && mv -f "$t/crt" "$crt" || fail "cannot move the new certificate into place"
cat "$crt"
`, remote.Quote(engine.NginxSSLDir), remote.Quote(l.CertPath()), remote.Quote(l.KeyPath()), opensslConfig(l), strings.Join(args, " "))
}

// opensslConfig is the request configuration: subject (CN = the service
// name), subjectAltName = both names, a self-signed CA certificate that
// clients can trust directly.
func opensslConfig(l *engine.LBState) string {
	var b strings.Builder
	b.WriteString("[req]\nprompt = no\ndistinguished_name = dn\nx509_extensions = ext\n\n[dn]\n")
	for _, kv := range l.Conf.SubjectFields() {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
	}
	fmt.Fprintf(&b, "CN = %s\n\n[ext]\n", l.Conf.ServiceHostName)
	usage := "digitalSignature, keyCertSign"
	if l.Conf.CertKeyType.IsRSA() {
		usage = "digitalSignature, keyEncipherment, keyCertSign"
	}
	sans := make([]string, 0, 2)
	for _, n := range l.Names() {
		sans = append(sans, "DNS:"+n)
	}
	fmt.Fprintf(&b, "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, %s\nextendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nsubjectAltName = %s\n",
		usage, strings.Join(sans, ", "))
	return b.String()
}
