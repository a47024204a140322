package steps

import (
	"regexp"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
)

func TestHostsFile(t *testing.T) {
	entries := []hostsEntry{{"198.18.0.10", "carbondb.mysql-wso2.com"}}
	block := "# BEGIN carbonctl managed block (cluster c1)\n198.18.0.10\tcarbondb.mysql-wso2.com\n# END carbonctl managed block (cluster c1)\n"
	tests := []struct {
		name, in, want, err string
		entries             []hostsEntry
	}{
		{name: "appends block", in: "127.0.0.1\tlocalhost\n", want: "127.0.0.1\tlocalhost\n" + block, entries: entries},
		{name: "idempotent", in: "127.0.0.1\tlocalhost\n" + block, want: "127.0.0.1\tlocalhost\n" + block, entries: entries},
		{name: "no final newline", in: "127.0.0.1 localhost", want: "127.0.0.1 localhost\n" + block, entries: entries},
		{name: "replaces stale block, keeps lines after it",
			in:   "a\n# BEGIN carbonctl managed block (cluster c1)\n1.2.3.4\tcarbondb.mysql-wso2.com\n# END carbonctl managed block (cluster c1)\nb\n",
			want: "a\nb\n" + block, entries: entries},
		{name: "other cluster's block untouched",
			in:   "# BEGIN carbonctl managed block (cluster other)\n1.1.1.1\tx\n# END carbonctl managed block (cluster other)\n",
			want: "# BEGIN carbonctl managed block (cluster other)\n1.1.1.1\tx\n# END carbonctl managed block (cluster other)\n" + block, entries: entries},
		{name: "CRLF file", in: "127.0.0.1 localhost\r\n", want: "127.0.0.1 localhost\r\n" + strings.ReplaceAll(block, "\n", "\r\n"), entries: entries},
		{name: "conflict", in: "127.0.0.1 localhost\n10.9.9.9 carbondb.mysql-wso2.com # old\n", err: "line 2 maps carbondb.mysql-wso2.com to 10.9.9.9", entries: entries},
		{name: "same mapping outside is fine", in: "198.18.0.10 carbondb.mysql-wso2.com\n", want: "198.18.0.10 carbondb.mysql-wso2.com\n" + block, entries: entries},
		{name: "no entries removes block", in: "a\n" + block, want: "a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hostsFile(tt.in, "c1", tt.entries)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestDecideStart(t *testing.T) {
	tests := []struct {
		name               string
		running            bool
		startedWith, fp    string
		manager, setupDone bool
		wantAction         string
		wantSetup          bool
	}{
		{"running with same config", true, "abc", "abc", true, true, "none", false},
		{"running with old config", true, "old", "abc", false, false, "restart", false},
		{"running, never started by us", true, "", "abc", false, false, "restart", false},
		{"stopped manager first start", false, "", "abc", true, false, "start", true},
		{"stopped manager later start", false, "abc", "abc", true, true, "start", false},
		{"stopped worker", false, "", "abc", false, false, "start", false},
		{"manager interrupted before setup marker", true, "", "abc", true, false, "restart", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decideStart(tt.running, tt.startedWith, tt.fp, tt.manager, tt.setupDone)
			if d.action != tt.wantAction || d.setup != tt.wantSetup {
				t.Fatalf("got %+v, want action %s setup %v", d, tt.wantAction, tt.wantSetup)
			}
		})
	}
}

func TestMembersSeen(t *testing.T) {
	pb := builtin(t)
	joined, left, err := memberPatterns(pb.Start)
	if err != nil {
		t.Fatal(err)
	}
	log := strings.Join([]string{
		"TID: [-1234] [] [2026-11-25 12:00:00,001]  INFO {x.WKABasedMembershipScheme} -  Member joined [a-1]: /198.18.0.22:4100 {x.WKABasedMembershipScheme}",
		"TID: [-1234] [] [2026-11-25 12:00:00,002]  INFO {x.WKABasedMembershipScheme} -  Member joined [b-2]: /198.18.0.23:4100 {x.WKABasedMembershipScheme}",
		"TID: [-1234] [] [2026-11-25 12:00:01,000]  INFO {x.WKABasedMembershipScheme} -  Member left [b-2]: /198.18.0.23:4100 {x.WKABasedMembershipScheme}",
	}, "\n")
	seen := membersSeen(log, joined, left)
	if !seen["198.18.0.22:4100"] || seen["198.18.0.23:4100"] || len(seen) != 1 {
		t.Fatalf("seen = %v", seen)
	}
	seen = membersSeen(log+"\nTID: [-1234] [] [x]  INFO {y} -  Member joined [c-3]: /198.18.0.23:4100 {y}", joined, left)
	if !seen["198.18.0.23:4100"] {
		t.Fatalf("rejoin not seen: %v", seen)
	}
}

func TestMasker(t *testing.T) {
	m := engine.NewMasker([]string{"s3cr&t'pw", "", "admin"})
	in := "password s3cr&t'pw, xml <password>s3cr&amp;t'pw</password>, sql 's3cr&t''pw' and admin"
	got := m.String(in)
	if strings.Contains(got, "s3cr") || strings.Contains(got, "admin") {
		t.Fatalf("secret leaked: %s", got)
	}
	if strings.Count(got, engine.Mask) != 4 {
		t.Fatalf("want 4 masks: %s", got)
	}
}

func TestServerName(t *testing.T) {
	tests := []struct {
		version, comment, want string
		mysql57                bool
	}{
		{"10.11.6-MariaDB-0+deb12u1", "Debian 12", "MariaDB 10.11.6", false},
		{"5.5.5-10.4.32-MariaDB", "mariadb.org binary distribution", "MariaDB 10.4.32", false},
		{"5.6.51", "MySQL Community Server (GPL)", "MySQL 5.6.51", false},
		{"5.7.44-log", "MySQL Community Server (GPL)", "MySQL 5.7.44", true},
		{"8.0.36", "MySQL Community Server - GPL", "MySQL 8.0.36", true},
		{"8.4.0-commercial", "MySQL Enterprise Server - Commercial", "MySQL 8.4.0", true},
		{"garbage", "", "MySQL garbage", false},
	}
	for _, tt := range tests {
		got := serverName(tt.version, tt.comment)
		if got != tt.want || isMySQL57(got) != tt.mysql57 {
			t.Errorf("serverName(%q, %q) = %q (MySQL 5.7+: %v), want %q (%v)", tt.version, tt.comment, got, isMySQL57(got), tt.want, tt.mysql57)
		}
	}
}

func TestRenderTemplates(t *testing.T) {
	v := engine.Vars{
		DB:   engine.DBVars{Address: "carbondb.mysql-wso2.com", Port: 3306, User: "regadmin"},
		Node: engine.NodeVars{Name: "wrk1", Host: "198.18.0.22", LocalMemberPort: 4100},
		WKA:  []engine.NodeVars{{Host: "198.18.0.21", LocalMemberPort: 4100}, {Host: "198.18.0.22", LocalMemberPort: 4100}},
	}
	tests := []struct{ tmpl, want string }{
		{"{{jdbcurl \"REGISTRY_DB\"}}", "jdbc:mysql://carbondb.mysql-wso2.com:3306/REGISTRY_DB?autoReconnect=true"},
		{"{{range .WKA}}{{.Host}}:{{.LocalMemberPort}} {{end}}", "198.18.0.21:4100 198.18.0.22:4100 "},
		{"{{if .Node.IsManager}}mgt{{else}}worker{{end}}", "worker"},
		{"{{with .LB}}{{.ServiceHostName}}{{else}}{{.Node.Host}}{{end}}", "198.18.0.22"},
		{"{{xml \"a<b&c\"}}", "a&lt;b&amp;c"},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		got, err := v.Render("t", tt.tmpl)
		if err != nil || got != tt.want {
			t.Errorf("render(%q) = %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
	if _, err := v.Render("t", "{{.Nope}}"); err == nil {
		t.Error("unknown field must fail")
	}
	for tmpl, want := range map[string]bool{"": true, "{{and .LB (not .Node.IsManager)}}": false, "{{not .Node.IsManager}}": true} {
		if got, err := v.When("w", tmpl); err != nil || got != want {
			t.Errorf("when(%q) = %v, %v; want %v", tmpl, got, err, want)
		}
	}
}

// builtin loads the ESB playbook embedded in the binary.
func builtin(t *testing.T) *playbook.Playbook {
	t.Helper()
	return loadBuiltin(t, "esb-worker-manager")
}

func TestBuiltinPlaybookPatterns(t *testing.T) {
	pb := builtin(t)
	joined := regexp.MustCompile(pb.Start.JoinedPattern)
	if prefix, _ := joined.LiteralPrefix(); prefix != "Member joined [" {
		t.Fatalf("the awk filter relies on a literal prefix, got %q", prefix)
	}
}

func TestHasEntry(t *testing.T) {
	passwd := []byte("root:x:0:0:root:/root:/bin/bash\nwso2x:x:995:995::/home/wso2x:/bin/bash\n#wso2:x:1:1\nwso2:x:994:994::/home/wso2:/bin/bash")
	for name, want := range map[string]bool{"root": true, "wso2": true, "wso2x": true, "wso": false, "bin": false, "": false} {
		if got := hasEntry(passwd, name); got != want {
			t.Errorf("hasEntry(%q) = %v, want %v", name, got, want)
		}
	}
}
