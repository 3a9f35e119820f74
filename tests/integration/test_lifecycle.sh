# test_lifecycle.sh -- refunds, cancellations, freezes, suspensions, withdrawals, transfers and
# allocation imports through ledgerctl.
. "$(dirname "$0")/lib.sh"
daemon_start

for p in P A B; do
    ctl person add $p --name "Person $p" --region 110101 --scheme employee >/dev/null
    ctl account open $p >/dev/null
done
ctl credit P 30 --ref cp >/dev/null
ctl credit A 50 --ref ca >/dev/null
ctl credit B 200 --ref cb >/dev/null
ctl family bind A P --relation child >/dev/null
ctl family bind B P --relation child >/dev/null
ctl merchant add PH001 --name One --kind pharmacy --region 110101 >/dev/null
ctl merchant add PH002 --name Two --kind pharmacy --region 110101 >/dev/null
check "settle 150 over three accounts" 0 ctl --json settle --merchant PH001 --ref rx-1 --patient P --amount 150
id=$(echo "$OUT" | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')

check "refund 90" 0 ctl --json refund --merchant PH001 --ref rf-1 --settlement "$id" --amount 90
expect "last debited first: B gets its 70 back" '"legs":[{"holder":"B","amount_fen":7000,"balance_after_fen":20000,"cash_refund_due":false},{"holder":"A","amount_fen":2000' "$OUT"
check "refund retry replays" 0 ctl --json refund --merchant PH001 --ref rf-1 --settlement "$id" --amount 90
expect "replayed" '"replayed":true' "$OUT"
check "over-refund" 1 ctl refund --merchant PH001 --ref rf-2 --settlement "$id" --amount 61
expect "over-refund named" "REFUND_EXCEEDS_PAID" "$ERR"
check "another merchant may not" 1 ctl refund --merchant PH002 --ref rf-3 --settlement "$id" --amount 1
expect "wrong merchant named" "WRONG_MERCHANT" "$ERR"

check "B dies: the whole balance to the heir, the account closes" 0 ctl --json withdraw B --reason death --heir "王五" --ref wd-b
expect "closed" '"account_closed":true' "$OUT"
expect "B's binding ended" '"bindings_ended":1' "$OUT"
check "settle again to owe B something" 0 ctl --json settle --merchant PH001 --ref rx-x --patient P --amount 1
check "cancel returns the rest" 0 ctl --json cancel --merchant PH001 --ref cx-1 --settlement "$id"
expect "cancel amount" '"amount_fen":6000' "$OUT"
check "cancel twice with the same ref replays" 0 ctl --json cancel --merchant PH001 --ref cx-1 --settlement "$id"
expect "cancel replayed" '"replayed":true' "$OUT"
check "cancel with another ref" 1 ctl cancel --merchant PH001 --ref cx-2 --settlement "$id"
expect "already cancelled named" "ALREADY_CANCELLED" "$ERR"
check "settlement show lists the refunds" 0 ctl settlement show "$id"
expect "cancelled shown" "(cancelled)" "$OUT"

check "settle 40 from P's family (A only now)" 0 ctl --json settle --merchant PH001 --ref rx-2 --patient P --amount 40
id2=$(echo "$OUT" | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
check "A withdraws its all to emigrate" 0 ctl withdraw A --reason emigration --ref wd-a
check "cancel: A's leg is cash due" 0 ctl --json cancel --merchant PH001 --ref cx-3 --settlement "$id2"
expect "cash refund due" '"cash_refund_due":true' "$OUT"

ctl person add F --name F --region 110101 --scheme employee >/dev/null
ctl account open F >/dev/null
ctl credit F 100 --ref cf >/dev/null
ctl family bind F P --relation spouse >/dev/null
check "freeze F" 0 ctl account freeze F --reason "under investigation"
check "a frozen funder is skipped" 0 ctl --json settle --merchant PH001 --ref rx-3 --patient P --amount 100
expect "no mutual aid while F is frozen" '"acct_mulaid_pay_fen":0,' "$OUT"
check "a frozen account still takes credits" 0 ctl credit F 1 --ref cf2
check "a frozen account cannot withdraw" 1 ctl withdraw F --reason long-term-elsewhere --ref wd-f --amount 1
expect "frozen named" "ACCOUNT_FROZEN" "$ERR"
check "unfreeze F" 0 ctl account unfreeze F
check "suspend P" 0 ctl person suspend P --reason "impersonation"
check "a suspended patient cannot settle" 1 ctl settle --merchant PH001 --ref rx-4 --patient P --amount 5
expect "suspension named" "PERSON_SUSPENDED" "$ERR"
check "resume P" 0 ctl person resume P
check "P settles again" 0 ctl settle --merchant PH001 --ref rx-4 --patient P --amount 5

check "major disease needs a code" 1 ctl withdraw F --reason major-disease --ref wd-1 --amount 10
check "major disease withdrawal" 0 ctl --json withdraw F --reason major-disease --disease C91 --ref wd-1 --amount 10
expect "stays open" '"account_closed":false' "$OUT"
check "opt-out must take the whole balance" 1 ctl withdraw F --reason opt-out --ref wd-2 --amount 1
expect "not allowed named" "WITHDRAWAL_NOT_ALLOWED" "$ERR"
check "transfer out" 0 ctl --json transfer-out F --to-region 440103 --ref tr-1
expect "transfer closes" '"account_closed":true' "$OUT"
ctl person add G --name G --region 440103 --scheme employee >/dev/null
ctl account open G >/dev/null
check "transfer in" 0 ctl --json transfer-in G 86 --from-region 110101 --ref tr-2
expect "credited" '"balance_after_fen":8600' "$OUT"

cat > "$WORK/alloc.csv" <<CSV
person,amount,period
P,150.00,202611
G,150,202611
NOBODY,150.00,202611
P,abc,202611
P,1.00,202613
P,150.00
CSV
check "import with bad rows" 1 ctl credit import "$WORK/alloc.csv"
expect "summary" "6 rows: 2 applied, 0 already applied, 4 rejected" "$OUT"
expect "unknown person by line" "alloc.csv:4: UNKNOWN_PERSON" "$ERR"
expect "bad amount by line" "alloc.csv:5: the amount" "$ERR"
expect "bad period by line" "alloc.csv:6: the period" "$ERR"
expect "missing field by line" "alloc.csv:7: expected three fields" "$ERR"
check "re-run applies nothing twice" 1 ctl --json credit import "$WORK/alloc.csv"
expect "json summary" '"applied":0,"already_applied":2,"rejected":4' "$OUT"
check "G got one allocation" 0 ctl --json account show G
expect "G balance" '"balance_fen":23600' "$OUT"

# One person number that is not UTF-8 in a batch of credits is refused alone; before, the
# daemon refused the batch's frame and ledgerctl stopped with exit 3, crediting nobody.
printf 'person,amount,period\nP,1.00,202612\nP\377,1.00,202612\n"G","2.00","202612"\n' \
    > "$WORK/mixed.csv"
check "an import with a row not UTF-8" 1 ctl credit import "$WORK/mixed.csv"
expect "the others credited" "3 rows: 2 applied, 0 already applied, 1 rejected" "$OUT"
expect "that row named" "mixed.csv:3: INVALID_ARGUMENT" "$ERR"
check "G got the quoted row" 0 ctl --json account show G
expect "G balance after it" '"balance_fen":23800' "$OUT"

# A worker who dies while their balance is on its way to the new region: the transfer-in that
# completes the transfer-out is taken and owed in cash to the heirs. Before 7 December it was
# refused (PERSON_DECEASED), and so was the death withdrawal of a closed account: the money
# stayed in transit for ever.
ctl person add V --name "Person V" --region 110101 --scheme employee >/dev/null
ctl account open V >/dev/null
ctl credit V 80 --ref cv >/dev/null
check "V moves with 80.00" 0 ctl --json transfer-out V --to-region 110105 --ref tv-1
vout=$(echo "$OUT" | json_fen seq)
check "and dies on the way" 0 ctl person deceased V --evidence DC-0815
check "money from outside does not come to the dead" 1 ctl transfer-in V 80 \
    --from-region 440103 --ref tv-0
expect "PERSON_DECEASED" "PERSON_DECEASED" "$ERR"
check "the transfer-in completing the transfer-out" 0 ctl transfer-in V 80 \
    --from-transfer "$vout" --ref tv-2
expect "is owed to the heirs" "V is deceased: the 80.00 is owed in cash to the heirs" "$OUT"
check "its retry" 0 ctl --json transfer-in V 80 --from-transfer "$vout" --ref tv-2
expect "replayed" '"replayed":true' "$OUT"
expect "the account stays closed" '"balance_after_fen":0,"account_closed":true' "$OUT"
vin=$(echo "$OUT" | json_fen seq)
check "its entry" 0 ctl entry "$vin"
expect "out of transit" "posting      clearing:110105 -80.00" "$OUT"
expect "owed to V in cash" "posting      cash_refund_due:V 80.00" "$OUT"
check "V is still deceased" 0 ctl --json person show V
expect "deceased" '"status":"deceased"' "$OUT"
check "V's account is still closed, and empty" 0 ctl --json account show V
expect "closed" '"status":"closed","balance_fen":0' "$OUT"
check "the heirs are paid" 0 ctl --json payout --person V 80 --ref tv-heir
expect "nothing owed after" '"owed_after_fen":0' "$OUT"
check "nothing left in transit" 0 ctl --json trial-balance
expect "clearing empty" '{"class":"clearing","total_fen":0}' "$OUT"
check "verify replays it" 0 ctl verify
daemon_stop
rm -rf "$WORK/pristine" && cp -r "$WORK/data" "$WORK/pristine"
check "the transfer-in forged to say nothing is owed" 0 "$BUILD/tests/famledger-corrupt" \
    "$WORK/data" set "$vin" transferred_in.movement.cash_refund_due 0
daemon_start
check "verify names it" 4 ctl verify
expect "at its seq" "FAILED at seq $vin: a transfer-in to V, who is deceased, that is not" \
    "$OUT$ERR"
daemon_stop
rm -rf "$WORK/data" && cp -r "$WORK/pristine" "$WORK/data"
daemon_start

# A closing ends every binding that names the holder, and a death those that pay for them too;
# the entry counts them. verify finds them without reading every person (client/verify_funded.c)
# and names an entry whose count is not what the log bound.
for p in X Y Z; do
    ctl person add $p --name "Person $p" --region 110101 --scheme employee >/dev/null
    ctl account open $p >/dev/null
    ctl credit $p 10 --ref "c$p" >/dev/null
done
ctl family bind X Y --relation spouse >/dev/null
ctl family bind Y X --relation spouse >/dev/null
ctl family bind X Z --relation child >/dev/null
ctl family unbind X Z >/dev/null
ctl family bind X Z --relation child >/dev/null # bound twice in the log: ended once
check "X dies" 0 ctl --json withdraw X --reason death --heir H --ref wd-x
expect "what X funded and what funded X" '"bindings_ended":3' "$OUT"
closing=$(echo "$OUT" | sed 's/.*"seq":\([0-9]*\).*/\1/')
check "Y's funders" 0 ctl --json family list Y
expect "nobody" '"funding_order":[]' "$OUT"
check "Z opts out, funding nobody" 0 ctl --json withdraw Z --reason opt-out --ref wd-z
expect "nothing to end" '"bindings_ended":0' "$OUT"
check "verify follows every closing" 0 ctl verify
daemon_stop
check "the count rewritten, the chain after it too" 0 \
    "$BUILD/tests/famledger-corrupt" "$WORK/data" ended "$closing" 2
daemon_start
check "verify names the closing" 4 ctl verify
expect "the count and the log's" "closing the account of X ends 2 bindings; the log has 3" "$ERR$OUT"

# A reference is any printable ASCII: a quote and a backslash in it stay JSON (settlement show
# printed a refund's reference raw, and its JSON did not parse).
ctl person add Q --name "Person Q" --region 110101 --scheme employee >/dev/null
ctl account open Q >/dev/null
ctl credit Q 5 --ref cq >/dev/null
check "settle for Q" 0 ctl --json settle --merchant PH001 --ref 'rx"q' --patient Q --amount 2
qid=$(echo "$OUT" | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
check "a refund whose reference has a quote and a backslash" 0 ctl refund --merchant PH001 --ref 'rf"\1' --settlement "$qid" --amount 0.50
check "settlement show as JSON" 0 ctl --json settlement show "$qid"
expect "the refund's reference escaped" '"reference":"rf\"\\1"' "$OUT"
expect "the settlement's too" '"merchant_reference":"rx\"q"' "$OUT"

# An empty account moves too: its transfer-out sends 0.00, and the transfer-in that completes
# it on this ledger carries 0.00 and the person's new region. Before 7 December that
# transfer-in was refused ("amount must be positive"), and `account open` brought the person
# back in their old region, whose fund then paid their allocations.
ctl person add Z --name "Person Z" --region 110101 --scheme employee >/dev/null
ctl account open Z >/dev/null
check "Z moves with an empty account" 0 ctl --json transfer-out Z --to-region 110105 --ref tz-1
zout=$(echo "$OUT" | json_fen seq)
expect "0.00 sent" '"amount_fen":0,' "$OUT"
check "0.00 from outside is still no transfer" 2 ctl transfer-in Z 0 --from-region 440103 \
    --ref tz-0
check "the transfer-in completing it" 0 ctl --json transfer-in Z 0.00 --from-transfer "$zout" \
    --ref tz-2
expect "0.00 received" '"amount_fen":0,' "$OUT"
check "sent again, the same" 0 ctl --json transfer-in Z 0.00 --from-transfer "$zout" --ref tz-2
expect "replayed" '"replayed":true' "$OUT"
check "but once" 1 ctl transfer-in Z 0.00 --from-transfer "$zout" --ref tz-3
expect "TRANSFER_MISMATCH" "TRANSFER_MISMATCH" "$ERR"
check "a sum the transfer-out did not send" 1 ctl transfer-in Z 1.00 --from-transfer "$zout" \
    --ref tz-4
expect "TRANSFER_MISMATCH" "TRANSFER_MISMATCH" "$ERR"
check "Z is back, in the new region" 0 ctl --json person show Z
expect "active" '"status":"active"' "$OUT"
expect "110105" '"region":"110105"' "$OUT"
check "an allocation to Z" 0 ctl --json credit Z 10 --ref cz
check "its entry" 0 ctl entry "$(echo "$OUT" | json_fen seq)"
expect "comes from the new region's fund" "posting      fund:110105 -10.00" "$OUT"
expect "into Z's account" "posting      personal:Z 10.00" "$OUT"
finish
