#!/usr/bin/env bash
# Runs every test: unit tests, the patcher's proof on the real WSO2 files in
# ../shared/wso2-conf, and the end-to-end lab tests against real sshd/MariaDB
# (root only), then the no-op benchmark. Run as root on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
scripts/install-deps.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...
CARBONCTL_LAB=1 go test -p 1 -count=1 -timeout 60m ./...
CARBONCTL_LAB=1 go test -count=1 -timeout 20m -run '^$' -bench . -benchtime 5x ./e2e ./pkg/xmlpatch ./pkg/remote
