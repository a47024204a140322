#!/usr/bin/env bash
# Builds carbonctl and the simulated product, starts the local lab (db + 3
# nodes + lb as network namespaces with real sshd and MariaDB) and converges
# the 3-node ESB worker/manager cluster on it — then runs `up` again to show
# that a converged cluster changes nothing. Run as root on Debian.
# Tear down with: fixtures/lab/lab.sh down
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
scripts/install-deps.sh
go build -o bin/carbonctl ./cmd/carbonctl
go run ./fixtures/mkdist -out dist
if [ -s /tmp/carbonctl-lab/hosts ]; then fixtures/lab/lab.sh down; fi
fixtures/lab/lab.sh up
eval "$(fixtures/lab/lab.sh env)"
bin/carbonctl up fixtures/inventories/esb-lab.toml
echo
echo "=== second run: nothing to change ==="
bin/carbonctl up fixtures/inventories/esb-lab.toml
echo
echo "=== service traffic through the load balancer (nginx on lb, round robin over the workers) ==="
for i in 1 2 3 4; do curl -s --resolve esb.wso2.com:80:198.18.0.11 http://esb.wso2.com/; done
curl -s --resolve mgt.esb.wso2.com:443:198.18.0.11 --cacert <(fixtures/lab/lab.sh exec lb cat /etc/nginx/ssl/esb.wso2.com.crt) \
  https://mgt.esb.wso2.com/carbon/ | head -c 200; echo
echo
echo "The lab is still up: fixtures/lab/lab.sh exec n1 tail /opt/wso2esb-4.9.0/repository/logs/wso2carbon.log"
echo "Tear it down with: fixtures/lab/lab.sh down"
