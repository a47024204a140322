// Package playbooks embeds the built-in product playbooks (TOML data read by
// package playbook) into the carbonctl binary.
package playbooks

import "embed"

// FS holds every built-in playbook as NAME.toml and the fragments they
// use as fragments/NAME.toml (see docs/playbooks-authoring.md).
//
//go:embed *.toml fragments/*.toml
var FS embed.FS
