package playbook_test

import (
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/steps"
)

const lbHeader = `name = "p"
[java]
versions = ["1.8"]

[start]
script = "bin/s.sh"
pid_file = "p.pid"
log = "l.log"
started_pattern = "started"
`

func TestLoadBalancerSteps(t *testing.T) {
	good := lbHeader + `
[[step]]
name = "lb-certs"
type = "lb-certs"
[[step]]
name = "lb-vhosts"
type = "lb-vhosts"
  [step.vhosts]
  prefix = "ei"
  service_backends = "all"
  http_port = 8280
  https_port = 8243
  mgt_port = 9443
  directives = ["client_max_body_size 20m;"]
[[step]]
name = "truststore"
type = "truststore"
file = "repository/resources/security/client-truststore.jks"
`
	pb, err := playbook.Parse("lb.toml", []byte(good), steps.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	v := pb.Steps[1].Kind.(*steps.LBVHosts).VHosts
	if v.Prefix != "ei" || v.ServiceBackends != "all" || v.MgtPort != 9443 || len(v.Directives) != 1 {
		t.Fatalf("vhosts %+v", v)
	}
	for name, tt := range map[string]struct{ old, new, err string }{
		"no prefix":          {`prefix = "ei"`, ``, "needs [step.vhosts] prefix"},
		"bad backends":       {`service_backends = "all"`, `service_backends = "managers"`, `"managers": want "workers" or "all"`},
		"no mgt port":        {`mgt_port = 9443`, ``, "mgt_port"},
		"truststore no file": {`file = "repository/resources/security/client-truststore.jks"`, ``, "truststore needs file"},
		"unknown vhost key":  {`mgt_port = 9443`, `mgt_port = 9443` + "\n  sticky = true", "unknown key"},
	} {
		_, err := playbook.Parse("lb.toml", []byte(strings.Replace(good, tt.old, tt.new, 1)), steps.Kinds())
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: err = %v, want %q", name, err, tt.err)
		}
	}
}
