// Package systemd renders the service units carbonctl installs (one per
// node) and decides what a host's units need: writes, enables and one
// daemon-reload.
package systemd

import (
	"fmt"
	"path"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// Where systemd units live and how carbonctl detects systemd.
const (
	UnitDir = "/etc/systemd/system"
	// WantsDir holds the symbolic links `systemctl enable` makes for
	// WantedBy=multi-user.target.
	WantsDir = UnitDir + "/multi-user.target.wants"
	// SetupEnvDir holds, only during a first start with the setup argument,
	// the environment file that hands it to the unit; /run is empty after a
	// reboot, so a boot never repeats the setup.
	SetupEnvDir = "/run/carbonctl"
	// RunDir exists when systemd runs as the host's init (what
	// sd_booted() checks); the batch read stats it with the other paths, so
	// detecting systemd costs no process and no round trip.
	RunDir = "/run/systemd/system"
)

// Unit is what a node's service unit says.
type Unit struct {
	Name        string // unit name, e.g. wso2-esb-prod-wrk1.service
	Description string
	User, Group string
	Home        string   // CARBON_HOME, the working directory
	Script      string   // the start script, absolute
	Args        []string // start arguments (without the setup argument)
	// JavaHome, when set, becomes Environment=JAVA_HOME=… (the wso2server.sh
	// scripts refuse to start without it).
	JavaHome string
}

// UnitName is the name of a node's unit: one per node, so that two nodes on
// one host are two services.
func UnitName(cluster, node string) string {
	return "wso2-" + cluster + "-" + node + ".service"
}

// SetupEnvFile is the environment file that passes the setup argument.
func SetupEnvFile(unit string) string {
	return path.Join(SetupEnvDir, strings.TrimSuffix(unit, ".service")+".env")
}

// Render returns the unit file for spec. The start script runs in the
// foreground (without "start", wso2server.sh execs the server), so systemd
// watches the server itself and restarts it when it fails.
func Render(s Unit) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Managed by carbonctl: `carbonctl up` rewrites this file.\n")
	fmt.Fprintf(&b, "[Unit]\nDescription=%s\n", unitEscape(s.Description))
	b.WriteString("Wants=network-online.target\nAfter=network-online.target\n\n")
	b.WriteString("[Service]\nType=simple\n")
	fmt.Fprintf(&b, "User=%s\nGroup=%s\n", s.User, s.Group)
	fmt.Fprintf(&b, "WorkingDirectory=%s\n", unitEscape(s.Home))
	if s.JavaHome != "" {
		fmt.Fprintf(&b, "Environment=%s\n", unitQuote("JAVA_HOME="+s.JavaHome))
	}
	// The setup argument (manager, first start only) comes from a file that
	// carbonctl writes for that one start; an unset variable is no argument.
	fmt.Fprintf(&b, "EnvironmentFile=-%s\n", SetupEnvFile(s.Name))
	args := []string{"/bin/sh", unitQuote(s.Script), "$CARBONCTL_SETUP_ARG"}
	for _, a := range s.Args {
		args = append(args, unitQuote(a))
	}
	fmt.Fprintf(&b, "ExecStart=%s\n", strings.Join(args, " "))
	b.WriteString("Restart=on-failure\nRestartSec=10\n")
	// A JVM ended by SIGTERM exits with 128+15: a clean stop, not a failure.
	b.WriteString("SuccessExitStatus=143\nTimeoutStopSec=90\n")
	// WSO2's production guidance ("Network and OS Level Performance Tuning",
	// https://docs.wso2.com/display/ESB490/Network+and+OS+Level+Performance+Tuning)
	// asks for "* soft nofile 4096" and "* hard nofile 65535" and
	// "nproc 20000" in /etc/security/limits.conf; pam_limits does not apply
	// to services, so the unit sets them.
	b.WriteString("LimitNOFILE=4096:65535\nLimitNPROC=20000\n\n")
	b.WriteString("[Install]\nWantedBy=multi-user.target\n")
	return b.String()
}

// unitEscape escapes systemd's specifier character in a unit setting.
func unitEscape(s string) string {
	return strings.ReplaceAll(s, "%", "%%")
}

// unitQuote quotes one word of ExecStart= or Environment=: C-style escapes
// in double quotes, with % and $ doubled so that systemd takes them as is.
func unitQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$", "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// State is what the service step found for one node's unit.
type State struct {
	Name    string
	Current []byte // the unit file on the host (nil: none)
	Exists  bool
	Enabled bool
	Want    string // the unit file carbonctl wants
}

// Actions are what the service step does on one host.
type Actions struct {
	Write  []State  // units to install or update
	Enable []string // units to enable
	Reload bool     // one daemon-reload for the host
}

// Decide compares the wanted units of a host's nodes with what is there.
func Decide(units []State) Actions {
	var a Actions
	for _, u := range units {
		if !u.Exists || string(u.Current) != u.Want {
			a.Write = append(a.Write, u)
			a.Reload = true
		}
		if !u.Enabled {
			a.Enable = append(a.Enable, u.Name)
		}
	}
	return a
}

// ReloadScript is the one systemctl command a host needs after its units
// changed: enable without a reload of its own, then one daemon-reload.
func ReloadScript(a Actions) string {
	var cmds []string
	if len(a.Enable) > 0 {
		quoted := make([]string, len(a.Enable))
		for i, u := range a.Enable {
			quoted[i] = remote.Quote(u)
		}
		cmds = append(cmds, "systemctl --no-reload enable --quiet "+strings.Join(quoted, " "))
	}
	if a.Reload || len(a.Enable) > 0 {
		cmds = append(cmds, "systemctl daemon-reload")
	}
	return strings.Join(cmds, " && ")
}
