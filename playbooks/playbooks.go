// Package playbooks embeds the built-in product playbooks (TOML data read by
// package playbook) into the carbonctl binary.
package playbooks

import "embed"

// FS holds every built-in playbook as NAME.toml.
//
//go:embed *.toml
var FS embed.FS
