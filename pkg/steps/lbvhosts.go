package steps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/nginx"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// vhostChange is one vhost file to write, with what it replaces.
type vhostChange struct {
	cur  *remote.File // as gathered (Exists false: a new file)
	data []byte
}

// LBVHosts is the "lb-vhosts" step kind: the load balancer's nginx virtual
// hosts for the product.
type LBVHosts struct {
	VHosts VHosts `toml:"vhosts"`
}

// VHosts describes the load balancer's nginx virtual hosts for a product.
type VHosts struct {
	// Prefix names the files: PREFIX.http.conf, PREFIX.https.conf and
	// mgt.PREFIX.https.conf, as the product's guide does.
	Prefix string `toml:"prefix"`
	// ServiceBackends is "workers" (worker/manager split: the service name
	// goes to the workers; to every node when there is no worker) or "all".
	ServiceBackends string `toml:"service_backends"`
	// The nodes' ports before their offset: pass-through HTTP and HTTPS
	// (service traffic) and the management console's HTTPS port.
	HTTPPort  int `toml:"http_port"`
	HTTPSPort int `toml:"https_port"`
	MgtPort   int `toml:"mgt_port"`
	// Directives are extra nginx directives for every location block.
	Directives []string `toml:"directives"`
}

// Check wants the prefix, known backends and the three ports.
func (k *LBVHosts) Check() error {
	v := k.VHosts
	switch {
	case v.Prefix == "":
		return fmt.Errorf("lb-vhosts needs [step.vhosts] prefix, e.g. \"esb\" for esb.http.conf")
	case v.ServiceBackends != "" && v.ServiceBackends != "workers" && v.ServiceBackends != "all":
		return fmt.Errorf("vhosts.service_backends %q: want \"workers\" or \"all\"", v.ServiceBackends)
	case v.HTTPPort <= 0 || v.HTTPSPort <= 0 || v.MgtPort <= 0:
		return fmt.Errorf("lb-vhosts needs [step.vhosts] http_port, https_port and mgt_port (the nodes' ports before their offset)")
	}
	return nil
}

// UsesLoadBalancer marks a load balancer kind.
func (*LBVHosts) UsesLoadBalancer() {}

// PrefetchLB reads the vhost files and what nginx was built with, and
// probes whether it runs.
func (k *LBVHosts) PrefetchLB(e *engine.Engine, _ playbook.Step, req *remote.GatherRequest) {
	for _, name := range nginx.FileNames(k.VHosts.Prefix) {
		req.Contents = append(req.Contents, path.Join(engine.NginxConfDir, name))
	}
	req.Contents = append(req.Contents, e.LB.AppliedPath(k.VHosts.Prefix))
	req.Probes[probeNginxV] = sbinPath + "nginx -V 2>&1"
	req.Probes[probeNginxAlive] = aliveScript(engine.NginxPidFile)
}

// Run writes the vhosts: one result, for the load balancer.
func (k *LBVHosts) Run(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	return runLB(ctx, e, s, false, func(ctx context.Context, e *engine.Engine, res *engine.Result) error {
		return lbVHosts(ctx, e, s, k.VHosts, res)
	})
}

// lbVHosts writes the nginx vhost files and, when something nginx reads
// changed (or nginx is not running), tests the configuration and reloads or
// starts nginx. A configuration nginx rejects is rolled back.
func lbVHosts(ctx context.Context, e *engine.Engine, s playbook.Step, vh VHosts, res *engine.Result) error {
	l := e.LB
	build, err := nginxBuild(e)
	if err != nil {
		return err
	}
	files, err := nginx.Render(vhostConfig(e, vh, build))
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	var changes []vhostChange
	for _, f := range files {
		p := path.Join(engine.NginxConfDir, f.Name)
		cur, err := l.Host.Read(ctx, p)
		if err != nil {
			return err
		}
		if cur.Exists && bytes.Equal(cur.Content, f.Content) {
			continue
		}
		changes = append(changes, vhostChange{cur: cur, data: f.Content})
		verb := "update"
		if !cur.Exists {
			verb = "create"
		}
		res.AddFileChange(verb, p, cur.Content, f.Content)
	}
	applied, err := appliedHash(ctx, e, files)
	if err != nil {
		return err
	}
	marker, err := l.Host.Read(ctx, l.AppliedPath(vh.Prefix))
	if err != nil {
		return err
	}
	pid, running := nginxPID(e)
	l.Mu.Lock()
	reload := l.Reload || len(changes) > 0
	l.Mu.Unlock()
	switch {
	case running && !reload && strings.TrimSpace(string(marker.Content)) == applied:
		res.Note = "nginx running (pid " + pid + ")"
		return nil
	case running && !reload:
		res.AddChange(fmt.Sprintf("nginx -t, then reload nginx (pid %s): it has not loaded these files yet", pid), "")
	case running:
		res.AddChange(fmt.Sprintf("nginx -t, then reload nginx (pid %s)", pid), "")
	default:
		res.AddChange("nginx -t, then start nginx (it is not running)", "")
	}
	if e.Planning() {
		return nil
	}
	return applyVHosts(ctx, e, changes, running, marker.Path, applied, res)
}

