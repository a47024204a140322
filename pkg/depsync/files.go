package depsync

import (
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// Target is a node the sync pushes to.
type Target struct {
	Name string // node name
	Addr string // IP address
	Port int    // sshd port
	Home string // CARBON_HOME
}

// NodesFile lists the targets for the sync script, one "NAME ADDR PORT HOME" a line.
func NodesFile(cluster string, targets []Target) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Nodes the deployment sync of cluster %s pushes to. Written by carbonctl: re-run `carbonctl up` to change it.\n", cluster)
	b.WriteString("# name address ssh-port carbon-home\n")
	for _, t := range targets {
		fmt.Fprintf(&b, "%s %s %d %s\n", t.Name, t.Addr, t.Port, t.Home)
	}
	return b.String()
}

// HostKey is a receiving host's public host key, pinned for the sync.
type HostKey struct {
	Addr string
	Port int
	Key  PublicKey
}

// HostPattern is how OpenSSH names addr:port in known_hosts: the bare
// address on port 22, else "[addr]:port".
func HostPattern(addr string, port int) string {
	if port == 22 || port == 0 {
		return addr
	}
	return "[" + addr + "]:" + strconv.Itoa(port)
}

// KnownHosts is the sync's own known_hosts: the receiving hosts' keys,
// which carbonctl read from each host over its verified connection.
func KnownHosts(cluster string, keys []HostKey) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Host keys of the nodes the deployment sync of cluster %s pushes to, pinned by carbonctl.\n", cluster)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s\n", HostPattern(k.Addr, k.Port), k.Key)
	}
	return b.String()
}

// ScriptConfig describes the sync script of one cluster.
type ScriptConfig struct {
	Cluster     string
	Source      string   // the source node's CARBON_HOME
	User        string   // the product user, who runs the script and logs in on the targets
	Directories []string // relative to CARBON_HOME, without trailing slash
	MaxLog      int64    // log size that triggers rotation; 0 = MaxLog
	Timeout     int      // rsync --timeout in seconds; 0 = 120
}

// Check reports values the script cannot carry safely.
func (c ScriptConfig) Check() error {
	if !SafePath(c.Source) || !path.IsAbs(c.Source) {
		return fmt.Errorf("source CARBON_HOME %q is not an absolute path of plain characters", c.Source)
	}
	if !SafePath(c.User) {
		return fmt.Errorf("user %q is not a plain name", c.User)
	}
	for _, d := range c.Directories {
		if !SafePath(d) {
			return fmt.Errorf("directory %q has characters a script cannot carry unquoted", d)
		}
	}
	return nil
}

// SyncScript renders the script that cron runs on the source node.
func SyncScript(c ScriptConfig) string {
	if c.MaxLog <= 0 {
		c.MaxLog = MaxLog
	}
	if c.Timeout <= 0 {
		c.Timeout = 120
	}
	dir := path.Join(c.Source, Dir)
	head := fmt.Sprintf(syncHead, c.Cluster, quote(dir), quote(c.Source), quote(c.User),
		quote(strings.Join(c.Directories, " ")), c.MaxLog, c.Timeout)
	return head + syncBody
}

// syncHead is the script's header and settings; syncBody its logic.
const syncHead = `#!/bin/sh
# Deployment synchronisation of cluster %s, written by carbonctl: re-run
# carbonctl up to change it (edits here are overwritten).
#
# Pushes this node's deployment directories to every node listed in
# $dir/nodes with rsync -rlt --delete (no owners, groups, modes or devices:
# the receivers refuse them), over SSH with the dedicated key
# $dir/id_ed25519 and the host keys pinned in $dir/known_hosts. An flock
# on $dir/sync.lock keeps runs from overlapping: cron's run is skipped
# while one is going; --wait (carbonctl sync) waits for it instead.
# Every run appends to $dir/sync.log, kept below 2 x max_log bytes.
set -u
set -f
PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin
LC_ALL=C
export PATH LC_ALL
umask 022

dir=%s
src=%s
user=%s
dirs=%s
max_log=%d
timeout=%d
`

