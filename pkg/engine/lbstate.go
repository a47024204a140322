package engine

// The load balancer target of a run: its host and what the load balancer
// steps learn and decide there.

import (
	"path"
	"sync"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Where carbonctl keeps the load balancer's files.
const (
	NginxConfDir = "/etc/nginx/conf.d"
	NginxSSLDir  = "/etc/nginx/ssl"
	NginxPidFile = "/run/nginx.pid"
	// AppliedDir holds, per vhost prefix, the hash of the files nginx
	// last loaded successfully through carbonctl.
	AppliedDir = "/var/lib/carbonctl/nginx"
)

// LBState is the load balancer at run time: its host, what its steps
// learned and decided, and whether one of them failed.
type LBState struct {
	Conf *inventory.LoadBalancer
	Host *Host

	Mu         sync.Mutex
	failed     bool // a step failed: later load balancer steps are skipped
	certFailed bool // the certificate step failed: the trust stores are skipped too
	// Cert is the certificate (PEM) nginx serves once this run is done;
	// nil while unknown: not read yet, or (plan) not generated yet.
	Cert []byte
	// PendingCert: a plan would create or replace the certificate.
	PendingCert bool
	// Reload: files nginx reads changed in this run (certificate, key)
	// and nginx must reload even if its vhosts did not change.
	Reload bool
}

// buildLB sets up the load balancer target when the inventory has one and
// the playbook has steps for it. Its host is shared with a node (or the
// database tunnel) on the same address.
func (e *Engine) buildLB() {
	conf := e.Inv.LoadBalancer
	if conf == nil {
		return
	}
	if !HasStep[LoadBalancerKind](e.PB) {
		return
	}
	h := e.Hosts[conf.Host]
	if h == nil {
		h = NewHost(conf.Host)
		e.Hosts[conf.Host] = h
	}
	e.LB = &LBState{Conf: conf, Host: h}
}

// CertPath is where nginx reads the load balancer's certificate.
func (l *LBState) CertPath() string {
	return path.Join(NginxSSLDir, l.Conf.ServiceHostName+".crt")
}

// AppliedPath is where the hash of the vhost files with prefix is kept
// once nginx has loaded them.
func (l *LBState) AppliedPath(prefix string) string {
	return path.Join(AppliedDir, prefix+".applied")
}

// KeyPath is where nginx reads the certificate's private key.
func (l *LBState) KeyPath() string {
	return path.Join(NginxSSLDir, l.Conf.ServiceHostName+".key")
}

// Names are the DNS names the certificate must cover, the CN first.
func (l *LBState) Names() []string {
	return []string{l.Conf.ServiceHostName, l.Conf.MgtHostName}
}

// MarkFailed records that a load balancer step failed (certStep: the
// certificate step, which the trust stores depend on too).
func (l *LBState) MarkFailed(certStep bool) {
	l.Mu.Lock()
	l.failed = true
	l.certFailed = l.certFailed || certStep
	l.Mu.Unlock()
}

// IsFailed reports whether a load balancer step failed or its host is
// unreachable: later load balancer steps are skipped.
func (l *LBState) IsFailed() bool {
	l.Mu.Lock()
	defer l.Mu.Unlock()
	return l.failed || l.Host.Err != nil
}

// CertUnavailable reports whether the certificate cannot be known.
func (l *LBState) CertUnavailable() bool {
	l.Mu.Lock()
	defer l.Mu.Unlock()
	return l.certFailed || l.Host.Err != nil
}

// SetCert records the certificate nginx serves after this run.
func (l *LBState) SetCert(pem []byte, pending, changed bool) {
	l.Mu.Lock()
	defer l.Mu.Unlock()
	l.Cert, l.PendingCert = pem, pending
	if changed {
		l.Reload = true
	}
}

// prefetchLB adds what the load balancer steps read to the LB host's one
// gather: certificate, key, vhost files, `nginx -V` and whether nginx runs.
func (e *Engine) prefetchLB(reqs map[*Host]*remote.GatherRequest) {
	if e.LB == nil {
		return
	}
	req := reqs[e.LB.Host]
	if req == nil {
		req = &remote.GatherRequest{Probes: map[string]string{}}
		reqs[e.LB.Host] = req
	}
	req.Contents = append(req.Contents, e.LB.CertPath(), e.LB.KeyPath())
	for _, s := range e.PB.Steps {
		if k, ok := s.Kind.(LBPrefetcher); ok {
			k.PrefetchLB(e, s, req)
		}
	}
}
