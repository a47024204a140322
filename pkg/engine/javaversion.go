package engine

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/archive"
	"github.com/carbonctl/carbonctl/pkg/inventory"
)

// javaVersionLine finds the version in `java -version` output, whatever the
// vendor: `openjdk version "1.8.0_392"`, `java version "17.0.9" 2023-10-17
// LTS`, after lines such as "Picked up _JAVA_OPTIONS: ...".
var javaVersionLine = regexp.MustCompile(`(?m)^(?:openjdk|java) version "([^"]+)"`)

// ParseJavaVersion returns the version `java -version` printed, e.g.
// "1.8.0_392" or "11.0.21".
func ParseJavaVersion(out string) (string, error) {
	m := javaVersionLine.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("java -version printed no version line: %q", clip(out, 300))
	}
	return m[1], nil
}

// JavaFeature is the feature release of a Java version, the way playbooks
// list them: "1.8.0_392" is "1.8", "1.7.0_80" is "1.7", "11.0.21" is "11",
// "17" is "17", "22-ea" is "22".
func JavaFeature(version string) string {
	if rest, ok := strings.CutPrefix(version, "1."); ok {
		return "1." + LeadingDigits(rest)
	}
	return LeadingDigits(version)
}

// JavaSupported reports whether version is one of the feature releases a
// playbook lists.
func JavaSupported(supported []string, version string) bool {
	return slices.Contains(supported, JavaFeature(version))
}

// clip shortens s to at most n bytes for messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// LeadingDigits is the run of decimal digits s starts with ("" if none).
func LeadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// javaHomeOf is JAVA_HOME on the nodes for [java]: its home, or where its
// archive is unpacked.
func javaHomeOf(j inventory.Java, jdk *archive.JDK) string {
	if jdk != nil {
		return jdk.Home()
	}
	return j.Home
}

// checkJava checks [java] archive against every playbook's Java versions
// without connecting anywhere: the version is its release file's. A missing
// archive was reported by the inventory already (or files are not checked).
func checkJava(groups []Group) inventory.Errors {
	inv := groups[0].Inv
	if inv.Java.Archive == "" {
		return nil
	}
	if _, err := os.Stat(inv.Java.Archive); err != nil {
		return nil
	}
	fail := func(format string, args ...any) inventory.Errors {
		return inventory.Errors{{File: inv.Path, Line: inv.LineOf("java.archive"), Key: "java.archive", Msg: fmt.Sprintf(format, args...)}}
	}
	jdk, err := archive.OpenJDK(inv.Java.Archive)
	if err != nil {
		return fail("%v", err)
	}
	for _, g := range groups {
		if v := g.PB.Java.Versions; !JavaSupported(v, jdk.Version) {
			return fail("%s holds Java %s (JAVA_VERSION in its release file), but playbook %s supports Java %s only: point archive at a JDK %s",
				path.Base(jdk.Path), jdk.Version, g.PB.Name, strings.Join(v, ", "), strings.Join(v, " or "))
		}
	}
	return nil
}
