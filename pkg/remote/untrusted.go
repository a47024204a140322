package remote

import (
	"fmt"
	"slices"
	"strings"
)

// Untrusted paths. GatherRequest.Untrusted names, per user, directories
// that user controls (CARBON_HOME, its home): whatever is below them may be
// a symbolic link that user made, to anything. The login user (root too)
// reads them in the batch read, but a path that it cannot read, or that
// goes through a symbolic link below such a directory (checked with shell
// built-ins just before the read: no fork, no cost on a no-op), is read
// again as their user (sudo -n -u, a second round trip made only then),
// never as root and never through the link with the login user's rights.

// untrustedOwner returns the user one of whose untrusted directories holds
// p, or "".
func untrustedOwner(untrusted map[string][]string, p string) string {
	for user, dirs := range untrusted {
		for _, d := range dirs {
			if strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
				return user
			}
		}
	}
	return ""
}

// untrustedScript defines the shell function untrusted PATH, true when
// PATH lies below one of dirs and a component below that directory is a
// symbolic link (tests are shell built-ins: no fork).
func untrustedScript(dirs []string) string {
	if len(dirs) == 0 {
		return "untrusted() { return 1; }\n"
	}
	quoted := make([]string, len(dirs))
	for i, d := range dirs {
		quoted[i] = Quote(strings.TrimSuffix(d, "/"))
	}
	return fmt.Sprintf(`untrusted() {
for r in %s; do
case $1 in "$r"/*)
  q=$1; while [ "$q" != "$r" ]; do [ -L "$q" ] && return 0; q=${q%%/*}; done;;
esac
done
return 1
}
`, strings.Join(quoted, " "))
}

// untrustedDirs lists every directory of untrusted, sorted.
func untrustedDirs(untrusted map[string][]string) []string {
	var dirs []string
	for _, d := range untrusted {
		dirs = append(dirs, d...)
	}
	return sortedUnique(dirs)
}

// rereadUsers groups the paths the login user could not read by the user
// to read them again as: an untrusted path's user, else root.
func rereadUsers(untrusted map[string][]string, denied []string, contents []string) map[string]GatherRequest {
	again := map[string]GatherRequest{}
	for _, p := range denied {
		u := untrustedOwner(untrusted, p)
		if u == "" {
			u = "root"
		}
		r := again[u]
		if slices.Contains(contents, p) {
			r.Contents = append(r.Contents, p)
		} else {
			r.Stats = append(r.Stats, p)
		}
		again[u] = r
	}
	return again
}

// asOwnerScript runs script, as root, as user when that user exists (setpriv:
// no PAM session), else as root: before the product user is created,
// nobody untrusted owns anything below its directories (a first run, whose
// 0600 files' nested read was refused for an unknown user).
func asOwnerScript(user, script string) string {
	return fmt.Sprintf(`cd / || exit
if id -u %s >/dev/null 2>&1; then exec setpriv --reuid=%s --regid="$(id -g -- %s)" --init-groups -- sh -c %s; fi
exec sh -c %s
`, Quote(user), Quote(user), Quote(user), Quote(script), Quote(script))
}
