package steps

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/playbooks"
)

// TestGuideRules checks the rules validate adds from the guides against
// the sample inventories: one manager for ESB and EI, no [loadbalancer] a
// playbook would ignore, and MB's own ports in the clash check.
func TestGuideRules(t *testing.T) {
	const lb = "[loadbalancer]\nhost = \"198.18.0.11\"\nservice_host_name = \"mb.wso2.com\"\nmgt_host_name = \"mgt.mb.wso2.com\"\n\n[[node]]"
	tests := []struct {
		name, sample string
		edit         func(string) string
		want         []string // substrings of the error; none = valid
	}{
		{"esb sample", "esb-lab.toml", nil, nil},
		{"ei sample with its load balancer", "ei-bp-lab.toml", nil, nil},
		{"bps sample with a load balancer", "bps-lab.toml", addFirst("[[node]]", strings.Replace(lb, "mb.", "bps.", 2)), nil},
		{"mb sample", "mb-lab.toml", nil, nil},
		{"esb with two managers", "esb-lab.toml", replaceAll(`role = "worker"`, `role = "manager"`),
			[]string{"node wrk1: breaks a rule of playbook esb-worker-manager: exactly one node must be the manager"}},
		{"ei with two managers", "ei-bp-lab.toml", replaceAll(`role = "worker"`, `role = "manager"`),
			[]string{"node bp2: breaks a rule of playbook ei-business-process: exactly one node must be the manager"}},
		{"mb with a load balancer", "mb-lab.toml", addFirst("[[node]]", lb),
			[]string{"inventory.toml:46: loadbalancer: playbook mb-cluster has no load balancer steps (lb-certs, lb-vhosts, truststore)"}},
		{"mb member port on its own AMQP port", "mb-lab.toml", replaceAll("local_member_port = 4003", "local_member_port = 5675"),
			[]string{"inventory.toml:59: node[2].local_member_port: 5675 is also the node's own port 5672+3 amqp"}},
		{"mb member port on the other broker's MQTT port", "mb-lab.toml", replaceAll("local_member_port = 4003", "local_member_port = 1883"),
			[]string{"inventory.toml:59: node[2].local_member_port: nodes mb1 and mb2 on 198.18.0.21 would both use port 1883 (mb1: 1883+0 mqtt, mb2: local_member_port)"}},
	}
	t.Setenv("CARBONCTL_DB_ADMIN_PASSWORD", "admin-secret")
	t.Setenv("CARBONCTL_DB_PASSWORD", "app-secret")
	load := func(name string) (*playbook.Playbook, error) { return playbook.Load(playbooks.FS, name, Kinds()) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "inventories", tt.sample))
			if err != nil {
				t.Fatal(err)
			}
			text := string(data)
			if tt.edit != nil {
				text = tt.edit(text)
			}
			wantCheck(t, checkText(t, text, load), tt.want)
		})
	}
}

func replaceAll(old, new string) func(string) string {
	return func(s string) string { return strings.ReplaceAll(s, old, new) }
}

func addFirst(old, new string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, new, 1) }
}

// TestMBPortsMatchStockBrokerXML checks the mb-cluster playbook's [ports]
// against the ports the real broker.xml files open.
func TestMBPortsMatchStockBrokerXML(t *testing.T) {
	pb := loadBuiltin(t, "mb-cluster")
	for _, version := range []string{"mb-3.1.0", "mb-3.2.0"} {
		doc, err := os.ReadFile(filepath.Join(corpusDir(t), version, "repository", "conf", "broker.xml"))
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]check{
			"amqp":     {path: "/broker/transports/amqp/defaultConnection", attr: "port"},
			"amqp_ssl": {path: "/broker/transports/amqp/sslConnection", attr: "port"},
			"mqtt":     {path: "/broker/transports/mqtt/defaultConnection", attr: "port"},
			"mqtt_ssl": {path: "/broker/transports/mqtt/sslConnection", attr: "port"},
			"thrift":   {path: "/broker/coordination/thriftServerPort"},
		} {
			c.file = "broker.xml"
			got, ok := readBack(t, doc, c)
			if p, err := strconv.Atoi(got); !ok || err != nil || p != pb.Ports[name] {
				t.Errorf("%s broker.xml %s = %q, playbook [ports] %s = %d", version, c.path, got, name, pb.Ports[name])
			}
		}
	}
	if len(pb.Ports) != 5 {
		t.Errorf("[ports] %v: want the five broker.xml ports", pb.Ports)
	}
}
