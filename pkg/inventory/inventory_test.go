package inventory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	dir := fixtureDir(t)
	inv := mustParse(t, dir, defaultParts().doc())
	want := &Inventory{
		Path:    "inventory.toml",
		Dir:     dir,
		Cluster: Cluster{Name: "esb-lab"},
		Product: Product{Archive: filepath.Join(dir, "archive.zip"), Home: "/opt/wso2esb-4.9.0", User: "wso2", Group: "wso2", AdminPassword: Secret{Source: "default"}},
		SSH: SSH{User: "root", Port: 22, KnownHosts: "/home/op/.ssh/known_hosts", UseAgent: true, ConnectTimeout: 10 * time.Second,
			AliveInterval: 10 * time.Second, AliveCountMax: 3, CommandTimeout: 30 * time.Minute},
		Database: Database{
			Host: "198.18.0.10", Port: 3306, AdminUser: "root",
			AdminPassword: Secret{Value: "adm-secret", Source: "env:ADMIN_PW"},
			User:          "regadmin",
			Password:      Secret{Value: "app-secret", Source: "env:APP_PW"},
			UserHost:      "%", JDBCDriver: filepath.Join(dir, "driver.jar"),
			UserDB: "WSO2_USER_DB", RegistryDB: "REGISTRY_DB", LocalDBPrefix: "REGISTRY_LOCAL",
		},
		DepSync: DepSync{Method: "none"},
		Java:    Java{Home: "/usr/lib/jvm/java-8-openjdk-amd64"},
		Nodes: []Node{
			{Name: "mgr1", Host: "198.18.0.21", Role: "manager", WKA: true, LocalMemberPort: 4100, LocalRegistryDB: "REGISTRY_LOCAL1", Home: "/opt/wso2esb-4.9.0", Line: 18},
			{Name: "wkr1", Host: "198.18.0.22", Role: "worker", LocalMemberPort: 4100, LocalRegistryDB: "REGISTRY_LOCAL2", Home: "/opt/wso2esb-4.9.0", Line: 23},
		},
	}
	want.lines = inv.lines // where keys are is tested by the error tests
	if !reflect.DeepEqual(inv, want) {
		t.Errorf("Parse:\n got %#v\nwant %#v", *inv, *want)
	}
}

