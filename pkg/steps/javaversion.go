package steps

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// javaVersionLine finds the version in `java -version` output, whatever the
// vendor: `openjdk version "1.8.0_392"`, `java version "17.0.9" 2023-10-17
// LTS`, after lines such as "Picked up _JAVA_OPTIONS: ...".
var javaVersionLine = regexp.MustCompile(`(?m)^(?:openjdk|java) version "([^"]+)"`)

// parseJavaVersion returns the version `java -version` printed, e.g.
// "1.8.0_392" or "11.0.21".
func parseJavaVersion(out string) (string, error) {
	m := javaVersionLine.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("java -version printed no version line: %q", clip(out, 300))
	}
	return m[1], nil
}

// javaFeature is the feature release of a Java version, the way playbooks
// list them: "1.8.0_392" is "1.8", "1.7.0_80" is "1.7", "11.0.21" is "11",
// "17" is "17", "22-ea" is "22".
func javaFeature(version string) string {
	if rest, ok := strings.CutPrefix(version, "1."); ok {
		return "1." + leadingDigits(rest)
	}
	return leadingDigits(version)
}

// javaSupported reports whether version is one of the feature releases a
// playbook lists.
func javaSupported(supported []string, version string) bool {
	return slices.Contains(supported, javaFeature(version))
}

// clip shortens s to at most n bytes for messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
