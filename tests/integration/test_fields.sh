# test_fields.sh -- one field of a stored record changed on disk, each in turn (a person, an
# account, a binding, a merchant, a settlement's refunds, a hold, an aid limit, a balance, a
# wallet): verify names it, both when the daemon digests the stored tables and when verify
# reads every record itself (--walk). Every field that the log decides is there, whether or
# not it moves money: a name, a reason, a binding's relation and evidence.
. "$(dirname "$0")/lib.sh"
daemon_start_any_hour
family_ledger_two_phase
check "DAD suspended" 0 ctl person suspend DAD --reason "impersonation at P1"
check "MOM's account frozen" 0 ctl account freeze MOM --reason "court order"
check "the ledger verifies" 0 ctl verify
check "and walked" 0 ctl verify --walk
daemon_stop
cp -r "$WORK/data" "$WORK/pristine"

# table|key|path|value (empty: none)|what verify says
while IFS='|' read -r table key path value named; do
    [ -n "$table" ] || continue
    key=$(echo "$key" | sed "s/SETTLEMENT/$id/; s/HOLD/$hold/")
    value=$(echo "$value" | sed "s/SETTLEMENT_BEFORE/$((id - 1))/; s/SETTLEMENT/$id/")
    named=$(echo "$named" | sed "s/SETTLEMENT/$id/; s/HOLD/$hold/")
    change="$table $key $path '$value'"
    rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
    check "set $change" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" field "$table" "$key" \
        "$path" "$value"
    daemon_start_any_hour
    check "verify finds $change" 4 ctl verify
    expect "named" "$named" "$OUT$ERR"
    check "verify --walk finds $change" 4 ctl verify --walk
    expect "named when walked" "$named" "$OUT$ERR"
    daemon_stop
done <<'CHANGES'
persons|KID|name|Someone|person KID: the stored name, registration, suspension reason
persons|KID|registered_seq|2|person KID: the stored name, registration, suspension reason
persons|KID|suspend_reason|forged|person KID: the stored name, registration, suspension
persons|DAD|suspend_reason|other|person DAD: the stored name, registration, suspension reason
persons|DAD|suspend_reason||person DAD: the stored name, registration, suspension reason
persons|KID|region|110102|person KID: stored status
persons|KID|patient_last_seq|SETTLEMENT_BEFORE|or newest settlement as a patient differ
persons|KID|patient_last_seq|0|person KID: the stored name, registration, suspension reason
persons|MOM|patient_last_seq|SETTLEMENT|person MOM: the stored name, registration, suspension
accounts|DAD|freeze_reason|forged|account DAD: the stored freeze reason
accounts|MOM|freeze_reason|other|account MOM: the stored freeze reason
accounts|MOM|patient_last_seq|SETTLEMENT|account MOM: the stored freeze reason or newest settlement
funders|KID|bindings.0.relation|1|the stored binding of MOM to fund KID differs
funders|KID|bindings.1.evidence|HR-9|the stored binding of DAD to fund KID differs
funders|KID|bindings.0.channel|2|the stored binding of MOM to fund KID differs
funders|KID|bindings.1.bound_seq|3|the stored binding of DAD to fund KID differs
funders|KID|bindings.0.beneficiary|DAD|the stored binding of MOM to fund KID differs
funded|MOM|bindings.0.relation|1|funded of MOM
funded|DAD|bindings.0.evidence|HR-9|funded of DAD
funded|DAD|bindings.0.bound_seq|3|funded of DAD
merchants|P1|name|Other|merchants of P1
settlements|SETTLEMENT|refunds.0.cancel|1|settlement SETTLEMENT: what its stored legs count as given back
settlements|SETTLEMENT|refunds.0.legs.0.balance_after_fen|7|settlement SETTLEMENT: what its stored legs count as given back
holds|HOLD|quote.legs.0.wallet|0|holds of
holds|HOLD|request.merchant_reference|h9|holds of
aid_limits|MOM/KID|holder|DAD|a stored aid limit names DAD and KID
balances|merchant_payable:P1|id|P2|a stored balance of merchant_payable:P1 names
wallets|KID|person_no|MOM|the stored wallet of KID names MOM
CHANGES

# A head the daemon reads back and follows: one that is not a settlement of the patient, or
# not before the next entry, is named as damage; nothing is written and the daemon answers on.
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "KID's head made an entry that is not a settlement" 0 "$BUILD/tests/famledger-corrupt" \
    "$WORK/data" field persons KID patient_last_seq 3
daemon_start_any_hour
check "KID's settlements are refused as damaged" 1 ctl settlements --patient KID
expect "INTERNAL" "INTERNAL" "$ERR"
daemon_stop
check "KID's head made a seq after the log's" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" \
    field persons KID patient_last_seq 99999999
daemon_start_any_hour
check "a settlement for KID is refused" 1 ctl settle --merchant P1 --ref s-late --patient KID \
    --amount 1.00
expect "INTERNAL" "INTERNAL" "$ERR"
expect "the log names the head" "stored head of KID's settlements is entry 99999999" \
    "$(cat "$WORK/daemon.log")"
check "and the daemon answers on" 0 ctl head
check "verify names it" 4 ctl verify
expect "named" "person KID" "$OUT$ERR"
daemon_stop

# An account's statement that ends after the log, and a closed account that still holds money:
# each was an abort at the next movement or reopening; each is damage, refused.
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
check "MOM's statement made to end after the log" 0 "$BUILD/tests/famledger-corrupt" \
    "$WORK/data" field accounts MOM last_seq 99999999
check "DAD's account made closed, its balance kept" 0 "$BUILD/tests/famledger-corrupt" \
    "$WORK/data" field accounts DAD status 3
daemon_start_any_hour
check "a credit to MOM is refused" 1 ctl credit MOM 1.00 --ref c-late
expect "as damage" "INTERNAL" "$ERR"
expect "the log names the statement's end" \
    "the stored account of MOM ends its statement at entry 99999999" "$(cat "$WORK/daemon.log")"
check "DAD's account opened again is refused" 1 ctl account open DAD
expect "as damage" "INTERNAL" "$ERR"
expect "the log names the account" "the stored account of DAD is damaged (status 3" \
    "$(cat "$WORK/daemon.log")"
check "the daemon answers on" 0 ctl head
check "verify names both" 4 ctl verify
daemon_stop

# A waiting wallet send whose stored amount is not one a daemon writes: its return would move
# that amount (a negative one stopped the daemon); it is refused as damage.
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
daemon_start_any_hour
check "MOM's account unfrozen" 0 ctl account unfreeze MOM
check "a send that waits" 0 ctl --json wallet send MOM KID 2.00 --ref w-wait
send=$(echo "$OUT" | json_fen send_id)
daemon_stop
check "its stored amount made -5 fen" 0 "$BUILD/tests/famledger-corrupt" "$WORK/data" \
    field wallet_sends "$send" amount_fen -5
daemon_start_any_hour
check "declining it is refused" 1 ctl wallet decline --ref w-wait
expect "as damage" "INTERNAL: wallet send $send is damaged" "$ERR"
check "and so is accepting it" 1 ctl wallet accept --ref w-wait
check "the daemon answers on" 0 ctl head
expect "the log names the send" "the stored wallet send $send is damaged" \
    "$(cat "$WORK/daemon.log")"

finish
