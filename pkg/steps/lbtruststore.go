package steps

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/certs"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Truststore is the "truststore" step kind: the node's trust store holds
// the load balancer's certificate.
type Truststore struct {
	// File is the trust store, relative to CARBON_HOME (a template).
	File string `toml:"file"`
}

// Check wants the file.
func (k *Truststore) Check() error {
	if k.File == "" {
		return fmt.Errorf("truststore needs file (the trust store, relative to CARBON_HOME)")
	}
	return nil
}

// UsesLoadBalancer marks a load balancer kind.
func (*Truststore) UsesLoadBalancer() {}

// Prefetch reads a node's trust store in the one gather.
func (k *Truststore) Prefetch(_ *engine.Engine, s playbook.Step, n *engine.Node, req *remote.GatherRequest) {
	if rel, err := n.Vars.Render(s.Name+".file", k.File); err == nil {
		req.Contents = append(req.Contents, n.Home(rel))
	}
}

// RunNode makes the node's trust store right.
func (k *Truststore) RunNode(ctx context.Context, e *engine.Engine, s playbook.Step, n *engine.Node, res *engine.Result) error {
	return truststore(ctx, e, s, k, n, res)
}

// truststore makes the node's trust store hold the load balancer's
// certificate under the inventory's alias. The store is read from the
// gathered bytes (JKS, checked with the password); keytool runs only when
// the alias is missing or holds another certificate.
func truststore(ctx context.Context, e *engine.Engine, s playbook.Step, k *Truststore, n *engine.Node, res *engine.Result) error {
	switch {
	case e.LB == nil:
		res.Status, res.Note = engine.Skipped, "(no [loadbalancer] in the inventory)"
		return nil
	case e.LB.CertUnavailable():
		res.Status, res.Note = engine.Skipped, "(the load balancer's certificate is not available)"
		return nil
	}
	rel, err := n.Vars.Render(s.Name+".file", k.File)
	if err != nil {
		return err
	}
	p := n.Home(rel)
	n.Manage(p) // loaded at start-up: a new certificate restarts the node
	leaf, pending, err := lbLeaf(ctx, e)
	if err != nil {
		return err
	}
	cur, err := n.Host.Read(ctx, p)
	if err != nil {
		return err
	}
	conf := e.LB.Conf
	held, err := aliasCert(cur, conf.TruststorePassword.Value, conf.TruststoreAlias)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if !pending && held != nil && bytes.Equal(held, leaf) {
		return nil
	}
	res.AddChange(importDesc(p, conf.TruststoreAlias, held, leaf, cur.Exists), "")
	if e.Planning() {
		// What the file would become is unknown; a stand-in makes the
		// start step see the change.
		return e.WriteFile(ctx, n.Host, p, append(append([]byte{}, cur.Content...), "pending import"...), remote.WriteOptions{})
	}
	return importCert(ctx, e, n, p, leaf, held != nil)
}

// lbLeaf returns the DER of the certificate nginx serves (the first of its
// PEM), or pending when a plan would generate it.
func lbLeaf(ctx context.Context, e *engine.Engine) (der []byte, pending bool, err error) {
	l := e.LB
	l.Mu.Lock()
	pem, pending := l.Cert, l.PendingCert
	l.Mu.Unlock()
	if pending {
		return nil, true, nil
	}
	if pem == nil {
		f, err := l.Host.Read(ctx, l.CertPath())
		if err != nil {
			return nil, false, err
		}
		if !f.Exists {
			return nil, false, fmt.Errorf("the load balancer has no certificate at %s yet: run the lb-certs step first", l.CertPath())
		}
		pem = f.Content
	}
	cert, err := certs.ParseCert(pem)
	if err != nil {
		return nil, false, fmt.Errorf("the load balancer's certificate %s: %w", l.CertPath(), err)
	}
	return cert.Raw, false, nil
}

// aliasCert returns the certificate (DER) the store holds under alias, nil
// if none or if there is no store yet.
func aliasCert(f *remote.File, password, alias string) ([]byte, error) {
	if !f.Exists {
		return nil, nil
	}
	entries, err := certs.ReadJKS(f.Content, password)
	if err != nil {
		return nil, fmt.Errorf("%w: check truststore_password in [loadbalancer]", err)
	}
	if e := certs.FindAlias(entries, alias); e != nil {
		return e.Cert, nil
	}
	return nil, nil
}

