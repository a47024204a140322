package inventory

import "strings"

// Java is the [java] table: the JDK the nodes run the product with. Exactly
// one of Archive and Home is set.
type Java struct {
	// Archive (key archive) is the absolute path of a JDK .tar.gz on the
	// control machine: carbonctl unpacks it once per host below
	// JDKInstallDir, owned by root.
	Archive string
	// Home (key home) is a JDK already installed on every node, e.g.
	// /usr/lib/jvm/java-8-openjdk-amd64: absolute and clean.
	Home string
}

// JDKInstallDir is where [java] archive JDKs are unpacked on the nodes: one
// directory per archive, named after the archive's top-level directory.
const JDKInstallDir = "/opt/carbonctl/jdk"

// javaExample is how the messages about [java] show the two forms.
const javaExample = `archive = "dist/jdk8u392-linux-x64.tar.gz" (a JDK carbonctl installs on every node) or home = "/usr/lib/jvm/java-8-openjdk-amd64" (one already there)`

// java decodes [java], which is required: Carbon's start scripts refuse to
// run without JAVA_HOME.
func (d *decoder) java(t *table) Java {
	if !t.exists {
		if !t.broken {
			t.d.add(0, "java", "missing: the products' start script refuses to start without JAVA_HOME: add a [java] table with %s", javaExample)
		}
		return Java{}
	}
	j := Java{Archive: t.str("archive", ""), Home: t.str("home", "")}
	switch {
	case j.Archive != "" && j.Home != "":
		t.errorf("home", "is set together with archive: write either archive (carbonctl installs that JDK) or home (a JDK already on the nodes), not both")
	case j.Archive != "":
		j.Archive = d.localFile(t, "archive", j.Archive, "JDK archive")
		if !strings.HasSuffix(j.Archive, ".tar.gz") && !strings.HasSuffix(j.Archive, ".tgz") {
			t.errorf("archive", "%s is not a .tar.gz file: point archive at a JDK tarball such as jdk8u392-linux-x64.tar.gz", j.Archive)
		}
	case j.Home != "":
		j.Home = t.remoteDir("home", j.Home, "JAVA_HOME", "the JDK's directory, e.g. /usr/lib/jvm/java-8-openjdk-amd64")
	default:
		t.errorf("archive", "[java] names no JDK: set %s", javaExample)
	}
	t.finish()
	return j
}