// appliedHash identifies what nginx should have loaded: the vhost files and
// the certificate (its key changes with it). After a successful reload or
// start it is recorded on the load balancer, so that a run interrupted
// between writing and reloading still reloads next time.
func appliedHash(ctx context.Context, e *engine.Engine, files []nginx.File) (string, error) {
	l := e.LB
	l.Mu.Lock()
	cert := l.Cert
	l.Mu.Unlock()
	if cert == nil {
		f, err := l.Host.Read(ctx, l.CertPath())
		if err != nil {
			return "", err
		}
		cert = f.Content
	}
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s %x\n", f.Name, sha256.Sum256(f.Content))
	}
	fmt.Fprintf(h, "%s %x\n", l.CertPath(), sha256.Sum256(cert))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// applyVHosts writes the changed files, tests the whole configuration and
// reloads (or starts) nginx; on a failed test it puts the previous files
// back exactly as they were (content, mode, owner, or absence).
func applyVHosts(ctx context.Context, e *engine.Engine, changes []vhostChange, running bool, marker, applied string, res *engine.Result) error {
	l := e.LB
	for i, c := range changes {
		opts := remote.WriteOptions{Mode: 0o644, Owner: "root", Group: "root", Backup: true}
		if err := e.WriteFile(ctx, l.Host, c.cur.Path, c.data, opts); err != nil {
			return rollback(ctx, e, changes[:i], err)
		}
	}
	out, err := engine.RunScriptOut(ctx, l.Host, "root", nginxTestScript, nil, "nginx -t")
	if err != nil {
		return rollback(ctx, e, changes, err)
	}
	if bad := ourWarnings(out, lbPaths(e, changes)); bad != "" {
		return rollback(ctx, e, changes, fmt.Errorf("nginx -t warns about carbonctl's files:\n%s", bad))
	}
	if warn := strings.TrimSpace(grepLines(out, "[warn]")); warn != "" {
		res.Note = "nginx -t warns (not about carbonctl's files): " + warn
	}
	script := nginxReloadScript
	if !running {
		script = nginxStartScript
	}
	script += fmt.Sprintf("\nmkdir -p %s && printf '%%s\\n' %s >%s\n", remote.Quote(path.Dir(marker)), applied, remote.Quote(marker))
	pid, err := engine.RunScriptOut(ctx, l.Host, "root", script, nil, "reload or start nginx")
	if err != nil {
		return err
	}
	if err := l.Host.Write(ctx, false, marker, []byte(applied+"\n"), remote.WriteOptions{}); err != nil {
		return err
	}
	l.Mu.Lock()
	l.Reload = false
	l.Mu.Unlock()
	if res.Note == "" {
		res.Note = "nginx running (pid " + strings.TrimSpace(pid) + ")"
	}
	return nil
}

