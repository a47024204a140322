// Package remote runs commands on, reads facts from and writes files to
// Linux hosts over SSH.
//
// It is built for speed: a host costs one SSH connection (Dial) for a whole
// run, and each operation is a single SSH session running one POSIX sh
// script, so a no-op run is about one handshake plus one command per host.
// Nodes need nothing but sshd and the usual POSIX tools (sh, cat, ls, mkdir,
// chmod, chown, mv, rm, mktemp, kill, sudo, ...).
//
// Work that needs root goes through `sudo -n` unless the login user is
// root. Uploading a stream (for example a tar archive) is done with Run and a
// stdin reader, e.g. Run(ctx, "root", "tar -xf - -C /opt", archive).
//
// The package has no package-level mutable state: several runs (and several
// hosts in one run) can use it concurrently.
package remote

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Config says how to connect and log in to a host.
type Config struct {
	// User is the login user.
	User string
	// Port is the sshd port; 0 means 22.
	Port int
	// HostName is the address to connect to (ssh_config's HostName) when
	// it is not the host name given to Dial, which then stays the host's
	// name in messages; "" = that name. known_hosts is looked up by the
	// address connected to, as OpenSSH does.
	HostName string
	// ProxyJump are the jump hosts (bastions) to go through, in order, as
	// OpenSSH's ProxyJump: the first is reached directly, each next one
	// through the previous, and the host through the last. Each one's host
	// key is checked like the host's.
	ProxyJump []Hop
	// BecomePassword is the login user's sudo password, for hosts whose
	// sudo asks for one; "" = sudo -n (NOPASSWD sudo, or a root login).
	// It is sent on the command's stdin only when sudo prompts for it.
	BecomePassword Secret
	// IdentityFiles are unencrypted private keys. An encrypted key cannot
	// be used directly: load it into ssh-agent and set UseAgent.
	IdentityFiles []string
	// UseAgent makes Dial also offer the keys of the agent at
	// $SSH_AUTH_SOCK, if that variable is set.
	UseAgent bool
	// KnownHostsFile is an OpenSSH known_hosts file; required. Dial uses it
	// (with AcceptNewHostKeys) only when given no HostKeys.
	KnownHostsFile string
	// AcceptNewHostKeys is like OpenSSH's StrictHostKeyChecking=accept-new:
	// the key of a host missing from KnownHostsFile is recorded there. A
	// changed key is always fatal.
	AcceptNewHostKeys bool
	// ConnectTimeout bounds TCP connect, handshake and authentication;
	// 0 means 10s.
	ConnectTimeout time.Duration
	// MaxSessions caps the SSH sessions one Client runs at once; further
	// calls wait. 0 means 8, leaving room under sshd's default MaxSessions
	// of 10 for the session that stops a cancelled command.
	MaxSessions int
	// AliveInterval and AliveCountMax are OpenSSH's ServerAliveInterval and
	// ServerAliveCountMax: a keepalive@openssh.com request goes to the host
	// every AliveInterval, and when AliveCountMax intervals in a row pass
	// without an answer the connection is closed, so that every call
	// waiting on it fails with an error naming the host. Opening a session
	// waits at most that long, too. 0 means 10s and 3.
	AliveInterval time.Duration
	AliveCountMax int
	// CommandTimeout bounds each Run, WriteFile and Gather (Stream, which
	// follows output until cancelled, is bounded by the keepalives only);
	// 0 means 30m.
	CommandTimeout time.Duration
	// Trace, when set, receives the time each round-trip-bound phase took:
	// TCP connect, key exchange, authentication, each session's opening
	// and command (carbonctl -v prints them).
	Trace Tracef
}

// Secret is a password that never prints: String and every fmt verb give
// "********".
type Secret string

// String returns "********".
func (Secret) String() string { return masked }

// GoString returns "********".
func (Secret) GoString() string { return masked }

// Format prints "********" for every verb.
func (Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, masked) }

const masked = "********"

// Defaults applied by withDefaults.
const (
	defaultPort           = 22
	defaultConnectTimeout = 10 * time.Second
	defaultMaxSessions    = 8
	defaultAliveInterval  = 10 * time.Second
	defaultAliveCountMax  = 3
	defaultCommandTimeout = 30 * time.Minute
)

// withDefaults returns cfg with zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Port == 0 {
		cfg.Port = defaultPort
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = defaultMaxSessions
	}
	if cfg.AliveInterval <= 0 {
		cfg.AliveInterval = defaultAliveInterval
	}
	if cfg.AliveCountMax <= 0 {
		cfg.AliveCountMax = defaultAliveCountMax
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = defaultCommandTimeout
	}
	return cfg
}

// Quote returns s single-quoted for POSIX sh, so that the shell reads it
// back as exactly s (one word, no expansions).
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Fingerprint returns the OpenSSH SHA256 fingerprint of key, e.g.
// "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s".
func Fingerprint(key ssh.PublicKey) string {
	return ssh.FingerprintSHA256(key)
}

// describeKey formats a key as "TYPE SHA256:..." for messages.
func describeKey(key ssh.PublicKey) string {
	return key.Type() + " " + Fingerprint(key)
}