func TestEverySetting(t *testing.T) {
	dir := fixtureDir(t)
	doc := `[cluster]
name = "esb-lab"
playbook = "playbook.toml"
domain = "wso2.esb.domain"

[product]
archive = "` + filepath.Join(dir, "archive.zip") + `"
home = "/opt/wso2esb-4.9.0/"
user = "esb"
group = "wso2"

[ssh]
user = "deploy"
port = 2222
identity_file = "id_test"
known_hosts = "~/kh"
use_agent = false
connect_timeout = "1m30s"
server_alive_interval = "5s"
server_alive_count_max = 4
command_timeout = "1h"

[database]
host = "2001:db8::10"
port = 3307
admin_user = "dba"
admin_password_file = "pw"
user = "regadmin"
password = "inline-pw"
user_host = "198.18.0.%"
alias = "carbondb.mysql-wso2.com"
jdbc_driver = "driver.jar"
via = "lb"
user_db = "UM_DB"
registry_db = "REG_DB"
local_db_prefix = "LOCAL_"
character_set = "latin1"

[java]
archive = "jdk.tar.gz"

[loadbalancer]
host = "198.18.0.5"
service_host_name = "esb.wso2.com"
mgt_host_name = "mgt.esb.wso2.com"
http_port = 8080
https_port = 8443

[[node]]
name = "mgr1"
host = "198.18.0.21"
role = "manager"
wka = true
port_offset = 1
local_member_port = 4000
local_registry_db = "MGR_LOCAL"
home = "/srv/esb"
`
	inv := mustParse(t, dir, doc)
	n := inv.Nodes[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"playbook", inv.Cluster.Playbook, filepath.Join(dir, "playbook.toml")},
		{"domain", inv.Cluster.Domain, "wso2.esb.domain"},
		{"home is cleaned", inv.Product.Home, "/opt/wso2esb-4.9.0"},
		{"group", inv.Product.Group, "wso2"},
		{"ssh", inv.SSH, SSH{User: "deploy", Port: 2222, IdentityFile: filepath.Join(dir, "id_test"), KnownHosts: "/home/op/kh", ConnectTimeout: 90 * time.Second,
			AliveInterval: 5 * time.Second, AliveCountMax: 4, CommandTimeout: time.Hour,
			Set: HostSSH{User: "deploy", Port: 2222, IdentityFile: filepath.Join(dir, "id_test")}}},
		{"admin password", inv.Database.AdminPassword, Secret{Value: "file-secret", Source: "file:" + filepath.Join(dir, "pw")}},
		{"password", inv.Database.Password, Secret{Value: "inline-pw", Source: "inline"}},
		{"db", []any{inv.Database.Host, inv.Database.Port, inv.Database.AdminUser, inv.Database.UserHost, inv.Database.Alias, inv.Database.Via},
			[]any{"2001:db8::10", 3307, "dba", "198.18.0.%", "carbondb.mysql-wso2.com", "lb"}},
		{"db names", []string{inv.Database.UserDB, inv.Database.RegistryDB, inv.Database.LocalDBPrefix, inv.Database.CharacterSet},
			[]string{"UM_DB", "REG_DB", "LOCAL_", "latin1"}},
		{"lb", *inv.LoadBalancer, LoadBalancer{Host: "198.18.0.5", ServiceHostName: "esb.wso2.com", MgtHostName: "mgt.esb.wso2.com", HTTPPort: 8080, HTTPSPort: 8443,
			SessionAffinity: true, CertDays: 365, CertKeyType: "rsa2048", TruststoreAlias: "carbonctl-lb",
			TruststorePassword: Secret{Value: "wso2carbon", Source: "default"}}},
		{"node", n, Node{Name: "mgr1", Host: "198.18.0.21", Role: "manager", WKA: true, PortOffset: 1, LocalMemberPort: 4000, LocalRegistryDB: "MGR_LOCAL", Home: "/srv/esb", Line: 49}},
		{"java", inv.Java, Java{Archive: filepath.Join(dir, "jdk.tar.gz")}},
		{"warnings", inv.Warnings, []string{`inventory.toml:29: database.password: plain-text secret in the inventory: move it to an environment variable (password_env = "VAR") or a file (password_file = "path")`}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestSecretFiles(t *testing.T) {
	tests := []struct{ file, want string }{
		{"pw", "file-secret"}, // one trailing newline dropped
		{"pw-crlf", "crlf"},   // CRLF counts as one newline
	}
	for _, tt := range tests {
		p := defaultParts()
		p.database = strings.Replace(p.database, `password_env = "APP_PW"`, `password_file = "`+tt.file+`"`, 1)
		inv := mustParse(t, fixtureDir(t), p.doc())
		if got := inv.Database.Password.Value; got != tt.want {
			t.Errorf("password_file %s: value %q, want %q", tt.file, got, tt.want)
		}
	}
}

func TestAdminPassword(t *testing.T) {
	p := defaultParts()
	if inv := mustParse(t, fixtureDir(t), p.doc()); inv.Product.AdminPassword.Value != "" || inv.Product.AdminPassword.Source != "default" {
		t.Errorf("unset admin password = %+v", inv.Product.AdminPassword)
	}
	p.product += "admin_password_env = \"CONSOLE_PW\"\n"
	inv := mustParse(t, fixtureDir(t), p.doc())
	if inv.Product.AdminPassword.Value != "Console-Pw-1" || !slices.Contains(inv.Secrets(), "Console-Pw-1") {
		t.Errorf("admin password %q, secrets to mask %d", inv.Product.AdminPassword.Value, len(inv.Secrets()))
	}
}

func TestWarnings(t *testing.T) {
	p := defaultParts()
	p.database = strings.Replace(p.database, `password_env = "APP_PW"`, `password_file = "world"`, 1)
	p.nodes = node("mgr1", "198.18.0.21", "manager") + node("wkr1", "198.18.0.22", "worker")
	inv := mustParse(t, fixtureDir(t), p.doc())
	want := []string{
		"inventory.toml:12: database.password_file: secret file " + filepath.Join(inv.Dir, "world") + " is readable by every user (mode 0644): chmod 600 " + filepath.Join(inv.Dir, "world"),
		"inventory.toml:18: node: no node has wka = true, so the members cannot find each other: set wka = true on the manager (and usually on one worker)",
	}
	if !reflect.DeepEqual(inv.Warnings, want) {
		t.Errorf("Warnings:\n got %q\nwant %q", inv.Warnings, want)
	}
}

func TestHomeUnderTmpWarns(t *testing.T) {
	p := defaultParts()
	p.product = strings.Replace(p.product, "/opt/wso2esb-4.9.0", "/tmp/esb", 1)
	inv := mustParse(t, fixtureDir(t), p.doc())
	want := "inventory.toml:6: product.home: /tmp/esb is under /tmp: many systems empty /tmp at boot"
	if len(inv.Warnings) != 1 || !strings.HasPrefix(inv.Warnings[0], want) {
		t.Errorf("Warnings = %q, want one starting %q", inv.Warnings, want)
	}
}

func TestSharedHostAllowed(t *testing.T) {
	p := defaultParts()
	p.nodes = node("mq1", "198.18.0.31", "manager", "wka = true") +
		node("mq2", "198.18.0.31", "worker", "port_offset = 1", "local_member_port = 4101", "home = \"/opt/b\"") +
		node("mq3", "198.18.0.31", "worker", "port_offset = 2", "local_member_port = 4102", "home = \"/opt/c\"")
	inv := mustParse(t, fixtureDir(t), p.doc())
	if len(inv.Nodes) != 3 {
		t.Errorf("%d nodes, want 3", len(inv.Nodes))
	}
}

func TestCheckFilesOff(t *testing.T) {
	p := defaultParts()
	p.product = strings.Replace(p.product, "archive.zip", "/nowhere/esb.zip", 1)
	inv, err := Parse("inventory.toml", "/nowhere", []byte(p.doc()), testEnv, Options{})
	if err != nil {
		t.Fatalf("Parse without CheckFiles: %v", err)
	}
	if inv.Product.Archive != "/nowhere/esb.zip" || inv.Database.JDBCDriver != "/nowhere/driver.jar" {
		t.Errorf("paths %q, %q", inv.Product.Archive, inv.Database.JDBCDriver)
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "HOME" || k == "CARBON_DB_PASSWORD" {
			return "x", true
		}
		return "", false
	}
	_, err := Load(filepath.Join("testdata", "broken.toml"), env)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load error %v, want Errors", err)
	}
	// Every line marked "<-" in the file has a problem.
	data, _ := os.ReadFile(filepath.Join("testdata", "broken.toml"))
	var lines []int
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "# <-") {
			lines = append(lines, i+1)
		}
	}
	reported := map[int]bool{}
	for _, e := range errs {
		reported[e.Line] = true
		if e.File != filepath.Join("testdata", "broken.toml") {
			t.Errorf("problem names file %q", e.File)
		}
	}
	for _, l := range lines {
		if !reported[l] {
			t.Errorf("no problem reported at line %d; got:\n%v", l, err)
		}
	}
	for i := 1; i < len(errs); i++ {
		if errs[i].Line != 0 && errs[i].Line < errs[i-1].Line {
			t.Errorf("problems not in line order:\n%v", err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(errs) {
		t.Errorf("Error() has %d lines for %d problems", n, len(errs))
	}
}

func TestLoadTestdata(t *testing.T) {
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"HOME": "/home/op", "CARBON_DB_ADMIN_PASSWORD": "adm", "CARBON_DB_PASSWORD": "app"}[k]
		return v, ok
	}
	for _, name := range []string{"esb-lab.toml", "shared-host.toml"} {
		inv, err := Load(filepath.Join("testdata", name), env)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		abs, _ := filepath.Abs(filepath.Join("testdata", name))
		if inv.Path != abs || inv.Dir != filepath.Dir(abs) {
			t.Errorf("%s: Path %q Dir %q", name, inv.Path, inv.Dir)
		}
	}
	inv, err := Load(filepath.Join("testdata", "esb-lab.toml"), env)
	if err != nil {
		t.Fatal(err)
	}
	if m := inv.Manager(); m == nil || m.Name != "mgr1" {
		t.Errorf("Manager() = %v", m)
	}
	if n := inv.Node("wkr2"); n == nil || n.Host != "198.18.0.23" || n.LocalRegistryDB != "REGISTRY_LOCAL3" {
		t.Errorf("Node(wkr2) = %+v", n)
	}
	if inv.Node("nope") != nil {
		t.Errorf("Node(nope) != nil")
	}
	var wka []string
	for _, n := range inv.WKAMembers() {
		wka = append(wka, n.Name)
	}
	if !reflect.DeepEqual(wka, []string{"mgr1", "wkr1"}) {
		t.Errorf("WKAMembers() = %v", wka)
	}
	if got := inv.Secrets(); !reflect.DeepEqual(got, []string{"adm", "app-s3cret"}) {
		t.Errorf("Secrets() = %q", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("no/such/inventory.toml", testEnv)
	if err == nil || !strings.HasPrefix(err.Error(), "no/such/inventory.toml: cannot read the inventory: no such file or directory") {
		t.Errorf("Load error = %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{"inventory.toml", 14, "node[2].role", `unknown role "wroker" (want manager or worker)`}, `inventory.toml:14: node[2].role: unknown role "wroker" (want manager or worker)`},
		{Error{"inventory.toml", 0, "cluster.name", "missing"}, "inventory.toml: cluster.name: missing"},
		{Error{"inventory.toml", 3, "", "TOML syntax error"}, "inventory.toml:3: TOML syntax error"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	var target *Error
	if !errors.As(Errors{&tests[0].e}, &target) || target.Line != 14 {
		t.Errorf("errors.As(Errors, *Error) failed")
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	s := Secret{Value: "hunter2", Source: "inline"}
	inv := &Inventory{Database: Database{Password: s, AdminPassword: s}}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%10s"} {
		for _, v := range []any{s, &s, inv.Database, inv, []Secret{s}} {
			if out := fmt.Sprintf(format, v); strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprintf("%x", "hunter2")) {
				t.Errorf("fmt %s of %T leaks the secret: %s", format, v, out)
			}
		}
	}
	if s.String() != "********" {
		t.Errorf("String() = %q", s.String())
	}
}

func TestSecretValueNotInMessages(t *testing.T) {
	p := defaultParts()
	p.database = strings.Replace(p.database, `admin_password_env = "ADMIN_PW"`, "admin_password = 987654", 1)
	_, errs := parse(t, fixtureDir(t), p.doc())
	if errs == nil || strings.Contains(errs.Error(), "987654") {
		t.Errorf("problems %v: want an error without the value", errs)
	}
}

func TestInlineNodeArray(t *testing.T) {
	p := defaultParts()
	p.nodes = ""
	p.cluster = `node = [
  { name = "mgr1", host = "198.18.0.21", role = "manager", wka = true },
  { name = "wkr1", host = "198.18.0.22", role = "wrker" },
]
` + p.cluster
	_, errs := parse(t, fixtureDir(t), p.doc())
	if len(errs) != 1 || errs[0].Key != "node[2].role" || errs[0].Line != 1 {
		t.Errorf("problems:\n%v\nwant node[2].role at the line of node = [", errs)
	}
}