// rollback restores the files of changes and returns cause, explained.
func rollback(ctx context.Context, e *engine.Engine, changes []vhostChange, cause error) error {
	h := e.LB.Host
	var gone []string
	var failures []string
	for _, c := range changes {
		if !c.cur.Exists {
			gone = append(gone, c.cur.Path)
			continue
		}
		opts := remote.WriteOptions{Mode: c.cur.Mode, Owner: c.cur.Owner, Group: c.cur.Group}
		if err := e.WriteFile(ctx, h, c.cur.Path, c.cur.Content, opts); err != nil {
			failures = append(failures, err.Error())
		}
	}
	if len(gone) > 0 {
		if err := engine.RunScript(ctx, h, "root", "rm -f -- "+quoteAll(gone), nil, "remove the new vhost files"); err != nil {
			failures = append(failures, err.Error())
		} else {
			for _, p := range gone {
				removed(h, p)
			}
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("%w\nrestoring the previous vhost files ALSO failed, fix them by hand: %s", cause, strings.Join(failures, "; "))
	}
	return fmt.Errorf("%w\nthe previous vhost files are back in place; nginx was not reloaded", cause)
}

// nginxBuild reads `nginx -V` from the gathered probe.
func nginxBuild(e *engine.Engine) (nginx.Build, error) {
	p, ok := e.LB.Host.Probe(probeNginxV)
	if !ok || p.ExitCode != 0 {
		return nginx.Build{}, fmt.Errorf("nginx -V failed (exit %d): is nginx installed? (apt-get install nginx): %s", p.ExitCode, remote.LastLines(strings.TrimSpace(p.Stdout), 3))
	}
	b, err := nginx.ParseV(p.Stdout)
	if err != nil {
		return b, err
	}
	if !b.SSL {
		return b, fmt.Errorf("nginx %s is built without the SSL module (--with-http_ssl_module): install a build with it, e.g. Debian's nginx", b.Version)
	}
	return b, nil
}

// nginxPID returns the pid of the running nginx master, from its pid file.
func nginxPID(e *engine.Engine) (string, bool) {
	p, _ := e.LB.Host.Probe(probeNginxAlive)
	pid := strings.TrimSpace(p.Stdout)
	return pid, p.ExitCode == 0 && pid != ""
}

// vhostConfig gathers what the vhost files depend on.
func vhostConfig(e *engine.Engine, v VHosts, build nginx.Build) nginx.Config {
	l := e.LB
	c := nginx.Config{
		Cluster: e.Inv.Cluster.Name, Prefix: v.Prefix,
		ServiceName: l.Conf.ServiceHostName, MgtName: l.Conf.MgtHostName,
		HTTPPort: l.Conf.HTTPPort, HTTPSPort: l.Conf.HTTPSPort,
		CertFile: l.CertPath(), KeyFile: l.KeyPath(),
		Affinity:   build.Affinity(l.Conf.SessionAffinity),
		Directives: v.Directives,
	}
	if addr, err := netip.ParseAddr(l.Conf.Host); err == nil && addr.Is6() && !addr.Is4In6() {
		c.IPv6 = true
	}
	for _, n := range serviceNodes(e.Vars.Nodes, v.ServiceBackends) {
		c.HTTPBackends = append(c.HTTPBackends, nginx.Backend{Addr: n.Host, Port: v.HTTPPort + n.PortOffset})
		c.HTTPSBackends = append(c.HTTPSBackends, nginx.Backend{Addr: n.Host, Port: v.HTTPSPort + n.PortOffset})
	}
	for _, n := range e.Vars.Nodes {
		if n.IsManager {
			c.MgtBackends = append(c.MgtBackends, nginx.Backend{Addr: n.Host, Port: v.MgtPort + n.PortOffset})
		}
	}
	for _, p := range l.Conf.MgtAllow {
		c.MgtAllow = append(c.MgtAllow, p.String())
	}
	return c
}

// serviceNodes are the nodes behind the service name: the workers, or every
// node when the product has no worker/manager split (mode "all") or the
// inventory has no worker.
func serviceNodes(nodes []engine.NodeVars, mode string) []engine.NodeVars {
	var workers []engine.NodeVars
	for _, n := range nodes {
		if !n.IsManager {
			workers = append(workers, n)
		}
	}
	if mode == "all" || len(workers) == 0 {
		return nodes
	}
	return workers
}

// lbPaths are the files carbonctl manages on the load balancer.
func lbPaths(e *engine.Engine, changes []vhostChange) []string {
	paths := []string{e.LB.CertPath(), e.LB.KeyPath()}
	for _, c := range changes {
		paths = append(paths, c.cur.Path)
	}
	return paths
}

// ourWarnings returns the [warn] lines of nginx -t output that name one of
// paths.
func ourWarnings(out string, paths []string) string {
	var bad []string
	for _, line := range strings.Split(grepLines(out, "[warn]"), "\n") {
		for _, p := range paths {
			if line != "" && strings.Contains(line, p) {
				bad = append(bad, line)
				break
			}
		}
	}
	return strings.Join(bad, "\n")
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// quoteAll quotes words for sh.
func quoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = remote.Quote(w)
	}
	return strings.Join(q, " ")
}

// nginxTestScript runs nginx -t; its output (stderr) is the error message.
const nginxTestScript = sbinPath + `out=$(nginx -t 2>&1); rc=$?
if [ $rc -ne 0 ]; then printf '%s\n' "$out" >&2; exit $rc; fi
printf '%s\n' "$out"`

// systemdNginx is true when systemd runs this host, so that nginx is started
// and reloaded as its unit.
const systemdNginx = sbinPath + `systemd=false
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemd=true; fi
`

// nginxAwait waits (up to 10 s) until the pid file names a live process, and
// prints it.
const nginxAwait = `i=0
while :; do
	pid=$(cat ` + engine.NginxPidFile + ` 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && break
	i=$((i+1)); [ $i -lt 100 ] || { echo "nginx is not running after the start: see its error log" >&2; exit 1; }
	sleep 0.1
done
echo "$pid"`

// nginxReloadScript makes the running nginx re-read its configuration.
const nginxReloadScript = systemdNginx + `if $systemd; then systemctl reload nginx >&2 || exit 1; else nginx -s reload >&2 || exit 1; fi
` + nginxAwait

// nginxStartScript starts nginx (detached: its output goes to a file, not
// to the SSH session) and waits for its pid file.
const nginxStartScript = systemdNginx + `if $systemd; then systemctl start nginx >&2 || exit 1
else
	log=$(mktemp) || exit 1
	nginx </dev/null >"$log" 2>&1; rc=$?
	cat "$log" >&2; rm -f "$log"
	[ $rc -eq 0 ] || exit $rc
fi
` + nginxAwait
