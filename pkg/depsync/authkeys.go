package depsync

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
)

// PublicKey is an OpenSSH public key: its type and base64 blob.
type PublicKey struct{ Type, Blob string }

// ParsePublicKey reads an OpenSSH public key line ("TYPE BLOB [COMMENT]"),
// as ssh-keygen writes it into a .pub file.
func ParsePublicKey(line string) (PublicKey, error) {
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "ssh-") && !strings.HasPrefix(f[0], "ecdsa-") {
		return PublicKey{}, fmt.Errorf("not an OpenSSH public key: %.40q", line)
	}
	raw, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(raw) < 4+len(f[0]) || string(raw[4:4+len(f[0])]) != f[0] {
		return PublicKey{}, fmt.Errorf("%s key with a damaged blob", f[0])
	}
	return PublicKey{Type: f[0], Blob: f[1]}, nil
}

// String formats the key as "TYPE BLOB".
func (k PublicKey) String() string { return k.Type + " " + k.Blob }

// ForcedCommand is the command sshd runs for the key: the receiver, given
// the directories it may write to.
func ForcedCommand(receiver string, dirs []string) string {
	return strings.Join(append([]string{receiver}, dirs...), " ")
}

// AuthorizedKeyLine is the authorized_keys entry of the deployment-sync
// key: usable only from the source node's address, only to run command
// (the rsync-only receiver), without a terminal, forwarding of any kind or
// ~/.ssh/rc.
func AuthorizedKeyLine(from, command string, key PublicKey, comment string) (string, error) {
	if _, err := netip.ParseAddr(from); err != nil {
		return "", fmt.Errorf("from address %q is not an IP address", from)
	}
	if strings.ContainsAny(command, "\"\\\n") {
		return "", fmt.Errorf("forced command %q cannot be written in authorized_keys", command)
	}
	opts := []string{
		fmt.Sprintf("from=%q", from),
		fmt.Sprintf("command=%q", command),
		"no-pty", "no-agent-forwarding", "no-port-forwarding", "no-X11-forwarding", "no-user-rc",
	}
	line := strings.Join(opts, ",") + " " + key.String()
	if comment != "" {
		line += " " + comment
	}
	return line, nil
}

// AuthorizedKeys returns authorized_keys content with the cluster's block
// holding line (none when line is ""). Every other line stays, except copies
// of the same key outside the block: without the block's restrictions they
// would let the key open a shell, so they are removed and counted.
func AuthorizedKeys(current, cluster, line string, key PublicKey) (string, int, error) {
	var lines []string
	if line != "" {
		lines = []string{line}
	}
	sameKey := func(l string) bool {
		for _, f := range strings.Fields(l) {
			if f == key.Blob {
				return true
			}
		}
		return false
	}
	return ClusterBlock(cluster).Set(current, lines, sameKey)
}