const syncBody = `log=$dir/sync.log

say() {
	printf '%s\n' "$*"
	printf '%s %s\n' "$(date '+%Y-%m-%dT%H:%M:%S%z')" "$*" >>"$log"
}

rotate() {
	[ -f "$log" ] || return 0
	size=$(wc -c <"$log") || return 0
	[ "$size" -le "$max_log" ] || mv -f "$log" "$log.1"
}

# push NAME ADDR PORT HOME DIR: rsync one directory to one node.
push() {
	host=$2
	case $2 in *:*) host="[$2]" ;; esac
	ssh_cmd="ssh -F /dev/null -i $dir/id_ed25519 -p $3 -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$dir/known_hosts -o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no -o ConnectTimeout=15"
	out=$(rsync -rlt --delete --itemize-changes --timeout="$timeout" -e "$ssh_cmd" \
		"$src/$5/" "$user@$host:$4/$5/" </dev/null 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		say "$1 $5: FAILED (rsync exit $rc): $(printf '%s\n' "$out" | tail -n 3 | tr '\n' ' ')"
		return 1
	fi
	sent=$(printf '%s\n' "$out" | grep -c '^[<>]f')
	deleted=$(printf '%s\n' "$out" | grep -c '^\*deleting')
	say "$1 $5: ok, $sent sent, $deleted deleted"
	printf '%s\n' "$out" | grep -E '^([<>]f|\*deleting|cd)' | while IFS= read -r item; do say "  $1: $item"; done
	return 0
}

exec 9>>"$dir/sync.lock" || exit 1
if [ "${1-}" = --wait ]; then
	flock -w 300 9 || { say "another sync still runs after 300s: giving up"; exit 1; }
elif ! flock -n 9; then
	exit 0
fi
rotate

status=0 count=0
while read -r name addr port home rest; do
	case $name in '' | '#'*) continue ;; esac
	count=$((count + 1))
	for d in $dirs; do
		[ -d "$src/$d" ] || continue
		push "$name" "$addr" "$port" "$home" "$d" || status=1
	done
done <"$dir/nodes"
if [ "$status" -eq 0 ]; then
	say "sync done: $count node(s)"
else
	say "sync FAILED for some node(s): see above"
fi
exit "$status"
`

// ReceiverScript is the forced command of the deployment-sync key: it runs
// the receiving side of rsync, with --munge-links and never as root, into
// one of the directories given as its arguments and refuses everything
// else: a shell, scp, sftp, rsync --sender (reading), options that follow
// links, take paths or keep owners, groups, modes, devices, ACLs or extended
// attributes (-o -g -p -D -A -X), and every other directory.
func ReceiverScript() string { return receiver }

const receiver = `#!/bin/sh
# carbonctl deployment-sync receiver, the forced command of the deployment
# sync key in the product user's authorized_keys (written by carbonctl).
# Runs "rsync --server --munge-links" receiving into one of the directories
# given as arguments, never as root; refuses anything else: a shell, scp,
# sftp, rsync --sender, options that follow links, name other paths or keep
# owners, groups, modes or devices, other directories.
set -f
PATH=/usr/local/bin:/usr/bin:/bin
export PATH

refuse() {
	echo "carbonctl depsync receiver: refused: $*" >&2
	exit 126
}

# flags WORD: a cluster of short rsync options, e.g. -ltre.iLsfxCIvu
# (the part after "e" is the client's protocol compatibility string). No
# -o -g -p -D -A -X: nothing may set owners, groups, modes, devices, ACLs
# or extended attributes here.
flags() {
	f=${1#-}
	case ${f%%e*} in *[!ltrvczixHSWIOJ]*) refuse "option $1" ;; esac
	case $f in *e*) case ${f#*e} in *[!A-Za-z.]*) refuse "option $1" ;; esac ;; esac
}

[ "$(id -u)" != 0 ] || refuse "runs as root: the deployment-sync key belongs in the product user's authorized_keys only"
allowed=' '
for a; do allowed="$allowed${a%/} "; done
cmd=${SSH_ORIGINAL_COMMAND-}
case $cmd in
'') refuse 'this key only receives rsync uploads into the deployment directories; it cannot open a shell' ;;
*[!A-Za-z0-9._+@/%=:\ -]*) refuse 'unexpected characters in the command' ;;
esac
IFS=' '
set -- $cmd
[ "$#" -ge 4 ] && [ "$1" = rsync ] && [ "$2" = --server ] || refuse "not an rsync upload: $cmd"
dot= dest= i=0
for w; do
	i=$((i + 1))
	[ "$i" -gt 2 ] || continue
	[ -z "$dest" ] || refuse "more than one destination"
	if [ -n "$dot" ]; then
		dest=$w
		continue
	fi
	case $w in
	.) dot=1 ;;
	--delete | --log-format=%i | --timeout=[0-9]* | --numeric-ids) ;;
	--*) refuse "option $w" ;;
	-?*) flags "$w" ;;
	*) refuse "argument $w" ;;
	esac
done
[ -n "$dest" ] || refuse "no destination"
case $allowed in *" ${dest%/} "*) ;; *) refuse "destination $dest is not a deployment directory" ;; esac
# Received symbolic links are munged (stored with a /rsyncd-munged/ prefix),
# so none of them works on this node.
shift 2
exec rsync --server --munge-links "$@"
`

// validIP reports whether s is an IP address.
func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// CheckTargets reports targets the nodes file cannot carry.
func CheckTargets(targets []Target) error {
	for _, t := range targets {
		if !validIP(t.Addr) || !SafePath(t.Home) || !SafePath(t.Name) || t.Port < 1 || t.Port > 65535 {
			return fmt.Errorf("node %s (%s:%d, %s) cannot be written to the nodes list", t.Name, t.Addr, t.Port, t.Home)
		}
	}
	return nil
}