// importDesc describes the import for the run's output.
func importDesc(p, alias string, held, leaf []byte, exists bool) string {
	what := "the certificate lb-certs generates"
	if leaf != nil {
		what = "the load balancer's certificate (SHA-256 " + certs.Fingerprint(leaf)[:23] + "…)"
	}
	switch {
	case !exists:
		return fmt.Sprintf("create %s with keytool and import %s as %q", p, what, alias)
	case held != nil:
		return fmt.Sprintf("replace alias %q (SHA-256 %s…) in %s with %s", alias, certs.Fingerprint(held)[:23], p, what)
	}
	return fmt.Sprintf("import %s into %s as %q with keytool", what, p, alias)
}

// importCert runs keytool on the node, as the product user, on a copy of
// the store that then replaces it. The password travels on stdin and
// reaches keytool through an environment variable: it is on no command line.
func importCert(ctx context.Context, e *engine.Engine, n *engine.Node, p string, leaf []byte, replace bool) error {
	password := e.LB.Conf.TruststorePassword.Value
	if strings.ContainsAny(password, "\r\n") {
		return fmt.Errorf("the trust store password contains a line break")
	}
	stdin := strings.NewReader(password + "\n" + string(certs.EncodePEM(leaf)))
	script := importScript(p, e.LB.Conf.TruststoreAlias, replace)
	if err := engine.RunScript(ctx, n.Host, n.Vars.Product.User, script, stdin, "import the load balancer certificate into "+p); err != nil {
		return err
	}
	// Read the store back (a fresh read: an archive overlay would still
	// serve the unpacked original).
	if err := n.Host.Gather(ctx, remote.GatherRequest{Contents: []string{p}}); err != nil {
		return err
	}
	cur, err := n.Host.Read(ctx, p)
	if err != nil {
		return err
	}
	held, err := aliasCert(cur, password, e.LB.Conf.TruststoreAlias)
	if err != nil || !bytes.Equal(held, leaf) {
		return fmt.Errorf("%s does not hold the load balancer certificate after keytool ran (%v)", p, err)
	}
	return nil
}

// importScript reads the store password (first line) and the certificate
// (the rest) from stdin and imports it with keytool under alias.
func importScript(p, alias string, replace bool) string {
	return fmt.Sprintf(`fail() { echo "carbonctl: $*" >&2; exit 1; }
f=%s a=%s replace=%t
IFS= read -r CARBONCTL_STOREPASS || fail "no trust store password on stdin"
export CARBONCTL_STOREPASS
kt=$(command -v keytool 2>/dev/null)
if [ -z "$kt" ]; then
	for k in "${JAVA_HOME:-/nonexistent}/bin/keytool" /usr/lib/jvm/*/bin/keytool /opt/java/*/bin/keytool; do
		if [ -x "$k" ]; then kt=$k; break; fi
	done
fi
[ -n "$kt" ] || fail "keytool not found (PATH, \$JAVA_HOME/bin, /usr/lib/jvm/*/bin): install a Java runtime, e.g. apt-get install openjdk-17-jre-headless"
d=$(dirname "$f")
mkdir -p "$d" || fail "cannot create $d"
t=$(mktemp -d "$d/.carbonctl-XXXXXX") || fail "cannot create a temporary directory in $d"
trap 'rm -rf "$t"' EXIT
cat >"$t/lb.crt"
[ -s "$t/lb.crt" ] || fail "no certificate on stdin"
if [ -f "$f" ]; then
	cp -p "$f" "$t/store.jks" || fail "cannot copy $f"
	[ -e "$f.carbonctl.orig" ] || cp -p "$f" "$f.carbonctl.orig" || fail "cannot back up $f"
fi
ks() { "$kt" "$@" -keystore "$t/store.jks" -storetype JKS -storepass:env CARBONCTL_STOREPASS; }
if $replace; then
	out=$(ks -delete -alias "$a" 2>&1) || fail "keytool -delete: $out"
fi
out=$(ks -importcert -noprompt -alias "$a" -file "$t/lb.crt" 2>&1) || fail "keytool -importcert: $out"
mv -f "$t/store.jks" "$f" || fail "cannot replace $f"
`, remote.Quote(p), remote.Quote(alias), replace)
}
