package systemd

import (
	"strings"
	"testing"
)

func TestRenderUnit(t *testing.T) {
	base := Unit{
		Name:        "wso2-esb-prod-wrk1.service",
		Description: "WSO2 esb-worker-manager node wrk1 of cluster esb-prod (carbonctl)",
		User:        "wso2", Group: "wso2",
		Home:   "/opt/wso2esb-4.9.0",
		Script: "/opt/wso2esb-4.9.0/bin/wso2server.sh",
		Args:   []string{"-DworkerNode=true"},
	}
	cases := []struct {
		name     string
		edit     func(*Unit)
		want     []string // lines the unit must have
		wantNone []string // substrings it must not have
	}{
		{"worker without JAVA_HOME", func(*Unit) {}, []string{
			"[Unit]",
			"Description=WSO2 esb-worker-manager node wrk1 of cluster esb-prod (carbonctl)",
			"User=wso2", "Group=wso2",
			"WorkingDirectory=/opt/wso2esb-4.9.0",
			"EnvironmentFile=-/run/carbonctl/wso2-esb-prod-wrk1.env",
			`ExecStart=/bin/sh "/opt/wso2esb-4.9.0/bin/wso2server.sh" $CARBONCTL_SETUP_ARG "-DworkerNode=true"`,
			"Restart=on-failure",
			"SuccessExitStatus=143",
			"LimitNOFILE=4096:65535",
			"LimitNPROC=20000",
			"[Install]",
			"WantedBy=multi-user.target",
		}, []string{"JAVA_HOME", " start"}},
		{"JAVA_HOME set", func(s *Unit) { s.JavaHome = "/usr/lib/jvm/java-8-openjdk-amd64" },
			[]string{`Environment="JAVA_HOME=/usr/lib/jvm/java-8-openjdk-amd64"`}, nil},
		{"manager without arguments", func(s *Unit) { s.Args = nil },
			[]string{`ExecStart=/bin/sh "/opt/wso2esb-4.9.0/bin/wso2server.sh" $CARBONCTL_SETUP_ARG`}, nil},
		{"specifiers, dollars and quotes are taken literally", func(s *Unit) {
			s.Home, s.Script, s.Args = "/opt/a%b", "/opt/a%b/bin/x.sh", []string{`-Dp=$HOME "q" \`}
		}, []string{
			"WorkingDirectory=/opt/a%%b",
			`ExecStart=/bin/sh "/opt/a%%b/bin/x.sh" $CARBONCTL_SETUP_ARG "-Dp=$$HOME \"q\" \\"`,
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := base
			c.edit(&s)
			got := Render(s)
			lines := map[string]bool{}
			for _, l := range strings.Split(got, "\n") {
				lines[l] = true
			}
			for _, w := range c.want {
				if !lines[w] {
					t.Errorf("unit lacks line %q:\n%s", w, got)
				}
			}
			for _, w := range c.wantNone {
				if strings.Contains(got, w) {
					t.Errorf("unit has %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestDecideUnits(t *testing.T) {
	const want = "unit text\n"
	unit := func(name, current string, exists, enabled bool) State {
		return State{Name: name, Current: []byte(current), Exists: exists, Enabled: enabled, Want: want}
	}
	cases := []struct {
		name   string
		units  []State
		write  string // units written, comma-separated
		script string
	}{
		{"fresh host, two nodes: two units, one reload",
			[]State{unit("a.service", "", false, false), unit("b.service", "", false, false)},
			"a.service,b.service", "systemctl --no-reload enable --quiet 'a.service' 'b.service' && systemctl daemon-reload"},
		{"unchanged and enabled: nothing", []State{unit("a.service", want, true, true), unit("b.service", want, true, true)},
			"", ""},
		{"one unit changed: that unit, one reload", []State{unit("a.service", want, true, true), unit("b.service", "old\n", true, true)},
			"b.service", "systemctl daemon-reload"},
		{"disabled by hand: enable again, no write", []State{unit("a.service", want, true, false)},
			"", "systemctl --no-reload enable --quiet 'a.service' && systemctl daemon-reload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := Decide(c.units)
			var written []string
			for _, u := range a.Write {
				written = append(written, u.Name)
			}
			if got := strings.Join(written, ","); got != c.write {
				t.Errorf("written %q, want %q", got, c.write)
			}
			if got := ReloadScript(a); got != c.script {
				t.Errorf("script %q, want %q", got, c.script)
			}
		})
	}
}

// TestUnitStartScript checks the setup argument's environment file as sh
// and systemd read it.
