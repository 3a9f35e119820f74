# test_emptied.sh -- every derived table, in turn, with each record's value made empty: bytes
# that decode, as a record with every field absent (a person without a number or region, a
# merchant without a kind, a hold without its quote). verify names the table; the daemon keeps
# serving, refuses what it cannot do from such a record, and writes no entry built from one.
# (timers and merchant_days keep their meaning in their keys: their values are empty anyway.)
. "$(dirname "$0")/lib.sh"
daemon_start_any_hour
family_ledger
check "a wallet send, waiting" 0 ctl wallet send MOM KID 1.00 --ref w1
check "a held quote" 0 ctl --json quote --merchant P1 --ref h1 --patient KID --amount 3.00 \
    --hold 600
hold=$(echo "$OUT" | sed 's/.*"hold_id":\([0-9]*\).*/\1/')
check "the ledger verifies" 0 ctl verify
today=$(head_day)
daemon_stop
cp -r "$WORK/data" "$WORK/pristine"

for table in persons accounts account_links references funders funded merchants settlements \
             balances wallets wallet_sends holds aid_limits merchant_links day_totals; do
    rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
    check "empty every $table record" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" empty "$table"
    daemon_start_any_hour
    check "verify finds the emptied $table" 4 ctl verify
    case $table in
        persons) named="stored person" ;;
        funders) named="stored funding order" ;;
        *) named=$table ;;
    esac
    expect "$table named" "$named" "$OUT$ERR"
    # Reads and writes that go through the damaged records: each may succeed or be refused,
    # but none may take the daemon down.
    for command in "person show KID" "account show MOM" "statement MOM" "family list KID" \
                   "settlements --patient KID" "aid KID" "settlement show --merchant P1 --ref s1" \
                   "settlements --merchant P1 --from $today --to $today" \
                   "merchant balance P1" "trial-balance" "wallet show KID" "export --date $today" \
                   "settle --merchant P1 --ref s1 --patient KID --amount 12" \
                   "settle --merchant P1 --ref s2 --patient KID --amount 2" \
                   "refund --merchant P1 --ref r2 --settlement $id --amount 1" \
                   "wallet accept --ref w1" "hold release $hold" "credit MOM 1 --ref c2" \
                   "family limit MOM KID --monthly 80.00" "payout --merchant P1 1 --ref pay-1" \
                   "withdraw DAD --reason opt-out --ref wd"; do
        # shellcheck disable=SC2086 # the command is words
        ctl $command >/dev/null 2>&1
        status=$?
        [ "$status" -le 2 ] && kill -0 "$DAEMON_PID" 2>/dev/null &&
            CHECKS_PASSED=$((CHECKS_PASSED + 1)) ||
            { CHECKS_FAILED=$((CHECKS_FAILED + 1));
              echo "FAIL $table emptied: ledgerctl $command exit $status, or the daemon died"; }
    done
    # Whatever it wrote meanwhile is whole and balances: verify stops at the table, or finds
    # nothing when the writes replaced every emptied record (a limit set again).
    OUT=$(ctl verify 2>&1)
    status=$?
    case "$status:$OUT" in
        [!04]:* | *"posts to an unknown account"* | *"lacks a part"* | *"does not balance"*)
            CHECKS_FAILED=$((CHECKS_FAILED + 1))
            echo "FAIL an entry was built from an emptied $table record: $OUT$ERR" ;;
        *) CHECKS_PASSED=$((CHECKS_PASSED + 1)) ;;
    esac
    daemon_stop
done

# A stored settlement whose first leg is made another holder's: a refund would pay them back
# what they never paid. verify names the settlement before and after such a refund.
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
corrupt() { "$BUILD/tests/famledger-corrupt" "$WORK/data" "$@"; }
check "s1's first leg made DAD's on disk" 0 corrupt leg "$id" DAD
daemon_start_any_hour
check "verify finds the settlement" 4 ctl verify
expect "s1 named" "settlement $id: the stored parties, amounts or legs differ" "$OUT$ERR"
check "a refund follows the stored legs" 0 \
    ctl refund --merchant P1 --ref r9 --settlement "$id" --amount 1
check "verify still names it" 4 ctl verify
expect "s1 named again" "settlement $id: the stored parties, amounts or legs differ" "$OUT$ERR"
daemon_stop

# A settlement paid by MOM and DAD, partly refunded (to DAD, whose leg came last): 1 fen of
# what its stored legs count as given back is moved to MOM's. The sums agree, but the next
# refund would give DAD what MOM should get back. verify names it.
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
daemon_start_any_hour
check "a settlement both pay for" 0 \
    ctl --json settle --merchant P1 --ref s3 --patient KID --amount 85
both=$(echo "$OUT" | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
expect "MOM's leg and DAD's" '"holder":"DAD"' "$OUT"
check "a refund back to DAD" 0 ctl refund --merchant P1 --ref r3 --settlement "$both" --amount 1
check "verify before" 0 ctl verify
daemon_stop
check "what the legs got back, shifted" 0 corrupt shift "$both"
daemon_start_any_hour
check "verify finds the shift" 4 ctl verify
expect "named" "settlement $both: what its stored legs count as given back (100 fen) is not" "$OUT$ERR"
daemon_stop

# A resident's stored record made to say employee: verify names the person, and an account
# the daemon then opens for them is named at its entry.
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "KID made an employee on disk" 0 corrupt scheme KID
daemon_start_any_hour
check "verify finds the scheme" 4 ctl verify
expect "KID named" "person KID: stored scheme" "$OUT$ERR"
check "the daemon believes it" 0 ctl account open KID
check "verify names the account" 4 ctl verify
expect "at its entry" "account opened for KID, who is insured under the resident scheme" \
    "$OUT$ERR"
daemon_stop
finish
