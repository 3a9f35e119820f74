# test_deb.sh -- the Debian packages as an operator meets them: install, the famledger user and
# its directories, the daemon started under the package's paths and config (as far as a machine
# without a running systemd allows: by hand, as the unit would), ledgerctl from PATH, the man
# pages, the hardened unit's rating, then remove and purge. Needs root; run by `make
# check-package` after `make deb` (CI does both). Changes the machine: it installs packages.
set -u
cd "$(dirname "$0")/../.."
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
ok() { local name=$1; shift; if "$@" >/tmp/famledger-deb.out 2>&1; then pass; else fail "$name"; cat /tmp/famledger-deb.out; fi; }

[ "$(id -u)" -eq 0 ] || { echo "test_deb.sh: needs root (dpkg -i)"; exit 1; }
debs=$(ls build/deb/famledgerd_*.deb build/deb/ledgerctl_*.deb build/deb/libfamledger0_*.deb \
          build/deb/libfamledger-dev_*.deb 2>/dev/null)
[ "$(echo "$debs" | wc -w)" -eq 4 ] || { echo "test_deb.sh: run make deb first"; exit 1; }

# A clean start: a ledger left by an earlier run would be kept by purge, by design.
dpkg --purge famledgerd ledgerctl libfamledger-dev libfamledger0 >/dev/null 2>&1
rm -rf /var/lib/famledger

# shellcheck disable=SC2086
ok "the packages install" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./build/deb/famledgerd_*.deb ./build/deb/ledgerctl_*.deb ./build/deb/libfamledger0_*.deb ./build/deb/libfamledger-dev_*.deb
ok "the famledger user exists" getent passwd famledger
ok "its state directory is its own" test "$(stat -c %U:%a /var/lib/famledger/ledger)" = famledger:750
ok "the reports directory exists" test -d /var/lib/famledger/reports
ok "the settings are a conffile" grep -qx /etc/famledger/famledgerd.conf /var/lib/dpkg/info/famledgerd.conffiles
ok "the packaged settings are valid" runuser -u famledger -- famledgerd --config /etc/famledger/famledgerd.conf --check-config
ok "famledgerd(8) is installed" test -s /usr/share/man/man8/famledgerd.8.gz
ok "ledgerctl(1) is installed" test -s /usr/share/man/man1/ledgerctl.1.gz
ok "the unit is enabled" test -L /etc/systemd/system/multi-user.target.wants/famledgerd.service
ok "the timer is enabled" test -L /etc/systemd/system/timers.target.wants/famledger-nightly.timer
# systemd's own check of the installed units (the Documentation= lines need man, left aside).
verify=$(systemd-analyze verify /lib/systemd/system/famledgerd.service \
         /lib/systemd/system/famledger-nightly.service /lib/systemd/system/famledger-nightly.timer 2>&1 |
         grep -v "Command 'man ")
ok "systemd-analyze verify finds nothing: $verify" test -z "$verify"
rating=$(systemd-analyze security --offline=yes /lib/systemd/system/famledgerd.service 2>/dev/null |
         sed -n 's/.*Overall exposure level for famledgerd.service: \([0-9.]*\).*/\1/p')
ok "the installed unit rates 2.0 or lower (got '$rating')" awk -v r="$rating" 'BEGIN { exit !(r != "" && r <= 2.0) }'

# The daemon under the package's paths, as the unit starts it.
mkdir -p /run/famledger && chown famledger:famledger /run/famledger
ulimit -n 8192 # LimitNOFILE=
setpriv --reuid famledger --regid famledger --init-groups -- /usr/sbin/famledgerd \
    --config /etc/famledger/famledgerd.conf 2>/tmp/famledger-deb.log &
pid=$!
for _ in $(seq 1 300); do ledgerctl head >/dev/null 2>&1 && break; sleep 0.02; done
ok "ledgerctl head reaches the packaged socket" ledgerctl head
ok "root administers (admin_uids = 0, famledger)" ledgerctl merchant add P001 --name Pharmacy --kind pharmacy --region 110101
ok "the famledger user does too (the nightly job)" runuser -u famledger -- ledgerctl verify
ok "the ledger is in its own directory" test -s /var/lib/famledger/ledger/data.mdb
ok "stats through the socket" sh -c 'ledgerctl stats | grep -q "famledger_entries_total{type=\"merchant_added\"} 1"'
ok "the nightly job runs" runuser -u famledger -- env FAMLEDGER_SOCKET=/run/famledger/famledgerd.sock FAMLEDGER_REPORT_DIR=/var/lib/famledger/reports /usr/libexec/famledger/famledger-nightly
kill -TERM "$pid"
wait "$pid" || fail "famledgerd did not stop cleanly: $(cat /tmp/famledger-deb.log)"

# A program built against the -dev package.
cat > /tmp/famledger-deb.c <<'PROGRAM'
#include <famledger.h>
#include <stdio.h>
int main(void)
{
    char text[FL_MONEY_TEXT_MAX];
    puts(fl_money_format(8650, text));
    return 0;
}
PROGRAM
ok "a program builds with pkg-config famledger" sh -c 'cc /tmp/famledger-deb.c $(pkg-config --cflags --libs famledger) -o /tmp/famledger-deb && /tmp/famledger-deb | grep -qx 86.50'

ok "remove" dpkg --remove famledgerd ledgerctl libfamledger-dev libfamledger0
ok "the daemon is gone" test ! -e /usr/sbin/famledgerd
ok "the settings stay until purge" test -e /etc/famledger/famledgerd.conf
ok "purge" dpkg --purge famledgerd ledgerctl libfamledger-dev libfamledger0
ok "purge removes the settings" test ! -e /etc/famledger/famledgerd.conf
ok "purge removes the unit's enablement" test ! -e /etc/systemd/system/multi-user.target.wants/famledgerd.service
ok "purge keeps the ledger" test -s /var/lib/famledger/ledger/data.mdb
ok "nothing of the packages is left" sh -c '! dpkg -l famledgerd ledgerctl libfamledger0 libfamledger-dev 2>/dev/null | grep -q "^[ir]i"'
rm -rf /var/lib/famledger /tmp/famledger-deb /tmp/famledger-deb.c /tmp/famledger-deb.out /tmp/famledger-deb.log

echo "checks: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
