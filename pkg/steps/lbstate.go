package steps

import (
	"path"
	"sync"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Where carbonctl keeps the load balancer's files.
const (
	nginxConfDir = "/etc/nginx/conf.d"
	nginxSSLDir  = "/etc/nginx/ssl"
	nginxPidFile = "/run/nginx.pid"
	// appliedDir holds, per vhost prefix, the hash of the files nginx
	// last loaded successfully through carbonctl.
	appliedDir = "/var/lib/carbonctl/nginx"
)

// lbState is the load balancer at run time: its host, what its steps
// learned and decided, and whether one of them failed.
type lbState struct {
	conf *inventory.LoadBalancer
	host *host

	mu         sync.Mutex
	failed     bool // a step failed: later load balancer steps are skipped
	certFailed bool // the certificate step failed: the trust stores are skipped too
	// cert is the certificate (PEM) nginx serves once this run is done;
	// nil while unknown: not read yet, or (plan) not generated yet.
	cert []byte
	// pendingCert: a plan would create or replace the certificate.
	pendingCert bool
	// reload: files nginx reads changed in this run (certificate, key)
	// and nginx must reload even if its vhosts did not change.
	reload bool
}

// buildLB sets up the load balancer target when the inventory has one and
// the playbook has steps for it. Its host is shared with a node (or the
// database tunnel) on the same address.
func (e *Engine) buildLB() {
	conf := e.inv.LoadBalancer
	if conf == nil {
		return
	}
	if !hasStep[LoadBalancerKind](e.pb) {
		return
	}
	h := e.hosts[conf.Host]
	if h == nil {
		h = newHost(conf.Host)
		e.hosts[conf.Host] = h
	}
	e.lb = &lbState{conf: conf, host: h}
}

func (l *lbState) certPath() string {
	return path.Join(nginxSSLDir, l.conf.ServiceHostName+".crt")
}

func (l *lbState) appliedPath(prefix string) string {
	return path.Join(appliedDir, prefix+".applied")
}

func (l *lbState) keyPath() string {
	return path.Join(nginxSSLDir, l.conf.ServiceHostName+".key")
}

// names are the DNS names the certificate must cover, the CN first.
func (l *lbState) names() []string {
	return []string{l.conf.ServiceHostName, l.conf.MgtHostName}
}

func (l *lbState) markFailed(certStep bool) {
	l.mu.Lock()
	l.failed = true
	l.certFailed = l.certFailed || certStep
	l.mu.Unlock()
}

func (l *lbState) isFailed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed || l.host.err != nil
}

// certUnavailable reports whether the certificate cannot be known.
func (l *lbState) certUnavailable() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.certFailed || l.host.err != nil
}

// setCert records the certificate nginx serves after this run.
func (l *lbState) setCert(pem []byte, pending, changed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cert, l.pendingCert = pem, pending
	if changed {
		l.reload = true
	}
}

// prefetchLB adds what the load balancer steps read to the LB host's one
// gather: certificate, key, vhost files, `nginx -V` and whether nginx runs.
func (e *Engine) prefetchLB(reqs map[*host]*remote.GatherRequest) {
	if e.lb == nil {
		return
	}
	req := reqs[e.lb.host]
	if req == nil {
		req = &remote.GatherRequest{Probes: map[string]string{}}
		reqs[e.lb.host] = req
	}
	req.Contents = append(req.Contents, e.lb.certPath(), e.lb.keyPath())
	for _, s := range e.pb.Steps {
		if k, ok := s.Kind.(LBPrefetcher); ok {
			k.PrefetchLB(e, s, req)
		}
	}
}
