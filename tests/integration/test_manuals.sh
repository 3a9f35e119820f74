# test_manuals.sh -- the man pages are clean mdoc (mandoc -Tlint) and name what they must: every
# setting the daemon knows in famledgerd.conf(5), every ledgerctl command in ledgerctl(1), every
# status in famledger(3), every exit code famledgerd uses in famledgerd(8).
. "$(dirname "$0")/lib.sh"
MAN=docs/man
check "mandoc -Tlint is clean" 0 mandoc -Tlint -Wwarning "$MAN/famledgerd.8" "$MAN/famledgerd.conf.5" "$MAN/ledgerctl.1" "$MAN/famledger.3"
[ -z "$OUT" ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL lint: $OUT"; }

for setting in $("$BUILD/famledgerd" --check-config | sed -n 's/^\([a-z_]*\) = .*/\1/p'); do
    grep -q "^\.It Cm $setting No" "$MAN/famledgerd.conf.5" && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL famledgerd.conf(5) does not describe $setting"; }
done
"$BUILD/ledgerctl" --help | sed -n 's/^  \([a-z-]*\)\( [a-z][a-z-]*\)\{0,1\}\( \|$\).*/\1\2/p' > "$WORK/commands"
[ "$(wc -l < "$WORK/commands")" -gt 40 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL could not read the commands"; }
while read -r group verb; do
    grep -q "^\.It Ic $group${verb:+ $verb}\( \|$\)" "$MAN/ledgerctl.1" && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL ledgerctl(1) does not describe '$group $verb'"; }
done < "$WORK/commands"
for status in $(sed -n 's/^ *XX(\([A-Z_]*\),.*/\1/p' proto/famledger_status.h); do
    grep -q "^\.It Dv FL_ERR_$status " "$MAN/famledger.3" && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL famledger(3) does not name $status"; }
done
for code in 0 1 2 74; do
    grep -q "^\.It $code$" "$MAN/famledgerd.8" && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL famledgerd(8) does not name exit $code"; }
done
for flag in config check-config init accept-head help version; do
    grep -q "^\.It Fl -$flag" "$MAN/famledgerd.8" && CHECKS_PASSED=$((CHECKS_PASSED + 1)) || { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL famledgerd(8) does not describe --$flag"; }
done
finish
