# test_forged.sh -- a log rewritten by someone who knows the format: every entry of a ledger
# that holds every kind that moves money, in turn, made to lack a part of its body or to carry
# an extreme amount, and the hash chain after it rewritten so that it still links. verify must
# name the entry (exit 4), and never crash or wrap; the daemon's readers that follow an
# entry's parts (statements, a merchant's day, mutual aid) must refuse it and keep serving.
. "$(dirname "$0")/lib.sh"
daemon_start
family_ledger
check "a wallet send" 0 ctl wallet send MOM KID 1.00 --ref w1
check "accepted" 0 ctl wallet accept --ref w1
check "a held quote" 0 ctl --json quote --merchant P1 --ref h1 --patient KID --amount 3.00 \
    --hold 600
hold=$(echo "$OUT" | sed 's/.*"hold_id":\([0-9]*\).*/\1/')
check "captured" 0 ctl settle --merchant P1 --ref h1s --patient KID --amount 3.00 --hold "$hold"
check "another held" 0 ctl quote --merchant P1 --ref h2 --patient KID --amount 1.00 --hold 600
check "reverse s1" 0 ctl reverse --merchant P1 --ref s1
check "a payout" 0 ctl payout --merchant P1 1 --ref pay-1
check "freeze" 0 ctl account freeze DAD --reason audit
check "unfreeze" 0 ctl account unfreeze DAD
check "suspend the merchant" 0 ctl merchant suspend P1
check "DAD opts out" 0 ctl withdraw DAD --reason opt-out --ref w-dad
check "the ledger verifies" 0 ctl verify
check "its head" 0 ctl --json head
last=$(echo "$OUT" | sed 's/.*"seq":\([0-9]*\).*/\1/')
daemon_stop
cp -r "$WORK/data" "$WORK/pristine"

# Every forgery the helper can make of every entry (it refuses those that do not apply: a
# registration has no amount, nor parts, nor postings).
forged=0
for seq in $(seq 1 "$last"); do
    for forgery in "strip $seq" "amount $seq -9223372036854775808" \
                   "amount $seq 9223372036854775807" "posting $seq -9223372036854775808" \
                   "posting $seq 9223372036854775807"; do
        rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
        # shellcheck disable=SC2086 # the forgery is words
        "$BUILD/tests/famledger-corrupt" "$WORK/data" $forgery 2>/dev/null || continue
        forged=$((forged + 1))
        daemon_start
        check "verify names the forged entry ($forgery)" 4 ctl verify
        expect "at its seq ($forgery)" "FAILED at seq $seq:" "$OUT$ERR"
        daemon_stop
    done
done
# Each kind of entry the ledger above holds was forged in some way.
echo "forgeries made: $forged"
[ "$forged" -ge 40 ] && CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
    { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "FAIL only $forged forgeries were made"; }

# What verify says of a part missing, an amount no daemon writes and a sum past int64.
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
forge() { "$BUILD/tests/famledger-corrupt" "$WORK/data" "$@"; }
check "the settlement without its request" 0 forge strip "$id"
daemon_start
check "verify" 4 ctl verify
expect "a part missing" "entry $id lacks a part that every entry of its kind has" "$OUT$ERR"

# The daemon's readers that follow the parts of that entry refuse it, and go on serving.
check "MOM's statement reaches the settlement" 1 ctl statement MOM
expect "refused as damage" "INTERNAL" "$ERR"
check "so does a retry of s1, which answers from the entry" 1 \
    ctl settle --merchant P1 --ref s1 --patient KID --amount 12
expect "refused as damage" "INTERNAL" "$ERR"
check "the daemon still answers" 0 ctl head
check "and credits" 0 ctl credit MOM 1 --ref c-after
daemon_stop

rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "a leg of the most negative amount" 0 forge amount "$id" -9223372036854775808
daemon_start
check "verify" 4 ctl verify
expect "a negative amount" \
    "entry $id lacks a part that every entry of its kind has, or carries a negative amount" "$OUT$ERR"
check "MOM's statement" 1 ctl statement MOM
expect "refused as damage" "INTERNAL" "$ERR"
daemon_stop

rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "a posting of the largest amount" 0 forge posting 6 9223372036854775807
daemon_start
check "verify" 4 ctl verify
expect "the sum past int64" "entry 6 does not balance: its postings sum past int64" "$OUT$ERR"
finish
