// Package nginx renders the load balancer's virtual host files the way
// WSO2's clustering guides lay them out (PREFIX.http.conf, PREFIX.https.conf,
// mgt.PREFIX.https.conf in /etc/nginx/conf.d), in a form the installed nginx
// accepts without warnings, and reads what the installed nginx supports from
// the output of `nginx -V`.
package nginx

import (
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// Affinity is how an upstream keeps a client on one backend.
type Affinity int

// Affinities, from none to NGINX Plus' cookie learning.
const (
	NoAffinity  Affinity = iota
	IPHash               // community nginx: by client address
	StickyLearn          // NGINX Plus: learns the backend's JSESSIONID cookie
)

// FailTimeout is how long nginx keeps a backend out of rotation after a
// failed attempt (max_fails=1): it is written on every upstream server,
// and a rolling restart waits it out between nodes (see package steps) so
// that the load balancer never has every backend marked down at once.
const FailTimeout = 5 * time.Second

// Build is what `nginx -V` says about the installed nginx.
type Build struct {
	Version string // e.g. "1.22.1"
	Plus    bool   // NGINX Plus (has `sticky learn`)
	SSL     bool   // built with the SSL module
}

var versionLine = regexp.MustCompile(`nginx version: nginx/(\S+)(.*)`)

// ParseV reads the output of `nginx -V` (stderr included).
func ParseV(out string) (Build, error) {
	m := versionLine.FindStringSubmatch(out)
	if m == nil {
		return Build{}, fmt.Errorf("unexpected `nginx -V` output: %q", firstLine(out))
	}
	b := Build{Version: m[1], Plus: strings.Contains(m[2], "nginx-plus")}
	b.SSL = strings.Contains(out, "--with-http_ssl_module")
	return b, nil
}

// Affinity returns the session affinity this build offers when affinity is
// wanted: sticky learn on NGINX Plus, ip_hash on the community build.
func (b Build) Affinity(want bool) Affinity {
	switch {
	case !want:
		return NoAffinity
	case b.Plus:
		return StickyLearn
	}
	return IPHash
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// Backend is one upstream server.
type Backend struct {
	Addr string // IP address
	Port int
}

// String renders the backend as nginx's `server` directive wants it.
func (b Backend) String() string {
	if strings.Contains(b.Addr, ":") {
		return fmt.Sprintf("[%s]:%d", b.Addr, b.Port)
	}
	return fmt.Sprintf("%s:%d", b.Addr, b.Port)
}

// Config is everything the vhost files depend on.
type Config struct {
	Cluster     string // named in the files' header comment
	Prefix      string // file name prefix, e.g. "esb"
	ServiceName string // e.g. esb.wso2.com
	MgtName     string // e.g. mgt.esb.wso2.com
	HTTPPort    int    // listen ports
	HTTPSPort   int
	IPv6        bool   // also listen on [::]
	CertFile    string // PEM certificate and key on the load balancer
	KeyFile     string
	Affinity    Affinity // for the HTTPS and management upstreams
	// Service backends: the workers' pass-through ports (all nodes when the
	// product has no worker/manager split); Mgt: the managers' console port.
	HTTPBackends, HTTPSBackends, MgtBackends []Backend
	// Directives are extra directives written into every location block.
	Directives []string
	// MgtAllow are the networks (CIDR) that may reach the management
	// console vhost; every other client gets 403. Empty: no restriction.
	MgtAllow []string
}

// File is one rendered vhost file.
type File struct {
	Name    string // base name in /etc/nginx/conf.d
	Content []byte
}

var (
	prefixRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$`)
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	pathRE   = regexp.MustCompile(`^/[A-Za-z0-9._/-]+$`)
)

// check rejects values that would not make a sound configuration.
func (c Config) check() error {
	switch {
	case !prefixRE.MatchString(c.Prefix):
		return fmt.Errorf("vhost prefix %q: use lower-case letters, digits, '-' and '.'", c.Prefix)
	case !nameRE.MatchString(c.ServiceName) || !nameRE.MatchString(c.MgtName):
		return fmt.Errorf("host names %q and %q must be DNS names", c.ServiceName, c.MgtName)
	case !pathRE.MatchString(c.CertFile) || !pathRE.MatchString(c.KeyFile):
		return fmt.Errorf("certificate paths %q and %q must be plain absolute paths", c.CertFile, c.KeyFile)
	case c.HTTPPort <= 0 || c.HTTPSPort <= 0 || c.HTTPPort == c.HTTPSPort:
		return fmt.Errorf("listen ports %d and %d must be two different ports", c.HTTPPort, c.HTTPSPort)
	case len(c.HTTPBackends) == 0 || len(c.HTTPSBackends) == 0:
		return fmt.Errorf("no service backends")
	case len(c.MgtBackends) == 0:
		return fmt.Errorf("no management backend")
	}
	for _, a := range c.MgtAllow {
		if _, err := netip.ParsePrefix(a); err != nil {
			return fmt.Errorf("management allow-list entry %q: %v", a, err)
		}
	}
	for _, d := range c.Directives {
		if strings.TrimSpace(d) == "" || strings.ContainsAny(d, "\n\r") {
			return fmt.Errorf("extra directive %q: write one directive per entry, on one line", d)
		}
	}
	return nil
}

// FileNames are the vhost files of a prefix, as Render names them.
func FileNames(prefix string) []string {
	return []string{prefix + ".http.conf", prefix + ".https.conf", "mgt." + prefix + ".https.conf"}
}

// Render returns the three vhost files, in FileNames order.
func Render(c Config) ([]File, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	http := ident(c.Prefix) + "_http"
	https := ident(c.Prefix) + "_https"
	mgt := "mgt_" + https
	names := FileNames(c.Prefix)
	files := []struct {
		name string
		data vhost
	}{
		{names[0], vhost{Config: c, Upstream: http, Scheme: "http", Names: c.ServiceName,
			Backends: c.HTTPBackends, Role: "service HTTP traffic", To: "pass-through HTTP ports"}},
		{names[1], vhost{Config: c, Upstream: https, Scheme: "https", Names: c.ServiceName,
			Backends: c.HTTPSBackends, Role: "service HTTPS traffic", To: "pass-through HTTPS ports", Sticky: c.Affinity}},
		{names[2], vhost{Config: c, Upstream: mgt, Scheme: "https", Names: c.MgtName,
			Backends: c.MgtBackends, Role: "the management console", To: "management console HTTPS port", Sticky: c.Affinity, Redirect: true, Allow: c.MgtAllow}},
	}
	out := make([]File, 0, len(files))
	for _, f := range files {
		var b bytes.Buffer
		if err := vhostTemplate.Execute(&b, f.data); err != nil {
			return nil, fmt.Errorf("render %s: %w", f.name, err)
		}
		out = append(out, File{Name: f.name, Content: b.Bytes()})
	}
	return out, nil
}

// vhost is the data of one file.
type vhost struct {
	Config
	Upstream string // upstream name, also the base of the file's variables
	Scheme   string // http | https: listen with ssl, proxy to https
	Names    string // server_name
	Backends []Backend
	Role, To string // for the header comment
	Sticky   Affinity
	Redirect bool     // also redirect plain HTTP to HTTPS for this name
	Allow    []string // networks allowed in (allow …; deny all;); empty: all
}

// FailTimeout renders FailTimeout for nginx, e.g. "5s".
func (v vhost) FailTimeout() string { return fmt.Sprintf("%ds", int(FailTimeout/time.Second)) }

// RedirectPort is the HTTPS port part of a redirect URL ("" for 443).
func (v vhost) RedirectPort() string {
	if v.HTTPSPort == 443 {
		return ""
	}
	return fmt.Sprintf(":%d", v.HTTPSPort)
}

// ident turns a prefix into an nginx identifier (variables, zones).
func ident(s string) string {
	return strings.NewReplacer(".", "_", "-", "_").Replace(s)
}

var vhostTemplate = template.Must(template.New("vhost").Parse(`# Managed by carbonctl for cluster {{.Cluster}}: carbonctl up rewrites this file.
# {{.Names}}: {{.Role}}, to the nodes' {{.To}}.

# WebSocket: pass Upgrade on, close the upstream connection otherwise.
map $http_upgrade ${{.Upstream}}_connection {
    default upgrade;
    ''      close;
}

upstream {{.Upstream}} {
{{- if eq .Sticky 1}}
    ip_hash; # session affinity by client address (this nginx has no "sticky")
{{- else if eq .Sticky 2}}
    sticky learn create=$upstream_cookie_jsessionid lookup=$cookie_jsessionid zone={{.Upstream}}_sessions:1m;
{{- end}}
{{- range .Backends}}
    server {{.}} max_fails=1 fail_timeout={{$.FailTimeout}};
{{- end}}
}
{{- if .Redirect}}

server {
    listen {{.HTTPPort}};
{{- if .IPv6}}
    listen [::]:{{.HTTPPort}};
{{- end}}
    server_name {{.Names}};
    return 301 https://$host{{.RedirectPort}}$request_uri;
}
{{- end}}

server {
{{- if eq .Scheme "https"}}
    listen {{.HTTPSPort}} ssl;
{{- if .IPv6}}
    listen [::]:{{.HTTPSPort}} ssl;
{{- end}}
{{- else}}
    listen {{.HTTPPort}};
{{- if .IPv6}}
    listen [::]:{{.HTTPPort}};
{{- end}}
{{- end}}
    server_name {{.Names}};
{{- if eq .Scheme "https"}}

    ssl_certificate     {{.CertFile}};
    ssl_certificate_key {{.KeyFile}};
    ssl_protocols       TLSv1.2 TLSv1.3;
{{- end}}
{{- if .Allow}}

    # Only these networks reach {{.Role}} ([loadbalancer] mgt_allow).
{{- range .Allow}}
    allow {{.}};
{{- end}}
    deny all;
{{- end}}

    location / {
        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header X-Forwarded-Server $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Host $http_host;
        proxy_read_timeout 5m;
        proxy_send_timeout 5m;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection ${{.Upstream}}_connection;
{{- range .Directives}}
        {{.}}
{{- end}}
        proxy_pass {{.Scheme}}://{{.Upstream}};
    }
}
`))
